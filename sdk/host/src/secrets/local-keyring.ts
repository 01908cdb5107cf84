/**
 * The embedded default secret backend: AES-256-GCM with keys from a keyring file.
 *
 * @example
 *   const keyring = await loadKeyring('./data/keyring.json', { createIfMissing: true });
 *   const cipher = new LocalKeyringCipher(keyring);
 *   const sealed = await cipher.encrypt({ tenantId, installId }, { API_KEY: 'sk-…' });
 *   // sealed.API_KEY.ciphertext === 'local:v1:<kid>:<nonce b64url>:<ciphertext+tag b64url>'
 *   const { values, failed } = await cipher.decrypt({ tenantId, installId }, { API_KEY: sealed.API_KEY.ciphertext });
 *
 *   // rotation: new writes use the new kid, old kids stay for decryption
 *   await saveKeyring(path, rotateKeyring(await loadKeyring(path, { createIfMissing: false })));
 *
 * Keyring file: `{ "active": "<kid>", "keys": { "<kid>": "<base64 of 32 random bytes>", ... } }`, mode 0600.
 * The AAD is utf8 `"<tenantId>:<installId>:<key>"`: a ciphertext copied to another tenant, install or key name fails
 * the GCM tag check. Tenant and install ids may not contain ':' so the AAD cannot be ambiguous.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { DecryptResult, EncryptedSecret, SecretCipher, SecretScope } from './secret-cipher.ts';
import { SecretValues, takeOwnership } from './secret-values.ts';

export interface Keyring {
  /** kid used for new encryptions */
  active: string;
  /** kid → base64 of 32 random bytes; old kids stay so old ciphertexts keep decrypting */
  keys: Record<string, string>;
}

