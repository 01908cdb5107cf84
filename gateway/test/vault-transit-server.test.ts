import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import vaultFactory from 'node-vault';
import { startVaultTransitServer } from '../../test-setup/vault-transit-server.ts';
import type { VaultTransitServer } from '../../test-setup/vault-transit-server.ts';

// Every test talks to the server through the real node-vault client (or plain fetch where a header or raw body
// matters), so what is asserted here is the wire contract of /work/shared/VAULT-TRANSIT.md.

type VaultClient = ReturnType<typeof vaultFactory>;
type VaultError = Error & { response?: { statusCode: number; body: any } };

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');
const unb64 = (value: string): Buffer => Buffer.from(value, 'base64');

/** The rejection of a node-vault call that is expected to fail (so a success fails the test). */
async function vaultError(call: Promise<unknown>): Promise<VaultError> {
  try {
    await call;
  } catch (err) {
    return err as VaultError;
  }
  throw new Error('expected the Vault call to be rejected, but it succeeded');
}

let server: VaultTransitServer;
let root: VaultClient;
const clientFor = (token: string, extra: Record<string, unknown> = {}): VaultClient =>
  vaultFactory({ endpoint: server.url, token, apiVersion: 'v1', ...extra });
let keyCounter = 0;
/** A fresh key name per test, so tests never see each other's keys. */
const freshKey = (label: string): string => `${label}-${++keyCounter}`;

async function createKey(name: string, params: Record<string, unknown> = {}): Promise<void> {
  await root.write(`transit/keys/${name}`, params);
}
async function encrypt(name: string, plaintext: Buffer | string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await root.write(`transit/encrypt/${name}`, { plaintext: b64(plaintext), ...extra });
  return res.data.ciphertext as string;
}
async function decrypt(name: string, ciphertext: string, extra: Record<string, unknown> = {}): Promise<Buffer> {
  const res = await root.write(`transit/decrypt/${name}`, { ciphertext, ...extra });
  return unb64(res.data.plaintext as string);
}
/** Replace the payload of a `vault:vN:<b64>` ciphertext with a transformed copy. */
function withPayload(ciphertext: string, transform: (payload: Buffer) => Buffer): string {
  const [prefix, version, payload] = ciphertext.split(':');
  return `${prefix}:${version}:${transform(unb64(payload)).toString('base64')}`;
}

beforeAll(async () => {
  server = await startVaultTransitServer({ rootToken: 'root-test-token' });
  root = clientFor(server.rootToken);
});

afterAll(async () => {
  await server.close();
});

describe('server basics', () => {
  it('listens on an ephemeral port and keeps the given root token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url.endsWith(':0')).toBe(false);
    expect(server.rootToken).toBe('root-test-token');
  });

  it('answers sys/health without a token, with the non-envelope body', async () => {
    const anonymous = vaultFactory({ endpoint: server.url, apiVersion: 'v1' });
    const health = await anonymous.health();
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(typeof health.server_time_utc).toBe('number');
    expect(health).not.toHaveProperty('data');
  });

  it('rejects requests without a token or with an unknown token with the plain 403 message', async () => {
    const anonymous = vaultFactory({ endpoint: server.url, apiVersion: 'v1' });
    const noToken = await vaultError(anonymous.write('transit/keys/anything', {}));
    expect(noToken.response?.statusCode).toBe(403);
    expect(noToken.response?.body).toEqual({ errors: ['permission denied'] });

    const bogus = await vaultError(clientFor('hvs.not-a-token').read('transit/keys/anything'));
    expect(bogus.response?.statusCode).toBe(403);
    expect(bogus.message).toBe('permission denied');
  });

  it('accepts the token as Authorization: Bearer', async () => {
    const name = freshKey('bearer');
    const res = await fetch(`${server.url}/v1/transit/keys/${name}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.rootToken}` },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).data.name).toBe(name);
  });

  it('answers 405 for a wrong method and 404 for paths or key names that match no route', async () => {
    const wrongMethod = await vaultError(root.read('transit/encrypt/some-key'));
    expect(wrongMethod.response?.statusCode).toBe(405);
    expect(wrongMethod.message).toContain('unsupported operation');

    const badName = await vaultError(root.write('transit/keys/-leading-dash', {}));
    expect(badName.response?.statusCode).toBe(404);
    expect(badName.message).toContain('unsupported path');

    const otherMount = await vaultError(root.read('secret/data/x'));
    expect(otherMount.response?.statusCode).toBe(404);
    expect(otherMount.message).toContain('no handler for route');

    // ACL runs before routing: a non-root token sees 403, not 404, on a path that does not exist.
    const limited = clientFor(server.createToken({ 'transit/encrypt/*': ['update'] }));
    const hidden = await vaultError(limited.write('transit/keys/-leading-dash', {}));
    expect(hidden.response?.statusCode).toBe(403);
  });
});

