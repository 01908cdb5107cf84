/**
 * A Vault/OpenBao transit-API-compatible HTTP server for tests.
 *
 * It speaks the wire contract written down in /work/shared/VAULT-TRANSIT.md (cited below as "§n"), so the
 * project's secrets code can be exercised with the real `node-vault` client without a Vault binary.
 * Only the `transit/` mount and `sys/health` exist. State lives in memory and dies with the server.
 *
 * Crypto is real: AES-GCM / ChaCha20-Poly1305 with versioned random keys, HKDF-SHA256 for derived keys, and the
 * `vault:v<N>:<base64(nonce || ciphertext || tag)>` format (§6), so ciphertexts behave like Vault's.
 *
 * Usage:
 *   const vaultServer = await startVaultTransitServer();
 *   const vault = vaultFactory({ endpoint: vaultServer.url, token: vaultServer.rootToken, apiVersion: 'v1' });
 *   await vault.write('transit/keys/app-data', { derived: true });
 *   const reader = vaultServer.createToken({ 'transit/decrypt/app-data': ['update'] });
 *   ...
 *   await vaultServer.close();
 *
 * Limits, on purpose: only symmetric key types (aes128-gcm96, aes256-gcm96, chacha20-poly1305); no namespaces,
 * sys/mounts, sys/policy or auth/token/create (mint tokens with createToken); auto_rotate_period is stored but
 * never triggers a rotation.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomUUID } from 'node:crypto';

// ---------------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------------

export type VaultCapability = 'create' | 'read' | 'update' | 'delete' | 'list';
/** Path (exact, or a glob ending in `*`) -> capabilities, like an HCL policy (§7). */
export type VaultPolicy = Record<string, VaultCapability[]>;

export interface VaultTransitServerOptions {
  rootToken?: string;
  /** 0 = ephemeral */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
}

export interface VaultTransitServer {
  /** e.g. http://127.0.0.1:41234 (what node-vault takes as `endpoint`) */
  url: string;
  rootToken: string;
  /** Create a non-root token whose policy maps path globs to capabilities, e.g. { 'transit/decrypt/*': ['update'] } */
  createToken(policy: VaultPolicy): string;
  /** sealed -> 503 {"errors":["Vault is sealed"]} on everything but sys/health (which answers the §1 body with 503) */
  seal(): void;
  unseal(): void;
  /** failure injection: the next n requests (any path) answer 500 (or status) with an errors envelope */
  failNext(n: number, status?: number): void;
  /** every response delayed by ms (to simulate a slow Vault) */
  setLatencyMs(ms: number): void;
  /** requests seen, optionally only those whose path (after /v1/) starts with the prefix, e.g. 'transit/decrypt/' */
  requestCount(pathPrefix?: string): number;
  resetCounters(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Replies and envelopes (§1)
// ---------------------------------------------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

type Reply =
  /** 200 with the success envelope. */
  | { kind: 'data'; data: JsonObject; warnings: string[] }
  /** The success envelope under another status: how batch failures are answered (§4 batch status rules). */
  | { kind: 'envelope'; status: number; data: JsonObject; warnings: string[] }
  | { kind: 'error'; status: number; errors: string[] }
  | { kind: 'noContent' }
  /** A body that is not an envelope (sys/health). */
  | { kind: 'raw'; status: number; body: JsonObject | null };

const ok = (data: JsonObject, warnings: string[] = []): Reply => ({ kind: 'data', data, warnings });
const fail = (status: number, ...errors: string[]): Reply => ({ kind: 'error', status, errors });
/** Transit validation errors are plain strings with status 400 (§1). */
const userError = (message: string): Reply => fail(400, message);
/** Errors raised outside transit's validation arrive go-multierror-wrapped (§1). */
const multierror = (message: string): string => `1 error occurred:\n\t* ${message}\n\n`;
const internalError = (message: string): Reply => fail(500, multierror(message));

function envelope(data: JsonObject, warnings: string[]): JsonObject {
  // `warnings` is null, not [], when there are none (§1); OpenBao-style, so no `mount_type`.
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: warnings.length > 0 ? warnings : null,
    auth: null,
  };
}

interface RenderedReply {
  status: number;
  body: string | null;
}

function renderReply(reply: Reply): RenderedReply {
  switch (reply.kind) {
    case 'data':
      return { status: 200, body: JSON.stringify(envelope(reply.data, reply.warnings)) };
    case 'envelope':
      return { status: reply.status, body: JSON.stringify(envelope(reply.data, reply.warnings)) };
    case 'error':
      return { status: reply.status, body: JSON.stringify({ errors: reply.errors }) };
    case 'noContent':
      return { status: 204, body: null };
    case 'raw':
      return { status: reply.status, body: reply.body === null ? null : JSON.stringify(reply.body) };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Go-compatible parsing: Vault is written in Go, and its error messages and leniency come from Go's stdlib.
// ---------------------------------------------------------------------------------------------------------------

type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_DECODE_MAP: Int16Array = (() => {
  const map = new Int16Array(256).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) map[BASE64_ALPHABET.charCodeAt(i)] = i;
  return map;
})();
const CR = 0x0d;
const LF = 0x0a;
const PAD = 0x3d; // '='

/**
 * Port of Go's `base64.StdEncoding.DecodeString` (§6): padding is required, URL-safe characters, spaces and bad
 * padding are rejected with `illegal base64 data at input byte N` where N is Go's byte offset. Node's
 * `Buffer.from(s, 'base64')` would silently accept all of those. Like Go, CR and LF are skipped.
 */
function decodeGoStdBase64(input: string): Decoded<Buffer> {
  const src = Buffer.from(input, 'utf8');
  const out: number[] = [];
  const corrupt = (offset: number): Decoded<Buffer> => ({
    ok: false,
    error: `illegal base64 data at input byte ${offset}`,
  });
  const isNewline = (c: number | undefined) => c === CR || c === LF;
  let si = 0;
  for (;;) {
    // One 4-character quantum, as Go's decodeQuantum.
    const quad = [0, 0, 0, 0];
    let dlen = 4;
    let trailingGarbageAt = -1;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { ok: true, value: Buffer.from(out) };
        return corrupt(si - j);
      }
      const c = src[si];
      si++;
      const v = BASE64_DECODE_MAP[c];
      if (v !== -1) {
        quad[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD || j < 2) return corrupt(si - 1);
      if (j === 2) {
        // "==" expected: the first '=' is consumed, the second must follow (newlines aside).
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== PAD) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) trailingGarbageAt = si;
      dlen = j;
      break;
    }
    const val = (quad[0] << 18) | (quad[1] << 12) | (quad[2] << 6) | quad[3];
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailingGarbageAt >= 0) return corrupt(trailingGarbageAt);
  }
}

/** Go's strconv.Atoi: optional sign, decimal digits, int64 range. */
function goAtoi(text: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(text)) return null;
  const n = BigInt(text);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return null;
  return Number(n);
}

