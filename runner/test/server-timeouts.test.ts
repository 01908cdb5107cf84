/**
 * Issue 8: the runner bounds slow clients too (its peers should only be gateways, but a slow or
 * hostile peer on the network must not hold connections for Node's 60 s / 300 s defaults).
 * Real slow clients over raw sockets against a real runner on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpServerTimeoutOptions } from '@alga-psa/extension-contracts';
import { startRunnerHarness, type RunnerHarness } from '../../test-setup/runner-harness.ts';
import { slowClient } from '../../test-setup/slow-client.ts';
import { runnerConfigFromEnv } from '../src/config.ts';

const headersTimeoutMs = 500;
const requestTimeoutMs = 2000;
/** Node's connection check runs every tenth of the shorter timeout; the rest is scheduling on a busy CI machine. */
const slack = 700;
const trustedKeys = JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'l7xYhNNZnYRM4yRP8Mxjl7P-fchUKLXVUOhDcuBYbp8', kid: 'k1' }] });

let h: RunnerHarness;
beforeAll(async () => {
  h = await startRunnerHarness({ headersTimeoutMs, requestTimeoutMs, workers: 1 });
});
afterAll(async () => { await h?.close(); });

describe('runner request timeouts', () => {
  it('a client that never finishes its headers gets 408 and a closed connection at RUNNER_HEADERS_TIMEOUT_MS', async () => {
    const r = await slowClient(h.url, { head: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', chunk: 'X-Slow: 1\r\n', everyMs: 100 });
    expect(r.response).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    expect(r.closedAfterMs).toBeLessThan(headersTimeoutMs + slack);
  });

  it('an execute body that trickles in is cut off at RUNNER_REQUEST_TIMEOUT_MS, though bytes keep arriving', async () => {
    const head = 'POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
    const r = await slowClient(h.url, { head, chunk: ' ', everyMs: 100 });
    expect(r.response).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
    expect(r.closedAfterMs).toBeLessThan(requestTimeoutMs + slack);
    expect(r.chunksSent).toBeGreaterThan(10);
  });
});

describe('runner timeout configuration', () => {
  it('defaults to 10 s for headers, 30 s for the whole request and 5 s keep-alive, checked every second', () => {
    const config = runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: trustedKeys });
    expect(httpServerTimeoutOptions(config)).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1000 });
  });

  it('reads RUNNER_HEADERS_TIMEOUT_MS, RUNNER_REQUEST_TIMEOUT_MS and RUNNER_KEEP_ALIVE_TIMEOUT_MS', () => {
    const config = runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: trustedKeys, RUNNER_HEADERS_TIMEOUT_MS: '3000', RUNNER_REQUEST_TIMEOUT_MS: '60000', RUNNER_KEEP_ALIVE_TIMEOUT_MS: '30000' });
    expect(config).toMatchObject({ headersTimeoutMs: 3000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 30_000 });
  });

  it('refuses a headers timeout longer than the request timeout at start-up, naming both variables', () => {
    expect(() => runnerConfigFromEnv({ RUNNER_TRUSTED_KEYS: trustedKeys, RUNNER_REQUEST_TIMEOUT_MS: '5000' }))
      .toThrow(/RUNNER_HEADERS_TIMEOUT_MS \(10000\) must not exceed RUNNER_REQUEST_TIMEOUT_MS \(5000\)/);
  });
});
