import { createRouter, HostError, jsonResponse, type Context } from '@alga-psa/extension-runtime';

interface Enrichment {
  ticketId: string;
  data: unknown;
  fetchedAt: number;
}

const cacheKey = (id: string) => `ticket:${id}`;

/** A secret that is missing or cannot be read is the admin's to fix: say so, never guess. */
async function apiToken(ctx: Context) {
  try {
    return { token: await ctx.secrets.get('apiToken') };
  } catch (err) {
    if (err instanceof HostError && err.kind === 'unavailable') return { error: jsonResponse(503, { error: { code: 'SECRETS_UNAVAILABLE', message: 'the secret store is unavailable; retry shortly' } }) };
    throw err;
  }
}

const app = createRouter()
  .get('/tickets/:id/enrich', async (req, ctx) => {
    const id = req.params.id;
    const maxAgeMs = Number(ctx.config.cacheSeconds ?? 300) * 1000;
    const cached = await ctx.storage.get<Enrichment>('cache', cacheKey(id));
    if (cached && Date.now() - cached.value.fetchedAt < maxAgeMs && req.query.get('refresh') !== '1') {
      ctx.log.info('enrichment served from cache', { ticketId: id });
      return jsonResponse(200, { source: 'cache', revision: cached.revision.toString(), ...cached.value });
    }
    const { token, error } = await apiToken(ctx);
    if (error) return error;
    if (!token) return jsonResponse(412, { error: { code: 'NOT_CONFIGURED', message: 'set the apiToken secret on the settings page' } });

    const base = String(ctx.config.apiBaseUrl);
    let res;
    try {
      res = await ctx.http.fetch(`${base}/enrich/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, timeoutMs: 3000 });
    } catch (err) {
      if (err instanceof HostError) {
        ctx.log.warn('enrichment API call failed', { ticketId: id, kind: err.kind });
        return jsonResponse(502, { error: { code: 'UPSTREAM', message: `enrichment API call failed: ${err.kind}` } });
      }
      throw err;
    }
    if (!res.ok) return jsonResponse(502, { error: { code: 'UPSTREAM', message: `enrichment API answered ${res.status}` } });

    const value: Enrichment = { ticketId: id, data: res.json(), fetchedAt: Date.now() };
    // Compare-and-set: a concurrent request that cached first wins, and we serve its copy.
    try {
      const revision = await ctx.storage.put('cache', cacheKey(id), value, cached?.revision ?? 0n);
      ctx.log.info('enriched ticket', { ticketId: id, revision: revision.toString() });
      return jsonResponse(200, { source: 'api', revision: revision.toString(), ...value });
    } catch (err) {
      if (err instanceof HostError && err.kind === 'conflict') {
        const winner = await ctx.storage.get<Enrichment>('cache', cacheKey(id));
        return jsonResponse(200, { source: 'cache', revision: winner?.revision.toString(), ...(winner?.value ?? value) });
      }
      throw err;
    }
  })
  .delete('/tickets/:id/enrich', async (req, ctx) => {
    const deleted = await ctx.storage.delete('cache', cacheKey(req.params.id));
    return jsonResponse(200, { deleted });
  })
  .get('/status', async (_req, ctx) => {
    let secretKeys: string[] | string;
    try {
      secretKeys = await ctx.secrets.keys();
    } catch (err) {
      secretKeys = err instanceof HostError ? `error: ${err.kind}` : 'error';
    }
    const page = await ctx.storage.list('cache', { limit: 1000 });
    return jsonResponse(200, { configured: Array.isArray(secretKeys) && secretKeys.includes('apiToken'), secretKeys, cachedTickets: page.keys.length });
  });

export const handler = app.handler();
