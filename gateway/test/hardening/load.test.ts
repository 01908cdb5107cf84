/**
 * Hardening: load. 32 concurrent clients for a bounded time against the gateway on loopback
 * (PostgreSQL in CI, PGlite locally), with the runner in its own process, across 4 tenants and
 * two extensions (hello's echo, and ticket-enricher: secret placeholder + storage + an outbound
 * call to a real loopback API). Every response is checked against its own request: its path,
 * body, and the tenant's own config. Nothing may be lost or misrouted, and the gateway's heap
 * must not keep growing.
 */
import { createServer, type Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { externalRunnerProcess } from '../../../test-setup/external-runner.ts';
import { sampleVariant } from '../../../test-setup/bundles.ts';
import { echoThrough, expectNoSecretAnywhere, knownSecrets, report, round, runLoad, sharedPostgresServerLog, summary, type Outcome } from './support.ts';

/** A full collection on demand, without starting the process with --expose-gc. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FILE = 'load';
const CLIENTS = 32;
const DURATION_MS = 6_000;
const secrets = knownSecrets(FILE);
const ENRICHER = 'com.alga.samples.ticket-enricher';

let h: GatewayHarness;
let api: { origin: string; close(): Promise<void> };
const tenants: Array<{ adminKey: string; greeting: string }> = [];
const responses: string[] = [];

beforeAll(async () => {
  // The enrichment API answers only to the secret the host filled in.
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${secrets.apiToken}`) { res.writeHead(401).end('{"error":"bad token"}'); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ticket: decodeURIComponent(req.url?.split('/').pop() ?? '') }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };

  h = await startGatewayHarness({ externalRunner: externalRunnerProcess({ env: { LOG_LEVEL: 'info' } }), gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' } });
  await h.publishSample('hello');
  expect((await h.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [api.origin] } }))).status).toBe(201);
  for (let i = 0; i < 4; i++) {
    const t = await h.tenant(`Load tenant ${i}`);
    const greeting = `G${i}-${Math.random().toString(36).slice(2, 8)}`;
    const hello = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body;
    expect((await t.call('PUT', `/api/v1/installs/${hello.id}/settings`, { greeting })).status).toBe(200);
    const enricher = (await t.call('POST', '/api/v1/extensions/install', { extension: ENRICHER })).body;
    await t.call('PUT', `/api/v1/installs/${enricher.id}/settings`, { apiBaseUrl: api.origin, cacheSeconds: 0 });
    expect((await t.call('PUT', `/api/v1/installs/${enricher.id}/secrets`, { set: { apiToken: secrets.apiToken } })).status).toBe(200);
    tenants.push({ adminKey: t.adminKey, greeting });
  }
});
afterAll(async () => { await h?.close(); await api?.close(); });

/** ticket-enricher: its answer must name the ticket this request asked for. */
async function enrichThrough(tenant: { adminKey: string }, marker: string): Promise<Outcome> {
  const res = await fetch(`${h.url}/api/ext/${ENRICHER}/tickets/${marker}/enrich?refresh=1`, { headers: { authorization: `Bearer ${tenant.adminKey}` }, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (responses.length < 200) responses.push(text);
  if (res.status !== 200) return { ok: false, status: res.status, code: (JSON.parse(text) as { error?: { code?: string } }).error?.code };
  const body = JSON.parse(text) as { ticketId?: string; data?: { ticket?: string } };
  const own = body.ticketId === marker && body.data?.ticket === marker;
  return { ok: own, status: 200, misrouted: !own };
}

describe('hardening: load', () => {
  it(`${CLIENTS} clients for ${DURATION_MS / 1000} s across 4 tenants: every response is its own request's, none lost or misrouted, and the heap does not keep growing`, async () => {
    // The heap after a full collection, once warm (a third in: caches filled) and at the end.
    const heapAfterGc = () => { gc(); return process.memoryUsage().heapUsed; };
    let warmHeap = 0;
    const warm = setTimeout(() => { warmHeap = heapAfterGc(); }, DURATION_MS / 3);
    let result;
    try {
      result = await runLoad({
        clients: CLIENTS,
        durationMs: DURATION_MS,
        send: (client, seq) => {
          const tenant = tenants[client % tenants.length];
          const marker = `c${client}-s${seq}-${Math.random().toString(36).slice(2, 8)}`;
          return seq % 4 === 3 ? enrichThrough(tenant, marker) : echoThrough(h, tenant, marker);
        },
      });
    } finally {
      clearTimeout(warm);
    }
    const growthMb = (heapAfterGc() - warmHeap) / 1048576;
    report(FILE, 'load', { ...summary(result), reqPerSec: round(result.requests / (result.durationMs / 1000)), heapGrowthMb: round(growthMb) });

    expect(result.requests).toBeGreaterThan(CLIENTS * 5);
    expect(result.lost).toBe(0);
    expect(result.misrouted).toBe(0);
    expect(result.byStatus).toEqual({ 200: result.requests });
    expect(warmHeap).toBeGreaterThan(0);
    expect(growthMb).toBeLessThan(32);
  });

  it('no known secret value appears in any log line, response, audit row, storage row, metric or (on PostgreSQL) the server\'s own log', async () => {
    // Let the write-behind audit batch land first.
    await new Promise((r) => setTimeout(r, 300));
    const serverLog = await sharedPostgresServerLog();
    report(FILE, 'secret hygiene', { ...(await expectNoSecretAnywhere(h, secrets.all, { responses, other: serverLog === undefined ? {} : { 'PostgreSQL server log': serverLog } })), postgresServerLogChecked: serverLog !== undefined });
  });
});