describe('encrypt / decrypt round trips', () => {
  it('round-trips binary, UTF-8 and empty plaintext through the node-vault transit helpers', async () => {
    const name = freshKey('roundtrip');
    await root.transitCreateKey({ name });
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const utf8 = Buffer.from('héllo wörld ✓ 🔐 Ω', 'utf8');
    for (const plaintext of [binary, utf8, Buffer.alloc(0)]) {
      const enc = await root.encryptData({ name, plaintext: b64(plaintext) });
      expect(enc.data.ciphertext).toMatch(/^vault:v1:[A-Za-z0-9+/]+={0,2}$/);
      expect(enc.data.key_version).toBe(1);
      const dec = await root.decryptData({ name, ciphertext: enc.data.ciphertext });
      expect(unb64(dec.data.plaintext).equals(plaintext)).toBe(true);
    }
    // Empty plaintext: nonce (12) + GCM tag (16) only.
    const empty = await encrypt(name, Buffer.alloc(0));
    expect(unb64(empty.split(':')[2]).length).toBe(28);
  });

  it('uses a fresh nonce for each encryption', async () => {
    const name = freshKey('nonce');
    await createKey(name);
    const a = await encrypt(name, 'same plaintext');
    const b = await encrypt(name, 'same plaintext');
    expect(a).not.toBe(b);
    expect(unb64(a.split(':')[2]).subarray(0, 12).equals(unb64(b.split(':')[2]).subarray(0, 12))).toBe(false);
  });

  it('sends warnings as null normally, and as an array when the helper posts `name` in the body', async () => {
    const name = freshKey('warnings');
    await createKey(name);
    const plain = await root.write(`transit/encrypt/${name}`, { plaintext: b64('x') });
    expect(plain.warnings).toBeNull();
    const viaHelper = await root.encryptData({ name, plaintext: b64('x') });
    expect(viaHelper.warnings).toEqual([
      "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [name]",
    ]);
  });

  it('rejects URL-safe and badly padded base64 with Go-style byte offsets', async () => {
    const name = freshKey('base64');
    await createKey(name);
    const cases: Array<[string, number]> = [
      ['-_8=', 0], // URL-safe alphabet
      ['YWJj-_8=', 4],
      ['YQ', 0], // missing padding: Go reports the start of the short quantum
      ['YWJjYQ', 4],
      ['YQ=', 3], // one '=' where two are needed
      ['Y===', 1],
      ['YQ== ', 4], // trailing garbage after padding
      ['YW Jj', 2], // spaces are not skipped
    ];
    for (const [plaintext, offset] of cases) {
      const err = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext }));
      expect(err.response?.statusCode, plaintext).toBe(400);
      expect(err.message, plaintext).toBe(`illegal base64 data at input byte ${offset}`);
    }
    // A bad context is reported the same way.
    const badContext = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x'), context: 'a_b=' }));
    expect(badContext.message).toBe('illegal base64 data at input byte 1');
  });

  it('fails authentication for a tampered byte, another key, or the wrong context', async () => {
    const name = freshKey('tamper');
    const other = freshKey('tamper-other');
    const derived = freshKey('tamper-derived');
    await createKey(name);
    await createKey(other);
    await createKey(derived, { derived: true });
    const ciphertext = await encrypt(name, 'secret');

    const tampered = withPayload(ciphertext, (p) => {
      const copy = Buffer.from(p);
      copy[copy.length - 1] ^= 0x01;
      return copy;
    });
    for (const [key, ct, extra] of [
      [name, tampered, {}],
      [other, ciphertext, {}],
      [derived, await encrypt(derived, 'secret', { context: b64('ctx-1') }), { context: b64('ctx-2') }],
    ] as const) {
      const err = await vaultError(decrypt(key, ct, extra));
      expect(err.response?.statusCode).toBe(400);
      expect(err.message).toBe('cipher: message authentication failed');
    }
  });

  it('reports a payload shorter than the nonce as invalid ciphertext length', async () => {
    const name = freshKey('truncated');
    await createKey(name);
    const ciphertext = await encrypt(name, 'secret');
    const short = await vaultError(decrypt(name, withPayload(ciphertext, (p) => p.subarray(0, 11))));
    expect(short.response?.statusCode).toBe(400);
    expect(short.message).toBe('invalid ciphertext length');
    // 12..27 bytes: a nonce but no room for a tag, which Go reports as an authentication failure.
    const noTag = await vaultError(decrypt(name, withPayload(ciphertext, (p) => p.subarray(0, 20))));
    expect(noTag.message).toBe('cipher: message authentication failed');
  });

  it('validates the ciphertext framing before touching the key', async () => {
    const name = freshKey('framing');
    await createKey(name);
    const cases: Array<[string, string]> = [
      ['abc', 'invalid ciphertext: no prefix'],
      ['vault:v1', 'invalid ciphertext: wrong number of fields'],
      ['vault:vX:AAAA', 'invalid ciphertext: version number could not be decoded'],
      ['vault:v9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==', 'invalid ciphertext: version is too new'],
      ['vault:v1:not base64!', 'invalid ciphertext: could not decode base64'],
    ];
    for (const [ciphertext, message] of cases) {
      const err = await vaultError(decrypt(name, ciphertext));
      expect(err.response?.statusCode, ciphertext).toBe(400);
      expect(err.message, ciphertext).toBe(message);
    }
    const missing = await vaultError(root.write(`transit/decrypt/${name}`, {}));
    expect(missing.message).toBe('missing ciphertext to decrypt');
  });

  it('answers 400 (not 404) for an unknown key on decrypt and rewrap', async () => {
    const name = freshKey('known');
    await createKey(name);
    const ciphertext = await encrypt(name, 'x');
    for (const path of ['transit/decrypt/no-such-key', 'transit/rewrap/no-such-key']) {
      const err = await vaultError(root.write(path, { ciphertext }));
      expect(err.response?.statusCode).toBe(400);
      expect(err.message).toBe('encryption key not found');
    }
  });

  it('supports associated data, which must match on decrypt', async () => {
    const name = freshKey('aad');
    await createKey(name);
    const ciphertext = await encrypt(name, 'secret', { associated_data: b64('row-42') });
    expect((await decrypt(name, ciphertext, { associated_data: b64('row-42') })).toString()).toBe('secret');
    const wrong = await vaultError(decrypt(name, ciphertext, { associated_data: b64('row-43') }));
    expect(wrong.message).toBe('cipher: message authentication failed');
    const missing = await vaultError(decrypt(name, ciphertext));
    expect(missing.message).toBe('cipher: message authentication failed');
  });

  it('also implements aes128-gcm96 and chacha20-poly1305 keys', async () => {
    for (const type of ['aes128-gcm96', 'chacha20-poly1305']) {
      const name = freshKey(type);
      await createKey(name, { type });
      const ciphertext = await encrypt(name, `data for ${type}`);
      expect((await decrypt(name, ciphertext)).toString()).toBe(`data for ${type}`);
      expect((await root.read(`transit/keys/${name}`)).data.type).toBe(type);
    }
  });
});

