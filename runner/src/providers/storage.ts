/**
 * `alga:extension/storage` (cap:storage.kv): the install's key-value store.
 *
 * The provider enforces the capability's rules before any backend sees a call, the same rules
 * the gateway applies (it keeps its own copy: defense in depth):
 *   namespace matches [a-z0-9][a-z0-9_.-]{0,62} → else invalid · declared in the manifest's
 *   `storage.namespaces` (absent = any) → else denied · key and non-empty prefix: 1-512 code
 *   points of well-formed Unicode without NUL → else invalid · list limit 1-1000 → else invalid.
 * Quotas, revisions and cursors are the backend's.
 *
 * Backends (`StorageBackend`, after Spin's key-value `StoreManager`): they only store and fetch.
 *  - gateway (production): `POST {gatewayUrl}/api/internal/ext-storage/install/{installId}` with
 *    the execution token (`gateway-callback.ts`). Answers → WIT `storage-error`:
 *    409 → conflict · 507 → quota-exceeded(message) · 400 → invalid(message) · 403 → denied ·
 *    anything else, a timeout, a connection error, no gateway configured → unavailable(message);
 *  - host (`scope.hostCall`, a dev server or test host on the main thread): ops `get`, `put`,
 *    `delete`, `list` with the WIT arguments as they are; it throws `{ tag, val? }` storage-errors.
 * The host functions only ever throw storage-error values: anything else would trap the guest.
 *
 * @example
 *   const fns = storageProvider.bind(scope, storageProvider.configure(install));
 *   const rev = await fns.put('cache', 'k', new TextEncoder().encode('v'), 0n); // 1n
 *   await fns.get('cache', 'k');                  // { key: 'k', value: Uint8Array [118], revision: 1n }
 *   await fns.list('cache', 'k', undefined, 100); // { keys: ['k'], nextCursor: undefined }
 */
import { STORAGE_NAMESPACE_RE } from '@alga-psa/extension-contracts';
import { asWitError, witError, type CapabilityProvider, type RequestScope, type WitErrorCases } from './provider.ts';
import { gatewayCallback, GatewayCallbackFailure, gatewayErrorMessage } from './gateway-callback.ts';

export interface StorageEntry {
  key: string;
  value: Uint8Array;
  revision: bigint;
}

export interface StoragePage {
  keys: string[];
  nextCursor: string | undefined;
}

/** Where an install's keys live. Arguments are already checked by the provider. */
export interface StorageBackend {
  get(namespace: string, key: string): Promise<StorageEntry | undefined>;
  put(namespace: string, key: string, value: Uint8Array, expectedRevision: bigint | undefined): Promise<bigint>;
  delete(namespace: string, key: string, expectedRevision: bigint | undefined): Promise<boolean>;
  list(namespace: string, prefix: string | undefined, cursor: string | undefined, limit: number): Promise<StoragePage>;
}

export const MAX_KEY_CHARS = 512;
export const MAX_LIST_LIMIT = 1000;
/** Largest gateway answer read (a value is capped far below by the gateway's quota). */
const MAX_ANSWER_BYTES = 128 * 1024 * 1024;
const MAX_U64 = 2n ** 64n - 1n;

/** `storage-error`: tag → default message of its string payload, null for none. */
const STORAGE_ERRORS: WitErrorCases = {
  denied: null,
  conflict: null,
  'quota-exceeded': 'storage quota exceeded',
  invalid: 'invalid storage request',
  unavailable: 'storage is unavailable',
};

const unavailable = (msg: string) => witError('unavailable', msg);
const invalid = (msg: string) => witError('invalid', msg);

// ---------------------------------------------------------------------------------------------
// The capability's rules
// ---------------------------------------------------------------------------------------------

function checkNamespace(scope: RequestScope, namespace: unknown): string {
  if (typeof namespace !== 'string' || !STORAGE_NAMESPACE_RE.test(namespace)) throw invalid('namespace must match [a-z0-9][a-z0-9_.-]{0,62}');
  const declared = scope.install.storageNamespaces;
  if (declared !== null && declared !== undefined && !declared.includes(namespace)) throw witError('denied');
  return namespace;
}

