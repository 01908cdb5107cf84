/**
 * Issue 8: a local keyring is created only where that is the embedded development default or an
 * explicit choice, never in production: a missing keyring file (a wrong mount path) replaced by a
 * new key would make every stored secret undecryptable without a word.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecretCipher, DEFAULT_KEYRING_FILE, secretBackendConfigFromEnv } from '../../src/secrets/secret-cipher.ts';

const dirs: string[] = [];
async function tempDir() {
  const dir = await mkdtemp(join(tmpdir(), 'alga-keyring-create-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('local keyring creation', () => {
  it('outside production, an explicitly named keyring is created only with ALGA_KEYRING_CREATE=true (mode 0600); without it, a missing one is an error naming ALGA_KEYRING_FILE', async () => {
    const keyringFile = join(await tempDir(), 'mnt', 'keyring.json');
    const config = secretBackendConfigFromEnv({ ALGA_KEYRING_FILE: keyringFile });
    expect(config).toEqual({ backend: 'local', keyringFile, createIfMissing: false });
    await expect(createSecretCipher(config)).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE', message: expect.stringContaining('ALGA_KEYRING_FILE') });
    expect(existsSync(join(keyringFile, '..'))).toBe(false);

    const cipher = await createSecretCipher(secretBackendConfigFromEnv({ NODE_ENV: 'development', ALGA_KEYRING_FILE: keyringFile, ALGA_KEYRING_CREATE: 'true' }));
    expect(cipher.algorithm).toBe('local-aes-256-gcm');
    expect((await stat(keyringFile)).mode & 0o777).toBe(0o600);
  });

  it('outside production, the embedded default (the data dir keyring npm start uses) is still created when missing', () => {
    expect(secretBackendConfigFromEnv({})).toEqual({ backend: 'local', keyringFile: DEFAULT_KEYRING_FILE, createIfMissing: true });
    expect(secretBackendConfigFromEnv({ NODE_ENV: 'test' }, { keyringFile: '/srv/data/keyring.json' }))
      .toEqual({ backend: 'local', keyringFile: '/srv/data/keyring.json', createIfMissing: true });
    expect(secretBackendConfigFromEnv({ ALGA_KEYRING_CREATE: 'false' })).toEqual({ backend: 'local', keyringFile: DEFAULT_KEYRING_FILE, createIfMissing: false });
  });

  it('in production, the local backend needs ALGA_KEYRING_FILE (no embedded default is used or created); the Vault backend needs no keyring', () => {
    expect(() => secretBackendConfigFromEnv({ NODE_ENV: 'production' }, { keyringFile: '/srv/data/keyring.json' }))
      .toThrow(/ALGA_KEYRING_FILE must be set in production/);
    expect(secretBackendConfigFromEnv({ NODE_ENV: 'production', ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: 'https://vault:8200', VAULT_TOKEN: 't' }))
      .toEqual({ backend: 'vault', endpoint: 'https://vault:8200', token: 't' });
  });

  it('in production, a named keyring is never created, and ALGA_KEYRING_CREATE=true is refused', async () => {
    const keyringFile = join(await tempDir(), 'keyring.json');
    const config = secretBackendConfigFromEnv({ NODE_ENV: 'production', ALGA_KEYRING_FILE: keyringFile });
    expect(config).toEqual({ backend: 'local', keyringFile, createIfMissing: false });
    await expect(createSecretCipher(config)).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    expect(existsSync(keyringFile)).toBe(false);
    expect(() => secretBackendConfigFromEnv({ NODE_ENV: 'production', ALGA_KEYRING_FILE: keyringFile, ALGA_KEYRING_CREATE: 'true' }))
      .toThrow(/ALGA_KEYRING_CREATE=true is refused in production/);
  });

  it('rejects an ALGA_KEYRING_CREATE that is not true or false, and a NODE_ENV that is neither production nor development/test', () => {
    expect(() => secretBackendConfigFromEnv({ ALGA_KEYRING_CREATE: 'yes' })).toThrow(/ALGA_KEYRING_CREATE must be "true" or "false"/);
    expect(() => secretBackendConfigFromEnv({ NODE_ENV: 'Production' })).toThrow(/NODE_ENV must be/);
  });
});
