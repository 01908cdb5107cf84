/** The loopback "enrichment API" ticket-enricher calls: answers every GET with a small JSON document. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startEnrichmentApi(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ priority: 'high', path: req.url })); });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
