import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlgaError } from '@alga-psa/extension-contracts';
import { LocalKeyringCipher, generateKeyring, loadKeyring, rotateKeyring, saveKeyring } from '../../src/secrets/local-keyring.ts';
import { createSecretCipher } from '../../src/secrets/secret-cipher.ts';
import type { SecretCipher } from '../../src/secrets/secret-cipher.ts';

const scope = { tenantId: 'tenant-a', installId: 'install-1' };
const LOCAL_ENVELOPE = /^local:v1:([A-Za-z0-9_-]+):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]+)$/;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-keyring-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sealOne(cipher: SecretCipher, key: string, value: string, where = scope): Promise<string> {
  return (await cipher.encrypt(where, { [key]: value }))[key].ciphertext;
}

describe('local keyring cipher (AES-256-GCM, AAD tenant:install:key)', () => {
  it('round-trips values, including empty and non-ASCII, in the local:v1:<kid>:<nonce>:<ct> format', async () => {
    const keyring = generateKeyring();
    const cipher = new LocalKeyringCipher(keyring);
    const entries = { API_KEY: 'sk-live-0123456789', EMPTY: '', UNICODE: 'pässwörd ✓ 🔑' };
    const sealed = await cipher.encrypt(scope, entries);
    for (const [key, value] of Object.entries(entries)) {
      expect(sealed[key].algorithm).toBe('local-aes-256-gcm');
      expect(sealed[key].keyRef).toBe(keyring.active);
      const m = LOCAL_ENVELOPE.exec(sealed[key].ciphertext);
      expect(m, sealed[key].ciphertext).not.toBeNull();
      expect(m![1]).toBe(keyring.active);
      expect(Buffer.from(m![2], 'base64url')).toHaveLength(12);
      // ciphertext + 16-byte tag
      expect(Buffer.from(m![3], 'base64url')).toHaveLength(Buffer.byteLength(value) + 16);
      expect(sealed[key].ciphertext).not.toContain(Buffer.from(value).toString('base64url') || '\u0000');
    }
    // a fresh random nonce per encryption
    expect(await sealOne(cipher, 'API_KEY', 'x')).not.toBe(await sealOne(cipher, 'API_KEY', 'x'));

    const envelope = Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));
    const { values, failed } = await cipher.decrypt(scope, envelope);
    expect(failed).toEqual([]);
    expect(values.keys().sort()).toEqual(['API_KEY', 'EMPTY', 'UNICODE']);
    for (const [key, value] of Object.entries(entries)) expect(values.get(key)).toBe(value);
  });

  it('binds a ciphertext to its tenant, install and key name: moved anywhere else it is reported failed, never as plaintext', async () => {
    const cipher = new LocalKeyringCipher(generateKeyring());
    const secret = 'the-plaintext-4242';
    const ct = await sealOne(cipher, 'API_KEY', secret);

    const otherTenant = await cipher.decrypt({ tenantId: 'tenant-b', installId: 'install-1' }, { API_KEY: ct });
    const otherInstall = await cipher.decrypt({ tenantId: 'tenant-a', installId: 'install-2' }, { API_KEY: ct });
    const otherKey = await cipher.decrypt(scope, { WEBHOOK_SECRET: ct, API_KEY: ct });
    expect(otherTenant.failed).toEqual(['API_KEY']);
    expect(otherInstall.failed).toEqual(['API_KEY']);
    expect(otherKey.failed).toEqual(['WEBHOOK_SECRET']);
    expect(otherKey.values.get('API_KEY')).toBe(secret); // the same ciphertext under its own name still works
    for (const r of [otherTenant, otherInstall, otherKey]) {
      expect(r.values.has('WEBHOOK_SECRET')).toBe(false);
      expect(JSON.stringify(r.failed)).not.toContain(secret);
    }
    expect(otherTenant.values.size).toBe(0);
    expect(otherInstall.values.size).toBe(0);
  });

  it('refuses scope ids containing ":" (the AAD would be ambiguous) with E_BAD_REQUEST', async () => {
    const cipher = new LocalKeyringCipher(generateKeyring());
    await expect(cipher.encrypt({ tenantId: 'a:b', installId: 'c' }, { K: 'v' })).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
    await expect(cipher.decrypt({ tenantId: 'a', installId: '' }, {})).rejects.toMatchObject({ code: 'E_BAD_REQUEST' });
  });

  it('reports a ciphertext with any flipped byte (nonce, body or tag) as failed', async () => {
    const cipher = new LocalKeyringCipher(generateKeyring());
    const ct = await sealOne(cipher, 'K', 'tamper-me-please');
    const [prefix, version, kid, nonceB64, bodyB64] = ct.split(':');
    const flip = (b64: string, index: number): string => {
      const buf = Buffer.from(b64, 'base64url');
      buf[index] ^= 0x01;
      return buf.toString('base64url');
    };
    const body = Buffer.from(bodyB64, 'base64url');
    const tampered = [
      [prefix, version, kid, flip(nonceB64, 0), bodyB64].join(':'),
      [prefix, version, kid, nonceB64, flip(bodyB64, 0)].join(':'),
      [prefix, version, kid, nonceB64, flip(bodyB64, body.length - 1)].join(':'), // in the tag
      [prefix, version, kid, nonceB64, body.subarray(0, body.length - 1).toString('base64url')].join(':'), // truncated
    ];
    for (const t of tampered) {
      const { values, failed } = await cipher.decrypt(scope, { K: t });
      expect(failed, t).toEqual(['K']);
      expect(values.size).toBe(0);
    }
    expect((await cipher.decrypt(scope, { K: ct })).values.get('K')).toBe('tamper-me-please');
  });

  it('after rotation decrypts values sealed under the old kid and encrypts with the new one', async () => {
    const path = join(dir, 'keyring.json');
    const original = await loadKeyring(path, { createIfMissing: true });
    const before = await createSecretCipher({ backend: 'local', keyringFile: path });
    const oldCt = await sealOne(before, 'K', 'old-value');

    const rotated = rotateKeyring(original);
    expect(rotated.active).not.toBe(original.active);
    expect(Object.keys(rotated.keys).sort()).toEqual([original.active, rotated.active].sort());
    expect(original.keys[original.active]).toBe(rotated.keys[original.active]);
    expect(Object.keys(original.keys)).toEqual([original.active]); // input not modified
    await saveKeyring(path, rotated);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const after = await createSecretCipher({ backend: 'local', keyringFile: path });
    const sealed = await after.encrypt(scope, { K: 'new-value' });
    expect(sealed.K.keyRef).toBe(rotated.active);
    expect(sealed.K.ciphertext.split(':')[2]).toBe(rotated.active);
    const { values, failed } = await after.decrypt(scope, { OLD: oldCt, K: sealed.K.ciphertext });
    // OLD was sealed under the name K, so under OLD it fails: decrypt it under its own name.
    expect(failed).toEqual(['OLD']);
    expect(values.get('K')).toBe('new-value');
    expect((await after.decrypt(scope, { K: oldCt })).values.get('K')).toBe('old-value');
    // the old cipher does not know the new kid
    expect((await before.decrypt(scope, { K: sealed.K.ciphertext })).failed).toEqual(['K']);
  });

  it('reports a ciphertext naming an unknown kid as failed', async () => {
    const a = new LocalKeyringCipher(generateKeyring());
    const b = new LocalKeyringCipher(generateKeyring());
    const ct = await sealOne(a, 'K', 'v');
    expect((await b.decrypt(scope, { K: ct })).failed).toEqual(['K']);
    // same key bytes but the kid renamed: still unknown
    const renamed = ct.replace(a.activeKid, 'kunknown');
    expect((await a.decrypt(scope, { K: renamed })).failed).toEqual(['K']);
  });

  it('never treats a value without the local:/vault: prefix as plaintext or base64', async () => {
    const cipher = await createSecretCipher({ backend: 'local', keyringFile: join(dir, 'k.json'), createIfMissing: true });
    const envelope = {
      PLAIN: 'just-a-plaintext',
      B64: Buffer.from('base64-plaintext').toString('base64'),
      EMPTY: '',
      OTHER: 'aws:v1:abc',
      VAULT_WITHOUT_VAULT: 'vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      LOCAL_V2: 'local:v2:k:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA',
      NOT_A_STRING: 42 as unknown as string,
    };
    const { values, failed } = await cipher.decrypt(scope, envelope);
    expect(failed.sort()).toEqual(Object.keys(envelope).sort());
    expect(values.size).toBe(0);
    expect(values.get('PLAIN')).toBeUndefined();
  });

  it('creates a missing keyring file with mode 0600 and one 32-byte active key, and reuses it afterwards', async () => {
    const path = join(dir, 'nested', 'data', 'keyring.json');
    await expect(loadKeyring(path, { createIfMissing: false })).rejects.toMatchObject({ code: 'E_SECRETS_UNAVAILABLE' });
    const created = await loadKeyring(path, { createIfMissing: true });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const onDisk = JSON.parse(await readFile(path, 'utf8'));
    expect(onDisk).toEqual({ active: created.active, keys: { [created.active]: created.keys[created.active] } });
    expect(Buffer.from(onDisk.keys[onDisk.active], 'base64')).toHaveLength(32);
    expect(await loadKeyring(path, { createIfMissing: true })).toEqual(created);
  });

  it('gives concurrent creators of the same keyring file one and the same key', async () => {
    const path = join(dir, 'race', 'keyring.json');
    const keyrings = await Promise.all(Array.from({ length: 8 }, () => loadKeyring(path, { createIfMissing: true })));
    for (const k of keyrings) expect(k).toEqual(keyrings[0]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('rejects an invalid keyring file without quoting its contents', async () => {
    const path = join(dir, 'bad.json');
    const material = 'c2VjcmV0LWtleS1tYXRlcmlhbC1zaG91bGQtbm90LWxlYWs=';
    await writeFile(path, `{"active":"k1","keys":{"k1":"${material}"`, { mode: 0o600 });
    const notJson = await loadKeyring(path, { createIfMissing: false }).catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(AlgaError);
    expect((notJson as AlgaError).message).not.toContain(material.slice(0, 12));
    await writeFile(path, JSON.stringify({ active: 'k1', keys: { k1: material } }));
    const wrongLength = await loadKeyring(path, { createIfMissing: false }).catch((e: unknown) => e);
    expect((wrongLength as AlgaError).code).toBe('E_SECRETS_UNAVAILABLE');
    expect((wrongLength as AlgaError).message).toContain('32 bytes');
    expect((wrongLength as AlgaError).message).not.toContain(material.slice(0, 12));
    await writeFile(path, JSON.stringify({ active: 'k2', keys: { k1: Buffer.alloc(32, 1).toString('base64') } }));
    await expect(loadKeyring(path, { createIfMissing: false })).rejects.toThrow(/"active"/);
  });
});
