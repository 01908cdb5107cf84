import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import vaultFactory from 'node-vault';
import { AlgaError } from '@alga-psa/extension-contracts';
import { startVaultTransitServer } from '../../../../test-setup/vault-transit-server.ts';
import type { VaultTransitServer } from '../../../../test-setup/vault-transit-server.ts';
import { VaultTransitCipher } from '../../src/secrets/vault-transit-cipher.ts';
import type { VaultTransitOptions } from '../../src/secrets/vault-transit-cipher.ts';
import { createSecretCipher } from '../../src/secrets/secret-cipher.ts';
import type { SecretCipher, SecretScope } from '../../src/secrets/secret-cipher.ts';
import { LocalKeyringCipher, loadKeyring } from '../../src/secrets/local-keyring.ts';

// Every call goes through the real node-vault client to the Vault-transit-compatible test server, whose crypto is
// real (HKDF-derived per-context keys, AES-256-GCM with associated data).

let server: VaultTransitServer;
let root: ReturnType<typeof vaultFactory>;
let dir: string;
let keyCounter = 0;
const freshKey = (label = 'secrets'): string => `${label}-${++keyCounter}`;
const scope: SecretScope = { tenantId: 'tenant-a', installId: 'install-1' };
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

const cipherFor = (keyName: string, extra: Partial<VaultTransitOptions> = {}): VaultTransitCipher =>
  new VaultTransitCipher({ endpoint: server.url, token: server.rootToken, keyName, ...extra });

const envelopeOf = (sealed: Record<string, { ciphertext: string }>): Record<string, string> =>
  Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));

/** The rejection of a call expected to fail, with its duration; a success fails the test. */
async function failure(call: () => Promise<unknown>): Promise<{ error: AlgaError; ms: number }> {
  const started = performance.now();
  try {
    await call();
  } catch (err) {
    expect(err).toBeInstanceOf(AlgaError);
    return { error: err as AlgaError, ms: performance.now() - started };
  }
  throw new Error('expected a rejection, but the call succeeded');
}

