/**
 * Hardening: the secret backend and the runner's workers. Vault (node-vault against the transit
 * test server) sealed, and then slower than the whole request budget: a request that needs a
 * secret gets a clear 503 well within its budget, requests that need none carry on, a secrets
 * write meanwhile changes nothing, and everything recovers by itself. A runaway guest whose
 * worker the runner must terminate: it gets 508 at its CPU budget, the worker is replaced, and
 * another tenant's load on the other worker never notices.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { sampleVariant } from '../../../test-setup/bundles.ts';
import { startVaultTransitServer, type VaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import { echoThrough, expectNoSecretAnywhere, knownSecrets, report, round, runLoad, summary } from './support.ts';

const FILE = 'faults-vault-workers';
const BUDGET_MS = 2_500;
const secrets = knownSecrets(FILE);
const ENRICHER = 'com.alga.samples.ticket-enricher';

let vault: VaultTransitServer;
let h: GatewayHarness;
let api: { origin: string; close(): Promise<void> };
let t: { adminKey: string; call: Caller };
let enricherId: string;
const responses: string[] = [];

beforeAll(async () => {
  const server: Server = createServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${secrets.apiToken}` || req.headers.authorization === `Bearer ${secrets.apiToken}-v2`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"priority":"high"}' : '{"error":"bad token"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
  vault = await startVaultTransitServer();
  h = await startGatewayHarness({
    secrets: { backend: 'vault', endpoint: vault.url, token: vault.rootToken, timeoutMs: 1_000 },
    gateway: { requestBudgetMs: BUDGET_MS, rateLimitPerMinute: 1_000_000, logLevel: 'info' },
    runner: { httpAllowedPrivateCidrs: ['127.0.0.0/8'], workers: 2 } as never,
  });
  await h.publishSample('hello');
  await h.publishSample('misbehaving');
  expect((await h.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [api.origin] } }))).status).toBe(201);
  t = await h.tenant();
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
  enricherId = (await t.call('POST', '/api/v1/extensions/install', { extension: ENRICHER })).body.id;
  await t.call('PUT', `/api/v1/installs/${enricherId}/settings`, { apiBaseUrl: api.origin, cacheSeconds: 0 });
  expect((await t.call('PUT', `/api/v1/installs/${enricherId}/secrets`, { set: { apiToken: secrets.apiToken } })).status).toBe(200);
});
afterAll(async () => { await h?.close(); await vault?.close(); await api?.close(); });

const enrich = async (id: string) => {
  const started = performance.now();
  const res = await t.call('GET', `/api/ext/${ENRICHER}/tickets/${id}/enrich?refresh=1`);
  responses.push(res.text);
  return { status: res.status, code: res.body?.error?.code as string | undefined, ms: performance.now() - started };
};
const hello = () => echoThrough(h, { adminKey: t.adminKey, greeting: 'Hello' }, `m-${Math.random().toString(36).slice(2, 8)}`);

describe('hardening: Vault down, then slow', () => {
  it('sealed: a request that needs a secret gets 503 quickly, one that needs none still works, a secrets write changes nothing; unsealed: it recovers', async () => {
    expect((await enrich('V-0')).status).toBe(200);
    // A new secrets version, so the runner must decrypt again (its cache is per version).
    const set = await t.call('PUT', `/api/v1/installs/${enricherId}/secrets`, { set: { apiToken: `${secrets.apiToken}-v2` } });
    expect(set.status).toBe(200);
    vault.seal();
    let down;
    let write;
    try {
      down = await enrich('V-1');
      expect((await hello()).ok).toBe(true);
      write = await t.call('PUT', `/api/v1/installs/${enricherId}/secrets`, { set: { apiToken: 'never-stored-value-123' } });
    } finally {
      vault.unseal();
    }
    expect(down).toMatchObject({ status: 503, code: 'SECRETS_UNAVAILABLE' });
    expect(down.ms).toBeLessThan(BUDGET_MS);
    expect(write.status).toBe(503);
    expect(write.body.error.code).toBe('E_SECRETS_UNAVAILABLE');
    const meta = (await t.call('GET', `/api/v1/installs/${enricherId}/secrets`)).body;
    expect(meta.secretsVersion).toBe(set.body.secretsVersion);
    const startedRecovery = performance.now();
    const back = await enrich('V-2');
    expect(back.status).toBe(200);
    report(FILE, 'Vault sealed', { refusedStatus: down.status, refusedCode: down.code, refusedInMs: round(down.ms), writeWhileSealed: `${write.status} ${write.body.error.code}`, secretsVersionUnchanged: true, firstRequestAfterUnsealMs: round(performance.now() - startedRecovery) });
  });

  it('slower than the whole budget: the answer is a 503 within the budget, not a hang; other requests carry on; it recovers', async () => {
    await t.call('PUT', `/api/v1/installs/${enricherId}/secrets`, { set: { apiToken: secrets.apiToken } });
    vault.setLatencyMs(BUDGET_MS * 2);
    let slow;
    let meanwhile;
    try {
      [slow, meanwhile] = await Promise.all([enrich('S-1'), (async () => { await new Promise((r) => setTimeout(r, 200)); return hello(); })()]);
    } finally {
      vault.setLatencyMs(0);
    }
    expect(slow.status).toBe(503);
    expect(slow.code).toBe('SECRETS_UNAVAILABLE');
    expect(slow.ms).toBeLessThan(BUDGET_MS + 500);
    expect(meanwhile.ok).toBe(true);
    const back = await enrich('S-2');
    expect(back.status).toBe(200);
    report(FILE, 'Vault slower than the budget', { budgetMs: BUDGET_MS, vaultLatencyMs: BUDGET_MS * 2, answeredInMs: round(slow.ms), status: `${slow.status} ${slow.code}`, otherRequests: 'ok', recovered: true });
  });
});

describe('hardening: a worker the runner must terminate', () => {
  it('the runaway gets 508 E_CPU_LIMIT at its CPU budget (before the request deadline), its worker is replaced, and a concurrent load on the other worker sees no error', async () => {
    const replacements = async () => {
      const text = await (await fetch(`${h.runnerUrl}/metrics`)).text();
      return [...text.matchAll(/^alga_runner_worker_replacements_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await replacements();
    const other = await h.tenant();
    await other.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
    const started = performance.now();
    const [runaway, load] = await Promise.all([
      t.call('GET', '/api/ext/com.alga.samples.misbehaving/loop').then((res) => ({ res, ms: performance.now() - started })),
      runLoad({ clients: 4, durationMs: BUDGET_MS + 1_000, send: (c, s) => echoThrough(h, { adminKey: other.adminKey, greeting: 'Hello' }, `w${c}-${s}`) }),
    ]);
    expect(runaway.res.status).toBe(508);
    expect(runaway.res.body.error.code).toBe('E_CPU_LIMIT');
    expect(runaway.ms).toBeLessThan(BUDGET_MS + 1_000);
    expect(await replacements()).toBe(before + 1);
    expect(load.lost).toBe(0);
    expect(load.byStatus).toEqual({ 200: load.requests });
    // The same install works again on a fresh worker.
    expect((await t.call('GET', '/api/ext/com.alga.samples.misbehaving/ok')).status).toBe(200);
    report(FILE, 'runaway guest: worker terminated and replaced', { status: `${runaway.res.status} ${runaway.res.body.error.code}`, answeredInMs: round(runaway.ms), workerReplacements: 1, otherTenantLoad: summary(load) });
  });

  it('no known secret value appears in any log line, response, audit row or metric', async () => {
    await new Promise((r) => setTimeout(r, 300));
    report(FILE, 'secret hygiene', await expectNoSecretAnywhere(h, [...secrets.all, `${secrets.apiToken}-v2`, 'never-stored-value-123'], { responses }));
  });
});
