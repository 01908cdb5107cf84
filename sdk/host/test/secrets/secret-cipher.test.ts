import { describe, it, expect, afterEach } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretCipher, secretBackendConfigFromEnv, DEFAULT_KEYRING_FILE } from '../../src/secrets/secret-cipher.ts';
import type { SecretBackendConfig } from '../../src/secrets/secret-cipher.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('secretBackendConfigFromEnv', () => {
  it('defaults to the local keyring at ./data/keyring.json, created if missing; an explicit ALGA_KEYRING_FILE is never created (a wrong mount must not start with an empty keyring)', () => {
    expect(secretBackendConfigFromEnv({})).toEqual({ backend: 'local', keyringFile: DEFAULT_KEYRING_FILE, createIfMissing: true });
    expect(DEFAULT_KEYRING_FILE).toBe('./data/keyring.json');
    expect(secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'local', ALGA_KEYRING_FILE: '/etc/alga/keyring.json' }))
      .toEqual({ backend: 'local', keyringFile: '/etc/alga/keyring.json', createIfMissing: false });
  });

  it('reads every Vault variable', () => {
    const config = secretBackendConfigFromEnv({
      ALGA_SECRETS_BACKEND: 'vault',
      VAULT_ADDR: 'https://vault.internal:8200',
      VAULT_TOKEN: 'hvs.token',
      VAULT_TOKEN_FILE: '/run/secrets/vault-token',
      ALGA_VAULT_TRANSIT_MOUNT: 'alga-transit',
      ALGA_VAULT_TRANSIT_KEY: 'ext-secrets',
      VAULT_NAMESPACE: 'team-a/',
      ALGA_VAULT_TIMEOUT_MS: '1500',
      ALGA_KEYRING_FILE: '/data/old-keyring.json',
    });
    expect(config).toEqual({
      backend: 'vault', endpoint: 'https://vault.internal:8200', token: 'hvs.token', tokenFile: '/run/secrets/vault-token',
      mount: 'alga-transit', keyName: 'ext-secrets', namespace: 'team-a/', timeoutMs: 1500, keyringFile: '/data/old-keyring.json',
    } satisfies SecretBackendConfig);
    expect(secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: 'http://v:8200', VAULT_TOKEN: 't' }))
      .toEqual({ backend: 'vault', endpoint: 'http://v:8200', token: 't' });
  });

  it('rejects an unknown backend, a Vault without address or token, and a bad timeout, without echoing the token', () => {
    expect(() => secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'kms' })).toThrow(/"local" or "vault"/);
    expect(() => secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'vault', VAULT_TOKEN: 'hvs.sensitive' })).toThrow(/VAULT_ADDR/);
    expect(() => secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: 'http://v' })).toThrow(/VAULT_TOKEN or VAULT_TOKEN_FILE/);
    let error: unknown;
    try {
      secretBackendConfigFromEnv({ ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: 'http://v', VAULT_TOKEN: 'hvs.sensitive', ALGA_VAULT_TIMEOUT_MS: '-5' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'E_VALIDATION', message: expect.stringMatching(/ALGA_VAULT_TIMEOUT_MS/) });
    expect(String((error as Error).message)).not.toContain('hvs.sensitive');
  });
});

describe('createSecretCipher', () => {
  it('local: creates the keyring only when allowed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alga-cipher-'));
    dirs.push(dir);
    const keyringFile = join(dir, 'data', 'keyring.json');
    await expect(createSecretCipher({ backend: 'local', keyringFile })).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    const cipher = await createSecretCipher({ backend: 'local', keyringFile, createIfMissing: true });
    expect(cipher.algorithm).toBe('local-aes-256-gcm');
    expect((await stat(keyringFile)).mode & 0o777).toBe(0o600);
    const sealed = await cipher.encrypt({ tenantId: 't', installId: 'i' }, { K: 'v' });
    expect((await cipher.decrypt({ tenantId: 't', installId: 'i' }, { K: sealed.K.ciphertext })).values.get('K')).toBe('v');
  });

  it('vault: validates the key name and refuses a migration keyring that does not exist', async () => {
    await expect(createSecretCipher({ backend: 'vault', endpoint: 'http://127.0.0.1:1', token: 't', keyName: 'bad name!' }))
      .rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringMatching(/key name/) });
    await expect(createSecretCipher({ backend: 'vault', endpoint: 'http://127.0.0.1:1', token: 't', keyringFile: '/nonexistent/keyring.json' }))
      .rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringMatching(/does not exist/) });
    await expect(createSecretCipher({ backend: 'vault', endpoint: 'http://127.0.0.1:1' }))
      .rejects.toMatchObject({ message: expect.stringMatching(/token/) });
  });
});