/** Go's strconv.ParseBool. */
function goParseBool(text: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return null;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-9, us: 1e-6, 'µs': 1e-6, 'μs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400,
};

/** Vault's TypeDurationSecond: integer seconds, or a Go duration string such as "24h" / "1h30m" (plus "d"). */
function parseDurationSeconds(text: string): number | null {
  if (text === '') return 0;
  const asInt = goAtoi(text);
  if (asInt !== null) return asInt;
  const match = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+)$/.exec(text);
  if (!match) return null;
  let seconds = 0;
  for (const part of match[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g)) {
    seconds += Number(part[1]) * DURATION_UNITS[part[2]];
  }
  return Math.trunc(match[1] === '-' ? -seconds : seconds);
}

/** The Go type name a JSON value decodes to, for mapstructure-style messages (Vault decodes numbers as json.Number). */
function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return '[]interface {}';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'json.Number';
    case 'boolean':
      return 'bool';
    default:
      return 'map[string]interface {}';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and crypto (§2, §6)
// ---------------------------------------------------------------------------------------------------------------

type SymmetricKeyType = 'aes128-gcm96' | 'aes256-gcm96' | 'chacha20-poly1305';
const SYMMETRIC_KEY_TYPES: readonly string[] = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'];
/** Types real Vault knows but this double does not implement (no signing/RSA here). */
const UNSUPPORTED_KEY_TYPES: readonly string[] = [
  'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'hmac', 'managed_key',
];

interface KeyVersion {
  material: Buffer;
  createdAtUnix: number;
}