describe('derived keys', () => {
  const missingContext =
    "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

  it('requires a context on encrypt and on decrypt', async () => {
    const name = freshKey('derived');
    await createKey(name, { derived: true });
    const encErr = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x') }));
    expect(encErr.response?.statusCode).toBe(400);
    expect(encErr.message).toBe(missingContext);

    const ciphertext = await encrypt(name, 'x', { context: b64('tenant:1') });
    const decErr = await vaultError(decrypt(name, ciphertext));
    expect(decErr.message).toBe(missingContext);
    expect((await decrypt(name, ciphertext, { context: b64('tenant:1') })).toString()).toBe('x');

    const read = await root.read(`transit/keys/${name}`);
    expect(read.data).toMatchObject({ derived: true, kdf: 'hkdf_sha256', convergent_encryption: false });
  });

  it('ignores the context of a non-derived key', async () => {
    const name = freshKey('plain');
    await createKey(name);
    const ciphertext = await encrypt(name, 'x', { context: b64('one') });
    expect((await decrypt(name, ciphertext, { context: b64('two') })).toString()).toBe('x');
    expect((await decrypt(name, ciphertext)).toString()).toBe('x');
  });

  it('rejects a batch where only some items carry a context', async () => {
    const name = freshKey('mixed-context');
    await createKey(name, { derived: true });
    const encErr = await vaultError(
      root.write(`transit/encrypt/${name}`, {
        batch_input: [{ plaintext: b64('a'), context: b64('c') }, { plaintext: b64('b') }],
      }),
    );
    expect(encErr.response?.statusCode).toBe(400);
    expect(encErr.message).toBe('context should be set either in all the request blocks or in none');

    const ciphertext = await encrypt(name, 'a', { context: b64('c') });
    const decErr = await vaultError(
      root.write(`transit/decrypt/${name}`, { batch_input: [{ ciphertext }, { ciphertext, context: b64('c') }] }),
    );
    expect(decErr.message).toBe('context should be set either in all the request blocks or in none');
  });

  it('cannot batch-decrypt tenantB ciphertext with the tenantA context', async () => {
    const name = freshKey('tenants');
    await createKey(name, { derived: true });
    const ctxA = b64('tenantA:install1');
    const ctxB = b64('tenantB:install1');
    const ofB = await encrypt(name, 'tenant B secret', { context: ctxB });
    const ofA = await encrypt(name, 'tenant A secret', { context: ctxA });

    const err = await vaultError(
      root.write(`transit/decrypt/${name}`, {
        batch_input: [
          { ciphertext: ofB, context: ctxA, reference: 'b-with-a' },
          { ciphertext: ofA, context: ctxA, reference: 'a-with-a' },
        ],
      }),
    );
    expect(err.response?.statusCode).toBe(400);
    const [cross, own] = err.response?.body.data.batch_results;
    expect(cross).toEqual({ plaintext: '', error: 'cipher: message authentication failed', reference: 'b-with-a' });
    expect(unb64(own.plaintext).toString()).toBe('tenant A secret');
    expect((await decrypt(name, ofB, { context: ctxB })).toString()).toBe('tenant B secret');
  });

  it('makes convergent keys deterministic per plaintext and context', async () => {
    const name = freshKey('convergent');
    await createKey(name, { derived: true, convergent_encryption: true });
    const a1 = await encrypt(name, 'same', { context: b64('ctx') });
    const a2 = await encrypt(name, 'same', { context: b64('ctx') });
    const b = await encrypt(name, 'same', { context: b64('other') });
    expect(a1).toBe(a2);
    expect(b).not.toBe(a1);
    expect((await decrypt(name, a1, { context: b64('ctx') })).toString()).toBe('same');
    const notDerived = await vaultError(root.write(`transit/keys/${freshKey('conv')}`, { convergent_encryption: true }));
    expect(notDerived.message).toBe('convergent encryption requires derivation to be enabled');
  });
});

