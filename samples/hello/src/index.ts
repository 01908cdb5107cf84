import { createRouter, jsonResponse } from '@alga-psa/extension-runtime';

const app = createRouter()
  .get('/hello', (req, ctx) => {
    const greeting = String(ctx.config.greeting ?? 'Hello') + (ctx.config.excited ? '!' : '');
    ctx.log.info('greeted', { tenant: ctx.install.tenantId });
    return jsonResponse(200, { greeting, tenantId: ctx.install.tenantId, requestId: ctx.install.requestId });
  })
  .on('GET', '/echo/*', echo)
  .on('POST', '/echo/*', echo);

function echo(req: Parameters<Parameters<typeof app.get>[1]>[0], ctx: Parameters<Parameters<typeof app.get>[1]>[1]) {
  return jsonResponse(200, {
    method: req.method,
    path: req.path,
    query: Object.fromEntries(req.query),
    body: req.text(),
    config: ctx.config,
  });
}

export const handler = app.handler();