export const LOCAL_PREFIX = 'local:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** kids end up inside the colon-separated envelope, so they are restricted to a colon-free alphabet. */
const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A kid that sorts by creation time and does not collide across processes. */
function newKid(): string {
  return `k${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function generateKeyring(): Keyring {
  const kid = newKid();
  return { active: kid, keys: { [kid]: randomBytes(KEY_BYTES).toString('base64') } };
}

/** A new keyring with one more key, which becomes active; every old kid is kept. The input is not modified. */
export function rotateKeyring(keyring: Keyring): Keyring {
  let kid = newKid();
  while (Object.hasOwn(keyring.keys, kid)) kid = newKid();
  return { active: kid, keys: { ...keyring.keys, [kid]: randomBytes(KEY_BYTES).toString('base64') } };
}

/**
 * A new keyring without `kid`, once every value encrypted with it has been re-encrypted (the
 * re-encrypt step of a rotation); never the active kid. The input is not modified.
 */
export function retireKeyringKid(keyring: Keyring, kid: string): Keyring {
  if (keyring.active === kid) throw new AlgaError('E_VALIDATION', `${kid} is the active kid: rotate first`);
  if (!Object.hasOwn(keyring.keys, kid)) throw new AlgaError('E_VALIDATION', `no kid ${kid} in the keyring`);
  const keys = { ...keyring.keys };
  delete keys[kid];
  return { active: keyring.active, keys };
}

/** Validates the file's JSON shape. Messages name kids and fields, never key material. */
export function parseKeyring(raw: unknown, source = 'keyring'): Keyring {
  const invalid = (why: string) => new AlgaError('E_SECRETS_UNAVAILABLE', `${source} is invalid: ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('expected a JSON object');
  const { active, keys } = raw as { active?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw invalid('"keys" must be an object of kid → base64 key');
  const parsed: Record<string, string> = {};
  for (const [kid, value] of Object.entries(keys)) {
    if (!KID_PATTERN.test(kid)) throw invalid(`kid "${kid.slice(0, 64)}" must match ${KID_PATTERN}`);
    if (typeof value !== 'string' || !BASE64_PATTERN.test(value) || Buffer.from(value, 'base64').length !== KEY_BYTES) {
      throw invalid(`key "${kid}" must be the base64 of ${KEY_BYTES} bytes`);
    }
    parsed[kid] = value;
  }
  if (typeof active !== 'string' || !Object.hasOwn(parsed, active)) throw invalid('"active" must name a kid present in "keys"');
  return { active, keys: parsed };
}

/**
 * Reads the keyring file. When it is missing and `createIfMissing` is set, a new keyring with one random key is
 * written with mode 0600 (parent directory created with 0700). Creation is atomic (temp file + link), so a gateway
 * and a runner starting together on the same file end up with the same single key.
 */
export async function loadKeyring(path: string, opts: { createIfMissing: boolean }): Promise<Keyring> {
  const existing = await readKeyringFile(path);
  if (existing) return existing;
  // Missing is an error unless the caller chose creation: a new key would silently orphan every secret sealed under the old one.
  if (!opts.createIfMissing) {
    throw new AlgaError('E_SECRETS_UNAVAILABLE', `keyring file ${path} does not exist: set ALGA_KEYRING_FILE to the path of the existing keyring`);
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const keyring = generateKeyring();
  const tmp = await writeTempFile(path, keyring);
  try {
    await link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') {
      // Filesystems without hard links: an exclusive create is still race-free, if not crash-atomic.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      await writeFile(path, keyringJson(keyring), { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  // Whoever won the race, everyone uses what is on disk now.
  const created = await readKeyringFile(path);
  if (!created) throw new AlgaError('E_SECRETS_UNAVAILABLE', `keyring file ${path} could not be created`);
  return created;
}

/** Atomically replaces the keyring file (mode 0600), e.g. after `rotateKeyring`. */
export async function saveKeyring(path: string, keyring: Keyring): Promise<void> {
  parseKeyring(keyring);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = await writeTempFile(path, keyring);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

async function readKeyringFile(path: string): Promise<Keyring | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AlgaError('E_SECRETS_UNAVAILABLE', `keyring file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which is key material: say only that it is not JSON.
    throw new AlgaError('E_SECRETS_UNAVAILABLE', `keyring file ${path} is not valid JSON`);
  }
  return parseKeyring(raw, `keyring file ${path}`);
}

function keyringJson(keyring: Keyring): string {
  return `${JSON.stringify({ active: keyring.active, keys: keyring.keys }, null, 2)}\n`;
}

async function writeTempFile(path: string, keyring: Keyring): Promise<string> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, keyringJson(keyring), { mode: 0o600, flag: 'wx' });
  await chmod(tmp, 0o600); // the mode above is masked by the umask; this is not
  return tmp;
}

function checkScope(scope: SecretScope): void {
  for (const id of [scope.tenantId, scope.installId]) {
    if (typeof id !== 'string' || id.length === 0 || id.includes(':')) {
      throw new AlgaError('E_BAD_REQUEST', 'secret scope needs a non-empty tenantId and installId without ":"');
    }
  }
}

const aad = (scope: SecretScope, key: string): Buffer => Buffer.from(`${scope.tenantId}:${scope.installId}:${key}`, 'utf8');

export class LocalKeyringCipher implements SecretCipher {
  readonly algorithm = 'local-aes-256-gcm' as const;
  readonly activeKid: string;
  readonly #keys: Map<string, KeyObject>;

  constructor(keyring: Keyring) {
    const valid = parseKeyring(keyring);
    // KeyObjects keep the key bytes out of JS-visible memory and out of util.inspect.
    this.#keys = new Map(Object.entries(valid.keys).map(([kid, b64]) => [kid, createSecretKey(Buffer.from(b64, 'base64'))]));
    this.activeKid = valid.active;
  }

  async encrypt(scope: SecretScope, entries: Record<string, string>): Promise<Record<string, EncryptedSecret>> {
    checkScope(scope);
    const out: Record<string, EncryptedSecret> = {};
    for (const [key, value] of Object.entries(entries)) {
      if (typeof value !== 'string') throw new AlgaError('E_BAD_REQUEST', `secret "${key}" must be a string`);
      out[key] = { ciphertext: this.encryptValue(scope, key, value), algorithm: this.algorithm, keyRef: this.activeKid };
    }
    return out;
  }

  async decrypt(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult> {
    checkScope(scope);
    if (signal?.aborted) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'secret decryption was aborted');
    const values: Array<[string, Buffer]> = [];
    const failed: string[] = [];
    for (const [key, ciphertext] of Object.entries(envelope)) {
      const plain = this.decryptValue(scope, key, ciphertext);
      if (plain) values.push([key, plain]);
      else failed.push(key);
    }
    return { values: SecretValues.fromBuffers(values), failed };
  }

  encryptValue(scope: SecretScope, key: string, value: string): string {
    checkScope(scope);
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.activeKid)!, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(scope, key));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${LOCAL_PREFIX}${this.activeKid}:${nonce.toString('base64url')}:${body.toString('base64url')}`;
  }

  /** The plaintext as an owned Buffer, or undefined for anything that is not a valid envelope for this scope and key. */
  decryptValue(scope: SecretScope, key: string, ciphertext: unknown): Buffer | undefined {
    checkScope(scope);
    if (typeof ciphertext !== 'string' || !ciphertext.startsWith(LOCAL_PREFIX)) return undefined;
    const parts = ciphertext.slice(LOCAL_PREFIX.length).split(':');
    if (parts.length !== 3) return undefined;
    const [kid, nonceB64, bodyB64] = parts;
    const keyObject = this.#keys.get(kid);
    if (!keyObject || !BASE64URL_PATTERN.test(nonceB64) || !BASE64URL_PATTERN.test(bodyB64)) return undefined;
    const nonce = Buffer.from(nonceB64, 'base64url');
    const body = Buffer.from(bodyB64, 'base64url');
    if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) return undefined;
    // Re-encoding must reproduce the input, so no two strings decode to the same envelope (non-canonical base64url).
    if (nonce.toString('base64url') !== nonceB64 || body.toString('base64url') !== bodyB64) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyObject, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(scope, key));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const head = decipher.update(body.subarray(0, body.length - TAG_BYTES));
      let tail: Buffer;
      try {
        tail = decipher.final();
      } catch {
        head.fill(0); // unauthenticated bytes: never hand them out
        return undefined;
      }
      const plain = Buffer.concat([head, tail]);
      head.fill(0);
      tail.fill(0);
      return takeOwnership(plain);
    } catch {
      return undefined;
    }
  }
}
