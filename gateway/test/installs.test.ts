import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
const settings = [
  { key: 'greeting', label: 'Greeting', type: 'text', default: 'Hello', pattern: '^[A-Za-z ]+$' },
  { key: 'retries', label: 'Retries', type: 'number', min: 0, max: 5, default: 2 },
  { key: 'mode', label: 'Mode', type: 'select', options: [{ value: 'fast', label: 'Fast' }, { value: 'safe', label: 'Safe' }], default: 'safe' },
  { key: 'apiToken', label: 'API token', type: 'secret', required: true },
  { key: 'webhookSecret', label: 'Webhook secret', type: 'secret' },
];

beforeAll(async () => {
  h = await startGatewayHarness({ runner: false });
  await h.publish(await helloVariant({ name: 'com.acme.lifecycle', version: '1.0.0', capabilities: ['cap:secrets.get'], settings }));
  await h.publish(await helloVariant({ name: 'com.acme.lifecycle', version: '1.1.0', capabilities: ['cap:secrets.get'], settings }));
  await h.publish(await helloVariant({ name: 'com.acme.lifecycle', version: '2.0.0', capabilities: ['cap:secrets.get', 'cap:http.fetch'], http: { allowedHosts: ['https://api.example.com'] }, settings }));
  t = await h.tenant();
});
afterAll(() => h?.close());

async function install(version = '1.0.0') {
  const res = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.lifecycle', version });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; grantedCapabilities: string[] };
}

describe('install lifecycle', () => {
  it('install, list, get, disable, enable, uninstall', async () => {
    const created = await install();
    expect(created).toMatchObject({ extensionName: 'com.acme.lifecycle', version: '1.0.0', status: 'enabled', configVersion: 1, secretsVersion: 0 });
    expect(created.grantedCapabilities).toEqual(['cap:context.read', 'cap:log.emit', 'cap:secrets.get']);
    expect((await t.call('GET', '/api/v1/installs')).body.installs.map((i: { id: string }) => i.id)).toContain(created.id);
    expect((await t.call('POST', `/api/v1/installs/${created.id}/disable`)).body.status).toBe('disabled');
    expect((await t.call('POST', `/api/v1/installs/${created.id}/enable`)).body.status).toBe('enabled');
    expect((await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.lifecycle' })).body.error.code).toBe('E_CONFLICT');
    expect((await t.call('DELETE', `/api/v1/installs/${created.id}`)).status).toBe(204);
    expect((await t.call('GET', `/api/v1/installs/${created.id}`)).status).toBe(404);
  });

  it('installs the latest version by default and refuses grants the manifest does not declare', async () => {
    const bad = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.lifecycle', grants: ['cap:storage.kv'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('E_VALIDATION');
    const latest = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.lifecycle' });
    expect(latest.body.version).toBe('2.0.0');
    await t.call('DELETE', `/api/v1/installs/${latest.body.id}`);
  });

  it('an upgrade asking for more capabilities or hosts waits for consent (409 E_CONSENT_REQUIRED), then applies with consent', async () => {
    const { id } = await install('1.0.0');
    const same = await t.call('POST', `/api/v1/installs/${id}/upgrade`, { version: '1.1.0' });
    expect(same.body.version).toBe('1.1.0');
    const more = await t.call('POST', `/api/v1/installs/${id}/upgrade`, { version: '2.0.0' });
    expect(more.status).toBe(409);
    expect(more.body.error.code).toBe('E_CONSENT_REQUIRED');
    expect(more.body.error.details).toEqual({ version: '2.0.0', addedCapabilities: ['cap:http.fetch'], addedHosts: ['https://api.example.com'], addedUiProxyRoutes: [], addedStorageNamespaces: [], addedSecretUses: [] });
    const pending = (await t.call('GET', `/api/v1/installs/${id}`)).body;
    expect(pending).toMatchObject({ version: '1.1.0', pendingVersion: '2.0.0' });
    const consented = await t.call('POST', `/api/v1/installs/${id}/upgrade`, { version: '2.0.0', consent: true });
    expect(consented.body).toMatchObject({ version: '2.0.0', pendingVersion: null });
    expect(consented.body.grantedCapabilities).toContain('cap:http.fetch');
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });

  it('uninstall purges config, secrets and storage rows', async () => {
    const { id } = await install();
    await t.call('PUT', `/api/v1/installs/${id}/secrets`, { set: { apiToken: 'purge-me-123' } });
    await h.db.knex('ext_storage_records').insert({ tenant_id: t.tenantId, install_id: id, namespace: 'n', key: 'k', value: Buffer.from('v'), revision: 1 });
    await t.call('DELETE', `/api/v1/installs/${id}`);
    for (const table of ['tenant_extension_install_config', 'tenant_extension_install_secrets', 'ext_storage_records']) {
      expect(await h.db.knex(table).where({ install_id: id }).count({ n: '*' }).first(), table).toMatchObject({ n: 0 });
    }
  });
});

describe('settings', () => {
  it('GET returns defaults and the settings schema; PUT validates, stores and bumps config_version', async () => {
    const { id } = await install();
    const initial = (await t.call('GET', `/api/v1/installs/${id}/settings`)).body;
    expect(initial.config).toEqual({ greeting: 'Hello', retries: 2, mode: 'safe' });
    expect(initial.configVersion).toBe(1);
    expect(initial.settings.map((s: { key: string }) => s.key)).toContain('apiToken');
    const put = await t.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'Hi there', retries: 5, mode: 'fast' });
    expect(put.body).toEqual({ config: { greeting: 'Hi there', retries: 5, mode: 'fast' }, configVersion: 2 });
    expect((await t.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'Again' })).body.configVersion).toBe(3);
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });

  it('a bad write gets 400 E_VALIDATION with each field path, and leaves the previous config intact', async () => {
    const { id } = await install();
    await t.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'Kept', retries: 1, mode: 'fast' });
    const bad = await t.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'no digits 123', retries: 9, mode: 'turbo', apiToken: 'x', unknown: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('E_VALIDATION');
    const paths = bad.body.error.details.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['$.apiToken', '$.greeting', '$.mode', '$.retries', '$.unknown']);
    const after = (await t.call('GET', `/api/v1/installs/${id}/settings`)).body;
    expect(after).toMatchObject({ config: { greeting: 'Kept', retries: 1, mode: 'fast' }, configVersion: 2 });
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });
});