describe('versions: rotate, min versions, rewrap', () => {
  it('decrypts old ciphertext after rotation, refuses it once too old, and rewraps it to v2', async () => {
    const name = freshKey('rotate');
    await createKey(name);
    const v1 = await encrypt(name, 'old data');

    const rotated = await root.write(`transit/keys/${name}/rotate`, {});
    expect(rotated.data.latest_version).toBe(2);
    expect(Object.keys(rotated.data.keys).sort()).toEqual(['1', '2']);
    const v2 = await encrypt(name, 'new data');
    expect(v2.startsWith('vault:v2:')).toBe(true);
    expect((await decrypt(name, v1)).toString()).toBe('old data');

    const config = await root.write(`transit/keys/${name}/config`, { min_decryption_version: 2 });
    expect(config.data.min_decryption_version).toBe(2);
    const tooOld = await vaultError(decrypt(name, v1));
    expect(tooOld.response?.statusCode).toBe(400);
    expect(tooOld.message).toBe('ciphertext or signature version is disallowed by policy (too old)');

    // Rewrap applies the same min_decryption_version check...
    const rewrapOld = await vaultError(root.write(`transit/rewrap/${name}`, { ciphertext: v1 }));
    expect(rewrapOld.message).toContain('(too old)');
    // ...so rewrap before raising it, as a rotation job would.
    await root.write(`transit/keys/${name}/config`, { min_decryption_version: 1 });
    const rewrapped = await root.rewrapData({ name, ciphertext: v1 });
    expect(rewrapped.data.ciphertext.startsWith('vault:v2:')).toBe(true);
    expect(rewrapped.data.key_version).toBe(2);
    await root.write(`transit/keys/${name}/config`, { min_decryption_version: 2 });
    expect((await decrypt(name, rewrapped.data.ciphertext)).toString()).toBe('old data');
  });

  it('rejects a ciphertext whose version is above the latest (vault:v9:)', async () => {
    const name = freshKey('too-new');
    await createKey(name);
    const v1 = await encrypt(name, 'x');
    const err = await vaultError(decrypt(name, v1.replace('vault:v1:', 'vault:v9:')));
    expect(err.response?.statusCode).toBe(400);
    expect(err.message).toBe('invalid ciphertext: version is too new');
  });

  it('honours key_version and min_encryption_version on encrypt', async () => {
    const name = freshKey('key-version');
    await createKey(name);
    await root.write(`transit/keys/${name}/rotate`, {});
    const atV1 = await root.write(`transit/encrypt/${name}`, { plaintext: b64('x'), key_version: 1 });
    expect(atV1.data).toMatchObject({ key_version: 1 });
    expect(atV1.data.ciphertext.startsWith('vault:v1:')).toBe(true);

    const tooHigh = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x'), key_version: 5 }));
    expect(tooHigh.message).toBe('requested version for encryption is higher than the latest key version');

    await root.write(`transit/keys/${name}/config`, { min_encryption_version: 2 });
    const belowMin = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x'), key_version: 1 }));
    expect(belowMin.message).toBe('requested version for encryption is less than the minimum encryption key version');
  });

  it('validates config changes and leaves the key unchanged when rejecting them', async () => {
    const name = freshKey('config');
    await createKey(name);
    const beyond = await vaultError(root.write(`transit/keys/${name}/config`, { min_decryption_version: 3 }));
    expect(beyond.message).toBe('cannot set min decryption version of 3, latest key version is 1');

    await root.write(`transit/keys/${name}/rotate`, {});
    const crossed = await vaultError(
      root.write(`transit/keys/${name}/config`, { min_decryption_version: 2, min_encryption_version: 1 }),
    );
    expect(crossed.message).toBe(
      'cannot set min encryption/decryption values; min encryption version of 1 must be greater than or equal to min decryption version of 2',
    );
    expect((await root.read(`transit/keys/${name}`)).data.min_decryption_version).toBe(1);

    const forced = await root.write(`transit/keys/${name}/config`, { min_decryption_version: 0 });
    expect(forced.data.min_decryption_version).toBe(1);
    expect(forced.warnings).toHaveLength(1);

    const missing = await vaultError(root.write('transit/keys/no-such-key/config', { deletion_allowed: true }));
    expect(missing.message).toBe('no existing key named no-such-key could be found');
  });

  it('rewraps batches with 200 even when some items fail', async () => {
    const name = freshKey('rewrap-batch');
    await createKey(name);
    const v1 = await encrypt(name, 'x');
    await root.write(`transit/keys/${name}/rotate`, {});
    const res = await root.write(`transit/rewrap/${name}`, {
      batch_input: [{ ciphertext: v1, reference: 'ok' }, { reference: 'no-ciphertext' }, { ciphertext: 'garbage' }],
    });
    const [good, missing, bad] = res.data.batch_results;
    expect(good).toMatchObject({ key_version: 2, reference: 'ok' });
    expect(good.ciphertext.startsWith('vault:v2:')).toBe(true);
    expect(missing).toEqual({ error: 'missing ciphertext to decrypt', reference: 'no-ciphertext' });
    expect(bad).toEqual({ error: 'invalid ciphertext: no prefix', reference: '' });
  });
});

