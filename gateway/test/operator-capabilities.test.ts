/**
 * Operator capability switches (issue 12): each capability provider switched off for one tenant
 * or for all, through the operator API. Real gateway, real runner, real components: the install
 * that would grant a switched-off capability is refused, an existing install's calls to it answer
 * `denied` from the very next request, and a callback token minted before the switch stops working.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest } from '@alga-psa/extension-contracts';
import { operatorCaller, startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant, sampleVariant } from '../../test-setup/bundles.ts';

const ENRICHER = 'com.alga.samples.ticket-enricher';
let h: GatewayHarness;
let operator: Caller;
let api: { origin: string; hits: number; close(): Promise<void> };

beforeAll(async () => {
  let hits = 0;
  const server: Server = createServer((_req, res) => { hits++; res.writeHead(200, { 'content-type': 'application/json' }).end('{"priority":"low"}'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, get hits() { return hits; }, close: () => new Promise<void>((r) => server.close(() => r())) };
  h = await startGatewayHarness({ runner: { httpAllowedPrivateCidrs: ['127.0.0.0/8'] } });
  operator = operatorCaller(h);
  const published = await h.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [api.origin] } }));
  expect(published.status, await published.clone().text()).toBe(201);
});
afterAll(async () => { await h?.close(); await api?.close(); });

async function installEnricher(t: { call: Caller }, grants?: string[]) {
  const res = await t.call('POST', '/api/v1/extensions/install', { extension: ENRICHER, ...(grants ? { grants } : {}) });
  if (res.status === 201) {
    await t.call('PUT', `/api/v1/installs/${res.body.id}/settings`, { apiBaseUrl: api.origin });
    await t.call('PUT', `/api/v1/installs/${res.body.id}/secrets`, { set: { apiToken: 'tok-operator-switch-1' } });
  }
  return res;
}

const switchOf = (list: Array<{ capability: string }>, capability: string) => list.find((c) => c.capability === capability);

describe('operator API', () => {
  it('needs the operator token; lists every capability that can be switched off; refuses what cannot be switched or is unknown', async () => {
    expect((await fetch(`${h.url}/api/v1/operator/capabilities`)).status).toBe(401);
    const t = await h.tenant();
    expect((await t.call('GET', '/api/v1/operator/capabilities')).status).toBe(401); // a tenant admin key is not the operator
    const list = await operator('GET', '/api/v1/operator/capabilities');
    expect(list.status).toBe(200);
    expect(list.body.capabilities.map((c: { capability: string }) => c.capability)).toEqual(['cap:secrets.get', 'cap:http.fetch', 'cap:storage.kv', 'cap:ui.proxy', 'cap:secrets.use']);
    expect(switchOf(list.body.capabilities, 'cap:http.fetch')).toEqual({ capability: 'cap:http.fetch', description: 'can call the web addresses listed below', disabledGlobally: false, enabled: true });
    for (const [capability, body, status, code] of [
      ['cap:log.emit', { enabled: false }, 400, 'E_VALIDATION'],
      ['cap:nope', { enabled: false }, 400, 'E_VALIDATION'],
      ['cap:http.fetch', { enabled: 'no' }, 400, 'E_VALIDATION'],
      ['cap:http.fetch', { enabled: false, tenantId: randomUUID() }, 404, 'E_NOT_FOUND'],
      ['cap:http.fetch', { enabled: false, tenantId: 'not-a-uuid' }, 404, 'E_NOT_FOUND'],
    ] as const) {
      const res = await operator('PUT', `/api/v1/operator/capabilities/${capability}`, body);
      expect(res.status, `${capability} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    // Nothing was switched off by the refused calls.
    expect((await operator('GET', '/api/v1/operator/capabilities')).body.capabilities.every((c: { enabled: boolean }) => c.enabled)).toBe(true);
  });
});

describe('switched off for one tenant', () => {
  it('install is refused with E_CAPABILITY_DISABLED (naming it), works without that grant, and other tenants are untouched', async () => {
    const a = await h.tenant();
    const b = await h.tenant();
    const off = await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: a.tenantId });
    expect(off.status).toBe(200);
    expect(switchOf(off.body.capabilities, 'cap:storage.kv')).toMatchObject({ disabledForTenant: true, disabledGlobally: false, enabled: false });
    // Idempotent.
    expect((await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: a.tenantId })).status).toBe(200);

    const refused = await installEnricher(a);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('E_CAPABILITY_DISABLED');
    expect(refused.body.error.message).toMatch(/needs cap:storage\.kv, which the operator has switched off for this tenant; install it without granting them \(grants\)/);
    expect(refused.body.error.details).toEqual({ capabilities: ['cap:storage.kv'] });
    expect((await a.call('GET', '/api/v1/installs')).body.installs).toHaveLength(0);

    expect((await installEnricher(b)).status).toBe(201);
    expect((await installEnricher(a, ['cap:secrets.use', 'cap:http.fetch'])).status).toBe(201);
    // Without storage the sample answers from the API each time and says storage is denied.
    const status = await a.call('GET', `/api/ext/${ENRICHER}/status`);
    expect(status.body.cachedTickets).toBe('error: denied');
    expect((await b.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe(0);
  });

  it("an existing install's calls answer denied from the very next request, and work again once switched back on", async () => {
    const t = await h.tenant();
    expect((await installEnricher(t)).status).toBe(201);
    const enrich = () => t.call('GET', `/api/ext/${ENRICHER}/tickets/S-1/enrich?refresh=1`);
    expect((await enrich()).status).toBe(200); // cached in the gateway now

    const before = api.hits;
    await operator('PUT', '/api/v1/operator/capabilities/cap:http.fetch', { enabled: false, tenantId: t.tenantId });
    const denied = await enrich();
    expect(denied.status, denied.text).toBe(502);
    expect(denied.body.error.message).toBe('enrichment API call failed: denied (cap:http.fetch is not granted to this install)');
    expect(api.hits).toBe(before);
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: t.tenantId });
    expect((await t.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe('error: denied');

    // The install's own grants are unchanged: switching back on restores it at once.
    const view = (await t.call('GET', '/api/v1/installs')).body.installs[0];
    expect(view.grantedCapabilities).toEqual(expect.arrayContaining(['cap:http.fetch', 'cap:storage.kv']));
    await operator('PUT', '/api/v1/operator/capabilities/cap:http.fetch', { enabled: true, tenantId: t.tenantId });
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: true, tenantId: t.tenantId });
    expect((await enrich()).status).toBe(200);
    expect(api.hits).toBe(before + 1);
    expect((await t.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe(1);
  });

  it('a storage callback token minted before the switch is refused on its next call', async () => {
    const t = await h.tenant();
    const install = (await installEnricher(t)).body;
    const token = await h.gateway.executionKeys.mint({
      requestId: randomUUID(), tenantId: t.tenantId, installId: install.id, extensionId: install.extensionId, versionId: install.versionId,
      contentHash: install.contentHash, bodyDigest: executeBodyDigest({}), capabilities: ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'],
    }, Date.now() + 60_000);
    const put = (value: string) => fetch(`${h.url}/api/internal/ext-storage/install/${install.id}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'put', namespace: 'cache', key: 'k', valueB64: Buffer.from(value).toString('base64') }),
    });
    expect((await put('"before"')).status).toBe(200);
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: t.tenantId });
    const refused = await put('"after"');
    expect(refused.status).toBe(403);
    expect((await refused.json()).error).toEqual({ code: 'E_FORBIDDEN', message: 'the operator has switched off cap:storage.kv for this tenant' });
    const row = await h.db.knex('ext_storage_records').where({ install_id: install.id, key: 'k' }).first('value');
    expect(Buffer.from(row.value).toString('utf8')).toBe('"before"');
  });

  it('an upgrade that would add a switched-off capability is refused and the install stays where it was', async () => {
    const t = await h.tenant();
    const name = 'com.acme.operator-upgrade';
    expect((await h.publish(await helloVariant({ name, version: '1.0.0' }))).status).toBe(201);
    expect((await h.publish(await helloVariant({ name, version: '1.1.0', capabilities: ['cap:storage.kv'] }))).status).toBe(201);
    const install = (await t.call('POST', '/api/v1/extensions/install', { extension: name, version: '1.0.0' })).body;
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: t.tenantId });
    const res = await t.call('POST', `/api/v1/installs/${install.id}/upgrade`, { version: '1.1.0', consent: true });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'E_CAPABILITY_DISABLED', details: { capabilities: ['cap:storage.kv'] } });
    expect(res.body.error.message).toMatch(/^the upgrade to com\.acme\.operator-upgrade@1\.1\.0 needs cap:storage\.kv.*stay on the current version/);
    expect((await t.call('GET', `/api/v1/installs/${install.id}`)).body).toMatchObject({ version: '1.0.0' });
  });
});

describe('switched off for every tenant', () => {
  it('applies to all tenants; a tenant switch cannot turn it back on; switching the global one on restores it', async () => {
    const t1 = await h.tenant();
    const t2 = await h.tenant();
    expect((await installEnricher(t1)).status).toBe(201);
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false });
    try {
      expect((await t1.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe('error: denied');
      expect((await installEnricher(t2)).body.error?.code).toBe('E_CAPABILITY_DISABLED');
      // "On" for one tenant only removes that tenant's own switch; the global one still holds.
      const view = await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: true, tenantId: t1.tenantId });
      expect(switchOf(view.body.capabilities, 'cap:storage.kv')).toMatchObject({ disabledGlobally: true, disabledForTenant: false, enabled: false });
      expect((await t1.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe('error: denied');
    } finally {
      await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: true });
    }
    expect((await t1.call('GET', `/api/ext/${ENRICHER}/status`)).body.cachedTickets).toBe(0);
    expect((await installEnricher(t2)).status).toBe(201);
  });
});
