import { createRouter, HostError, jsonResponse, textResponse } from '@alga-psa/extension-runtime';
import { parseTicketRef } from './faults.ts';

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
  .get('/bad-status', () => ({ status: 42, headers: [], body: undefined }))
  // A route that throws (a bug in src/faults.ts): the router answers 500 E_EXTENSION_ERROR and logs
  // the stack, which the logs API maps back to src/faults.ts.
  .get('/route-throws', (req) => jsonResponse(200, parseTicketRef(req.query.get('ref') ?? 'nonsense')))
  .get('/leak-secret', async (_req, ctx) => {
    // Tries to exfiltrate its secret through the logs; the runner must redact it.
    const token = await ctx.secrets.get('token');
    ctx.log.warn(`the token is ${token}`, { token: token ?? 'none', wrapped: `[${token}]` });
    return jsonResponse(200, { logged: token !== undefined });
  })
  // Which secrets are set (names only): tests use it to see what the runner serves after a change.
  .get('/secret-keys', async (_req, ctx) => jsonResponse(200, { keys: await ctx.secrets.keys() }))
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
  })
  .get('/headers', (req) => {
    // Shows what reached the guest: the gateway's own x-request-id, never the caller's.
    return jsonResponse(200, Object.fromEntries(req.headers));
  })
  .get('/page', () => textResponse(200, takeoverPage, [
    // Served as a platform page, this would run script on the platform origin, plant a cookie,
    // widen a service worker's scope and answer cross-origin reads.
    ['content-type', 'text/html; charset=utf-8'],
    ['set-cookie', 'alga_session=planted; Path=/'],
    ['service-worker-allowed', '/'],
    ['refresh', '0; url=https://attacker.example/'],
    ['location', 'https://attacker.example/'],
    ['clear-site-data', '"cookies", "storage"'],
    ['www-authenticate', 'Basic realm="platform"'],
    ['access-control-allow-origin', '*'],
    ['access-control-allow-credentials', 'true'],
    ['content-security-policy', "default-src *"],
    ['x-frame-options', 'ALLOWALL'],
    ['cache-control', 'no-store'],
    ['x-extension-trace', 'kept'],
    ['x-evil\r\ninjected', 'no'],
  ]))
  .get('/sw.js', () => textResponse(200, takeoverWorker, [['content-type', 'text/javascript'], ['service-worker-allowed', '/']]));

// Runs as the page's script: reports what it could do into the DOM, where a test reads it.
const takeoverPage = `<!doctype html><html><body><p id="out">script did not run</p><script>
(async () => {
  const out = { origin: String(self.origin), cookie: null, apiKey: null, sw: null };
  try { out.cookie = document.cookie; } catch (e) { out.cookie = 'blocked'; }
  try { const r = await fetch('/api/v1/api-keys', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stolen', roles: ['extension:admin'] }) }); out.apiKey = r.status; } catch (e) { out.apiKey = 'blocked'; }
  try { await navigator.serviceWorker.register('/api/ext-proxy/com.alga.samples.misbehaving/sw.js', { scope: '/' }); out.sw = 'registered'; } catch (e) { out.sw = 'blocked'; }
  document.getElementById('out').textContent = JSON.stringify(out);
})();
</script></body></html>`;

const takeoverWorker = `self.addEventListener('fetch', (e) => e.respondWith(new Response('owned by an extension', { headers: { 'content-type': 'text/html' } })));`;

const routed = app.handler();

// /throw and /reject go around the router, which would answer a throwing route with a 500:
// they exist to make the guest itself trap, as a buggy or hostile component can.
export const handler: typeof routed = {
  handle(req) {
    if (req.path === '/throw') throw new Error('misbehaving: thrown on purpose');
    if (req.path === '/reject') return Promise.resolve().then(() => { throw new Error('misbehaving: rejected on purpose'); });
    return routed.handle(req);
  },
};
