/**
 * The key-rotation runbook (README "Key rotation"), each step as an operator performs it: the
 * execution-token signing key (two keys active, then the old one retired), a new local-keyring
 * kid (old ciphertexts still decrypt, new writes use the new kid, re-encrypt migrates them, the
 * old kid is retired), the Vault transit key (rotate, rewrap, `min_decryption_version` raised),
 * a publisher key and an API key. A load of requests that need every key in play (hello through
 * the proxy; ticket-enricher: a secret, a storage callback, an outbound call) runs through each
 * rotation, and not one request may fail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest, generatePublisherKey, signBundle } from '@alga-psa/extension-contracts';
import { loadKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { operatorCaller, startGatewayHarness, type Caller, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { helloVariant, sampleVariant } from '../../../test-setup/bundles.ts';
import { startVaultTransitServer, type VaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import { activateExecutionKey, addExecutionKey, executionPublicJwks, ExecutionKeys, retireExecutionKey } from '../../src/proxy/execution-keys.ts';
import { echoThrough, report, runLoad, summary, type LoadResult } from './support.ts';

const FILE = 'key-rotation';

const ENRICHER = 'com.alga.samples.ticket-enricher';
const TOKEN = 'tok_rotation_3Fq8Lm2Zx7';

async function startApi(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${TOKEN}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"priority":"high"}' : '{"error":"bad token"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A tenant with hello and ticket-enricher (its secret set), and a load that uses both. */
async function setUp(h: GatewayHarness, apiOrigin: string) {
  await h.publishSample('hello');
  expect((await h.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [apiOrigin] } }))).status).toBe(201);
  const t = await h.tenant();
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
  const enricher = (await t.call('POST', '/api/v1/extensions/install', { extension: ENRICHER })).body;
  await t.call('PUT', `/api/v1/installs/${enricher.id}/settings`, { apiBaseUrl: apiOrigin, cacheSeconds: 0 });
  expect((await t.call('PUT', `/api/v1/installs/${enricher.id}/secrets`, { set: { apiToken: TOKEN } })).status).toBe(200);
  const client = { key: t.adminKey };
  const load = (signal: AbortSignal) => runLoad({
    clients: 4, durationMs: 120_000, signal,
    send: async (c, s) => {
      if (s % 2 === 0) return echoThrough(h, { adminKey: client.key, greeting: 'Hello' }, `k${c}-${s}`);
      const res = await fetch(`${h.url}/api/ext/${ENRICHER}/tickets/K${c}-${s}/enrich?refresh=1`, { headers: { authorization: `Bearer ${client.key}` } });
      const body = (await res.json()) as { error?: { code?: string }; source?: string };
      return { ok: res.status === 200 && body.source === 'api', status: res.status, code: body.error?.code };
    },
  });
  return { t, enricher, client, load };
}