beforeAll(async () => {
  server = await startVaultTransitServer();
  root = vaultFactory({ endpoint: server.url, token: server.rootToken, apiVersion: 'v1' });
  dir = await mkdtemp(join(tmpdir(), 'alga-vault-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  server.unseal();
  server.setLatencyMs(0);
  server.failNext(0);
});

describe('Vault transit cipher through node-vault', () => {
  it('round-trips secrets; the first encrypt creates the key as a derived aes256-gcm96 key', async () => {
    const keyName = freshKey();
    const cipher = await createSecretCipher({ backend: 'vault', endpoint: server.url, token: server.rootToken, keyName });
    expect(cipher.algorithm).toBe('vault-transit');
    const entries = { API_KEY: 'sk-live-vault-1', EMPTY: '', UNICODE: 'pässwörd ✓ 🔑' };
    const sealed = await cipher.encrypt(scope, entries);
    for (const key of Object.keys(entries)) {
      expect(sealed[key].ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
      expect(sealed[key]).toMatchObject({ algorithm: 'vault-transit', keyRef: `transit/${keyName}` });
    }
    const key = await root.read(`transit/keys/${keyName}`);
    expect(key.data).toMatchObject({ derived: true, type: 'aes256-gcm96' });

    const { values, failed } = await cipher.decrypt(scope, envelopeOf(sealed));
    expect(failed).toEqual([]);
    for (const [k, v] of Object.entries(entries)) expect(values.get(k)).toBe(v);
  });

  it('uses exactly one batch_input call per encrypt and per decrypt, whatever the number of keys', async () => {
    const keyName = freshKey();
    const cipher = cipherFor(keyName);
    await cipher.encrypt(scope, { WARM: 'up' }); // creates and checks the key once
    server.resetCounters();
    const entries = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`KEY_${i}`, `value-${i}`]));
    const sealed = await cipher.encrypt(scope, entries);
    expect(server.requestCount('transit/encrypt/')).toBe(1);
    expect(server.requestCount()).toBe(1); // no second key check
    const { values } = await cipher.decrypt(scope, envelopeOf(sealed));
    expect(server.requestCount('transit/decrypt/')).toBe(1);
    expect(server.requestCount()).toBe(2);
    expect(values.size).toBe(25);
    expect(values.get('KEY_17')).toBe('value-17');
    // an envelope without vault: values costs no call at all
    await cipher.decrypt(scope, {});
    expect(server.requestCount()).toBe(2);
  });

  it('reports ciphertexts replayed into another install or tenant as failed (derived key, context binding)', async () => {
    const cipher = cipherFor(freshKey());
    const sealed = await cipher.encrypt(scope, { API_KEY: 'tenant-a-secret' });
    const envelope = envelopeOf(sealed);
    for (const other of [{ tenantId: 'tenant-a', installId: 'install-2' }, { tenantId: 'tenant-b', installId: 'install-1' }]) {
      const { values, failed } = await cipher.decrypt(other, envelope);
      expect(failed).toEqual(['API_KEY']);
      expect(values.size).toBe(0);
    }
  });

  it('reports a value moved to another key name of the same install as failed (associated_data = key name), in the same single call', async () => {
    const cipher = cipherFor(freshKey());
    const sealed = await cipher.encrypt(scope, { API_KEY: 'api-key-value', WEBHOOK_SECRET: 'webhook-value' });
    server.resetCounters();
    const { values, failed } = await cipher.decrypt(scope, {
      API_KEY: sealed.WEBHOOK_SECRET.ciphertext, // swapped
      WEBHOOK_SECRET: sealed.API_KEY.ciphertext,
      GOOD: sealed.API_KEY.ciphertext, // also a different name
    });
    expect(failed.sort()).toEqual(['API_KEY', 'GOOD', 'WEBHOOK_SECRET']);
    expect(values.size).toBe(0);
    expect(server.requestCount('transit/decrypt/')).toBe(1);

    // a mixed batch (Vault answers 400 with per-item errors): the good items still decrypt
    const mixed = await cipher.decrypt(scope, { API_KEY: sealed.API_KEY.ciphertext, WEBHOOK_SECRET: sealed.API_KEY.ciphertext });
    expect(mixed.failed).toEqual(['WEBHOOK_SECRET']);
    expect(mixed.values.get('API_KEY')).toBe('api-key-value');
  });

  it('binds every value to tenant, install and key name with associated_data, so under a non-derived key and the least-privilege writer/reader tokens a replayed ciphertext lands in failed', async () => {
    // The reproduction of the attack: a key created with derived=false (context is ignored by Vault) and the
    // VAULT-TRANSIT.md §7 tokens, so the writer may not read the key's config and cannot see it is not derived.
    const keyName = freshKey();
    await root.write(`transit/keys/${keyName}`, { derived: false });
    const writer = cipherFor(keyName, { token: server.createToken({ [`transit/encrypt/${keyName}`]: ['update'] }) });
    const reader = cipherFor(keyName, { token: server.createToken({ [`transit/decrypt/${keyName}`]: ['update'] }) });
    const tenantA: SecretScope = { tenantId: 'tenant-a', installId: 'install-a1' };
    const sealed = await writer.encrypt(tenantA, { API_KEY: 'tenant-a-api-key' });
    const ciphertext = sealed.API_KEY.ciphertext;
    expect((await reader.decrypt(tenantA, { API_KEY: ciphertext })).values.get('API_KEY')).toBe('tenant-a-api-key');

    server.resetCounters();
    const replays: Array<{ into: SecretScope; key: string }> = [
      { into: { tenantId: 'tenant-b', installId: 'install-b1' }, key: 'API_KEY' }, // another tenant
      { into: { tenantId: 'tenant-b', installId: 'install-a1' }, key: 'API_KEY' }, // another tenant, same install id
      { into: { tenantId: 'tenant-a', installId: 'install-a2' }, key: 'API_KEY' }, // another install of the same tenant
      { into: tenantA, key: 'WEBHOOK_SECRET' }, // another key name of the same install
    ];
    for (const { into, key } of replays) {
      const { values, failed } = await reader.decrypt(into, { [key]: ciphertext });
      expect(failed, JSON.stringify(into)).toEqual([key]);
      expect(values.size).toBe(0);
      expect(values.get(key)).toBeUndefined();
    }
    expect(server.requestCount('transit/decrypt/')).toBe(replays.length); // Vault was asked, and refused each one
  });

  it('sends associated_data = base64("tenantId:installId:key") and context = base64("tenantId:installId") on the wire', async () => {
    const keyName = freshKey();
    const sealed = await cipherFor(keyName).encrypt(scope, { API_KEY: 'wire-format' });
    const decryptWith = (ad: string) =>
      root.write(`transit/decrypt/${keyName}`, { ciphertext: sealed.API_KEY.ciphertext, context: b64('tenant-a:install-1'), associated_data: b64(ad) });
    const res = await decryptWith('tenant-a:install-1:API_KEY');
    expect(Buffer.from(res.data.plaintext, 'base64').toString('utf8')).toBe('wire-format');
    // The key name alone (the old binding) no longer opens it.
    await expect(decryptWith('API_KEY')).rejects.toMatchObject({ response: { statusCode: 400 } });
  });

  it('reports tampered and malformed vault: values as failed without sending malformed ones', async () => {
    const cipher = cipherFor(freshKey());
    const ct = (await cipher.encrypt(scope, { K: 'tamper-target' })).K.ciphertext;
    const [prefix, version, payload] = ct.split(':');
    const bytes = Buffer.from(payload, 'base64');
    bytes[bytes.length - 1] ^= 0x01;
    const { values, failed } = await cipher.decrypt(scope, {
      K: `${prefix}:${version}:${bytes.toString('base64')}`,
      TOO_NEW: `${prefix}:v9:${payload}`,
      MALFORMED: 'vault:v1:not base64!',
      PLAIN: 'tamper-target',
    });
    expect(failed.sort()).toEqual(['K', 'MALFORMED', 'PLAIN', 'TOO_NEW']);
    expect(values.size).toBe(0);
  });

  it('answers E_SECRETS_UNAVAILABLE when Vault is sealed, for encrypt and decrypt', async () => {
    const cipher = cipherFor(freshKey());
    const sealed = await cipher.encrypt(scope, { K: 'sealed-plaintext' });
    server.seal();
    const dec = await failure(() => cipher.decrypt(scope, envelopeOf(sealed)));
    expect(dec.error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(dec.error.status).toBe(503);
    expect(dec.error.message).toMatch(/HTTP 503.*sealed/);
    expect(dec.error.message).not.toContain(sealed.K.ciphertext);
    const enc = await failure(() => cipher.encrypt(scope, { K: 'sealed-plaintext' }));
    expect(enc.error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(enc.error.message).not.toContain('sealed-plaintext');
    server.unseal();
    expect((await cipher.decrypt(scope, envelopeOf(sealed))).values.get('K')).toBe('sealed-plaintext');
  });

  it('answers E_SECRETS_UNAVAILABLE on a 5xx and on a 403 (token without the capability)', async () => {
    const keyName = freshKey();
    const cipher = cipherFor(keyName);
    const sealed = await cipher.encrypt(scope, { K: 'v' });
    server.failNext(1, 500);
    expect((await failure(() => cipher.decrypt(scope, envelopeOf(sealed)))).error).toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringMatching(/HTTP 500/) });
    const encryptOnly = server.createToken({ [`transit/encrypt/${keyName}`]: ['update'] });
    const reader = cipherFor(keyName, { token: encryptOnly });
    expect((await failure(() => reader.decrypt(scope, envelopeOf(sealed)))).error).toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringMatching(/HTTP 403/) });
  });

  it('answers E_SECRETS_UNAVAILABLE quickly when nothing listens (connection refused)', async () => {
    const gone = await startVaultTransitServer();
    const url = gone.url;
    await gone.close();
    const cipher = new VaultTransitCipher({ endpoint: url, token: 'hvs.whatever', keyName: freshKey(), timeoutMs: 5_000 });
    const { error, ms } = await failure(() => cipher.decrypt(scope, { K: 'vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }));
    expect(error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(error.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(ms).toBeLessThan(1_000);
  });

  it('answers E_SECRETS_UNAVAILABLE within timeoutMs when Vault is slow', async () => {
    const cipher = cipherFor(freshKey(), { timeoutMs: 200 });
    const sealed = await cipher.encrypt(scope, { K: 'slow' });
    server.setLatencyMs(3_000);
    const { error, ms } = await failure(() => cipher.decrypt(scope, envelopeOf(sealed)));
    expect(error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(error.message).toMatch(/timed out|did not answer/);
    expect(ms).toBeGreaterThanOrEqual(190);
    expect(ms).toBeLessThan(1_500); // the server would answer after 3 s; slack for a loaded CI machine
  });

  it('stops waiting when the abort signal fires before Vault answers', async () => {
    const cipher = cipherFor(freshKey(), { timeoutMs: 5_000 });
    const sealed = await cipher.encrypt(scope, { K: 'aborted' });
    server.setLatencyMs(2_000);
    const { error, ms } = await failure(() => cipher.decrypt(scope, envelopeOf(sealed), AbortSignal.timeout(50)));
    expect(error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(error.message).toMatch(/aborted/);
    expect(ms).toBeLessThan(1_000); // the server would answer after 2 s
    await expect(cipher.decrypt(scope, envelopeOf(sealed), AbortSignal.abort())).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
  });

  it('reads the token from a file and re-reads it when Vault answers 403, so a rotated token is picked up', async () => {
    const keyName = freshKey();
    const sealed = await cipherFor(keyName).encrypt(scope, { K: 'file-token-secret' });
    const tokenFile = join(dir, 'vault-token');
    const revoked = server.createToken({}); // valid token, no capabilities: 403 like a revoked one
    await writeFile(tokenFile, `${revoked}\n`);
    const cipher = await createSecretCipher({ backend: 'vault', endpoint: server.url, tokenFile, keyName });

    server.resetCounters();
    const denied = await failure(() => cipher.decrypt(scope, envelopeOf(sealed)));
    expect(denied.error.message).toMatch(/HTTP 403/);
    expect(server.requestCount('transit/decrypt/')).toBe(1); // the file still held the same token: no retry

    const reader = server.createToken({ [`transit/decrypt/${keyName}`]: ['update'] });
    await writeFile(tokenFile, `${reader}\n`);
    server.resetCounters();
    const { values } = await cipher.decrypt(scope, envelopeOf(sealed));
    expect(values.get('K')).toBe('file-token-secret');
    expect(server.requestCount('transit/decrypt/')).toBe(2); // 403 with the old token, then the retry
    server.resetCounters();
    await cipher.decrypt(scope, envelopeOf(sealed));
    expect(server.requestCount('transit/decrypt/')).toBe(1); // the new token is kept

    const missing = await createSecretCipher({ backend: 'vault', endpoint: server.url, tokenFile: join(dir, 'nope'), keyName });
    expect((await failure(() => missing.decrypt(scope, envelopeOf(sealed)))).error.message).toMatch(/token file .* cannot be read \(ENOENT\)/);
  });

  it('still decrypts old ciphertexts after the transit key is rotated, and encrypts new ones with the new version', async () => {
    const keyName = freshKey();
    const cipher = cipherFor(keyName);
    const old = await cipher.encrypt(scope, { K: 'before-rotation' });
    await root.write(`transit/keys/${keyName}/rotate`, {});
    const fresh = await cipher.encrypt(scope, { K: 'after-rotation' });
    expect(old.K.ciphertext.startsWith('vault:v1:')).toBe(true);
    expect(fresh.K.ciphertext.startsWith('vault:v2:')).toBe(true);
    const { values, failed } = await cipher.decrypt(scope, { K: old.K.ciphertext });
    expect(failed).toEqual([]);
    expect(values.get('K')).toBe('before-rotation');
    expect((await cipher.decrypt(scope, { K: fresh.K.ciphertext })).values.get('K')).toBe('after-rotation');
  });

  it('works with least-privilege tokens: a writer that may only encrypt and a reader that may only decrypt', async () => {
    const keyName = freshKey();
    await root.write(`transit/keys/${keyName}`, { derived: true });
    const writer = cipherFor(keyName, { token: server.createToken({ [`transit/encrypt/${keyName}`]: ['update'] }) });
    const reader = cipherFor(keyName, { token: server.createToken({ [`transit/decrypt/${keyName}`]: ['update'] }) });
    const sealed = await writer.encrypt(scope, { K: 'least-privilege' });
    expect((await reader.decrypt(scope, envelopeOf(sealed))).values.get('K')).toBe('least-privilege');
  });

  it('refuses to encrypt with a key that is not derived, and explains a missing key the token may not create', async () => {
    const plainKey = freshKey();
    await root.write(`transit/keys/${plainKey}`, {}); // derived: false ignores context: no per-install binding
    const refused = await failure(() => cipherFor(plainKey).encrypt(scope, { K: 'v' }));
    expect(refused.error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(refused.error.message).toMatch(/not derived/);

    const missingKey = freshKey();
    const limited = server.createToken({ [`transit/keys/${missingKey}`]: ['read'], [`transit/encrypt/${missingKey}`]: ['update'] });
    const cannotCreate = await failure(() => cipherFor(missingKey, { token: limited }).encrypt(scope, { K: 'v' }));
    expect(cannotCreate.error.message).toMatch(/does not exist and this token may not create it/);
  });

  it('refuses to encrypt with a readable convergent key (its nonce ignores associated_data, so one value under two key names would reuse a nonce)', async () => {
    const keyName = freshKey();
    await root.write(`transit/keys/${keyName}`, { derived: true, convergent_encryption: true });
    server.resetCounters();
    const refused = await failure(() => cipherFor(keyName).encrypt(scope, { A: 'same value', B: 'same value' }));
    expect(refused.error.code).toBe('E_SECRETS_UNAVAILABLE');
    expect(refused.error.message).toMatch(/convergent/);
    expect(server.requestCount('transit/encrypt/')).toBe(0);
  });

  it('decrypts an envelope mixing local: (migration keyring) and vault: values, with one Vault call', async () => {
    const keyringFile = join(dir, 'migration-keyring.json');
    const local = new LocalKeyringCipher(await loadKeyring(keyringFile, { createIfMissing: true }));
    const keyName = freshKey();
    const fromLocal = await local.encrypt(scope, { OLD: 'sealed-locally' });
    const cipher: SecretCipher = await createSecretCipher({ backend: 'vault', endpoint: server.url, token: server.rootToken, keyName, keyringFile });
    const fromVault = await cipher.encrypt(scope, { NEW: 'sealed-by-vault' });
    server.resetCounters();
    const { values, failed } = await cipher.decrypt(scope, { ...envelopeOf(fromLocal), ...envelopeOf(fromVault), JUNK: 'plain' });
    expect(failed).toEqual(['JUNK']);
    expect(values.get('OLD')).toBe('sealed-locally');
    expect(values.get('NEW')).toBe('sealed-by-vault');
    expect(server.requestCount('transit/decrypt/')).toBe(1);

    // without the migration keyring, local: values are failed, not plaintext
    const vaultOnly = await createSecretCipher({ backend: 'vault', endpoint: server.url, token: server.rootToken, keyName });
    const r = await vaultOnly.decrypt(scope, envelopeOf(fromLocal));
    expect(r.failed).toEqual(['OLD']);
    // and a local-only cipher reports vault: values failed without calling anything
    const localOnly = await createSecretCipher({ backend: 'local', keyringFile });
    expect((await localOnly.decrypt(scope, envelopeOf(fromVault))).failed).toEqual(['NEW']);
  });
});
