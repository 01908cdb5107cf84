/**
 * `alga:extension/storage` (cap:storage.kv): the install's key-value store, kept by the gateway.
 *
 * Every call is one `POST {gatewayUrl}/api/internal/ext-storage/install/{installId}` with the
 * request's execution token (the gateway checks its install and capability), over a keep-alive
 * undici Pool per gateway URL, bounded by the time left to the request deadline.
 *
 * Gateway answers → WIT `storage-error`:
 *   409 → conflict · 507 → quota-exceeded(message) · 400 → invalid(message) · 403 → denied
 *   anything else, a timeout, a connection error, no gateway configured → unavailable(message)
 * The host functions only ever throw `witError(...)` values: anything else would trap the guest.
 *
 * @example
 *   const fns = storageProvider.bind(scope, storageProvider.configure(install));
 *   const rev = await fns.put('cache', 'k', new TextEncoder().encode('v'), 0n); // 1n
 *   await fns.get('cache', 'k');                  // { key: 'k', value: Uint8Array [118], revision: 1n }
 *   await fns.list('cache', 'k', undefined, 100); // { keys: ['k'], nextCursor: undefined }
 */
import { Pool, request } from 'undici';
import type { CapabilityProvider, RequestScope } from './provider.ts';
import { readBodyCapped, type DestroyableBody } from '@alga-psa/extension-contracts';
import { witError } from './provider.ts';

export interface StorageEntry {
  key: string;
  value: Uint8Array;
  revision: bigint;
}

export interface StoragePage {
  keys: string[];
  nextCursor: string | undefined;
}

/** Largest gateway answer read (a value is capped far below by the gateway's quota). */
const MAX_ANSWER_BYTES = 128 * 1024 * 1024;
const WIT_TAGS = new Set(['denied', 'conflict', 'quota-exceeded', 'invalid', 'unavailable']);

type WitErr = { tag: string; val?: unknown };

function isWitErr(e: unknown): e is WitErr {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && WIT_TAGS.has((e as WitErr).tag);
}

const unavailable = (msg: string) => witError('unavailable', msg);
const invalid = (msg: string) => witError('invalid', msg);

const pools = new Map<string, Pool>();

function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 32, keepAliveTimeout: 10_000 });
    pools.set(origin, pool);
  }
  return pool;
}

/** Closes the keep-alive pools (tests, shutdown). */
export async function closeStoragePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => undefined)));
}

function endpoint(scope: RequestScope): URL {
  const base = scope.operator.gatewayUrl;
  if (!base) throw unavailable('no gateway is configured for storage on this runner');
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw unavailable('the configured gateway URL is invalid');
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/internal/ext-storage/install/${encodeURIComponent(scope.installId)}`;
  url.search = '';
  url.hash = '';
  return url;
}

function errorMessage(body: unknown, fallback: string): string {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' && message !== '' ? message.slice(0, 500) : fallback;
}

/** One call to the gateway; resolves with the parsed 200 answer or throws a storage-error. */
async function call(scope: RequestScope, payload: Record<string, unknown>): Promise<Record<string, unknown>> {
  const url = endpoint(scope);
  const timeoutMs = Math.floor(scope.deadlineMs - Date.now());
  if (timeoutMs <= 0) throw unavailable('the request deadline has passed');
  const signal = AbortSignal.timeout(timeoutMs);
  let status: number;
  let body: unknown;
  try {
    const res = await request(url, {
      dispatcher: poolFor(url.origin),
      method: 'POST',
      headers: { authorization: `Bearer ${scope.executionToken}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    res.body.on('error', () => {});
    status = res.statusCode;
    const bytes = await readBodyCapped(res.body as DestroyableBody, MAX_ANSWER_BYTES, res.headers['content-length']);
    if (!bytes) throw unavailable('the gateway answer is too large');
    const text = bytes.toString('utf8');
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
  } catch (e) {
    if (isWitErr(e)) throw e;
    if (signal.aborted) throw unavailable('the storage call did not finish before the request deadline');
    const code = (e as { code?: unknown })?.code;
    throw unavailable(`the gateway is unreachable${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  switch (status) {
    case 200:
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unavailable('the gateway answered with a malformed response');
      return body as Record<string, unknown>;
    case 400:
      throw invalid(errorMessage(body, 'invalid storage request'));
    case 403:
      throw witError('denied');
    case 409:
      throw witError('conflict');
    case 507:
      throw witError('quota-exceeded', errorMessage(body, 'storage quota exceeded'));
    default:
      throw unavailable(`the gateway answered ${status}: ${errorMessage(body, 'storage is unavailable')}`);
  }
}

/** `option<u64>` → JSON number (revisions are far below 2^53). */
function revisionArg(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
  if (n === undefined || n < 0n) throw invalid('expected-revision must be a non-negative integer');
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid('expected-revision is out of range');
  return Number(n);
}

function revisionOf(value: unknown): bigint {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw unavailable('the gateway answered with a malformed revision');
  return BigInt(value);
}

function toBase64(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw invalid('value must be bytes');
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

function fromBase64(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw unavailable('the gateway answered with a malformed value');
  const buf = Buffer.from(value, 'base64');
  // A copy the guest owns, detached from Node's Buffer pool.
  return new Uint8Array(buf);
}

/** Wraps a host function so that only storage-error variants ever leave it. */
function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (e) {
      if (isWitErr(e)) throw e;
      throw unavailable('internal error');
    }
  };
}

export const storageProvider: CapabilityProvider<null> = {
  capability: 'cap:storage.kv',
  witInterface: 'storage',
  asyncFunctions: ['get', 'put', 'delete', 'list'],
  configure: () => null,
  bind: (scope) => ({
    get: guarded(async (namespace: string, key: string): Promise<StorageEntry | undefined> => {
      const res = await call(scope, { op: 'get', namespace, key });
      const entry = res.entry as { key?: unknown; valueB64?: unknown; revision?: unknown } | null | undefined;
      if (entry === null) return undefined;
      if (typeof entry !== 'object' || typeof entry.key !== 'string') throw unavailable('the gateway answered with a malformed entry');
      return { key: entry.key, value: fromBase64(entry.valueB64), revision: revisionOf(entry.revision) };
    }),
    put: guarded(async (namespace: string, key: string, value: Uint8Array, expectedRevision: bigint | undefined): Promise<bigint> => {
      const res = await call(scope, { op: 'put', namespace, key, valueB64: toBase64(value), expectedRevision: revisionArg(expectedRevision) ?? null });
      return revisionOf(res.revision);
    }),
    delete: guarded(async (namespace: string, key: string, expectedRevision: bigint | undefined): Promise<boolean> => {
      const res = await call(scope, { op: 'delete', namespace, key, expectedRevision: revisionArg(expectedRevision) ?? null });
      if (typeof res.deleted !== 'boolean') throw unavailable('the gateway answered with a malformed response');
      return res.deleted;
    }),
    list: guarded(async (namespace: string, prefix: string | undefined, cursor: string | undefined, limit: number): Promise<StoragePage> => {
      const res = await call(scope, { op: 'list', namespace, prefix: prefix ?? null, cursor: cursor ?? null, limit });
      const { keys, nextCursor } = res as { keys?: unknown; nextCursor?: unknown };
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string') || !(nextCursor === null || typeof nextCursor === 'string')) {
        throw unavailable('the gateway answered with a malformed page');
      }
      return { keys: keys as string[], nextCursor: nextCursor ?? undefined };
    }),
  }),
  denied: () => {
    const deny = async (): Promise<never> => {
      throw witError('denied');
    };
    return { get: deny, put: deny, delete: deny, list: deny };
  },
};