interface TransitKey {
  name: string;
  type: SymmetricKeyType;
  derived: boolean;
  convergent: boolean;
  exportable: boolean;
  allowPlaintextBackup: boolean;
  deletionAllowed: boolean;
  autoRotatePeriodSeconds: number;
  latestVersion: number;
  minDecryptionVersion: number;
  minEncryptionVersion: number;
  versions: Map<number, KeyVersion>;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MISSING_CONTEXT =
  "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";
const TOO_OLD = 'ciphertext or signature version is disallowed by policy (too old)';
const AUTH_FAILED = 'cipher: message authentication failed';

const keyBytesFor = (type: SymmetricKeyType): number => (type === 'aes128-gcm96' ? 16 : 32);

function addKeyVersion(key: TransitKey): void {
  key.latestVersion += 1;
  key.versions.set(key.latestVersion, {
    material: randomBytes(keyBytesFor(key.type)),
    createdAtUnix: Math.floor(Date.now() / 1000),
  });
}

function newTransitKey(
  name: string,
  params: Partial<Pick<TransitKey, 'type' | 'derived' | 'convergent' | 'exportable' | 'allowPlaintextBackup' | 'autoRotatePeriodSeconds'>>,
): TransitKey {
  const key: TransitKey = {
    name,
    type: params.type ?? 'aes256-gcm96',
    derived: params.derived ?? false,
    convergent: params.convergent ?? false,
    exportable: params.exportable ?? false,
    allowPlaintextBackup: params.allowPlaintextBackup ?? false,
    deletionAllowed: false,
    autoRotatePeriodSeconds: params.autoRotatePeriodSeconds ?? 0,
    latestVersion: 0,
    // New keys start at min_decryption_version 1 and min_encryption_version 0 ("latest") (§2 Read example).
    minDecryptionVersion: 1,
    minEncryptionVersion: 0,
    versions: new Map(),
  };
  addKeyVersion(key);
  return key;
}

/** The `data` of key Read/Create/Rotate/Config (§2). Keys are sorted because Go marshals maps that way. */
function keyData(key: TransitKey): JsonObject {
  const data: JsonObject = {
    allow_plaintext_backup: key.allowPlaintextBackup,
    auto_rotate_period: key.autoRotatePeriodSeconds,
    deletion_allowed: key.deletionAllowed,
    derived: key.derived,
    exportable: key.exportable,
    imported_key: false,
    keys: Object.fromEntries([...key.versions].map(([v, entry]) => [String(v), entry.createdAtUnix])),
    latest_version: key.latestVersion,
    min_available_version: 0,
    min_decryption_version: key.minDecryptionVersion,
    min_encryption_version: key.minEncryptionVersion,
    name: key.name,
    supports_decryption: true,
    supports_derivation: true,
    supports_encryption: true,
    supports_signing: false,
    type: key.type,
  };
  if (key.derived) {
    data.kdf = 'hkdf_sha256';
    data.convergent_encryption = key.convergent;
    // Since convergent v3 the version lives in each key entry and the policy-level value is -1.
    if (key.convergent) data.convergent_encryption_version = -1;
  }
  return Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string; internal?: boolean };
const failed = (error: string, internal = false): { ok: false; error: string; internal: boolean } => ({
  ok: false,
  error,
  internal,
});

/**
 * The per-request key bytes (§6): the version's raw bytes for a non-derived key (context ignored), otherwise
 * HKDF-SHA256(IKM = version key, salt = empty, info = context). Mirrors keysutil GetKey/DeriveKey.
 */
function encryptionKeyFor(key: TransitKey, version: number, context: Buffer, numBytes: number): Outcome<Buffer> {
  if (!key.derived) {
    const entry = key.versions.get(version);
    return entry ? { ok: true, value: entry.material } : failed('no such key version');
  }
  if (version <= 0 || version > key.latestVersion) return failed('invalid key version');
  if (context.length === 0) return failed(MISSING_CONTEXT);
  const entry = key.versions.get(version);
  if (!entry) return failed('no such key version');
  return { ok: true, value: Buffer.from(hkdfSync('sha256', entry.material, Buffer.alloc(0), context, numBytes)) };
}

/** AEAD seal; the result is ciphertext || 16-byte tag, as Go's cipher.AEAD.Seal. */
function aeadSeal(type: SymmetricKeyType, key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const cipher =
    type === 'chacha20-poly1305'
      ? createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
      : createCipheriv(type === 'aes128-gcm96' ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  if (aad.length > 0) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** AEAD open; null on any authentication failure (Go reports all of them as `cipher: message authentication failed`). */
function aeadOpen(type: SymmetricKeyType, key: Buffer, nonce: Buffer, sealed: Buffer, aad: Buffer): Buffer | null {
  if (sealed.length < TAG_BYTES) return null;
  const body = sealed.subarray(0, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher =
    type === 'chacha20-poly1305'
      ? createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES })
      : createDecipheriv(type === 'aes128-gcm96' ? 'aes-128-gcm' : 'aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  if (aad.length > 0) decipher.setAAD(aad, { plaintextLength: body.length });
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
}

/** associated_data is decoded lazily, after key selection, and a bad one is an *internal* error in Vault. */
function decodeAssociatedData(aadB64: string): Outcome<Buffer> {
  if (aadB64 === '') return { ok: true, value: Buffer.alloc(0) };
  const decoded = decodeGoStdBase64(aadB64);
  if (!decoded.ok) return failed(`unable to get associated_data/additional_data from factory[0]: ${decoded.error}`, true);
  return decoded;
}

/** keysutil EncryptWithFactory: version selection (§3 key_version), derivation, nonce, `vault:vN:` framing (§6). */
function encryptValue(
  key: TransitKey,
  requestedVersion: number,
  context: Buffer,
  plaintextB64: string,
  aadB64: string,
): Outcome<{ ciphertext: string; version: number }> {
  const plaintext = decodeGoStdBase64(plaintextB64);
  if (!plaintext.ok) return failed(plaintext.error);

  let version = requestedVersion;
  if (version === 0) version = key.latestVersion;
  else if (version < 0) return failed('requested version for encryption is negative');
  else if (version > key.latestVersion) return failed('requested version for encryption is higher than the latest key version');
  else if (version < key.minEncryptionVersion)
    return failed('requested version for encryption is less than the minimum encryption key version');

  // Convergent (v3) keys derive 64 bytes: the AES key, then an HMAC key that makes the nonce deterministic (§6).
  const encBytes = keyBytesFor(key.type);
  const material = encryptionKeyFor(key, version, context, encBytes + (key.convergent ? 32 : 0));
  if (!material.ok) return material;
  const aad = decodeAssociatedData(aadB64);
  if (!aad.ok) return aad;

  const encKey = material.value.subarray(0, encBytes);
  const nonce = key.convergent
    ? createHmac('sha256', material.value.subarray(encBytes)).update(plaintext.value).digest().subarray(0, NONCE_BYTES)
    : randomBytes(NONCE_BYTES);
  const sealed = aeadSeal(key.type, encKey, nonce, plaintext.value, aad.value);
  const payload = Buffer.concat([nonce, sealed]).toString('base64');
  return { ok: true, value: { ciphertext: `vault:v${version}:${payload}`, version } };
}

/** keysutil DecryptWithFactory: the checks and messages of §4, in Vault's order. */
function decryptValue(key: TransitKey, context: Buffer, ciphertext: string, aadB64: string): Outcome<Buffer> {
  const prefix = 'vault:v';
  if (!ciphertext.startsWith(prefix)) return failed('invalid ciphertext: no prefix');
  const rest = ciphertext.slice(prefix.length);
  const colon = rest.indexOf(':');
  if (colon < 0) return failed('invalid ciphertext: wrong number of fields');
  let version = goAtoi(rest.slice(0, colon));
  if (version === null) return failed('invalid ciphertext: version number could not be decoded');
  if (version === 0) version = 1; // compatibility with the original zero-based key numbering
  if (version > key.latestVersion) return failed('invalid ciphertext: version is too new');
  if (key.minDecryptionVersion > 0 && version < key.minDecryptionVersion) return failed(TOO_OLD);

  const payload = decodeGoStdBase64(rest.slice(colon + 1));
  if (!payload.ok) return failed('invalid ciphertext: could not decode base64');

  const material = encryptionKeyFor(key, version, context, keyBytesFor(key.type));
  if (!material.ok) return material;
  const aad = decodeAssociatedData(aadB64);
  if (!aad.ok) return aad;

  if (payload.value.length < NONCE_BYTES) return failed('invalid ciphertext length');
  const nonce = payload.value.subarray(0, NONCE_BYTES);
  const plain = aeadOpen(key.type, material.value, nonce, payload.value.subarray(NONCE_BYTES), aad.value);
  return plain ? { ok: true, value: plain } : failed(AUTH_FAILED);
}

// ---------------------------------------------------------------------------------------------------------------
// Request fields: Vault's framework converts weakly typed input per field schema and rejects what it cannot convert.
// ---------------------------------------------------------------------------------------------------------------

type FieldType = 'string' | 'bool' | 'int' | 'durationSecond' | 'slice';
type FieldSchema = Record<string, FieldType>;

function convertField(type: FieldType, value: unknown): Decoded<unknown> {
  const bad = (reason: string): Decoded<unknown> => ({ ok: false, error: reason });
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number') return { ok: true, value: String(value) };
      if (typeof value === 'boolean') return { ok: true, value: value ? '1' : '0' };
      return bad(`expected type 'string', got unconvertible type '${goTypeName(value)}'`);
    case 'bool': {
      if (typeof value === 'boolean') return { ok: true, value };
      if (typeof value === 'number') return { ok: true, value: value !== 0 };
      if (typeof value === 'string') {
        const parsed = value === '' ? false : goParseBool(value);
        if (parsed !== null) return { ok: true, value: parsed };
        return bad(`cannot parse '' as bool: strconv.ParseBool: parsing "${value}": invalid syntax`);
      }
      return bad(`'' expected type 'bool', got unconvertible type '${goTypeName(value)}'`);
    }
    case 'int': {
      if (typeof value === 'number' && Number.isInteger(value)) return { ok: true, value };
      if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
      if (typeof value === 'string') {
        const parsed = value === '' ? 0 : goAtoi(value);
        if (parsed !== null) return { ok: true, value: parsed };
      }
      return bad(`cannot parse '' as int: strconv.ParseInt: parsing ${JSON.stringify(String(value))}: invalid syntax`);
    }
    case 'durationSecond': {
      if (typeof value === 'number' && Number.isInteger(value)) return { ok: true, value };
      const parsed = typeof value === 'string' ? parseDurationSeconds(value) : null;
      if (parsed !== null) return { ok: true, value: parsed };
      return bad(`time: invalid duration ${JSON.stringify(String(value))}`);
    }
    case 'slice':
      return { ok: true, value };
  }
}

class FieldData {
  readonly raw: JsonObject;
  private readonly converted = new Map<string, unknown>();

  constructor(raw: JsonObject, schema: FieldSchema) {
    this.raw = raw;
    for (const [name, type] of Object.entries(schema)) {
      const value = raw[name];
      if (value === undefined || value === null) continue;
      const result = convertField(type, value);
      if (!result.ok) throw new FieldError(`error converting input ${formatGoValue(value)} for field "${name}": ${result.error}`);
      this.converted.set(name, result.value);
    }
  }

  /** GetOk: was the field sent (and not null)? */
  has(name: string): boolean {
    return this.converted.has(name);
  }
  string(name: string, fallback = ''): string {
    return (this.converted.get(name) as string | undefined) ?? fallback;
  }
  bool(name: string): boolean {
    return (this.converted.get(name) as boolean | undefined) ?? false;
  }
  int(name: string): number {
    return (this.converted.get(name) as number | undefined) ?? 0;
  }
}

class FieldError extends Error {}

function formatGoValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Batch input decoding (§3, §4, §5)
// ---------------------------------------------------------------------------------------------------------------

interface BatchItem {
  plaintext: string;
  ciphertext: string;
  context: string;
  nonce: string;
  keyVersion: number;
  associatedData: string;
  reference: string;
}

const emptyItem = (): BatchItem => ({
  plaintext: '', ciphertext: '', context: '', nonce: '', keyVersion: 0, associatedData: '', reference: '',
});

/**
 * Vault's decodeBatchRequestItems: any structural problem fails the whole request (the caller answers 500, §3),
 * including a missing `plaintext` (encrypt) or `ciphertext` (decrypt). Rewrap passes `required: null`, so a
 * missing ciphertext there becomes a per-item error instead (§5).
 */
function decodeBatchItems(src: unknown, required: 'plaintext' | 'ciphertext' | null): Decoded<BatchItem[]> {
  if (!Array.isArray(src)) return { ok: false, error: `source data must be an array or slice, got ${goTypeName(src)}` };
  const problems: string[] = [];
  const items: BatchItem[] = [];
  for (const [i, raw] of src.entries()) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return { ok: false, error: `[${i}] expected a map, got '${goTypeName(raw)}'` };
    }
    const entry = raw as JsonObject;
    const item = emptyItem();
    const stringField = (field: string, assign: (v: string) => void, nullable = true) => {
      if (!(field in entry)) return;
      const v = entry[field];
      if (nullable && v === null) return;
      if (typeof v === 'string') assign(v);
      else problems.push(`'[${i}].${field}' expected type 'string', got unconvertible type '${goTypeName(v)}'`);
    };
    stringField('context', (v) => (item.context = v));
    stringField('ciphertext', (v) => (item.ciphertext = v));
    // Vault checks `plaintext` with a bare type assertion, so an explicit null is a type error, not "absent".
    stringField('plaintext', (v) => (item.plaintext = v), false);
    stringField('nonce', (v) => (item.nonce = v));
    stringField('associated_data', (v) => (item.associatedData = v));
    stringField('reference', (v) => (item.reference = v));
    if (required === 'plaintext' && !('plaintext' in entry)) problems.push(`'[${i}].plaintext' missing plaintext to encrypt`);
    if (required === 'ciphertext' && !('ciphertext' in entry)) problems.push(`'[${i}].ciphertext' missing ciphertext to decrypt`);
    const kv = entry.key_version;
    if (kv !== undefined && kv !== null) {
      if (typeof kv === 'number' && Number.isInteger(kv)) item.keyVersion = kv;
      else if (typeof kv === 'number')
        problems.push(`error decoding json.Number into [${i}].key_version: strconv.ParseInt: parsing "${kv}": invalid syntax`);
      else problems.push(`'[${i}].key_version' expected type 'int', got unconvertible type '${goTypeName(kv)}'`);
    }
    items.push(item);
  }
  if (problems.length > 0) {
    const points = problems.map((p) => `* ${p}`).sort();
    return { ok: false, error: `${problems.length} error(s) decoding:\n\n${points.join('\n')}` };
  }
  return { ok: true, value: items };
}