describe('secrets (write-only)', () => {
  it('set and remove bump secrets_version, store only ciphertext, and never return a value', async () => {
    const { id } = await install();
    const plaintext = 'tok_live_PLAINTEXT_4711';
    const set = await t.call('PUT', `/api/v1/installs/${id}/secrets`, { set: { apiToken: plaintext, webhookSecret: 'whsec_PLAINTEXT_42' } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ secretsVersion: 1, keys: ['apiToken', 'webhookSecret'] });
    expect(set.text).not.toContain('PLAINTEXT');
    const rows = await h.db.knex('tenant_extension_install_secrets').where({ install_id: id });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.ciphertext).toMatch(/^local:v1:/);
      expect(row.ciphertext).not.toContain('PLAINTEXT');
      expect(row.algorithm).toBe('local-aes-256-gcm');
    }
    const meta = await t.call('GET', `/api/v1/installs/${id}/secrets`);
    expect(meta.body).toMatchObject({ secretsVersion: 1, missing: [] });
    expect(meta.body.keys.map((k: { key: string }) => k.key)).toEqual(['apiToken', 'webhookSecret']);
    expect(meta.text).not.toContain('PLAINTEXT');
    const removed = await t.call('PUT', `/api/v1/installs/${id}/secrets`, { remove: ['webhookSecret'] });
    expect(removed.body).toMatchObject({ secretsVersion: 2, keys: ['apiToken'] });
    for (const path of [`/api/v1/installs/${id}`, `/api/v1/installs/${id}/settings`, '/api/v1/installs']) {
      expect((await t.call('GET', path)).text).not.toContain('PLAINTEXT');
    }
    expect(h.logs.join('\n')).not.toContain('PLAINTEXT');
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });

  it('refuses keys that are not declared as secret settings, empty values and malformed bodies; nothing changes', async () => {
    const { id } = await install();
    await t.call('PUT', `/api/v1/installs/${id}/secrets`, { set: { apiToken: 'first-value-1' } });
    for (const body of [{ set: { greeting: 'not-a-secret' } }, { set: { nope: 'x' } }, { set: { apiToken: '' } }, { set: { apiToken: 5 } }, { bogus: true }, { set: { apiToken: 'a' }, remove: ['apiToken'] }]) {
      const res = await t.call('PUT', `/api/v1/installs/${id}/secrets`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('E_VALIDATION');
    }
    const meta = (await t.call('GET', `/api/v1/installs/${id}/secrets`)).body;
    expect(meta.secretsVersion).toBe(1);
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });

  it('POST reset restores config defaults AND clears every secret', async () => {
    const { id } = await install();
    await t.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'Changed', retries: 0, mode: 'fast' });
    await t.call('PUT', `/api/v1/installs/${id}/secrets`, { set: { apiToken: 'reset-me-99' } });
    const reset = await t.call('POST', `/api/v1/installs/${id}/reset`);
    expect(reset.body).toEqual({ config: { greeting: 'Hello', retries: 2, mode: 'safe' }, configVersion: 3, secretsVersion: 2 });
    expect(await h.db.knex('tenant_extension_install_secrets').where({ install_id: id })).toHaveLength(0);
    expect((await t.call('GET', `/api/v1/installs/${id}/secrets`)).body.missing).toEqual(['apiToken', 'webhookSecret']);
    await t.call('DELETE', `/api/v1/installs/${id}`);
  });
});