describe('batches', () => {
  it('answers a mixed decrypt batch with 400, per-item errors, echoed references and no errors key', async () => {
    const name = freshKey('batch');
    await createKey(name);
    const good = await encrypt(name, 'first');
    const err = await vaultError(
      root.write(`transit/decrypt/${name}`, {
        batch_input: [
          { ciphertext: good, reference: 'r-good' },
          { ciphertext: withPayload(good, (p) => Buffer.concat([p, Buffer.from([1])])), reference: 'r-bad' },
          { ciphertext: good },
        ],
      }),
    );
    expect(err.message).toBe('Status 400');
    expect(err.response?.statusCode).toBe(400);
    expect(err.response?.body).not.toHaveProperty('errors');
    const results = err.response?.body.data.batch_results;
    expect(results).toHaveLength(3);
    expect(unb64(results[0].plaintext).toString()).toBe('first');
    expect(results[0]).toEqual({ plaintext: results[0].plaintext, reference: 'r-good' });
    expect(results[1]).toEqual({ plaintext: '', error: 'cipher: message authentication failed', reference: 'r-bad' });
    expect(results[2].reference).toBe('');
  });

  it('encrypts batches in order, and reports per-item errors with 400', async () => {
    const name = freshKey('batch-enc');
    await createKey(name);
    const ok = await root.write(`transit/encrypt/${name}`, {
      batch_input: [
        { plaintext: b64('one'), reference: 'a' },
        { plaintext: b64('two'), reference: 'b' },
      ],
    });
    expect(ok.data.batch_results.map((r: any) => r.reference)).toEqual(['a', 'b']);
    const plain = await Promise.all(ok.data.batch_results.map((r: any) => decrypt(name, r.ciphertext)));
    expect(plain.map((p) => p.toString())).toEqual(['one', 'two']);

    const err = await vaultError(
      root.write(`transit/encrypt/${name}`, {
        batch_input: [{ plaintext: b64('fine') }, { plaintext: 'not_base64', reference: 'x' }],
      }),
    );
    expect(err.response?.statusCode).toBe(400);
    const [first, second] = err.response?.body.data.batch_results;
    expect(first).toMatchObject({ key_version: 1, reference: '' });
    expect(second).toEqual({ error: 'illegal base64 data at input byte 3', reference: 'x' });
  });

  it('honours partial_failure_response_code only when some item succeeded', async () => {
    const name = freshKey('partial');
    await createKey(name);
    const good = await encrypt(name, 'x');
    const mixed = await vaultError(
      root.write(`transit/decrypt/${name}`, {
        batch_input: [{ ciphertext: good }, { ciphertext: 'bad' }],
        partial_failure_response_code: 207,
      }),
    );
    expect(mixed.response?.statusCode).toBe(207);

    const allFailed = await vaultError(
      root.write(`transit/decrypt/${name}`, {
        batch_input: [{ ciphertext: 'bad' }],
        partial_failure_response_code: 207,
      }),
    );
    expect(allFailed.response?.statusCode).toBe(400);

    const outOfRange = await vaultError(
      root.write(`transit/decrypt/${name}`, {
        batch_input: [{ ciphertext: good }, { ciphertext: 'bad' }],
        partial_failure_response_code: 700,
      }),
    );
    expect(outOfRange.response?.statusCode).toBe(400);
    expect(outOfRange.response?.body.warnings).toEqual([
      'invalid HTTP response code override from partial_failure_response_code, reverting to 400',
    ]);
  });

  it('fails the whole request with 500 when a batch item lacks plaintext / ciphertext', async () => {
    const name = freshKey('batch-500');
    await createKey(name);
    const enc = await vaultError(
      root.write(`transit/encrypt/${name}`, { batch_input: [{ plaintext: b64('a') }, { reference: 'no-plaintext' }] }),
    );
    expect(enc.response?.statusCode).toBe(500);
    expect(enc.message).toContain('failed to parse batch input');
    expect(enc.message).toContain("'[1].plaintext' missing plaintext to encrypt");

    const dec = await vaultError(root.write(`transit/decrypt/${name}`, { batch_input: [{ context: '' }] }));
    expect(dec.response?.statusCode).toBe(500);
    expect(dec.message).toContain("'[0].ciphertext' missing ciphertext to decrypt");

    const empty = await vaultError(root.write(`transit/encrypt/${name}`, { batch_input: [] }));
    expect(empty.response?.statusCode).toBe(400);
    expect(empty.message).toBe('missing batch input to process');
  });
});