/** Single-mode requests are handled as a batch of one, as Vault does. */
function singleItem(fields: FieldData, main: 'plaintext' | 'ciphertext'): BatchItem {
  return {
    ...emptyItem(),
    [main]: fields.string(main),
    context: fields.string('context'),
    nonce: fields.string('nonce'),
    keyVersion: fields.int('key_version'),
    associatedData: fields.string('associated_data'),
  };
}

const isBatchRequest = (fields: FieldData): boolean => fields.raw.batch_input !== undefined && fields.raw.batch_input !== null;

/** Decodes each item's context; the all-or-none context rule fails the whole request (§3). */
function decodeContexts(items: BatchItem[], errors: string[]): Buffer[] | Reply {
  const contextSet = items[0].context !== '';
  const contexts: Buffer[] = [];
  for (const [i, item] of items.entries()) {
    if ((item.context !== '') !== contextSet) {
      return userError('context should be set either in all the request blocks or in none');
    }
    contexts.push(Buffer.alloc(0));
    if (errors[i] !== '' || item.context === '') continue;
    const decoded = decodeGoStdBase64(item.context);
    if (decoded.ok) contexts[i] = decoded.value;
    else errors[i] = decoded.error;
  }
  return contexts;
}

interface BatchTally {
  successes: boolean;
  userErrors: boolean;
  internalErrors: boolean;
}

/** batchRequestResponse (§4): any user error -> 400, only internal ones -> 500, both carrying the success envelope. */
function batchStatusReply(fields: FieldData, data: JsonObject, warnings: string[], tally: BatchTally): Reply {
  if (!tally.userErrors && !tally.internalErrors) return ok(data, warnings);
  let status = tally.userErrors ? 400 : 500;
  // partial_failure_response_code only applies when at least one item succeeded.
  if (fields.has('partial_failure_response_code') && tally.successes) {
    const override = fields.int('partial_failure_response_code');
    if (override < 1 || override > 599) {
      warnings.push(`invalid HTTP response code override from partial_failure_response_code, reverting to ${status}`);
    } else {
      status = override;
    }
  }
  return { kind: 'envelope', status, data, warnings };
}

// ---------------------------------------------------------------------------------------------------------------
// Transit handlers
// ---------------------------------------------------------------------------------------------------------------

type Operation = VaultCapability;

interface State {
  rootToken: string;
  tokens: Map<string, VaultPolicy>;
  keys: Map<string, TransitKey>;
  disableUpsert: boolean;
  sealed: boolean;
  pendingFailures: { remaining: number; status: number };
  latencyMs: number;
  seenPaths: string[];
}

interface TransitRequest {
  op: Operation;
  name: string;
  fields: FieldData;
}

type Handler = (state: State, req: TransitRequest) => Reply;

/** Recognised key types for creation; anything this double cannot do is refused up front, never faked. */
function checkKeyType(type: string, forEncrypt: boolean): Reply | null {
  if (SYMMETRIC_KEY_TYPES.includes(type)) return null;
  if (forEncrypt && type.startsWith('ecdsa-')) return userError(`key type ${type} not supported for this operation`);
  if (!forEncrypt && UNSUPPORTED_KEY_TYPES.includes(type)) {
    return userError(`key type ${type} is not supported by this test server (only ${SYMMETRIC_KEY_TYPES.join(', ')})`);
  }
  return userError(`unknown key type ${type}`);
}

