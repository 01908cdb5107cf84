/**
 * The gateway's runner client against misbehaving runners on loopback: the request deadline
 * holds whether the runner never answers, stalls in the middle of its answer, or drops the
 * connection; the body it sends is the JSON text it is given, byte for byte.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerClient } from '../src/proxy/runner-client.ts';

let server: Server | undefined;
let client: RunnerClient | undefined;
afterEach(async () => {
  await client?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = client = undefined;
});

async function runner(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RunnerClient> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  client = new RunnerClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return client;
}

const body = '{"context":{"requestId":"r"},"install":{"config":{"a":1}}}';

describe('RunnerClient', () => {
  it('sends the prepared JSON text as it is', async () => {
    let received = '';
    const c = await runner((req, res) => {
      req.on('data', (chunk: Buffer) => { received += chunk.toString(); });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 200, headers: [], bodyB64: '', logs: [], metrics: { durationMs: 1, hostCalls: 0 } })));
    });
    const answer = await c.execute('token', body, 2000, {});
    expect(answer.ok).toBe(true);
    expect(received).toBe(body);
  });

  it('a runner that never answers: E_DEADLINE at the timeout', async () => {
    const c = await runner(() => { /* holds the request */ });
    const started = Date.now();
    const answer = await c.execute('token', body, 300, {});
    expect(answer).toMatchObject({ ok: false, error: { code: 'E_DEADLINE' } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a runner that stalls after its headers: E_DEADLINE at the timeout, not a 500', async () => {
    const c = await runner((_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.write('{"status":'); });
    const started = Date.now();
    const answer = await c.execute('token', body, 300, {});
    expect(answer).toMatchObject({ ok: false, error: { code: 'E_DEADLINE' } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a runner that drops the connection in the middle of its answer: E_RUNNER_UNAVAILABLE', async () => {
    const c = await runner((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"status":', () => res.socket?.destroy());
    });
    const answer = await c.execute('token', body, 5000, {});
    expect(answer).toMatchObject({ ok: false, error: { code: 'E_RUNNER_UNAVAILABLE' } });
  });
});