describe('policies and upsert', () => {
  it('gives an update-only token 403 on a missing key; a create token auto-creates it, derived iff context', async () => {
    const updateOnly = clientFor(server.createToken({ 'transit/encrypt/*': ['update'] }));
    const missing = freshKey('typo');
    const denied = await vaultError(updateOnly.write(`transit/encrypt/${missing}`, { plaintext: b64('x') }));
    expect(denied.response?.statusCode).toBe(403);
    expect(denied.message).toBe('1 error occurred:\n\t* permission denied\n\n');
    await expect(root.read(`transit/keys/${missing}`)).rejects.toMatchObject({ message: 'Status 404' });

    const creator = clientFor(server.createToken({ 'transit/encrypt/*': ['create', 'update'] }));
    const plainKey = freshKey('upsert-plain');
    const derivedKey = freshKey('upsert-derived');
    const res = await creator.write(`transit/encrypt/${plainKey}`, { plaintext: b64('x') });
    expect(res.data.ciphertext.startsWith('vault:v1:')).toBe(true);
    await creator.write(`transit/encrypt/${derivedKey}`, { plaintext: b64('x'), context: b64('ctx') });
    expect((await root.read(`transit/keys/${plainKey}`)).data.derived).toBe(false);
    expect((await root.read(`transit/keys/${derivedKey}`)).data.derived).toBe(true);

    // Once the key exists the same update-only token can encrypt with it.
    const now = await updateOnly.write(`transit/encrypt/${plainKey}`, { plaintext: b64('y') });
    expect(now.data.key_version).toBe(1);
  });

  it('separates writers (encrypt only) from readers (decrypt only)', async () => {
    const name = freshKey('app-data');
    await createKey(name);
    const writer = clientFor(server.createToken({ [`transit/encrypt/${name}`]: ['update'] }));
    const reader = clientFor(server.createToken({ [`transit/decrypt/${name}`]: ['update'] }));

    const ciphertext = (await writer.write(`transit/encrypt/${name}`, { plaintext: b64('pii') })).data.ciphertext;
    const writerDecrypt = await vaultError(writer.write(`transit/decrypt/${name}`, { ciphertext }));
    expect(writerDecrypt.response?.statusCode).toBe(403);

    const plain = await reader.write(`transit/decrypt/${name}`, { ciphertext });
    expect(unb64(plain.data.plaintext).toString()).toBe('pii');
    const readerEncrypt = await vaultError(reader.write(`transit/encrypt/${name}`, { plaintext: b64('x') }));
    expect(readerEncrypt.response?.statusCode).toBe(403);
    const readerKeyRead = await vaultError(reader.read(`transit/keys/${name}`));
    expect(readerKeyRead.response?.statusCode).toBe(403);
  });

  it('refuses upsert when disable_upsert is set, even with create', async () => {
    await root.write('transit/config/keys', { disable_upsert: true });
    try {
      const err = await vaultError(root.write(`transit/encrypt/${freshKey('no-upsert')}`, { plaintext: b64('x') }));
      expect(err.response?.statusCode).toBe(400);
      expect(err.message).toBe('encryption key not found');
    } finally {
      await root.write('transit/config/keys', { disable_upsert: false });
    }
    expect((await root.read('transit/config/keys')).data).toEqual({ disable_upsert: false });
  });
});

