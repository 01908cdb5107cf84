import { createRouter, jsonResponse } from '@alga-psa/extension-runtime';

const app = createRouter()
  // ctx.config is typed from manifest.json "settings" (greeting: string, excited: boolean).
  .get('/hello', (_req, ctx) => {
    const greeting = `${ctx.config.greeting}${ctx.config.excited ? '!' : ''}`;
    ctx.log.info('greeted', { tenant: ctx.install.tenantId });
    return jsonResponse(200, { greeting });
  })
  // Counts visits per name with compare-and-set, so concurrent requests never lose a count.
  .post('/visits/:who', async (req, ctx) => {
    for (;;) {
      const current = await ctx.storage.get<number>('visits', req.params.who);
      const next = (current?.value ?? 0) + 1;
      try {
        await ctx.storage.put('visits', req.params.who, next, current?.revision ?? 0n);
        return jsonResponse(200, { who: req.params.who, visits: next });
      } catch (err) {
        if ((err as { kind?: string }).kind !== 'conflict') throw err;
      }
    }
  });

export const handler = app.handler();