/** 1–512 characters (code points) of well-formed Unicode without NUL. */
function checkKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) throw invalid(`${what} must be a non-empty string`);
  // A lone surrogate cannot be stored as UTF-8 (it would silently become U+FFFD).
  if (!key.isWellFormed()) throw invalid(`${what} is not valid Unicode`);
  if (key.includes('\u0000')) throw invalid(`${what} must not contain NUL`);
  if (key.length > MAX_KEY_CHARS && [...key].length > MAX_KEY_CHARS) throw invalid(`${what} is longer than ${MAX_KEY_CHARS} characters`);
  return key;
}

function checkRevision(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (n === undefined || n < 0n || n > MAX_U64) throw invalid('expected-revision must be a non-negative integer');
  return n;
}

function checkValue(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid('value must be bytes');
  return value;
}

function checkPrefix(prefix: unknown): string | undefined {
  if (prefix === undefined || prefix === null || prefix === '') return undefined;
  return checkKey(prefix, 'prefix');
}

function checkCursor(cursor: unknown): string | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  // Its format is the backend's; only its type and size are the provider's.
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 4096) throw invalid('cursor is not one this API returned');
  return cursor;
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw invalid(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return limit;
}

// ---------------------------------------------------------------------------------------------
// Gateway backend (production)
// ---------------------------------------------------------------------------------------------

/** One call to the gateway; resolves with the parsed 200 answer or throws a storage-error. */
async function gatewayCall(scope: RequestScope, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  let status: number;
  let body: unknown;
  try {
    ({ status, body } = await gatewayCallback(scope, 'ext-storage', payload, { maxAnswerBytes: MAX_ANSWER_BYTES }));
  } catch (e) {
    if (e instanceof GatewayCallbackFailure) throw unavailable(e.message);
    throw e;
  }
  switch (status) {
    case 200:
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unavailable('the gateway answered with a malformed response');
      return body as Record<string, unknown>;
    case 400:
      throw invalid(gatewayErrorMessage(body, 'invalid storage request'));
    case 403:
      throw witError('denied');
    case 409:
      throw witError('conflict');
    case 507:
      throw witError('quota-exceeded', gatewayErrorMessage(body, 'storage quota exceeded'));
    default:
      throw unavailable(`the gateway answered ${status}: ${gatewayErrorMessage(body, 'storage is unavailable')}`);
  }
}

/** `option<u64>` → JSON number (revisions are far below 2^53). */
function revisionArg(value: bigint | undefined): number | null {
  if (value === undefined) return null;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('expected-revision is out of range');
  return Number(value);
}

function gatewayRevision(value: unknown): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw unavailable('the gateway answered with a malformed revision');
  return BigInt(value);
}

function fromBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw unavailable('the gateway answered with a malformed value');
  // A copy the guest owns, detached from Node's Buffer pool.
  return new Uint8Array(Buffer.from(value, 'base64'));
}