/** Runs `steps` while the load runs; returns the load's figures. */
async function duringLoad(load: (signal: AbortSignal) => Promise<LoadResult>, steps: () => Promise<void>): Promise<LoadResult> {
  const stop = new AbortController();
  const running = load(stop.signal);
  await new Promise((r) => setTimeout(r, 300));
  try {
    await steps();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    stop.abort();
  }
  return running;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectNoFailure(result: LoadResult) {
  expect(result.requests, JSON.stringify(summary(result))).toBeGreaterThan(10);
  expect(result.byStatus, JSON.stringify(summary(result))).toEqual({ 200: result.requests });
}

describe('key rotation, local keyring (no request fails during any step)', () => {
  let h: GatewayHarness;
  let api: Awaited<ReturnType<typeof startApi>>;
  let env: Awaited<ReturnType<typeof setUp>>;
  let operator: Caller;
  const keysFile = () => join(h.dir, 'execution-keys.json');
  beforeAll(async () => {
    api = await startApi();
    h = await startGatewayHarness({ executionKeysFile: true, runner: { httpAllowedPrivateCidrs: ['127.0.0.0/8'] } as never, gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' } });
    operator = operatorCaller(h);
    env = await setUp(h, api.origin);
  });
  afterAll(async () => { await h?.close(); await api?.close(); });

  it('execution-token signing key: runners trust old and new, the gateway signs with the new, then the old is retired everywhere', async () => {
    const oldKid = h.gateway.executionKeys.kid;
    const old = await ExecutionKeys.load(keysFile());
    let newKid = '';
    const result = await duringLoad(env.load, async () => {
      // 1. a new key, not active; 2. every runner trusts both.
      newKid = (await addExecutionKey(keysFile())).kid;
      h.runner!.trustKeys(await executionPublicJwks(keysFile()));
      await pause(200);
      // 3. the gateway signs with the new key.
      await activateExecutionKey(keysFile(), newKid);
      const reloaded = await operator('POST', '/api/v1/operator/keys/reload');
      expect(reloaded.body.executionKeys).toEqual({ active: newKid, kids: [oldKid, newKid] });
      // 4. once no token of the old key is in flight (the request budget), runners drop it, and the gateway's file too.
      await pause(500);
      h.runner!.trustKeys((await executionPublicJwks(keysFile())).filter((k) => k.kid === newKid));
      await retireExecutionKey(keysFile(), oldKid);
      expect((await operator('POST', '/api/v1/operator/keys/reload')).body.executionKeys).toEqual({ active: newKid, kids: [newKid] });
      await pause(200);
    });
    expectNoFailure(result);
    report(FILE, 'requests during the execution-token signing key rotation', summary(result));
    expect(h.gateway.executionKeys.kid).toBe(newKid);
    // The retired key is refused by the runner and by the gateway's callbacks.
    const claims = {
      requestId: 'r-old', tenantId: env.t.tenantId, installId: env.enricher.id, extensionId: env.enricher.extensionId, versionId: env.enricher.versionId,
      contentHash: env.enricher.contentHash, bodyDigest: executeBodyDigest({}), capabilities: ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'],
    };
    const stale = await old.mint(claims, Date.now() + 60_000);
    expect((await fetch(`${h.runnerUrl}/v1/execute`, { method: 'POST', headers: { authorization: `Bearer ${stale}`, 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    const callback = await fetch(`${h.url}/api/internal/ext-storage/install/${env.enricher.id}`, { method: 'POST', headers: { authorization: `Bearer ${stale}`, 'content-type': 'application/json' }, body: JSON.stringify({ op: 'get', namespace: 'cache', key: 'k' }) });
    expect(callback.status).toBe(401);
    // A bad keys file changes nothing.
    const { writeFile } = await import('node:fs/promises');
    const good = await (await import('node:fs/promises')).readFile(keysFile(), 'utf8');
    await writeFile(keysFile(), '{"active":"nope","keys":[]}');
    const refused = await operator('POST', '/api/v1/operator/keys/reload');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'E_VALIDATION', message: expect.stringMatching(/^execution keys not reloaded, the ones in use stay: active execution key nope is not in the keyring/) });
    expect(h.gateway.executionKeys.kid).toBe(newKid);
    await writeFile(keysFile(), good);
  });

  it('local keyring: a new kid for new writes, old ciphertexts still decrypt, re-encrypt migrates them, the old kid is retired', async () => {
    const keyringFile = join(h.dir, 'keyring.json');
    const oldKid = (await loadKeyring(keyringFile, { createIfMissing: false })).active;
    const rowKid = async () => ((await h.db.knex('tenant_extension_install_secrets').where({ install_id: env.enricher.id, key: 'apiToken' }).first('ciphertext')).ciphertext as string).split(':')[2];
    expect(await rowKid()).toBe(oldKid);
    const oldCiphertext = (await h.db.knex('tenant_extension_install_secrets').where({ install_id: env.enricher.id }).first('ciphertext')).ciphertext as string;
    let newKid = '';
    const result = await duringLoad(env.load, async () => {
      const { rotateKeyring, saveKeyring, retireKeyringKid } = await import('@alga-psa/extension-host/secrets/local-keyring');
      // 1. a new active kid (old kept); runners and gateway read it (they share the cipher here; in production: copy + SIGHUP).
      const rotated = rotateKeyring(await loadKeyring(keyringFile, { createIfMissing: false }));
      newKid = rotated.active;
      await saveKeyring(keyringFile, rotated);
      expect((await operator('POST', '/api/v1/operator/keys/reload')).body.secrets).toEqual({ writer: `local:${newKid}` });
      // The stored value is still under the old kid, and still decrypts.
      const before = await h.secretCipher.decrypt({ tenantId: env.t.tenantId, installId: env.enricher.id }, { apiToken: oldCiphertext });
      expect(before.values.get('apiToken')).toBe(TOKEN);
      before.values.wipe();
      expect(await rowKid()).toBe(oldKid);
      await pause(200);
      // 2. every stored value re-encrypted under the new kid.
      const report = await operator('POST', '/api/v1/operator/secrets/reencrypt');
      expect(report.status).toBe(200);
      expect(report.body).toMatchObject({ writer: `local:${newKid}`, failed: [] });
      expect(report.body.reencrypted).toBeGreaterThanOrEqual(1);
      await pause(200);
      // 3. the old kid retired.
      await saveKeyring(keyringFile, retireKeyringKid(await loadKeyring(keyringFile, { createIfMissing: false }), oldKid));
      await operator('POST', '/api/v1/operator/keys/reload');
      await pause(200);
    });
    expectNoFailure(result);
    report(FILE, 'requests during the local keyring kid rotation', summary(result));
    expect(await rowKid()).toBe(newKid);
    // New writes use the new kid, and the retired kid no longer decrypts anything.
    await env.t.call('PUT', `/api/v1/installs/${env.enricher.id}/secrets`, { set: { apiToken: TOKEN } });
    expect(await rowKid()).toBe(newKid);
    const stale = await h.secretCipher.decrypt({ tenantId: env.t.tenantId, installId: env.enricher.id }, { apiToken: oldCiphertext });
    expect(stale.failed).toEqual(['apiToken']);
  });

  it('publisher key: publish with the new key, revoke the old; new publishes with it are refused, installed versions keep serving', async () => {
    const publisherId = (await h.db.knex('publisher').where({ name: 'Alga Samples' }).first('id')).id as string;
    const next = generatePublisherKey();
    const oldKeyId = h.publisherKeyId;
    const result = await duringLoad(env.load, async () => {
      expect((await operator('POST', `/api/v1/registry/publishers/${publisherId}/keys`, { kid: 'samples-2027', publicKey: next.publicKeyB64 })).status).toBe(201);
      const bytes = await helloVariant({ name: 'com.alga.samples.hello', version: '1.1.0' });
      const published = await fetch(`${h.url}/api/v1/registry/publish`, { method: 'POST', headers: { 'content-type': 'application/gzip', 'x-alga-key-id': 'samples-2027', 'x-alga-signature': signBundle(bytes, next.privateKeyPem) }, body: Buffer.from(bytes) });
      expect(published.status, await published.clone().text()).toBe(201);
      expect((await operator('DELETE', `/api/v1/registry/keys/${oldKeyId}`)).status).toBe(204);
    });
    expectNoFailure(result);
    report(FILE, 'requests during the publisher key rotation', summary(result));
    const refused = await h.publish(await helloVariant({ name: 'com.alga.samples.hello', version: '1.2.0' }));
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('E_AUTH');
  });

  it('API key: the client moves to a new key, then the old one is revoked; the old one is refused from then on', async () => {
    const oldKey = env.client.key;
    const oldId = (await env.t.call('GET', '/api/v1/api-keys')).body.apiKeys[0].id as string;
    const result = await duringLoad(env.load, async () => {
      const created = await env.t.call('POST', '/api/v1/api-keys', { name: 'rotated admin', roles: ['extension:admin'], ttlDays: 90 });
      expect(created.status).toBe(201);
      env.client.key = created.body.key;
      await pause(300);
      const revoked = await fetch(`${h.url}/api/v1/api-keys/${oldId}`, { method: 'DELETE', headers: { authorization: `Bearer ${created.body.key}` } });
      expect(revoked.status).toBe(204);
    });
    expectNoFailure(result);
    report(FILE, 'requests during the API key rotation', summary(result));
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { authorization: `Bearer ${oldKey}` } })).status).toBe(401);
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { authorization: `Bearer ${env.client.key}` } })).status).toBe(200);
  });
});

