import { inspect } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsProvider, type PreparedSecrets } from '../../src/providers/secrets.ts';
import type { PrepareContext, RequestScope } from '../../src/providers/provider.ts';
import { SecretCache } from '../../src/secrets/secret-cache.ts';
import { createSecretCipher, type SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { ExecuteBody } from '@alga-psa/extension-contracts';
import { assertManifest } from '@alga-psa/extension-contracts/manifest';
import { startVaultTransitServer, type VaultTransitServer } from '../../../test-setup/vault-transit-server.ts';

const manifest = assertManifest({ name: 'com.acme.secrets', publisher: 'Acme', version: '1.0.0', runtime: 'wasm-js@1', capabilities: ['cap:secrets.get'] });
const tenantId = 'tenant-s';
const installId = 'install-s';
let dir: string;
let cipher: SecretCipher;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-secrets-provider-'));
  cipher = await createSecretCipher({ backend: 'local', keyringFile: join(dir, 'keyring.json'), createIfMissing: true });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function body(envelope: Record<string, string>, secretsVersion = 1, deadlineMs = Date.now() + 5000): ExecuteBody {
  return {
    context: { requestId: 'r', tenantId, extensionId: 'e', installId, versionId: 'v', contentHash: 'a'.repeat(64) },
    request: { method: 'GET', path: '/', query: [], headers: [] },
    install: { config: {}, configVersion: 1, grantedCapabilities: ['cap:secrets.get'], httpAllowedHosts: [], storageNamespaces: null, uiProxyRoutes: [] },
    secrets: { secretsVersion, envelope },
    limits: { deadlineMs },
  };
}

function ctx(b: ExecuteBody, cache: SecretCache | undefined, granted = true): PrepareContext {
  return { body: b, manifest, granted, capabilities: new Set(granted ? ['cap:secrets.get'] : []), imported: true, signal: new AbortController().signal, services: { secretCache: cache }, operator: { httpAllowedPrivateCidrs: [], httpMaxResponseBytes: 1, httpMaxRedirects: 0, gatewayUrl: undefined } };
}

function bind(prepared: unknown) {
  const sensitive: string[] = [];
  const scope = { prepared, markSensitive: (v: string) => sensitive.push(v) } as unknown as RequestScope;
  return { fns: secretsProvider.bind(scope, null), sensitive };
}

async function envelopeOf(values: Record<string, string>, scope = { tenantId, installId }) {
  const enc = await cipher.encrypt(scope, values);
  return Object.fromEntries(Object.entries(enc).map(([k, v]) => [k, v.ciphertext]));
}

describe('secrets provider', () => {
  it('decrypts on the main thread, answers get/list-keys in the worker and marks every value sensitive', async () => {
    const prepared = await secretsProvider.prepare!(ctx(body(await envelopeOf({ apiToken: 'tok-abc-123', other: 'zzz-999' })), new SecretCache(cipher)));
    const { fns, sensitive } = bind(prepared);
    expect(fns.get('apiToken')).toBe('tok-abc-123');
    expect(fns.listKeys()).toEqual(['apiToken', 'other']);
    expect(sensitive.sort()).toEqual(['tok-abc-123', 'zzz-999']);
    expect(() => fns.get('missing')).toThrow(expect.objectContaining({ tag: 'not-found' }));
  });

  it('keeps no printable plaintext: the prepared object is emptied and the bindings do not inspect to values', async () => {
    const prepared = (await secretsProvider.prepare!(ctx(body(await envelopeOf({ apiToken: 'inspect-me-777' })), new SecretCache(cipher)))) as PreparedSecrets;
    const { fns } = bind(prepared);
    expect(inspect(prepared, { depth: 10 })).not.toContain('inspect-me-777');
    expect(inspect(fns, { depth: 10, showHidden: true })).not.toContain('inspect-me-777');
    expect(fns.get('apiToken')).toBe('inspect-me-777');
  });

  it('a ciphertext copied from another install answers unavailable for that key, never a value', async () => {
    const foreign = await envelopeOf({ apiToken: 'other-install-secret' }, { tenantId, installId: 'someone-else' });
    const { fns } = bind(await secretsProvider.prepare!(ctx(body(foreign), new SecretCache(cipher))));
    expect(() => fns.get('apiToken')).toThrow(expect.objectContaining({ tag: 'unavailable' }));
  });

  it('without the grant, prepare does nothing and denied() answers denied', async () => {
    expect(await secretsProvider.prepare!(ctx(body(await envelopeOf({ a: 'b-value' })), new SecretCache(cipher), false))).toBeUndefined();
    expect(() => secretsProvider.denied().get('a')).toThrow(expect.objectContaining({ tag: 'denied' }));
  });

  it('with no backend configured the guest gets unavailable', async () => {
    const { fns } = bind(await secretsProvider.prepare!(ctx(body(await envelopeOf({ a: 'b-value' })), undefined)));
    expect(() => fns.get('a')).toThrow(expect.objectContaining({ tag: 'unavailable' }));
  });

  describe('with a slow or absent Vault', () => {
    let vault: VaultTransitServer;
    let vaultCipher: SecretCipher;
    beforeAll(async () => {
      vault = await startVaultTransitServer();
      vaultCipher = await createSecretCipher({ backend: 'vault', endpoint: vault.url, token: vault.rootToken, timeoutMs: 10_000 });
    });
    afterAll(() => vault?.close());

    it('gives up before the request deadline (minus the guest reserve) and reports unavailable', async () => {
      const enc = await vaultCipher.encrypt({ tenantId, installId }, { apiToken: 'slow-vault-secret' });
      vault.setLatencyMs(3000);
      try {
        const started = Date.now();
        const prepared = await secretsProvider.prepare!(ctx(body({ apiToken: enc.apiToken.ciphertext }, 7, Date.now() + 400), new SecretCache(vaultCipher)));
        expect(Date.now() - started).toBeLessThan(600);
        expect(prepared).toEqual({ state: 'unavailable', reason: 'the secrets backend is unavailable' });
      } finally {
        vault.setLatencyMs(0);
      }
    });
  });
});