describe('key management', () => {
  it('reads a key with the documented fields, and a missing key is 404 with an empty errors array', async () => {
    const name = freshKey('read');
    await root.transitCreateKey({ name });
    const res = await root.transitReadKey({ name });
    expect(res.data).toMatchObject({
      name,
      type: 'aes256-gcm96',
      derived: false,
      deletion_allowed: false,
      latest_version: 1,
      min_decryption_version: 1,
      min_encryption_version: 0,
      supports_encryption: true,
      supports_decryption: true,
    });
    expect(typeof res.data.keys['1']).toBe('number');

    const missing = await vaultError(root.read('transit/keys/never-created'));
    expect(missing.message).toBe('Status 404');
    expect(missing.response?.body).toEqual({ errors: [] });
  });

  it('ignores the parameters of a create on an existing key and warns', async () => {
    const name = freshKey('existing');
    await createKey(name);
    const again = await root.write(`transit/keys/${name}`, { derived: true, type: 'chacha20-poly1305' });
    expect(again.warnings).toEqual([`key ${name} already existed`]);
    expect(again.data).toMatchObject({ derived: false, type: 'aes256-gcm96' });
    const unknownType = await vaultError(root.write(`transit/keys/${freshKey('bad-type')}`, { type: 'aes512' }));
    expect(unknownType.message).toBe('unknown key type aes512');
  });

  it('refuses to delete a key until deletion_allowed is set', async () => {
    const name = freshKey('delete');
    await createKey(name);
    const refused = await vaultError(root.transitDeleteKey({ name }));
    expect(refused.response?.statusCode).toBe(400);
    expect(refused.message).toBe(`error deleting policy ${name}: deletion is not allowed for this key`);

    await root.write(`transit/keys/${name}/config`, { deletion_allowed: true });
    const res = await fetch(`${server.url}/v1/transit/keys/${name}`, {
      method: 'DELETE',
      headers: { 'X-Vault-Token': server.rootToken },
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    await expect(root.read(`transit/keys/${name}`)).rejects.toMatchObject({ message: 'Status 404' });
    const gone = await vaultError(root.delete(`transit/keys/${name}`));
    expect(gone.message).toBe(`error deleting policy ${name}: could not delete key; not found`);
  });

  it('lists keys via GET ?list=true, answers 404 when there are none, and also accepts the LIST verb', async () => {
    const fresh = await startVaultTransitServer();
    try {
      const client = vaultFactory({ endpoint: fresh.url, token: fresh.rootToken, apiVersion: 'v1', noCustomHTTPVerbs: true });
      const empty = await vaultError(client.list('transit/keys'));
      expect(empty.response?.statusCode).toBe(404);
      expect(empty.response?.body).toEqual({ errors: [] });

      await client.write('transit/keys/b-key', {});
      await client.write('transit/keys/a-key', {});
      expect((await client.list('transit/keys')).data.keys).toEqual(['a-key', 'b-key']);
      expect((await client.read('transit/keys?list=true')).data.keys).toEqual(['a-key', 'b-key']);
      // transitListKeys always sends LIST, which Node's HTTP parser rejects; the server answers it anyway.
      expect((await client.transitListKeys()).data.keys).toEqual(['a-key', 'b-key']);
    } finally {
      await fresh.close();
    }
  });
});

describe('test controls', () => {
  it('answers 503 Vault is sealed while sealed, except sys/health which reports the seal', async () => {
    const name = freshKey('sealed');
    await createKey(name);
    server.seal();
    try {
      const err = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x') }));
      expect(err.response?.statusCode).toBe(503);
      expect(err.message).toBe('Vault is sealed');
      const res = await fetch(`${server.url}/v1/sys/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ initialized: true, sealed: true });
    } finally {
      server.unseal();
    }
    expect(await encrypt(name, 'x')).toMatch(/^vault:v1:/);
  });

  it('injects failures for the next n requests, then recovers', async () => {
    const name = freshKey('flaky');
    await createKey(name);
    server.failNext(2);
    for (let i = 0; i < 2; i++) {
      const err = await vaultError(root.write(`transit/encrypt/${name}`, { plaintext: b64('x') }));
      expect(err.response?.statusCode).toBe(500);
      expect(err.response?.body.errors).toHaveLength(1);
    }
    expect(await encrypt(name, 'x')).toMatch(/^vault:v1:/);

    server.failNext(1, 502);
    expect((await vaultError(root.read(`transit/keys/${name}`))).response?.statusCode).toBe(502);
    expect((await root.read(`transit/keys/${name}`)).data.name).toBe(name);
  });

  it('delays responses by the configured latency', async () => {
    const name = freshKey('slow');
    await createKey(name);
    server.setLatencyMs(250);
    try {
      const started = performance.now();
      await encrypt(name, 'x');
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      server.setLatencyMs(0);
    }
    const started = performance.now();
    await encrypt(name, 'x');
    expect(performance.now() - started).toBeLessThan(240);
  });

  it('counts requests, optionally by path prefix, and resets the counters', async () => {
    const name = freshKey('counted');
    await createKey(name);
    const ciphertext = await encrypt(name, 'x');
    server.resetCounters();
    expect(server.requestCount()).toBe(0);
    await decrypt(name, ciphertext);
    await decrypt(name, ciphertext);
    await encrypt(name, 'y');
    await vaultError(root.write('transit/decrypt/unknown-key', { ciphertext }));
    expect(server.requestCount()).toBe(4);
    expect(server.requestCount('transit/decrypt/')).toBe(3);
    expect(server.requestCount(`transit/decrypt/${name}`)).toBe(2);
    expect(server.requestCount('transit/encrypt/')).toBe(1);
    server.resetCounters();
    expect(server.requestCount('transit/')).toBe(0);
  });
});
