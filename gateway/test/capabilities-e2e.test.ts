/**
 * Issue 4 end to end: real components, through the gateway's proxy route, to a real runner
 * whose providers call real servers on loopback (an enrichment API, the Vault transit server).
 * Every case runs twice (issue 8): against a runner in the test process, and against the
 * stand-alone `node runner/src/main.ts` process configured only by its environment, as an
 * operator scaling out runs it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness, type GatewayHarnessOptions } from '../../test-setup/gateway-harness.ts';
import { externalRunnerProcess } from '../../test-setup/external-runner.ts';
import { sampleVariant } from '../../test-setup/bundles.ts';
import { startVaultTransitServer, type VaultTransitServer } from '../../test-setup/vault-transit-server.ts';

const plaintexts = new Set<string>();
const secret = (label: string) => { const v = `sk_${label}_${Math.random().toString(36).slice(2)}_PLAIN`; plaintexts.add(v); return v; };

/**
 * A stand-in for the third-party enrichment API: answers only to the expected bearer token. Ticket
 * ids starting with `ECHO` get the request's Authorization header back in the body and a header,
 * as a careless API might.
 */
async function startEnrichmentApi() {
  const seen: Array<{ path: string; authorization: string | undefined }> = [];
  let expectedToken = '';
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${expectedToken}`) { res.writeHead(401).end('{"error":"bad token"}'); return; }
    const ticket = req.url?.split('/').pop();
    const echo = ticket?.startsWith('ECHO') ? { youSent: req.headers.authorization } : {};
    res.writeHead(200, { 'content-type': 'application/json', ...(ticket?.startsWith('ECHO') ? { 'x-you-sent': req.headers.authorization } : {}) })
      .end(JSON.stringify({ priority: 'high', ticket, tokenGeneration: expectedToken.slice(3, 8), ...echo }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, seen, expect: (token: string) => { expectedToken = token; }, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function installEnricher(h: GatewayHarness, t: { call: Caller }, apiOrigin: string) {
  const bytes = await sampleVariant('ticket-enricher', { http: { allowedHosts: ['https://api.enrichment.example', apiOrigin] } });
  const res = await h.publish(bytes);
  expect(res.status, await res.clone().text()).toBe(201);
  const install = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.ticket-enricher' })).body;
  await t.call('PUT', `/api/v1/installs/${install.id}/settings`, { apiBaseUrl: apiOrigin, cacheSeconds: 300 });
  return install.id as string;
}

interface RunnerKind {
  name: string;
  /** Harness options for this kind of runner; by default outbound HTTP may reach 127.0.0.1 (the enrichment API). */
  options(opts?: { httpAllowedPrivateCidrs?: string[] }): GatewayHarnessOptions;
}

const runnerKinds: RunnerKind[] = [
  {
    name: 'in-process runner',
    options: ({ httpAllowedPrivateCidrs } = {}) => (httpAllowedPrivateCidrs ? { runner: { httpAllowedPrivateCidrs } } : {}),
  },
  {
    name: 'external runner process',
    options: ({ httpAllowedPrivateCidrs } = {}) => ({
      externalRunner: externalRunnerProcess(httpAllowedPrivateCidrs ? { env: { RUNNER_HTTP_ALLOWED_PRIVATE_CIDRS: httpAllowedPrivateCidrs.join(',') } } : {}),
    }),
  },
];

describe.each(runnerKinds)('$name', (kind) => {
  describe('ticket-enricher with the local keyring', () => {
    let h: GatewayHarness;
    let t: { tenantId: string; adminKey: string; call: Caller };
    let api: Awaited<ReturnType<typeof startEnrichmentApi>>;
    let installId: string;

    beforeAll(async () => {
      api = await startEnrichmentApi();
      h = await startGatewayHarness(kind.options());
      t = await h.tenant();
      installId = await installEnricher(h, t, api.origin);
    });
    afterAll(async () => { await h?.close(); await api?.close(); });

    it('sends its secret without reading it (the host fills in the placeholder), calls the allowlisted API, caches in storage with CAS, and serves the cache next time', async () => {
      const token = secret('local1');
      api.expect(token);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: token } });
      const first = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/T-1/enrich');
      expect(first.status, first.text).toBe(200);
      expect(first.body).toMatchObject({ source: 'api', revision: '1', ticketId: 'T-1', data: { priority: 'high', ticket: 'T-1' } });
      expect(api.seen.at(-1)).toEqual({ path: '/enrich/T-1', authorization: `Bearer ${token}` });
      const second = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/T-1/enrich');
      expect(second.body).toMatchObject({ source: 'cache', revision: '1' });
      expect(api.seen.filter((s) => s.path === '/enrich/T-1')).toHaveLength(1);
      const row = await h.db.knex('ext_storage_records').where({ install_id: installId, namespace: 'cache', key: 'ticket:T-1' }).first();
      expect(row.revision).toBe(1);
      const refreshed = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/T-1/enrich?refresh=1');
      expect(refreshed.body).toMatchObject({ source: 'api', revision: '2' });
    });

    it('a rotated secret (new secretsVersion) is used on the very next request', async () => {
      const oldToken = secret('old');
      api.expect(oldToken);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: oldToken } });
      expect((await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/R-1/enrich?refresh=1')).status).toBe(200);
      const newToken = secret('new');
      api.expect(newToken);
      const rotated = await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: newToken } });
      const res = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/R-1/enrich?refresh=1');
      expect(res.status, res.text).toBe(200);
      expect(res.headers.get('x-ext-secrets-version')).toBe(String(rotated.body.secretsVersion));
      expect(api.seen.at(-1)?.authorization).toBe(`Bearer ${newToken}`);
    });

    it('without the cap:secrets.use grant the placeholder is refused (`denied`), never a trap, and the API gets nothing', async () => {
      const t2 = await h.tenant();
      const install = (await t2.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.ticket-enricher', grants: ['cap:storage.kv', 'cap:http.fetch'] })).body;
      await t2.call('PUT', `/api/v1/installs/${install.id}/settings`, { apiBaseUrl: api.origin });
      await t2.call('PUT', `/api/v1/installs/${install.id}/secrets`, { set: { apiToken: secret('ungranted') } });
      const before = api.seen.length;
      const res = await t2.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/U-1/enrich');
      expect(res.status, res.text).toBe(502);
      expect(res.body.error.message).toBe('enrichment API call failed: denied ({{secret:…}} placeholders need cap:secrets.use, which this install was not granted)');
      expect(api.seen.length).toBe(before);
      expect((await t2.call('GET', '/api/ext/com.alga.samples.ticket-enricher/status')).body).toEqual({ apiBaseUrl: api.origin, cachedTickets: 0 });
    });

    it('with cap:secrets.use only: an API that echoes the token gives the guest [redacted], in the body it stores and in headers', async () => {
      const token = secret('echoed');
      api.expect(token);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: token } });
      const res = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/ECHO-1/enrich');
      expect(res.status, res.text).toBe(200);
      expect(api.seen.at(-1)).toEqual({ path: '/enrich/ECHO-1', authorization: `Bearer ${token}` });
      expect(res.body.data.youSent).toBe('Bearer [redacted]');
      expect(res.text).not.toContain(token);
      const row = await h.db.knex('ext_storage_records').where({ install_id: installId, namespace: 'cache', key: 'ticket:ECHO-1' }).first();
      expect(Buffer.from(row.value).toString('utf8')).toContain('Bearer [redacted]');
      expect(Buffer.from(row.value).toString('utf8')).not.toContain(token);
    });

    it('with cap:secrets.use only: a secret bound to one host is not sent to another allowlisted host, and a component that imports the secrets interface cannot be published without cap:secrets.get', async () => {
      const other = await startEnrichmentApi();
      try {
        const name = 'com.acme.enricher-bound';
        const bytes = await sampleVariant('ticket-enricher', {
          name,
          http: { allowedHosts: [api.origin, other.origin] },
          settings: [
            { key: 'apiBaseUrl', label: 'Enrichment API base URL', type: 'text', default: api.origin },
            { key: 'apiToken', label: 'Enrichment API token', type: 'secret', required: true, hosts: [api.origin] },
          ],
        });
        expect((await h.publish(bytes)).status).toBe(201);
        const install = (await t.call('POST', '/api/v1/extensions/install', { extension: name })).body;
        const token = secret('bound');
        api.expect(token);
        other.expect(token);
        await t.call('PUT', `/api/v1/installs/${install.id}/secrets`, { set: { apiToken: token } });
        expect((await t.call('GET', `/api/ext/${name}/tickets/B-1/enrich`)).status).toBe(200);
        expect(api.seen.at(-1)?.authorization).toBe(`Bearer ${token}`);
        // The admin points it at the other allowlisted host: the secret does not follow.
        await t.call('PUT', `/api/v1/installs/${install.id}/settings`, { apiBaseUrl: other.origin });
        const res = await t.call('GET', `/api/ext/${name}/tickets/B-2/enrich`);
        expect(res.status, res.text).toBe(502);
        expect(res.body.error.message).toBe(`enrichment API call failed: denied (secret apiToken may not be sent to ${other.origin})`);
        expect(other.seen).toHaveLength(0);
      } finally {
        await other.close();
      }
      // misbehaving's component imports alga:extension/secrets: with only cap:secrets.use it is refused at publish.
      const reading = await h.publish(await sampleVariant('misbehaving', { name: 'com.acme.secret-reader', capabilities: ['cap:secrets.use', 'cap:http.fetch'], ui: undefined }));
      expect(reading.status).toBe(422);
      expect((await reading.json()).error).toMatchObject({ code: 'E_UNDECLARED_IMPORT', message: expect.stringContaining('does not declare cap:secrets.get') });
    });

    it('the guest cannot reach hosts outside its allowlist, nor private or metadata addresses (misbehaving /fetch)', async () => {
      const hs = await startGatewayHarness(kind.options({ httpAllowedPrivateCidrs: [] }));
      try {
        const ts = await hs.tenant();
        await hs.publishSample('misbehaving');
        await ts.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
        const before = api.seen.length;
        for (const url of [`${api.origin}/enrich/x`, 'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:1/', 'http://[::1]/', 'https://evil.example/', 'http://10.0.0.1/']) {
          const res = await ts.call('GET', `/api/ext/com.alga.samples.misbehaving/fetch?url=${encodeURIComponent(url)}`);
          expect(res.status, url).toBe(200);
          expect(res.body.error, url).toBe('denied');
        }
        expect(api.seen.length).toBe(before);
      } finally {
        await hs.close();
      }
    });

    it('a secret the guest writes into its logs is redacted in the response, the log table and every log line', async () => {
      await h.publishSample('misbehaving');
      const install = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body;
      const token = secret('leak');
      await t.call('PUT', `/api/v1/installs/${install.id}/secrets`, { set: { token } });
      const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/leak-secret');
      expect(res.body).toEqual({ logged: true });
      const requestId = res.headers.get('x-request-id');
      let rows: Array<{ message: string; fields: Record<string, string> }> = [];
      for (let i = 0; i < 50 && rows.length === 0; i++) {
        rows = await h.db.knex('extension_log').where({ request_id: requestId });
        if (rows.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(rows[0].message).toBe('the token is [REDACTED]');
      expect(rows[0].fields).toEqual({ token: '[REDACTED]', wrapped: '[[REDACTED]]' });
    });

    it('no secret plaintext appears anywhere in the gateway and runner output of this suite', () => {
      const output = h.logs.join('\n');
      expect(output.length).toBeGreaterThan(1000);
      for (const value of plaintexts) expect(output).not.toContain(value);
    });
  });

  describe('ticket-enricher with Vault transit (node-vault against the transit test server)', () => {
    let vault: VaultTransitServer;
    let h: GatewayHarness;
    let t: { tenantId: string; adminKey: string; call: Caller };
    let api: Awaited<ReturnType<typeof startEnrichmentApi>>;
    let installId: string;

    beforeAll(async () => {
      vault = await startVaultTransitServer();
      api = await startEnrichmentApi();
      h = await startGatewayHarness({ ...kind.options(), secrets: { backend: 'vault', endpoint: vault.url, token: vault.rootToken, timeoutMs: 1500 }, gateway: { requestBudgetMs: 5000 } });
      t = await h.tenant();
      installId = await installEnricher(h, t, api.origin);
    });
    afterAll(async () => { await h?.close(); await api?.close(); await vault?.close(); });

    it('stores vault: ciphertexts, decrypts them with one batch call per secrets version, and rotation shows on the next request', async () => {
      const token = secret('vault1');
      api.expect(token);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: token } });
      const row = await h.db.knex('tenant_extension_install_secrets').where({ install_id: installId, key: 'apiToken' }).first();
      expect(row.ciphertext).toMatch(/^vault:v1:/);
      expect(row.algorithm).toBe('vault-transit');
      vault.resetCounters();
      for (let i = 0; i < 3; i++) {
        const res = await t.call('GET', `/api/ext/com.alga.samples.ticket-enricher/tickets/V-${i}/enrich`);
        expect(res.status, res.text).toBe(200);
        expect(res.body.source).toBe('api');
      }
      expect(vault.requestCount('transit/decrypt/')).toBe(1);
      const next = secret('vault2');
      api.expect(next);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: next } });
      const res = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/V-0/enrich?refresh=1');
      expect(res.status, res.text).toBe(200);
      expect(api.seen.at(-1)?.authorization).toBe(`Bearer ${next}`);
      expect(vault.requestCount('transit/decrypt/')).toBe(2);
    });

    it('Vault down: the request gets a clear error well within its deadline, and the runner stays healthy', async () => {
      const token = secret('beforeoutage');
      api.expect(token);
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: token } });
      vault.seal();
      try {
        const started = Date.now();
        const res = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/D-1/enrich');
        expect(Date.now() - started).toBeLessThan(5000);
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe('SECRETS_UNAVAILABLE');
        expect(res.text).not.toContain(token);
      } finally {
        vault.unseal();
      }
      const health = await fetch(`${h.runnerUrl}/readyz`);
      expect(health.status).toBe(200);
      const after = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/D-1/enrich');
      expect(after.status, after.text).toBe(200);
    });

    it('Vault closed (connection refused) also fails fast with the guest-visible unavailable error', async () => {
      const token = secret('closed');
      await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { apiToken: token } });
      await vault.close();
      const started = Date.now();
      const res = await t.call('GET', '/api/ext/com.alga.samples.ticket-enricher/tickets/C-1/enrich');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.status).toBe(503);
      expect((await fetch(`${h.runnerUrl}/readyz`)).status).toBe(200);
      vault = await startVaultTransitServer();
    });

    it('no secret plaintext appears in the gateway and runner output', () => {
      const output = h.logs.join('\n');
      for (const value of plaintexts) expect(output).not.toContain(value);
    });
  });
});