describe('key rotation, Vault transit (no request fails; min_decryption_version respected)', () => {
  let vault: VaultTransitServer;
  let h: GatewayHarness;
  let api: Awaited<ReturnType<typeof startApi>>;
  let env: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    vault = await startVaultTransitServer();
    api = await startApi();
    h = await startGatewayHarness({ secrets: { backend: 'vault', endpoint: vault.url, token: vault.rootToken, timeoutMs: 2_000 }, runner: { httpAllowedPrivateCidrs: ['127.0.0.0/8'] } as never, gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' } });
    env = await setUp(h, api.origin);
  });
  afterAll(async () => { await h?.close(); await api?.close(); await vault?.close(); });

  it('rotate the transit key, re-encrypt every value under v2, raise min_decryption_version: requests keep working and v1 ciphertexts are refused', async () => {
    const transit = (path: string, body: object) => fetch(`${vault.url}/v1/transit/keys/alga-extension-secrets/${path}`, { method: 'POST', headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ciphertext = async () => (await h.db.knex('tenant_extension_install_secrets').where({ install_id: env.enricher.id }).first('ciphertext')).ciphertext as string;
    const v1 = await ciphertext();
    expect(v1).toMatch(/^vault:v1:/);
    const result = await duringLoad(env.load, async () => {
      expect((await transit('rotate', {})).status).toBe(200);
      const report = await operatorCaller(h)('POST', '/api/v1/operator/secrets/reencrypt');
      expect(report.body).toMatchObject({ writer: 'vault:transit/alga-extension-secrets', failed: [] });
      expect(report.body.reencrypted).toBeGreaterThanOrEqual(1);
      await pause(300);
      expect((await transit('config', { min_decryption_version: 2 })).status).toBe(200);
      await pause(200);
    });
    expectNoFailure(result);
    report(FILE, 'requests during the Vault transit key rotation', summary(result));
    expect(await ciphertext()).toMatch(/^vault:v2:/);
    // Old ciphertexts are refused by Vault now; a new write is v2 too.
    const stale = await h.secretCipher.decrypt({ tenantId: env.t.tenantId, installId: env.enricher.id }, { apiToken: v1 });
    expect(stale.failed).toEqual(['apiToken']);
    await env.t.call('PUT', `/api/v1/installs/${env.enricher.id}/secrets`, { set: { apiToken: TOKEN } });
    expect(await ciphertext()).toMatch(/^vault:v2:/);
  });
});
