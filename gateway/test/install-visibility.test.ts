/**
 * Every write that changes what a proxied request sees is visible on the very next request,
 * however long the install-config cache would keep an entry (issue 8: a tenant that called an
 * extension before installing it kept the cached "not installed" answer for the TTL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
const name = 'com.acme.visible';
const echo = () => t.call('GET', `/api/ext/${name}/echo/x`);
let installId: string;

beforeAll(async () => {
  // A TTL far beyond the test: only invalidation can make a write visible.
  h = await startGatewayHarness({ gateway: { installConfigCacheTtlMs: 3_600_000, rateLimitPerMinute: 10_000 } });
  expect((await h.publish(await helloVariant({ name, version: '1.0.0' }))).status).toBe(201);
  const v2 = { name, version: '2.0.0', settings: [{ key: 'greeting', label: 'Greeting', type: 'text', default: 'Hello' }, { key: 'farewell', label: 'Farewell', type: 'text', default: 'from v2' }] };
  expect((await h.publish(await helloVariant(v2))).status).toBe(201);
  const v3 = { ...v2, version: '3.0.0', capabilities: ['cap:storage.kv'] };
  expect((await h.publish(await helloVariant(v3))).status).toBe(201);
  t = await h.tenant();
});
afterAll(() => h?.close());

describe('the install-config cache never outlives a write', () => {
  it('install: a cached "not installed" answer is dropped', async () => {
    const before = await echo();
    expect(before.body.error.code).toBe('E_INSTALL_DISABLED');
    const installed = await t.call('POST', '/api/v1/extensions/install', { extension: name, version: '1.0.0' });
    installId = installed.body.id;
    expect((await echo()).status).toBe(200);
  });

  it('settings', async () => {
    expect((await t.call('PUT', `/api/v1/installs/${installId}/settings`, { greeting: 'Howdy' })).status).toBe(200);
    expect((await echo()).body.config.greeting).toBe('Howdy');
  });

  it('secrets (the secrets version the runner is sent)', async () => {
    const set = await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: {} });
    expect((await echo()).headers.get('x-ext-secrets-version')).toBe(String(set.body.secretsVersion));
  });

  it('reset', async () => {
    await t.call('POST', `/api/v1/installs/${installId}/reset`);
    expect((await echo()).body.config.greeting).toBe('Hello');
  });

  it('disable, then enable', async () => {
    await t.call('POST', `/api/v1/installs/${installId}/disable`);
    expect((await echo()).body.error.code).toBe('E_INSTALL_DISABLED');
    await t.call('POST', `/api/v1/installs/${installId}/enable`);
    expect((await echo()).status).toBe(200);
  });

  it('upgrade', async () => {
    expect((await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '2.0.0' })).status).toBe(200);
    expect((await echo()).body.config.farewell).toBe('from v2');
  });

  it('an upgrade waiting for consent changes nothing; the consent does, at once', async () => {
    expect((await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '3.0.0' })).status).toBe(409);
    expect((await echo()).headers.get('x-ext-config-version')).toBe(String((await t.call('GET', `/api/v1/installs/${installId}`)).body.configVersion));
    const consented = await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '3.0.0', consent: true });
    expect(consented.status).toBe(200);
    expect((await echo()).headers.get('x-ext-config-version')).toBe(String(consented.body.configVersion));
  });

  it('uninstall, and a fresh install after it', async () => {
    await t.call('DELETE', `/api/v1/installs/${installId}`);
    expect((await echo()).body.error.code).toBe('E_INSTALL_DISABLED');
    const again = await t.call('POST', '/api/v1/extensions/install', { extension: name, version: '1.0.0' });
    expect(again.status).toBe(201);
    expect((await echo()).status).toBe(200);
  });

  it('the cache is still used between writes (hits, not a database read per request)', async () => {
    const hits = h.gateway.installConfigCache.hits;
    await echo();
    await echo();
    expect(h.gateway.installConfigCache.hits).toBe(hits + 2);
  });
});
