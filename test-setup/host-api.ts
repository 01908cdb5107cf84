/**
 * A stand-in for the platform (host) API that ui-proxy forwards to: a real express app on
 * 127.0.0.1 (port 0) that records every request it receives (method, URL, headers, body), so
 * tests can assert what the gateway sent — and that it sent nothing at all.
 *
 * Routes:
 *  - `GET  /host/tickets/:id`        → 200 `{ id, title, status }`; ids `missing` → 404, `boom` → 500,
 *                                      `redirect` → 302 to /host/admin/users, `big` → `bigBodyBytes` of JSON
 *  - `POST /host/tickets/:id/notes`  → 201 `{ ticketId, note, contentType }` (echo)
 *  - `GET  /host/admin/users`        → 200 list (a route the test catalog does NOT allow)
 *  - anything else                   → 404
 * Switches: `behaviour.delayMs` (answer late), `behaviour.failStatus` (every route answers it).
 *
 * @example
 *   const host = await startHostApi();
 *   // ... call through the gateway ...
 *   expect(host.requests[0].headers.authorization).toBe('Bearer host-secret-token');
 *   await host.close();
 */
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders, Server } from 'node:http';
import express from 'express';

export interface HostApiRequest {
  method: string;
  /** Path and query exactly as received. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HostApiBehaviour {
  delayMs: number;
  failStatus: number | undefined;
  bigBodyBytes: number;
}

export interface HostApi {
  url: string;
  port: number;
  requests: HostApiRequest[];
  behaviour: HostApiBehaviour;
  reset(): void;
  close(): Promise<void>;
}

export async function startHostApi(): Promise<HostApi> {
  const requests: HostApiRequest[] = [];
  const behaviour: HostApiBehaviour = { delayMs: 0, failStatus: undefined, bigBodyBytes: 6 * 1024 * 1024 };
  const app = express();
  app.disable('x-powered-by');
  app.set('strict routing', true);
  app.use(express.raw({ type: () => true, limit: '20mb' }));
  app.use(async (req, res, next) => {
    requests.push({ method: req.method, url: req.originalUrl, path: req.path, headers: req.headers, body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) });
    if (behaviour.delayMs > 0) await new Promise((r) => setTimeout(r, behaviour.delayMs));
    if (res.destroyed) return;
    if (behaviour.failStatus !== undefined) {
      res.status(behaviour.failStatus).json({ error: 'failure switch' });
      return;
    }
    next();
  });
  app.get('/host/tickets/:id', (req, res) => {
    const id = req.params.id;
    if (id === 'missing') return void res.status(404).json({ error: 'no such ticket' });
    if (id === 'boom') return void res.status(500).json({ error: 'host exploded' });
    if (id === 'redirect') return void res.redirect(302, '/host/admin/users');
    if (id === 'big') return void res.type('application/json').send(`"${'x'.repeat(behaviour.bigBodyBytes)}"`);
    res.set('set-cookie', 'host_session=do-not-leak; HttpOnly');
    res.json({ id, title: `Ticket ${id}`, status: 'open', query: req.query });
  });
  app.post('/host/tickets/:id/notes', (req, res) => {
    res.status(201).json({ ticketId: req.params.id, note: Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '', contentType: req.headers['content-type'] ?? null });
  });
  app.get('/host/admin/users', (_req, res) => {
    res.json([{ id: 'u1', name: 'Root Admin', email: 'root@example.test' }]);
  });
  app.use((_req, res) => { res.status(404).json({ error: 'not found' }); });

  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    behaviour,
    reset() {
      requests.length = 0;
      behaviour.delayMs = 0;
      behaviour.failStatus = undefined;
      behaviour.bigBodyBytes = 6 * 1024 * 1024;
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    },
  };
}
