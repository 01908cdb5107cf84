import { describe, it, expect, beforeAll, afterAll, afterEach, vi } from 'vitest';
import { createRequire } from 'node:module';
import { inspect, format } from 'node:util';
import { startVaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import type { VaultTransitServer } from '../../../test-setup/vault-transit-server.ts';
import { SecretValues } from '@alga-psa/extension-host/secrets/secret-values';
import { VaultTransitCipher } from '@alga-psa/extension-host/secrets/vault-transit-cipher';
import { LocalKeyringCipher, generateKeyring } from '@alga-psa/extension-host/secrets/local-keyring';
import { SecretCache } from '../../src/secrets/secret-cache.ts';
import type { SecretScope } from '@alga-psa/extension-host/secrets/secret-cipher';

const PLAINTEXTS = ['sk-live-PLAINTEXT-0001', 'hunter2-PLAINTEXT-0002', 'pässwört-PLAINTEXT-0003'];
const record = { API_KEY: PLAINTEXTS[0], PASSWORD: PLAINTEXTS[1], UNICODE: PLAINTEXTS[2] };
const scope: SecretScope = { tenantId: 'tenant-a', installId: 'install-1' };

function expectNoPlaintext(text: string): void {
  for (const p of PLAINTEXTS) {
    expect(text).not.toContain(p);
    expect(text).not.toContain(Buffer.from(p).toString('base64'));
  }
}

/** Everything written to stdout/stderr and the console while `fn` runs. */
async function captureOutput(fn: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const grab = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(grab),
    vi.spyOn(process.stderr, 'write').mockImplementation(grab),
    ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void grab(format(...args)))),
  ];
  try {
    await fn();
  } finally {
    for (const s of spies) s.mockRestore();
  }
  return chunks.join('');
}

let server: VaultTransitServer;
beforeAll(async () => {
  server = await startVaultTransitServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.unseal();
  vi.restoreAllMocks();
});

describe('SecretValues never reveals a value by accident', () => {
  it('hides values from util.inspect (any options), JSON.stringify, String(), template literals and concatenation', () => {
    const values = SecretValues.from(record);
    const renderings = [
      inspect(values),
      inspect(values, { showHidden: true, depth: Infinity, getters: true }),
      inspect({ nested: { values } }, { depth: Infinity }),
      inspect(values, { customInspect: false, showHidden: true }),
      format('%o %O %s %j', values, values, values, values),
      JSON.stringify(values),
      JSON.stringify({ result: { values, failed: [] } }),
      String(values),
      `${values}`,
      `${values as unknown as string}` + values,
      Object.prototype.toString.call(values),
      JSON.stringify(Object.entries(values)),
      JSON.stringify({ ...values }),
      JSON.stringify(structuredClone(values)),
    ];
    for (const text of renderings) expectNoPlaintext(text);
    expect(JSON.parse(JSON.stringify(values))).toEqual({ keys: ['API_KEY', 'PASSWORD', 'UNICODE'], values: '[redacted]' });
    expect(String(values)).toBe('[SecretValues: 3 keys, redacted]');
    expect(inspect(values)).toContain('API_KEY');
    // and the values are really there
    expect(values.get('PASSWORD')).toBe(PLAINTEXTS[1]);
  });

  it('refuses a non-string value naming only its key', () => {
    let error: unknown;
    try {
      SecretValues.from({ API_KEY: PLAINTEXTS[0], BAD: { nested: PLAINTEXTS[1] } as unknown as string });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TypeError);
    expectNoPlaintext(inspect(error));
    expect(String(error)).toContain('BAD');
  });

  it('wipe() zero-fills the buffers it owns and forgets every key', () => {
    const buf = Buffer.alloc(16, 0x41);
    const values = SecretValues.fromBuffers([['K', buf]]);
    expect(values.get('K')).toBe('A'.repeat(16));
    values.wipe();
    expect(buf.every((b) => b === 0)).toBe(true);
    expect(values.get('K')).toBeUndefined();
    expect(values.size).toBe(0);
    expect(values.keys()).toEqual([]);
    values.wipe(); // idempotent
  });

  it('clone() copies: wiping the clone leaves the original intact', () => {
    const values = SecretValues.from(record);
    const copy = values.clone();
    copy.wipe();
    expect(values.get('API_KEY')).toBe(PLAINTEXTS[0]);
  });
});

describe('decrypt results and errors carry no plaintext', () => {
  it('a DecryptResult from the cache renders without plaintext', async () => {
    const cipher = new LocalKeyringCipher(generateKeyring());
    const sealed = await cipher.encrypt(scope, record);
    const envelope = Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));
    const result = await new SecretCache(cipher).get({ ...scope, secretsVersion: 1 }, envelope);
    expectNoPlaintext(inspect(result, { depth: Infinity, showHidden: true }));
    expectNoPlaintext(JSON.stringify(result));
    expect(result.values.get('UNICODE')).toBe(PLAINTEXTS[2]);
  });

  it('errors from a sealed, a failing and an unreachable Vault quote no plaintext or ciphertext, and nothing is printed', async () => {
    const keyName = 'leak-check';
    const cipher = new VaultTransitCipher({ endpoint: server.url, token: server.rootToken, keyName, timeoutMs: 2_000 });
    const sealed = await cipher.encrypt(scope, record);
    const envelope = Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));
    const gone = await startVaultTransitServer();
    await gone.close();
    const unreachable = new VaultTransitCipher({ endpoint: gone.url, token: 'hvs.x', keyName, timeoutMs: 2_000 });

    // node-vault logs request bodies through `debug` when DEBUG=node-vault: turn that on to prove it stays silent.
    const debug = createRequire(import.meta.resolve('node-vault'))('debug') as { enable(ns: string): void; disable(): string };
    debug.enable('node-vault');
    const errors: unknown[] = [];
    const output = await captureOutput(async () => {
      try {
        server.seal();
        errors.push(await cipher.encrypt(scope, record).catch((e: unknown) => e));
        errors.push(await cipher.decrypt(scope, envelope).catch((e: unknown) => e));
        server.unseal();
        server.failNext(1, 500);
        errors.push(await cipher.decrypt(scope, envelope).catch((e: unknown) => e));
        errors.push(await unreachable.encrypt(scope, record).catch((e: unknown) => e));
        errors.push(await unreachable.decrypt(scope, envelope).catch((e: unknown) => e));
        // a partial batch failure: node-vault rejects with the good items' plaintexts in err.response.body
        const partial = await cipher.decrypt(scope, { ...envelope, MOVED: envelope.API_KEY });
        expect(partial.failed).toEqual(['MOVED']);
        expectNoPlaintext(inspect(partial, { depth: Infinity }));
      } finally {
        debug.disable();
      }
    });
    expect(errors).toHaveLength(5);
    for (const err of errors) {
      expect(err).toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
      const text = [inspect(err, { depth: Infinity, showHidden: true }), JSON.stringify((err as { toBody(): unknown }).toBody()), String(err)].join('\n');
      expectNoPlaintext(text);
      for (const ct of Object.values(envelope)) expect(text).not.toContain(ct.slice(9, 40));
      expect((err as Error).cause).toBeUndefined();
    }
    expectNoPlaintext(output);
    for (const ct of Object.values(envelope)) expect(output).not.toContain(ct.slice(9, 40));
  });
});
