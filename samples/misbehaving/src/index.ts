import { createRouter, HostError, jsonResponse } from '@alga-psa/extension-runtime';

// Module state survives between requests on a pooled instance; /counter makes that observable.
let calls = 0;
const hoard: Uint8Array[] = [];

const app = createRouter()
  .get('/ok', () => jsonResponse(200, { ok: true }))
  .get('/counter', () => jsonResponse(200, { calls: ++calls }))
  .get('/loop', () => {
    // A runaway guest: only terminating its worker stops it.
    for (;;) { calls++; }
  })
  .get('/alloc', () => {
    // A memory bomb: 8 MiB at a time, touched so it is really committed, until the host says no.
    for (;;) hoard.push(new Uint8Array(8 * 1024 * 1024).fill(1));
  })
  .get('/grow/:mb', (req) => {
    // Grows by a bounded amount and returns normally: tests the per-install limit below the ceiling.
    const mb = Number(req.params.mb);
    for (let i = 0; i < mb; i++) hoard.push(new Uint8Array(1024 * 1024).fill(1));
    return jsonResponse(200, { held: hoard.length });
  })
  .get('/throw', () => {
    throw new Error('misbehaving: thrown on purpose');
  })
  .get('/reject', async () => {
    await Promise.resolve();
    throw new Error('misbehaving: rejected on purpose');
  })
  .get('/bad-status', () => ({ status: 42, headers: [], body: undefined }))
  .get('/leak-secret', async (_req, ctx) => {
    // Tries to exfiltrate its secret through the logs; the runner must redact it.
    const token = await ctx.secrets.get('token');
    ctx.log.warn(`the token is ${token}`, { token: token ?? 'none', wrapped: `[${token}]` });
    return jsonResponse(200, { logged: token !== undefined });
  })
  .get('/fetch', async (req, ctx) => {
    // Fetches whatever it is told to: undeclared hosts, private addresses, metadata endpoints.
    try {
      const res = await ctx.http.fetch(req.query.get('url') ?? '', { timeoutMs: 2000 });
      return jsonResponse(200, { status: res.status, body: res.text().slice(0, 200) });
    } catch (err) {
      if (err instanceof HostError) return jsonResponse(200, { error: err.kind, detail: err.detail });
      throw err;
    }
  })
  .get('/log-flood', (_req, ctx) => {
    for (let i = 0; i < 10_000; i++) ctx.log.info(`line ${i}`, { i });
    return jsonResponse(200, { logged: 10_000 });
  });

export const handler = app.handler();