/** §2 Create: idempotent but never an update; an existing key is returned as-is with a warning. */
const createKey: Handler = (state, { name, fields }) => {
  const derived = fields.bool('derived');
  const convergent = fields.bool('convergent_encryption');
  const autoRotate = fields.int('auto_rotate_period');
  if (autoRotate !== 0 && autoRotate < 3600) return userError('auto rotate period must be 0 to disable or at least an hour');
  if (!derived && convergent) return userError('convergent encryption requires derivation to be enabled');
  const type = fields.string('type', 'aes256-gcm96');
  const typeProblem = checkKeyType(type, false);
  if (typeProblem) return typeProblem;
  if (fields.int('key_size') !== 0) return userError(`key_size is not valid for algorithm ${type}`);

  const existing = state.keys.get(name);
  if (existing) return ok(keyData(existing), [`key ${name} already existed`]);
  const key = newTransitKey(name, {
    type: type as SymmetricKeyType,
    derived,
    convergent,
    exportable: fields.bool('exportable'),
    allowPlaintextBackup: fields.bool('allow_plaintext_backup'),
    autoRotatePeriodSeconds: autoRotate,
  });
  state.keys.set(name, key);
  return ok(keyData(key));
};

/** §2 Read: a missing key is a 404 with an *empty* errors array. */
const readKey: Handler = (state, { name, fields }) => {
  const key = state.keys.get(name);
  if (!key) return fail(404);
  const context = fields.string('context');
  if (context !== '' && !decodeGoStdBase64(context).ok) return userError('failed to base64-decode context');
  return ok(keyData(key));
};

/** §2 List: no keys at all is a 404, like every empty LIST in Vault. */
const listKeys: Handler = (state) => {
  const names = [...state.keys.keys()].sort();
  return names.length === 0 ? fail(404) : ok({ keys: names });
};

/** §2 Delete: needs deletion_allowed; success is 204 with no body. */
const deleteKey: Handler = (state, { name }) => {
  const key = state.keys.get(name);
  if (!key) return userError(`error deleting policy ${name}: could not delete key; not found`);
  if (!key.deletionAllowed) return userError(`error deleting policy ${name}: deletion is not allowed for this key`);
  state.keys.delete(name);
  return { kind: 'noContent' };
};

const rotateKey: Handler = (state, { name }) => {
  const key = state.keys.get(name);
  if (!key) return userError('key not found');
  addKeyVersion(key);
  return ok(keyData(key));
};

/** §2 Config. All checks run before anything changes, so a rejected request leaves the key untouched (as Vault's rollback does). */
const configureKey: Handler = (state, { name, fields }) => {
  const key = state.keys.get(name);
  if (!key) return userError(`no existing key named ${name} could be found`);
  const warnings: string[] = [];

  let minDecryption = key.minDecryptionVersion;
  if (fields.has('min_decryption_version')) {
    let requested = fields.int('min_decryption_version');
    if (requested < 0) return userError('min decryption version cannot be negative');
    if (requested === 0) {
      requested = 1;
      warnings.push('since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1');
    }
    if (requested !== minDecryption && requested > key.latestVersion) {
      return userError(`cannot set min decryption version of ${requested}, latest key version is ${key.latestVersion}`);
    }
    minDecryption = requested;
  }

  let minEncryption = key.minEncryptionVersion;
  if (fields.has('min_encryption_version')) {
    const requested = fields.int('min_encryption_version');
    if (requested < 0) return userError('min encryption version cannot be negative');
    if (requested !== minEncryption && requested > key.latestVersion) {
      return userError(`cannot set min encryption version of ${requested}, latest key version is ${key.latestVersion}`);
    }
    minEncryption = requested;
  }

  if (minEncryption > 0 && minEncryption < minDecryption) {
    return userError(
      `cannot set min encryption/decryption values; min encryption version of ${minEncryption} must be greater than or equal to min decryption version of ${minDecryption}`,
    );
  }

  let autoRotate = key.autoRotatePeriodSeconds;
  if (fields.has('auto_rotate_period')) {
    autoRotate = fields.int('auto_rotate_period');
    if (autoRotate !== 0 && autoRotate < 3600) return userError('auto rotate period must be 0 to disable or at least an hour');
  }

  key.minDecryptionVersion = minDecryption;
  key.minEncryptionVersion = minEncryption;
  key.autoRotatePeriodSeconds = autoRotate;
  if (fields.has('deletion_allowed')) key.deletionAllowed = fields.bool('deletion_allowed');
  // exportable / allow_plaintext_backup can be set but never unset (§2).
  if (fields.bool('exportable')) key.exportable = true;
  if (fields.bool('allow_plaintext_backup')) key.allowPlaintextBackup = true;
  return ok(keyData(key), warnings);
};

const readKeysConfig: Handler = (state) => ok({ disable_upsert: state.disableUpsert });

/** `POST transit/config/keys`: an absent disable_upsert means false, so `{}` re-enables upsert (Vault reads the default). */
const writeKeysConfig: Handler = (state, { fields }) => {
  state.disableUpsert = fields.bool('disable_upsert');
  return ok({ disable_upsert: state.disableUpsert });
};

/**
 * §3 Encrypt. `req.op` is `create` when the key is missing (existence check), which is the only case where the
 * key is auto-created: derived iff the request carried a context, unless disable_upsert is set.
 */
const encrypt: Handler = (state, { op, name, fields }) => {
  const batch = isBatchRequest(fields);
  let items: BatchItem[];
  if (batch) {
    const decoded = decodeBatchItems(fields.raw.batch_input, 'plaintext');
    if (!decoded.ok) return internalError(`failed to parse batch input: ${decoded.error}`);
    if (decoded.value.length === 0) return userError('missing batch input to process');
    items = decoded.value;
  } else {
    if (!fields.has('plaintext')) return userError('missing plaintext to encrypt');
    items = [singleItem(fields, 'plaintext')];
  }

  // Plaintext is validated before the key is looked up, so a bad item is reported even on an auto-created key.
  const errors = items.map((item) => {
    const decoded = decodeGoStdBase64(item.plaintext);
    return decoded.ok ? '' : decoded.error;
  });
  const contexts = decodeContexts(items, errors);
  if (!Array.isArray(contexts)) return contexts;
  const tally: BatchTally = { successes: false, userErrors: errors.some((e) => e !== ''), internalErrors: false };

  let key = state.keys.get(name);
  if (op === 'create') {
    const contextSet = items[0].context !== '';
    const convergent = fields.bool('convergent_encryption');
    if (convergent && !contextSet) return userError('convergent encryption requires derivation to be enabled, so context is required');
    const type = fields.string('type', 'aes256-gcm96');
    const typeProblem = checkKeyType(type, true);
    if (typeProblem) return typeProblem;
    if (!key && !state.disableUpsert) {
      key = newTransitKey(name, { type: type as SymmetricKeyType, derived: contextSet, convergent });
      state.keys.set(name, key);
    }
  }
  if (!key) return userError('encryption key not found');

  const results = items.map((item, i): JsonObject => {
    if (errors[i] !== '') return { error: errors[i], reference: item.reference };
    if (item.nonce !== '') {
      // Caller-supplied nonces only ever worked for legacy convergent-v1 keys, which this double never creates.
      tally.userErrors = true;
      return { error: 'provided nonce not allowed for this key', reference: item.reference };
    }
    const result = encryptValue(key, item.keyVersion, contexts[i], item.plaintext, item.associatedData);
    if (!result.ok) {
      if (result.internal) tally.internalErrors = true;
      else tally.userErrors = true;
      return { error: result.error, reference: item.reference, internal: result.internal };
    }
    tally.successes = true;
    return { ciphertext: result.value.ciphertext, key_version: result.value.version, reference: item.reference };
  });

  if (!batch) {
    const [only] = results;
    if (typeof only.error === 'string') return only.internal ? internalError(only.error) : userError(only.error);
    return ok({ ciphertext: only.ciphertext, key_version: only.key_version });
  }
  return batchStatusReply(fields, { batch_results: results.map(({ internal: _, ...rest }) => rest) }, [], tally);
};

