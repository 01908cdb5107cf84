/**
 * Issue 8: the stand-alone runner (`node runner/src/main.ts`) configures its secret cipher from the
 * gateway's variables, and with NODE_ENV=production refuses to start without one or without
 * RUNNER_TRUSTED_KEYS: a non-zero exit within seconds naming the variable, no keyring created.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExecutionSigningKey } from '@alga-psa/extension-contracts';
import { generateKeyring, saveKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { runnerMain, runUntilExit, runUntilReady } from '../../test-setup/service-process.ts';

let dir: string;
let complete: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-runner-prod-'));
  await saveKeyring(join(dir, 'keyring.json'), generateKeyring());
  const signer = await generateExecutionSigningKey('prod-test');
  complete = {
    NODE_ENV: 'production',
    RUNNER_HOST: '127.0.0.1',
    RUNNER_PORT: '0',
    RUNNER_WORKERS: '1',
    BUNDLE_STORE_DIR: join(dir, 'bundles'),
    RUNNER_CACHE_DIR: join(dir, 'transpile-cache'),
    RUNNER_TRUSTED_KEYS: JSON.stringify({ keys: [signer.publicJwk] }),
    ALGA_KEYRING_FILE: join(dir, 'keyring.json'),
  };
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const without = (name: string, extra: Record<string, string> = {}) => {
  const env = { ...complete, ...extra };
  delete env[name];
  return env;
};

async function expectRefusal(env: Record<string, string>, variable: string) {
  // cwd = the temp dir, so the embedded default ./data/keyring.json would land there if created.
  const run = await runUntilExit(runnerMain, env, { cwd: dir, timeoutMs: 20_000 });
  expect(run.signal, run.stdout).toBeNull();
  expect(run.code).not.toBe(0);
  // Under a second on an idle machine; the bound leaves room for a busy 2-core CI runner.
  expect(run.ms).toBeLessThan(8000);
  expect(run.stderr).toContain(variable);
  expect(run.stdout).not.toContain('runner listening');
  expect(existsSync(join(dir, 'data'))).toBe(false);
  return run;
}

describe('stand-alone runner with NODE_ENV=production', () => {
  it('refuses to start without RUNNER_TRUSTED_KEYS and names it', async () => {
    await expectRefusal(without('RUNNER_TRUSTED_KEYS'), 'RUNNER_TRUSTED_KEYS');
  });

  it('refuses to start without a secret backend (no ALGA_KEYRING_FILE), instead of answering every secret read `unavailable`', async () => {
    await expectRefusal(without('ALGA_KEYRING_FILE'), 'ALGA_KEYRING_FILE');
  });

  it('refuses a keyring path that does not exist and never creates the file or its directory', async () => {
    const keyringFile = join(dir, 'not-mounted', 'keyring.json');
    const run = await expectRefusal({ ...complete, ALGA_KEYRING_FILE: keyringFile }, 'ALGA_KEYRING_FILE');
    expect(run.stderr).toContain(keyringFile);
    expect(existsSync(join(dir, 'not-mounted'))).toBe(false);
  });

  it('refuses ALGA_KEYRING_CREATE=true: the keyring is never created in production', async () => {
    const keyringFile = join(dir, 'fresh-keyring.json');
    await expectRefusal({ ...complete, ALGA_KEYRING_FILE: keyringFile, ALGA_KEYRING_CREATE: 'true' }, 'ALGA_KEYRING_CREATE');
    expect(existsSync(keyringFile)).toBe(false);
  });

  it('refuses the Vault backend without VAULT_TOKEN or VAULT_TOKEN_FILE', async () => {
    await expectRefusal(without('ALGA_KEYRING_FILE', { ALGA_SECRETS_BACKEND: 'vault', VAULT_ADDR: 'http://127.0.0.1:9' }), 'VAULT_TOKEN');
  });

  it('names both missing items in one start-up error', async () => {
    const run = await expectRefusal(without('RUNNER_TRUSTED_KEYS', { ALGA_KEYRING_FILE: '' }), 'RUNNER_TRUSTED_KEYS');
    expect(run.stderr).toContain('ALGA_KEYRING_FILE');
  });

  it('starts with the keyring and trusted keys from the environment and says which secret backend it decrypts with', async () => {
    const started = await runUntilReady(runnerMain, complete, /"msg":"runner listening"/, { cwd: dir, timeoutMs: 30_000 });
    const run = await started.stop();
    expect(started.output).toMatch(/"mode":"production"/);
    expect(started.output).toMatch(/"secrets":"local-aes-256-gcm"/);
    expect(run.code).toBe(0);
  });
});
