/**
 * Issue 8: the gateway bounds slow clients. Node's defaults let a client take 60 s over its
 * headers and 300 s over its request, enforced only every 30 s (a slow-header client got 408
 * after 89 s). Real slow clients over raw sockets against a real gateway on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServerTimeoutOptions } from '@alga-psa/extension-contracts';
import { startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { keepAliveConnection, slowClient } from '../../test-setup/slow-client.ts';
import { gatewayConfigFromEnv } from '../src/config.ts';

const headersTimeoutMs = 500;
const requestTimeoutMs = 2000;
const keepAliveTimeoutMs = 1000;
/** Node's connection check runs every tenth of the shorter timeout; the rest is scheduling on a busy CI machine. */
const slack = 700;

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGatewayHarness({ runner: false, gateway: { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } });
});
afterAll(async () => { await h?.close(); });

describe('gateway request timeouts', () => {
  it('a client that never finishes its headers gets 408 and a closed connection at GATEWAY_HEADERS_TIMEOUT_MS', async () => {
    const r = await slowClient(h.url, { head: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', chunk: 'X-Slow: 1\r\n', everyMs: 100 });
    expect(r.response).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    expect(r.closedAfterMs).toBeLessThan(headersTimeoutMs + slack);
  });

  it('a publish whose body trickles in is cut off at GATEWAY_REQUEST_TIMEOUT_MS, though bytes keep arriving', async () => {
    const head = 'POST /api/v1/registry/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/gzip\r\nContent-Length: 1000000\r\n\r\n';
    const r = await slowClient(h.url, { head, chunk: 'x', everyMs: 100 });
    expect(r.response).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
    expect(r.closedAfterMs).toBeLessThan(requestTimeoutMs + slack);
    // Still sending when it was cut off: this is the request timeout, not an idle timeout.
    expect(r.chunksSent).toBeGreaterThan(10);
  });

  it('an idle keep-alive connection is not cut by the headers timeout, and closes after GATEWAY_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const c = await keepAliveConnection(h.url);
    try {
      const request = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      expect(await c.send(request)).toMatch(/^HTTP\/1\.1 200/);
      await new Promise((r) => setTimeout(r, headersTimeoutMs + 300));
      expect(await c.send(request)).toMatch(/^HTTP\/1\.1 200/);
      const sentAt = Date.now();
      const closedAt = await Promise.race([c.closed.then(() => Date.now()), new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
      expect(closedAt).toBeGreaterThan(0);
      // Node adds its keepAliveTimeoutBuffer (1 s) to the socket's timeout.
      expect(closedAt - sentAt).toBeLessThan(keepAliveTimeoutMs + 1000 + slack);
    } finally {
      c.destroy();
    }
  });
});

describe('gateway timeout configuration', () => {
  it('defaults to 10 s for headers, 30 s for the whole request and 5 s keep-alive, checked every second', () => {
    const config = gatewayConfigFromEnv({});
    expect(httpServerTimeoutOptions(config)).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1000 });
  });

  it('reads GATEWAY_HEADERS_TIMEOUT_MS, GATEWAY_REQUEST_TIMEOUT_MS and GATEWAY_KEEP_ALIVE_TIMEOUT_MS', () => {
    const config = gatewayConfigFromEnv({ GATEWAY_HEADERS_TIMEOUT_MS: '2000', GATEWAY_REQUEST_TIMEOUT_MS: '120000', GATEWAY_KEEP_ALIVE_TIMEOUT_MS: '65000' });
    expect(config).toMatchObject({ headersTimeoutMs: 2000, requestTimeoutMs: 120_000, keepAliveTimeoutMs: 65_000 });
  });

  it('refuses a headers timeout longer than the request timeout at start-up, naming both variables', () => {
    expect(() => gatewayConfigFromEnv({ GATEWAY_HEADERS_TIMEOUT_MS: '40000' })).toThrow(/GATEWAY_HEADERS_TIMEOUT_MS \(40000\) must not exceed GATEWAY_REQUEST_TIMEOUT_MS \(30000\)/);
  });
});