/** §4 Decrypt: failed batch items keep `"plaintext":""` (no omitempty on that field). */
const decrypt: Handler = (state, { name, fields }) => {
  const batch = isBatchRequest(fields);
  let items: BatchItem[];
  if (batch) {
    const decoded = decodeBatchItems(fields.raw.batch_input, 'ciphertext');
    if (!decoded.ok) return internalError(`failed to parse batch input: ${decoded.error}`);
    if (decoded.value.length === 0) return userError('missing batch input to process');
    items = decoded.value;
  } else {
    if (fields.string('ciphertext') === '') return userError('missing ciphertext to decrypt');
    items = [singleItem(fields, 'ciphertext')];
  }

  const errors = items.map((item) => (item.ciphertext === '' ? 'missing ciphertext to decrypt' : ''));
  const contexts = decodeContexts(items, errors);
  if (!Array.isArray(contexts)) return contexts;
  const tally: BatchTally = { successes: false, userErrors: errors.some((e) => e !== ''), internalErrors: false };

  // An unknown key fails the whole request, batch or not, with 400 rather than 404 (§4).
  const key = state.keys.get(name);
  if (!key) return userError('encryption key not found');

  const results = items.map((item, i) => {
    if (errors[i] !== '') return { plaintext: '', error: errors[i], reference: item.reference, internal: false };
    const result = decryptValue(key, contexts[i], item.ciphertext, item.associatedData);
    if (!result.ok) {
      if (result.internal) tally.internalErrors = true;
      else tally.userErrors = true;
      return { plaintext: '', error: result.error, reference: item.reference, internal: result.internal ?? false };
    }
    tally.successes = true;
    return { plaintext: result.value.toString('base64'), reference: item.reference, internal: false };
  });

  if (!batch) {
    const [only] = results;
    if (only.error !== undefined) return only.internal ? internalError(only.error) : userError(only.error);
    return ok({ plaintext: only.plaintext });
  }
  return batchStatusReply(fields, { batch_results: results.map(({ internal: _, ...rest }) => rest) }, [], tally);
};

/** §5 Rewrap: decrypt + re-encrypt without revealing plaintext; batch rewrap always answers 200. */
const rewrap: Handler = (state, { name, fields }) => {
  const batch = isBatchRequest(fields);
  let items: BatchItem[];
  if (batch) {
    const decoded = decodeBatchItems(fields.raw.batch_input, null);
    if (!decoded.ok) return internalError(`failed to parse batch input: ${decoded.error}`);
    if (decoded.value.length === 0) return userError('missing batch input to process');
    items = decoded.value;
  } else {
    if (fields.string('ciphertext') === '') return userError('missing ciphertext to decrypt');
    items = [singleItem(fields, 'ciphertext')];
  }

  const errors = items.map((item) => (item.ciphertext === '' ? 'missing ciphertext to decrypt' : ''));
  const contexts = decodeContexts(items, errors);
  if (!Array.isArray(contexts)) return contexts;

  const key = state.keys.get(name);
  if (!key) return userError('encryption key not found');

  const results = items.map((item, i): JsonObject => {
    if (errors[i] !== '') return { error: errors[i], reference: item.reference };
    const plain = decryptValue(key, contexts[i], item.ciphertext, '');
    if (!plain.ok) return { error: plain.error, reference: item.reference };
    const wrapped = encryptValue(key, item.keyVersion, contexts[i], plain.value.toString('base64'), '');
    if (!wrapped.ok) return { error: wrapped.error, reference: item.reference };
    return { ciphertext: wrapped.value.ciphertext, key_version: wrapped.value.version, reference: item.reference };
  });

  if (!batch) {
    const [only] = results;
    if (typeof only.error === 'string') return userError(only.error);
    return ok({ ciphertext: only.ciphertext, key_version: only.key_version });
  }
  return ok({ batch_results: results });
};

// ---------------------------------------------------------------------------------------------------------------
// Routing (§2-§5) and ACL (§1, §7)
// ---------------------------------------------------------------------------------------------------------------

/** `\w(([\w-.]+)?\w)?` (§2): `-` and `.` only inside the name. */
const NAME = String.raw`(\w(?:[\w.-]*\w)?)`;

const KEY_FIELDS: FieldSchema = {
  name: 'string', type: 'string', derived: 'bool', convergent_encryption: 'bool', exportable: 'bool',
  allow_plaintext_backup: 'bool', context: 'string', auto_rotate_period: 'durationSecond', key_size: 'int',
  managed_key_name: 'string', managed_key_id: 'string',
};
const ENCRYPT_FIELDS: FieldSchema = {
  name: 'string', plaintext: 'string', context: 'string', nonce: 'string', type: 'string', convergent_encryption: 'bool',
  key_version: 'int', associated_data: 'string', batch_input: 'slice', partial_failure_response_code: 'int',
  padding_scheme: 'string',
};
const DECRYPT_FIELDS: FieldSchema = {
  name: 'string', ciphertext: 'string', context: 'string', nonce: 'string', associated_data: 'string',
  batch_input: 'slice', partial_failure_response_code: 'int', padding_scheme: 'string',
};
const REWRAP_FIELDS: FieldSchema = {
  name: 'string', ciphertext: 'string', context: 'string', nonce: 'string', key_version: 'int', batch_input: 'slice',
  encrypt_padding_scheme: 'string', decrypt_padding_scheme: 'string',
};
const CONFIG_FIELDS: FieldSchema = {
  name: 'string', min_decryption_version: 'int', min_encryption_version: 'int', deletion_allowed: 'bool',
  exportable: 'bool', allow_plaintext_backup: 'bool', auto_rotate_period: 'durationSecond',
};

interface Route {
  pattern: RegExp;
  fields: FieldSchema;
  handlers: Partial<Record<Operation, Handler>>;
  /** Paths with an existence check turn a write on a missing resource into `create` (§3 upsert rule). */
  exists?: (state: State, name: string) => boolean;
}

