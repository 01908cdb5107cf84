/**
 * Issue 8: with NODE_ENV=production the gateway fails closed. `node gateway/src/main.ts` is started
 * as a real process with one credential missing at a time: it must exit non-zero within a few
 * seconds, name the variable to set, and leave nothing generated behind (no keyring, no keys,
 * no token files).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyring, saveKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { ExecutionKeys } from '../src/proxy/execution-keys.ts';
import { gatewayMain, runUntilExit, runUntilReady } from '../../test-setup/service-process.ts';

let dir: string;
let complete: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-gw-prod-'));
  await saveKeyring(join(dir, 'keyring.json'), generateKeyring());
  await ExecutionKeys.load(join(dir, 'execution-keys.json'), { createIfMissing: true });
  // Everything production needs; each case removes or breaks one item.
  complete = {
    NODE_ENV: 'production',
    ALGA_DATA_DIR: join(dir, 'data'),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    ALGA_OPERATOR_TOKEN: `op_${randomBytes(16).toString('hex')}`,
    ALGA_RUNNER_SERVICE_TOKEN: `svc_${randomBytes(16).toString('hex')}`,
    ALGA_EXECUTION_KEYS_FILE: join(dir, 'execution-keys.json'),
    ALGA_KEYRING_FILE: join(dir, 'keyring.json'),
    // An external runner that need not be up: no in-process runner, no workers.
    RUNNER_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'silent',
  };
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const without = (name: string, extra: Record<string, string> = {}) => {
  const env = { ...complete, ...extra };
  delete env[name];
  return env;
};

/** What a development start would have generated into the data dir. */
const generatedFiles = ['operator-token', 'runner-service-token', 'execution-keys.json', 'keyring.json', 'demo.json', 'db'];

async function expectRefusal(env: Record<string, string>, variable: string) {
  const run = await runUntilExit(gatewayMain, env, { cwd: dir, timeoutMs: 20_000 });
  expect(run.signal, run.stdout).toBeNull();
  expect(run.code).not.toBe(0);
  // Under a second on an idle machine; the bound leaves room for a busy 2-core CI runner.
  expect(run.ms).toBeLessThan(8000);
  expect(run.stderr).toContain(variable);
  expect(run.stdout).not.toMatch(/building samples|alga: gateway/);
  const left = existsSync(env.ALGA_DATA_DIR) ? await readdir(env.ALGA_DATA_DIR) : [];
  expect(left.filter((f) => generatedFiles.includes(f))).toEqual([]);
  return run;
}

describe('gateway with NODE_ENV=production', () => {
  it.each([
    ['ALGA_OPERATOR_TOKEN'],
    ['ALGA_RUNNER_SERVICE_TOKEN'],
    ['ALGA_EXECUTION_KEYS_FILE'],
    ['ALGA_KEYRING_FILE'],
  ])('refuses to start without %s, names it, and generates nothing in its place', async (variable) => {
    await expectRefusal(without(variable), variable);
  });

  it('names every missing variable in one start-up error', async () => {
    const env = { NODE_ENV: 'production', ALGA_DATA_DIR: join(dir, 'data') };
    const run = await expectRefusal(env, 'ALGA_OPERATOR_TOKEN');
    for (const variable of ['ALGA_RUNNER_SERVICE_TOKEN', 'ALGA_EXECUTION_KEYS_FILE', 'ALGA_KEYRING_FILE']) expect(run.stderr).toContain(variable);
  });

  it('refuses a keyring path that does not exist (a wrong mount) and never creates the file or its directory', async () => {
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

  it('refuses an execution keys path that does not exist and never creates it', async () => {
    const keysFile = join(dir, 'missing-execution-keys.json');
    const run = await expectRefusal({ ...complete, ALGA_EXECUTION_KEYS_FILE: keysFile }, 'ALGA_EXECUTION_KEYS_FILE');
    expect(run.stderr).toContain(keysFile);
    expect(existsSync(keysFile)).toBe(false);
  });

  it('refuses the Vault backend without VAULT_ADDR', async () => {
    await expectRefusal(without('ALGA_KEYRING_FILE', { ALGA_SECRETS_BACKEND: 'vault', VAULT_TOKEN: 'hvs.test' }), 'VAULT_ADDR');
  });

  it('treats a NODE_ENV that is neither production nor development/test as an error, not as development', async () => {
    await expectRefusal({ ...without('ALGA_OPERATOR_TOKEN'), NODE_ENV: 'prod' }, 'NODE_ENV');
  });

  it('starts with every credential from the environment, without building samples, seeding a demo tenant or printing credentials', async () => {
    const started = await runUntilReady(gatewayMain, complete, /alga: gateway {2}http:\/\/127\.0\.0\.1:\d+ \(production\)/, { cwd: dir, timeoutMs: 30_000 });
    const run = await started.stop();
    expect(started.output).not.toMatch(/development setup|building samples|demo tenant|API key|operator token/);
    expect(started.output).not.toContain(complete.ALGA_OPERATOR_TOKEN);
    expect(run.code).toBe(0);
    const left = await readdir(complete.ALGA_DATA_DIR);
    expect(left.filter((f) => generatedFiles.includes(f) && f !== 'db')).toEqual([]);
  });
});