export function gatewayStorageBackend(scope: RequestScope): StorageBackend {
  return {
    async get(namespace, key) {
      const res = await gatewayCall(scope, { op: 'get', namespace, key });
      const entry = res.entry as { key?: unknown; valueB64?: unknown; revision?: unknown } | null | undefined;
      if (entry === null) return undefined;
      if (typeof entry !== 'object' || typeof entry.key !== 'string') throw unavailable('the gateway answered with a malformed entry');
      return { key: entry.key, value: fromBase64(entry.valueB64), revision: gatewayRevision(entry.revision) };
    },
    async put(namespace, key, value, expectedRevision) {
      const valueB64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      const res = await gatewayCall(scope, { op: 'put', namespace, key, valueB64, expectedRevision: revisionArg(expectedRevision) });
      return gatewayRevision(res.revision);
    },
    async delete(namespace, key, expectedRevision) {
      const res = await gatewayCall(scope, { op: 'delete', namespace, key, expectedRevision: revisionArg(expectedRevision) });
      if (typeof res.deleted !== 'boolean') throw unavailable('the gateway answered with a malformed response');
      return res.deleted;
    },
    async list(namespace, prefix, cursor, limit) {
      const res = await gatewayCall(scope, { op: 'list', namespace, prefix: prefix ?? null, cursor: cursor ?? null, limit });
      return pageOf(res.keys, res.nextCursor, 'the gateway answered with a malformed page');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Host backend (main thread: dev server, test host)
// ---------------------------------------------------------------------------------------------

function hostRevision(value: unknown): bigint {
  const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
  if (n === undefined || n < 0n || n > MAX_U64) throw unavailable('the storage backend answered with a malformed revision');
  return n;
}

function pageOf(keys: unknown, nextCursor: unknown, malformed: string): StoragePage {
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || !(nextCursor === null || nextCursor === undefined || typeof nextCursor === 'string')) {
    throw unavailable(malformed);
  }
  return { keys: keys as string[], nextCursor: nextCursor ?? undefined };
}

/** Answers cross threads by structured clone: their shape is checked before the guest gets them. */
export function hostStorageBackend(hostCall: NonNullable<RequestScope['hostCall']>): StorageBackend {
  return {
    async get(namespace, key) {
      const entry = (await hostCall('get', [namespace, key])) as { key?: unknown; value?: unknown; revision?: unknown } | null | undefined;
      if (entry === undefined || entry === null) return undefined;
      if (typeof entry !== 'object' || typeof entry.key !== 'string' || !(entry.value instanceof Uint8Array)) throw unavailable('the storage backend answered with a malformed entry');
      return { key: entry.key, value: entry.value, revision: hostRevision(entry.revision) };
    },
    async put(namespace, key, value, expectedRevision) {
      return hostRevision(await hostCall('put', [namespace, key, value, expectedRevision]));
    },
    async delete(namespace, key, expectedRevision) {
      const deleted = await hostCall('delete', [namespace, key, expectedRevision]);
      if (typeof deleted !== 'boolean') throw unavailable('the storage backend answered with a malformed response');
      return deleted;
    },
    async list(namespace, prefix, cursor, limit) {
      const page = (await hostCall('list', [namespace, prefix, cursor, limit])) as { keys?: unknown; nextCursor?: unknown } | null | undefined;
      if (typeof page !== 'object' || page === null) throw unavailable('the storage backend answered with a malformed page');
      return pageOf(page.keys, page.nextCursor, 'the storage backend answered with a malformed page');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/** Wraps a host function so that only storage-error variants ever leave it. */
function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw asWitError(e, STORAGE_ERRORS) ?? unavailable('internal error');
    }
  };
}

export const storageProvider: CapabilityProvider<null> = {
  capability: 'cap:storage.kv',
  witInterface: 'storage',
  asyncFunctions: ['get', 'put', 'delete', 'list'],
  configure: () => null,
  bind: (scope) => {
    const backend = scope.hostCall ? hostStorageBackend(scope.hostCall) : gatewayStorageBackend(scope);
    return {
      get: guarded(async (namespace: unknown, key: unknown): Promise<StorageEntry | undefined> => {
        const ns = checkNamespace(scope, namespace);
        return backend.get(ns, checkKey(key));
      }),
      put: guarded(async (namespace: unknown, key: unknown, value: unknown, expectedRevision: unknown): Promise<bigint> => {
        const ns = checkNamespace(scope, namespace);
        const k = checkKey(key);
        const expected = checkRevision(expectedRevision);
        return backend.put(ns, k, checkValue(value), expected);
      }),
      delete: guarded(async (namespace: unknown, key: unknown, expectedRevision: unknown): Promise<boolean> => {
        const ns = checkNamespace(scope, namespace);
        const k = checkKey(key);
        return backend.delete(ns, k, checkRevision(expectedRevision));
      }),
      list: guarded(async (namespace: unknown, prefix: unknown, cursor: unknown, limit: unknown): Promise<StoragePage> => {
        const ns = checkNamespace(scope, namespace);
        const l = checkLimit(limit);
        return backend.list(ns, checkPrefix(prefix), checkCursor(cursor), l);
      }),
    };
  },
  denied: () => {
    const deny = async (): Promise<never> => {
      throw witError('denied');
    };
    return { get: deny, put: deny, delete: deny, list: deny };
  },
};