const ROUTES: Route[] = [
  { pattern: /^keys\/?$/, fields: {}, handlers: { list: listKeys } },
  { pattern: new RegExp(`^keys/${NAME}$`), fields: KEY_FIELDS, handlers: { read: readKey, update: createKey, delete: deleteKey } },
  { pattern: new RegExp(`^keys/${NAME}/rotate$`), fields: { name: 'string', managed_key_name: 'string', managed_key_id: 'string' }, handlers: { update: rotateKey } },
  { pattern: new RegExp(`^keys/${NAME}/config$`), fields: CONFIG_FIELDS, handlers: { update: configureKey } },
  {
    pattern: new RegExp(`^encrypt/${NAME}$`),
    fields: ENCRYPT_FIELDS,
    handlers: { create: encrypt, update: encrypt },
    exists: (state, name) => state.keys.has(name),
  },
  { pattern: new RegExp(`^decrypt/${NAME}$`), fields: DECRYPT_FIELDS, handlers: { update: decrypt } },
  { pattern: new RegExp(`^rewrap/${NAME}$`), fields: REWRAP_FIELDS, handlers: { update: rewrap } },
  { pattern: /^config\/keys$/, fields: { disable_upsert: 'bool' }, handlers: { read: readKeysConfig, update: writeKeysConfig } },
];

const MOUNT = 'transit/';

function matchRoute(path: string): { route: Route; name: string } | null {
  if (!path.startsWith(MOUNT)) return null;
  const rest = path.slice(MOUNT.length);
  for (const route of ROUTES) {
    const match = route.pattern.exec(rest);
    if (match) return { route, name: match[1] ?? '' };
  }
  return null;
}

/** Exact rule first (for LIST also without the trailing slash Vault appends), else the longest `*` glob. */
function capabilitiesFor(policy: VaultPolicy, path: string, op: Operation): VaultCapability[] {
  const exact = policy[path] ?? (op === 'list' && path.endsWith('/') ? policy[path.slice(0, -1)] : undefined);
  if (exact) return exact;
  let best: { prefix: string; caps: VaultCapability[] } | null = null;
  for (const [pattern, caps] of Object.entries(policy)) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (path.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) best = { prefix, caps };
  }
  return best?.caps ?? [];
}

/** The two 403 forms of §1: unknown/missing token vs a valid token lacking the capability. */
function authorize(state: State, token: string, path: string, op: Operation): Reply | null {
  if (token !== '' && token === state.rootToken) return null;
  const policy = token === '' ? undefined : state.tokens.get(token);
  if (!policy) return fail(403, 'permission denied');
  return capabilitiesFor(policy, path, op).includes(op) ? null : fail(403, multierror('permission denied'));
}

// ---------------------------------------------------------------------------------------------------------------
// sys/health (§1)
// ---------------------------------------------------------------------------------------------------------------

function handleHealth(state: State, method: string, query: URLSearchParams): Reply {
  if (method !== 'GET' && method !== 'HEAD') return fail(405);
  const standbyOk = query.get('standbyok');
  if (standbyOk !== null && goParseBool(standbyOk) === null) {
    return fail(400, `bad value for standbyok parameter: strconv.ParseBool: parsing "${standbyOk}": invalid syntax`);
  }
  const codes: Record<string, number> = {};
  for (const param of ['activecode', 'standbycode', 'sealedcode', 'uninitcode']) {
    const text = query.get(param);
    if (text === null) continue;
    const code = goAtoi(text);
    if (code === null) return fail(400, `bad value for ${param} parameter`);
    codes[param] = code;
  }
  // This double is always initialized and active; only the seal state varies.
  const status = state.sealed ? (codes.sealedcode ?? 503) : (codes.activecode ?? 200);
  const body = {
    initialized: true,
    sealed: state.sealed,
    standby: state.sealed,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: '1.19.0',
    cluster_name: 'vault-transit-test-server',
    cluster_id: CLUSTER_ID,
  };
  return { kind: 'raw', status, body: method === 'HEAD' ? null : body };
}

const CLUSTER_ID = randomUUID();

// ---------------------------------------------------------------------------------------------------------------
// Request pipeline
// ---------------------------------------------------------------------------------------------------------------

interface RawRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  bodyTooLarge: boolean;
}

/** Listener max_request_size default (§1, 413). */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

function tokenFrom(headers: IncomingHttpHeaders): string {
  const header = headers['x-vault-token'];
  const vaultToken = Array.isArray(header) ? header[0] : header;
  if (vaultToken) return vaultToken;
  const auth = headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : '';
}

/** Method -> logical operation (§1); `null` for methods Vault has no operation for. */
function operationFor(method: string, query: URLSearchParams): Operation | 'badList' | null {
  switch (method) {
    case 'GET': {
      const list = query.get('list');
      if (list === null || list === '') return 'read';
      const parsed = goParseBool(list);
      if (parsed === null) return 'badList';
      return parsed ? 'list' : 'read';
    }
    case 'LIST':
      return 'list';
    case 'POST':
    case 'PUT':
      return 'update';
    case 'DELETE':
      return 'delete';
    default:
      return null;
  }
}

/** Request data as Vault builds it: JSON body for writes, query parameters for GET/DELETE, nothing for LIST. */
function requestData(op: Operation, req: RawRequest, query: URLSearchParams): JsonObject | Reply {
  if (op === 'list') return {};
  if (op !== 'update') {
    const data: JsonObject = {};
    for (const key of new Set(query.keys())) {
      const values = query.getAll(key);
      data[key] = values.length === 1 ? values[0] : values;
    }
    return data;
  }
  if (req.bodyTooLarge) return fail(413, 'failed to parse JSON input: http: request body too large');
  const text = req.body.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return userError(`failed to parse JSON input: ${(err as Error).message}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? 'array' : typeof parsed;
    return userError(`failed to parse JSON input: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  }
  return parsed as JsonObject;
}

