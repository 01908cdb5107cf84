import { createRouter, jsonResponse, type RouteHandler } from '@alga-psa/extension-runtime';

const echo: RouteHandler = (req, ctx) => jsonResponse(200, {
  method: req.method,
  path: req.path,
  query: Object.fromEntries(req.query),
  body: req.text(),
  config: ctx.config,
});

const app = createRouter()
  .get('/hello', (_req, ctx) => {
    const greeting = String(ctx.config.greeting ?? 'Hello') + (ctx.config.excited ? '!' : '');
    ctx.log.info('greeted', { tenant: ctx.install.tenantId });
    return jsonResponse(200, { greeting, tenantId: ctx.install.tenantId, requestId: ctx.install.requestId });
  })
  .get('/echo/*', echo)
  .post('/echo/*', echo);

export const handler = app.handler();
