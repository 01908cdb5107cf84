import { createRouter, HostError, jsonResponse, type Context } from '@alga-psa/extension-runtime';

interface Enrichment {
  ticketId: string;
  data: unknown;
  fetchedAt: number;
}

const cacheKey = (id: string) => `ticket:${id}`;

/**
 * The API token is never read here (cap:secrets.use, not cap:secrets.get): the request carries a
 * placeholder and the platform fills it in, only for the hosts the secret is bound to. A failed
 * call says what an admin can fix.
 */
function apiCallFailed(ctx: Context, id: string, err: HostError) {
  ctx.log.warn('enrichment API call failed', { ticketId: id, kind: err.kind, detail: err.detail ?? '' });
  const detail = err.detail ?? '';
  if (err.kind === 'denied' && /^secret apiToken is not set/.test(detail)) {
    return jsonResponse(412, { error: { code: 'NOT_CONFIGURED', message: 'set the apiToken secret on the settings page' } });
  }
  if (err.kind === 'transport' && /^secret apiToken is unavailable/.test(detail)) {
    return jsonResponse(503, { error: { code: 'SECRETS_UNAVAILABLE', message: 'the secret store is unavailable; retry shortly' } });
  }
  return jsonResponse(502, { error: { code: 'UPSTREAM', message: `enrichment API call failed: ${err.kind}${detail ? ` (${detail})` : ''}` } });
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
    const base = String(ctx.config.apiBaseUrl);
    let res;
    try {
      res = await ctx.http.fetch(`${base}/enrich/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${ctx.secrets.ref('apiToken')}`, accept: 'application/json' }, timeoutMs: 3000 });
    } catch (err) {
      if (err instanceof HostError) return apiCallFailed(ctx, id, err);
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
    let cachedTickets: number | string;
    try {
      cachedTickets = (await ctx.storage.list('cache', { limit: 1000 })).keys.length;
    } catch (err) {
      cachedTickets = err instanceof HostError ? `error: ${err.kind}` : 'error';
    }
    return jsonResponse(200, { apiBaseUrl: String(ctx.config.apiBaseUrl), cachedTickets });
  });

export const handler = app.handler();