function isReply(value: unknown): value is Reply {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

/** Everything after latency and failure injection: sealed check, auth, routing, fields, handler (§1 order). */
function dispatch(state: State, path: string, req: RawRequest, query: URLSearchParams): Reply {
  if (path === 'sys/health') return handleHealth(state, req.method, query);
  if (state.sealed) return fail(503, 'Vault is sealed');

  const operation = operationFor(req.method, query);
  if (operation === null) return fail(405);
  if (operation === 'badList') return fail(400);
  let op: Operation = operation;
  const data = requestData(op, req, query);
  if (isReply(data)) return data;

  // Vault appends a slash to LIST paths before the ACL check and routing.
  const logicalPath = op === 'list' && !path.endsWith('/') ? `${path}/` : path;
  const matched = matchRoute(logicalPath);
  if (op === 'update' && matched?.route.exists && !matched.route.exists(state, matched.name)) op = 'create';

  // ACL before routing: a non-root token gets 403 even on a path that does not exist (§1).
  const denied = authorize(state, tokenFrom(req.headers), logicalPath, op);
  if (denied) return denied;

  if (!logicalPath.startsWith(MOUNT)) return fail(404, `no handler for route "${logicalPath}". route entry not found.`);
  if (!matched) return fail(404, multierror('unsupported path'));
  const handler = matched.route.handlers[op];
  if (!handler) return fail(405, multierror('unsupported operation'));

  return runHandler(state, handler, matched.route, matched.name, op, data);
}

/** Field conversion plus the framework's "ignored"/"replaced" warnings, which only reach 200 envelopes. */
function runHandler(state: State, handler: Handler, route: Route, name: string, op: Operation, data: JsonObject): Reply {
  const raw: JsonObject = { ...data };
  const ignored = Object.keys(raw).filter((k) => !(k in route.fields)).sort();
  const replaced: string[] = [];
  if ('name' in route.fields && name !== '') {
    // node-vault's transit helpers post their whole args, `name` included; the path value wins (§8).
    if (raw.name !== undefined && raw.name !== null) replaced.push('name');
    raw.name = name;
  }
  let fields: FieldData;
  try {
    fields = new FieldData(raw, route.fields);
  } catch (err) {
    if (err instanceof FieldError) return userError(err.message);
    throw err;
  }
  const reply = handler(state, { op, name, fields });
  if (reply.kind === 'data') {
    if (ignored.length > 0) reply.warnings.push(`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`);
    if (replaced.length > 0) {
      reply.warnings.push(`Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [${replaced.join(' ')}]`);
    }
  }
  return reply;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------------------------------

function apiPathOf(url: string): { path: string; query: URLSearchParams } {
  const parsed = new URL(url, 'http://localhost');
  let pathname = parsed.pathname;
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    // keep the raw path; it simply will not match a route
  }
  const path = pathname.startsWith('/v1/') ? pathname.slice('/v1/'.length) : pathname.replace(/^\//, '');
  return { path, query: parsed.searchParams };
}

class PendingDelays {
  private readonly timers = new Map<NodeJS.Timeout, () => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }

  /** On close, release every delayed request at once so close() does not wait out the latency. */
  flush(): void {
    for (const [timer, resolve] of this.timers) {
      clearTimeout(timer);
      resolve();
    }
    this.timers.clear();
  }
}

async function processRequest(state: State, delays: PendingDelays, req: RawRequest): Promise<RenderedReply> {
  const { path, query } = apiPathOf(req.url);
  state.seenPaths.push(path);
  const latency = state.latencyMs;
  if (latency > 0) await delays.sleep(latency);

  // Injected failures come before everything else, sys/health included: "the next n requests".
  if (state.pendingFailures.remaining > 0) {
    state.pendingFailures.remaining -= 1;
    return renderReply(fail(state.pendingFailures.status, multierror('internal error (injected by VaultTransitServer.failNext)')));
  }
  if (!req.url.startsWith('/v1/')) return renderReply(fail(404));
  try {
    return renderReply(dispatch(state, path, req, query));
  } catch (err) {
    return renderReply(internalError(`test server bug: ${(err as Error).stack ?? String(err)}`));
  }
}

function readBody(req: IncomingMessage): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

const RESPONSE_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

function writeResponse(res: ServerResponse, reply: RenderedReply): void {
  // Go panics on a status below 100 (the connection just drops), and 1xx codes end up as an implicit 200.
  if (reply.status < 100) {
    res.socket?.destroy();
    return;
  }
  const status = reply.status < 200 ? 200 : reply.status;
  if (reply.body === null) {
    res.writeHead(status, status === 204 ? {} : RESPONSE_HEADERS).end();
  } else {
    res.writeHead(status, { ...RESPONSE_HEADERS, 'Content-Length': Buffer.byteLength(reply.body) }).end(reply.body);
  }
}

/**
 * Node's HTTP parser rejects the LIST verb (§8 gotcha), so `node-vault`'s `transitListKeys()` / default `list()`
 * would never reach a request handler. The parser error still carries the raw bytes: answer the LIST from those,
 * then close the connection (the parser cannot resume after an error). Requests with a body are not expected.
 */
function answerListFromParserError(state: State, delays: PendingDelays, err: Error, socket: Socket): boolean {
  const details = err as Error & { code?: string; rawPacket?: Buffer; bytesParsed?: number };
  if (details.code !== 'HPE_INVALID_METHOD' || !details.rawPacket) return false;
  const packet = details.rawPacket.toString('latin1');
  const start = packet.lastIndexOf('LIST ', details.bytesParsed ?? packet.length);
  if (start < 0) return false;
  const headEnd = packet.indexOf('\r\n\r\n', start);
  const lines = packet.slice(start, headEnd < 0 ? undefined : headEnd).split('\r\n');
  const [, url] = lines[0].split(' ');
  if (!url) return false;
  const headers: IncomingHttpHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  void processRequest(state, delays, { method: 'LIST', url, headers, body: Buffer.alloc(0), bodyTooLarge: false }).then(
    (reply) => {
      if (socket.destroyed) return;
      const body = reply.body ?? '';
      const head = [
        `HTTP/1.1 ${reply.status} ${reply.status === 200 ? 'OK' : 'Status'}`,
        'Content-Type: application/json',
        'Cache-Control: no-store',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
      ];
      socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    },
  );
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------------------------

const newToken = (): string => `hvs.${randomBytes(18).toString('base64url')}`;

export async function startVaultTransitServer(opts: VaultTransitServerOptions = {}): Promise<VaultTransitServer> {
  const state: State = {
    rootToken: opts.rootToken ?? newToken(),
    tokens: new Map(),
    keys: new Map(),
    disableUpsert: false,
    sealed: false,
    pendingFailures: { remaining: 0, status: 500 },
    latencyMs: 0,
    seenPaths: [],
  };
  const delays = new PendingDelays();

  const server: Server = createServer((req, res) => {
    readBody(req)
      .then(({ body, tooLarge }) =>
        processRequest(state, delays, {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          body,
          bodyTooLarge: tooLarge,
        }),
      )
      .then((reply) => writeResponse(res, reply))
      .catch(() => res.destroy());
  });
  server.on('clientError', (err: Error, socket: Socket) => {
    if (answerListFromParserError(state, delays, err, socket)) return;
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    rootToken: state.rootToken,
    createToken(policy) {
      const token = newToken();
      state.tokens.set(token, structuredClone(policy));
      return token;
    },
    seal() {
      state.sealed = true;
    },
    unseal() {
      state.sealed = false;
    },
    failNext(n, status = 500) {
      state.pendingFailures = { remaining: Math.max(0, Math.floor(n)), status };
    },
    setLatencyMs(ms) {
      state.latencyMs = Math.max(0, ms);
    },
    requestCount(pathPrefix) {
      const prefix = pathPrefix ?? '';
      return state.seenPaths.filter((p) => p.startsWith(prefix)).length;
    },
    resetCounters() {
      state.seenPaths = [];
    },
    close() {
      delays.flush();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
