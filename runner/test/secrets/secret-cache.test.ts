import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startVaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import type { VaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import { SecretCache } from '../../src/secrets/secret-cache.ts';
import { LocalKeyringCipher, generateKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { VaultTransitCipher } from '@alga-psa/extension-host/secrets/vault-transit-cipher';
import { SecretValues } from '@alga-psa/extension-host/secrets/secret-values';
import type { DecryptResult, EncryptedSecret, SecretCipher, SecretScope } from '@alga-psa/extension-host/secrets/secret-cipher';

/** A real cipher that counts the decrypts that reach it. */
class CountingCipher implements SecretCipher {
  readonly algorithm: EncryptedSecret['algorithm'];
  readonly inner: SecretCipher;
  decrypts = 0;
  constructor(inner: SecretCipher) {
    this.inner = inner;
    this.algorithm = inner.algorithm;
  }
  encrypt(scope: SecretScope, entries: Record<string, string>) {
    return this.inner.encrypt(scope, entries);
  }
  decrypt(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult> {
    this.decrypts += 1;
    return this.inner.decrypt(scope, envelope, signal);
  }
}

const scope = { tenantId: 'tenant-a', installId: 'install-1' };
const envelopeOf = (sealed: Record<string, { ciphertext: string }>): Record<string, string> =>
  Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));

let server: VaultTransitServer;
let keyCounter = 0;
beforeAll(async () => {
  server = await startVaultTransitServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  server.unseal();
  server.setLatencyMs(0);
});

const vaultCipher = (): VaultTransitCipher =>
  new VaultTransitCipher({ endpoint: server.url, token: server.rootToken, keyName: `cache-${++keyCounter}`, timeoutMs: 5_000 });

describe('SecretCache (lru-cache keyed by tenant, install, secretsVersion)', () => {
  it('decrypts once per (tenant, install, version) across many calls', async () => {
    const cipher = new CountingCipher(new LocalKeyringCipher(generateKeyring()));
    const cache = new SecretCache(cipher);
    const envelope = envelopeOf(await cipher.encrypt(scope, { API_KEY: 'v1-value' }));
    for (let i = 0; i < 50; i++) {
      const { values, failed } = await cache.get({ ...scope, secretsVersion: 1 }, envelope);
      expect(values.get('API_KEY')).toBe('v1-value');
      expect(failed).toEqual([]);
    }
    expect(cipher.decrypts).toBe(1);
    expect(cache.stats()).toEqual({ hits: 49, misses: 1, decrypts: 1, size: 1 });

    // another install (same version number) is another entry
    const other = { tenantId: 'tenant-a', installId: 'install-2' };
    const otherEnvelope = envelopeOf(await cipher.encrypt(other, { API_KEY: 'other-install' }));
    expect((await cache.get({ ...other, secretsVersion: 1 }, otherEnvelope)).values.get('API_KEY')).toBe('other-install');
    expect((await cache.get({ ...scope, secretsVersion: 1 }, envelope)).values.get('API_KEY')).toBe('v1-value');
    expect(cipher.decrypts).toBe(2);
  });

  it('shares ONE Vault decrypt between 100 concurrent gets of an uncached key', async () => {
    const cipher = vaultCipher();
    const envelope = envelopeOf(await cipher.encrypt(scope, { API_KEY: 'concurrent', OTHER: 'x' }));
    const cache = new SecretCache(cipher);
    server.resetCounters();
    server.setLatencyMs(30);
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.get({ ...scope, secretsVersion: 7 }, envelope)));
    expect(server.requestCount('transit/decrypt/')).toBe(1);
    expect(cache.stats()).toMatchObject({ decrypts: 1, misses: 100, hits: 0, size: 1 });
    for (const r of results) expect(r.values.get('API_KEY')).toBe('concurrent');
    // each caller owns its copy: wiping one leaves the others and the cache intact
    results[0].values.wipe();
    expect(results[1].values.get('API_KEY')).toBe('concurrent');
    expect((await cache.get({ ...scope, secretsVersion: 7 }, envelope)).values.get('API_KEY')).toBe('concurrent');
    expect(server.requestCount('transit/decrypt/')).toBe(1);
  });

  it('decrypts again for a new secretsVersion and serves the new value, never the stale one', async () => {
    const cipher = new CountingCipher(new LocalKeyringCipher(generateKeyring()));
    const cache = new SecretCache(cipher);
    const v1 = envelopeOf(await cipher.encrypt(scope, { API_KEY: 'old-value' }));
    const v2 = envelopeOf(await cipher.encrypt(scope, { API_KEY: 'rotated-value' }));
    expect((await cache.get({ ...scope, secretsVersion: 1 }, v1)).values.get('API_KEY')).toBe('old-value');
    expect((await cache.get({ ...scope, secretsVersion: 2 }, v2)).values.get('API_KEY')).toBe('rotated-value');
    expect((await cache.get({ ...scope, secretsVersion: 2 }, v2)).values.get('API_KEY')).toBe('rotated-value');
    expect(cipher.decrypts).toBe(2);
  });

  it('decrypts again after the TTL, and wipes the expired entry', async () => {
    const cipher = new CountingCipher(new LocalKeyringCipher(generateKeyring()));
    const cache = new SecretCache(cipher, { ttlMs: 60 });
    const envelope = envelopeOf(await cipher.encrypt(scope, { K: 'ttl-value' }));
    await cache.get({ ...scope, secretsVersion: 1 }, envelope);
    await cache.get({ ...scope, secretsVersion: 1 }, envelope);
    expect(cipher.decrypts).toBe(1);
    await sleep(150);
    expect(cache.stats().size).toBe(0); // purged on time, not on the next access
    expect((await cache.get({ ...scope, secretsVersion: 1 }, envelope)).values.get('K')).toBe('ttl-value');
    expect(cipher.decrypts).toBe(2);
  });

  it('does not cache a failed decrypt (E_SECRETS_UNAVAILABLE): the next call tries Vault again', async () => {
    const cipher = vaultCipher();
    const envelope = envelopeOf(await cipher.encrypt(scope, { K: 'after-unseal' }));
    const cache = new SecretCache(cipher);
    server.seal();
    await expect(cache.get({ ...scope, secretsVersion: 3 }, envelope)).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    await expect(cache.get({ ...scope, secretsVersion: 3 }, envelope)).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    expect(cache.stats()).toMatchObject({ decrypts: 2, size: 0 });
    server.unseal();
    expect((await cache.get({ ...scope, secretsVersion: 3 }, envelope)).values.get('K')).toBe('after-unseal');
    expect((await cache.get({ ...scope, secretsVersion: 3 }, envelope)).values.get('K')).toBe('after-unseal');
    expect(cache.stats()).toMatchObject({ decrypts: 3, hits: 1, size: 1 });
  });

  it('rejects an aborted waiter promptly while the shared decrypt still serves the others', async () => {
    const cipher = vaultCipher();
    const envelope = envelopeOf(await cipher.encrypt(scope, { K: 'slow-but-shared' }));
    const cache = new SecretCache(cipher);
    server.resetCounters();
    server.setLatencyMs(1_500);
    const started = performance.now();
    const patient = cache.get({ ...scope, secretsVersion: 1 }, envelope);
    const hurried = cache.get({ ...scope, secretsVersion: 1 }, envelope, AbortSignal.timeout(40));
    await expect(hurried).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringMatching(/aborted/) });
    expect(performance.now() - started).toBeLessThan(700); // Vault answers after 1.5 s
    expect((await patient).values.get('K')).toBe('slow-but-shared');
    expect(server.requestCount('transit/decrypt/')).toBe(1);
    // already aborted: rejected without touching the cache or Vault
    await expect(cache.get({ ...scope, secretsVersion: 2 }, envelope, AbortSignal.abort())).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    expect(cache.stats().decrypts).toBe(1);
  });

  it('wipes the cached values of an evicted entry, but never the copy a caller is still using', async () => {
    const wiped: Array<string | undefined> = [];
    const originalWipe = SecretValues.prototype.wipe;
    vi.spyOn(SecretValues.prototype, 'wipe').mockImplementation(function (this: SecretValues) {
      wiped.push(this.get('K'));
      originalWipe.call(this);
    });
    const cipher = new CountingCipher(new LocalKeyringCipher(generateKeyring()));
    const cache = new SecretCache(cipher, { maxEntries: 1 });
    const a = { tenantId: 'tenant-a', installId: 'install-a' };
    const b = { tenantId: 'tenant-a', installId: 'install-b' };
    const envA = envelopeOf(await cipher.encrypt(a, { K: 'value-a' }));
    const envB = envelopeOf(await cipher.encrypt(b, { K: 'value-b' }));

    const inUse = await cache.get({ ...a, secretsVersion: 1 }, envA);
    const wipesOfABeforeEviction = wiped.filter((v) => v === 'value-a').length; // the decrypt's own result, once copied
    await cache.get({ ...b, secretsVersion: 1 }, envB); // max 1: evicts A
    expect(cache.stats().size).toBe(1);
    expect(wiped.filter((v) => v === 'value-a').length).toBe(wipesOfABeforeEviction + 1); // A's cached copy
    expect(inUse.values.get('K')).toBe('value-a'); // the request that holds A is unaffected

    // A again: a fresh decrypt
    expect((await cache.get({ ...a, secretsVersion: 1 }, envA)).values.get('K')).toBe('value-a');
    expect(cipher.decrypts).toBe(3);
  });

  it('caches per-key failures with the result (a tampered value stays failed, the others decrypt)', async () => {
    const cipher = new CountingCipher(new LocalKeyringCipher(generateKeyring()));
    const cache = new SecretCache(cipher);
    const envelope = envelopeOf(await cipher.encrypt(scope, { GOOD: 'good', BAD: 'bad' }));
    envelope.BAD = envelope.GOOD; // moved between key names
    for (let i = 0; i < 3; i++) {
      const { values, failed } = await cache.get({ ...scope, secretsVersion: 9 }, envelope);
      expect(failed).toEqual(['BAD']);
      expect(values.get('GOOD')).toBe('good');
      expect(values.has('BAD')).toBe(false);
    }
    expect(cipher.decrypts).toBe(1);
  });
});
