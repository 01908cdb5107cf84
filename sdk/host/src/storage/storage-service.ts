/**
 * Key-value storage for extensions (cap:storage.kv), one keyspace per install.
 *
 * Every row and every query carries (tenant_id, install_id): another install, even of the same
 * extension in the same tenant, never sees a value. Revisions start at 1 and grow by one per put;
 * `expectedRevision` makes a put or delete a compare-and-set (0 = "must not exist"). Rows whose
 * `expires_at` has passed are treated as absent (and purged when a quota would otherwise refuse).
 *
 * Quotas per install (keys, bytes per value, total bytes, distinct namespaces) are enforced
 * against `ext_storage_usage`. What a record costs against the total is its key's UTF-8 bytes
 * plus its value's bytes, the same measure in every usage change (put, overwrite, delete, expiry
 * purge): otherwise keys of up to 512 characters would be free storage. The per-value limit is
 * on the value alone (what `storageMaxValueBytes` and the route's body limit promise a guest);
 * a key adds at most 2 KiB (512 code points) to a record beyond it. Usage is changed in the same transaction as the record while the usage row is locked `FOR UPDATE`:
 * concurrent writers of one install serialise on it, so no interleaving can exceed a quota, and
 * a refused put leaves the record and the usage as they were.
 *
 * Keys are ordered bytewise (`COLLATE "C"`, i.e. by code point), whatever the database collation;
 * a list cursor is the base64url of the last key returned, so paging stays exact when keys are
 * added or removed between pages.
 *
 * @example
 *   const storage = new StorageService({ knex, quotas: { maxKeys: 10_000, maxValueBytes: 262_144, maxTotalBytes: 64 << 20, maxNamespaces: 32 } });
 *   const scope = { tenantId, installId, namespaces: ['cache'] };
 *   const rev = await storage.put(scope, 'cache', 'k', Buffer.from('v'), 0);    // 1
 *   await storage.get(scope, 'cache', 'k');                                      // { key: 'k', value: <Buffer 76>, revision: 1 }
 *   await storage.list(scope, 'cache', { prefix: 'k', limit: 100 });             // { keys: ['k'], nextCursor: null }
 */
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';

export interface StorageQuotas {
  maxKeys: number;
  maxValueBytes: number;
  maxTotalBytes: number;
  maxNamespaces: number;
}

/** The gateway's default quotas (ALGA_STORAGE_MAX_*), also those of local storage, so an extension
 * that fits locally fits a default gateway. */
export const DEFAULT_STORAGE_QUOTAS: Readonly<StorageQuotas> = Object.freeze({
  maxKeys: 10_000,
  maxValueBytes: 256 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxNamespaces: 32,
});

/** Whose keyspace a call works on; `namespaces` = the manifest's `storage.namespaces` (null = any name). */
export interface StorageScope {
  tenantId: string;
  installId: string;
  namespaces: readonly string[] | null;
}

export interface StorageEntry {
  key: string;
  value: Buffer;
  revision: number;
}

export interface StoragePage {
  keys: string[];
  nextCursor: string | null;
}

export interface ListOptions {
  prefix?: string | null;
  cursor?: string | null;
  limit?: number | null;
}

export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const MAX_KEY_CHARS = 512;
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

const records = 'ext_storage_records';
const usage = 'ext_storage_usage';
/** Bytewise key order on every engine and database collation. */
const KEY_C = 'key collate "C"';
/** Locales whose collation is bytewise (C, POSIX) or code point order (C.UTF-8, libc or builtin provider). */
const BYTEWISE_LOCALES: ReadonlySet<string> = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8']);
/** Cases, accents, punctuation, digits, CJK, astral planes, prefixes: a collation that is not code point order disagrees on some. */
const ORDER_PROBES = ['a', 'A', 'b', 'B', 'ab', 'aB', 'Ab', 'a b', 'a-b', 'a_b', 'a.b', '-', '_', '~', ' ', '0', '9', 'z', 'Z', 'é', 'e', 'f', 'ÿ', 'Ā', 'ß', 'ss', 'æ', '一', '～', '\u{1F600}', '\u{10FFFF}', '\uFFFD'];

export function validateNamespace(namespace: unknown): string {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new AlgaError('E_VALIDATION', 'namespace must match [a-z0-9][a-z0-9_.-]{0,62}');
  }
  return namespace;
}

/** 1–512 characters (code points) of well-formed Unicode without NUL. */
export function validateKey(key: unknown, what = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) throw new AlgaError('E_VALIDATION', `${what} must be a non-empty string`);
  checkText(key, what);
  return key;
}

function checkText(text: string, what: string): void {
  // A lone surrogate cannot be stored as UTF-8 (it would silently become U+FFFD).
  if (!text.isWellFormed()) throw new AlgaError('E_VALIDATION', `${what} is not valid Unicode`);
  if (text.includes('\u0000')) throw new AlgaError('E_VALIDATION', `${what} must not contain NUL`);
  if (text.length > MAX_KEY_CHARS && [...text].length > MAX_KEY_CHARS) throw new AlgaError('E_VALIDATION', `${what} is longer than ${MAX_KEY_CHARS} characters`);
}

function validateExpectedRevision(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new AlgaError('E_VALIDATION', 'expectedRevision must be a non-negative integer');
  return value;
}

function validateLimit(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_LIST_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    throw new AlgaError('E_VALIDATION', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return value;
}

export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: unknown): string {
  if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new AlgaError('E_VALIDATION', 'cursor is not one this API returned');
  const bytes = Buffer.from(cursor, 'base64url');
  let key: string;
  try {
    key = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AlgaError('E_VALIDATION', 'cursor is not one this API returned');
  }
  if (bytes.toString('base64url') !== cursor || key.length === 0 || key.includes('\u0000') || [...key].length > MAX_KEY_CHARS) {
    throw new AlgaError('E_VALIDATION', 'cursor is not one this API returned');
  }
  return key;
}

const quotaError = (what: string) => new AlgaError('E_QUOTA_EXCEEDED', `storage quota exceeded: ${what}`);

/** What a record costs against the quotas; the SQL twin is RECORD_SIZE_SQL (octet_length of text is its UTF-8 size). */
const recordSize = (key: string, valueBytes: number): number => Buffer.byteLength(key, 'utf8') + valueBytes;
const RECORD_SIZE_SQL = '(octet_length(key) + octet_length(value))';

/** Options of a write (put, delete). */
export interface WriteOptions {
  /**
   * Awaited inside the write's transaction, after the write and before COMMIT; a rejection rolls
   * the write back and is what the caller gets. The gateway runs its install grant check here,
   * overlapped with the write's own statements, so a write never commits for an install that
   * has lost the grant, and the check costs no round trip of its own.
   */
  beforeCommit?: () => Promise<void>;
}

interface UsageRow { key_count: number; total_bytes: number }
interface ExistingRow { revision: number; size: number; expired: boolean }

export class StorageService {
  private readonly knex: Knex;
  readonly quotas: StorageQuotas;
  /** `list`'s key expression (listKeyOrder). */
  private keyOrder: Promise<string> | undefined;

  constructor(deps: { knex: Knex; quotas: StorageQuotas }) {
    this.knex = deps.knex;
    this.quotas = deps.quotas;
  }

  /** Namespace syntax, then the manifest's list (when it gives one). */
  private namespace(scope: StorageScope, namespace: unknown): string {
    const ns = validateNamespace(namespace);
    if (scope.namespaces !== null && !scope.namespaces.includes(ns)) {
      throw new AlgaError('E_FORBIDDEN', `namespace ${ns} is not declared in the manifest's storage.namespaces`);
    }
    return ns;
  }

  private live(q: Knex.QueryBuilder, db: Knex | Knex.Transaction): Knex.QueryBuilder {
    return q.where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()));
  }

  async get(scope: StorageScope, namespace: unknown, key: unknown): Promise<StorageEntry | null> {
    const ns = this.namespace(scope, namespace);
    const k = validateKey(key);
    const row = await this.live(
      this.knex(records).where({ tenant_id: scope.tenantId, install_id: scope.installId, namespace: ns, key: k }),
      this.knex,
    ).first('key', 'value', 'revision');
    if (!row) return null;
    return { key: row.key as string, value: Buffer.from(row.value as Uint8Array), revision: row.revision as number };
  }

  async put(scope: StorageScope, namespace: unknown, key: unknown, value: Uint8Array, expectedRevision?: unknown, options: WriteOptions = {}): Promise<number> {
    const ns = this.namespace(scope, namespace);
    const k = validateKey(key);
    const expected = validateExpectedRevision(expectedRevision);
    if (!(value instanceof Uint8Array)) throw new AlgaError('E_VALIDATION', 'value must be bytes');
    if (value.byteLength > this.quotas.maxValueBytes) {
      throw quotaError(`value size (${value.byteLength} bytes; at most ${this.quotas.maxValueBytes} bytes per value)`);
    }
    const size = recordSize(k, value.byteLength);
    const ids = { tenant_id: scope.tenantId, install_id: scope.installId };

    return this.knex.transaction(async (trx) => {
      let purged = false;
      for (;;) {
        const u = await this.lockUsage(trx, ids);
        if (!u) throw new AlgaError('E_FORBIDDEN', 'the install is gone');
        const { existing, namespaceInUse } = await this.lookUp(trx, ids, ns, k);
        const current = existing && !existing.expired ? existing.revision : 0;
        if (expected !== undefined && expected !== current) {
          throw new AlgaError('E_CONFLICT', `revision mismatch: expected ${expected}, current ${current}`);
        }
        const keyCount = u.key_count + (existing ? 0 : 1);
        const totalBytes = u.total_bytes - (existing?.size ?? 0) + size;
        let refused: AlgaError | undefined;
        if (keyCount > this.quotas.maxKeys) refused = quotaError(`keys (at most ${this.quotas.maxKeys} per install)`);
        else if (totalBytes > this.quotas.maxTotalBytes) refused = quotaError(`total bytes (at most ${this.quotas.maxTotalBytes} bytes per install)`);
        else if (!namespaceInUse) {
          const [{ n }] = await trx(records).where(ids).countDistinct({ n: 'namespace' });
          if (Number(n) + 1 > this.quotas.maxNamespaces) refused = quotaError(`namespaces (at most ${this.quotas.maxNamespaces} per install)`);
        }
        if (refused) {
          // Expired rows still hold quota: drop them once and look again before refusing.
          if (!purged && (await this.purgeExpired(trx, ids, u))) { purged = true; continue; }
          throw refused;
        }

        const now = new Date();
        const revision = existing && !existing.expired ? existing.revision + 1 : 1;
        const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        const write = existing
          ? trx(records).where({ ...ids, namespace: ns, key: k }).update({ value: bytes, revision, expires_at: null, updated_at: now })
          : trx(records).insert({ ...ids, namespace: ns, key: k, value: bytes, revision, created_at: now, updated_at: now });
        await this.withUsage(trx, write, ids, { key_count: keyCount, total_bytes: totalBytes }, now);
        await options.beforeCommit?.();
        return revision;
      }
    }).catch((err: unknown) => {
      // foreign_key_violation: the install was deleted while this call was on its way.
      if ((err as { code?: unknown })?.code === '23503') throw new AlgaError('E_FORBIDDEN', 'the install is gone');
      throw err;
    });
  }

  async delete(scope: StorageScope, namespace: unknown, key: unknown, expectedRevision?: unknown, options: WriteOptions = {}): Promise<boolean> {
    const ns = this.namespace(scope, namespace);
    const k = validateKey(key);
    const expected = validateExpectedRevision(expectedRevision);
    const ids = { tenant_id: scope.tenantId, install_id: scope.installId };
    return this.knex.transaction(async (trx) => {
      const u = (await trx(usage).where(ids).forUpdate().first('key_count', 'total_bytes')) as UsageRow | undefined;
      // No usage row: nothing was ever stored for this install.
      const existing = u ? (await this.lookUp(trx, ids, ns, k)).existing : undefined;
      const current = existing && !existing.expired ? existing.revision : 0;
      if (expected !== undefined && expected !== current) {
        throw new AlgaError('E_CONFLICT', `revision mismatch: expected ${expected}, current ${current}`);
      }
      if (u && existing) {
        const write = trx(records).where({ ...ids, namespace: ns, key: k }).delete();
        await this.withUsage(trx, write, ids, { key_count: u.key_count - 1, total_bytes: u.total_bytes - existing.size }, new Date());
      }
      await options.beforeCommit?.();
      return u !== undefined && existing !== undefined && !existing.expired;
    });
  }

  async list(scope: StorageScope, namespace: unknown, options: ListOptions = {}): Promise<StoragePage> {
    const ns = this.namespace(scope, namespace);
    const limit = validateLimit(options.limit);
    let prefix: string | undefined;
    if (options.prefix !== undefined && options.prefix !== null) {
      if (typeof options.prefix !== 'string') throw new AlgaError('E_VALIDATION', 'prefix must be a string');
      if (options.prefix !== '') prefix = validateKey(options.prefix, 'prefix');
    }
    const after = options.cursor === undefined || options.cursor === null ? undefined : decodeCursor(options.cursor);

    const key = await this.listKeyOrder();
    const q = this.live(this.knex(records).where({ tenant_id: scope.tenantId, install_id: scope.installId, namespace: ns }), this.knex);
    // A range comparison, no LIKE: nothing in the prefix is a wildcard.
    if (prefix !== undefined) q.whereRaw(`${key} >= ?`, [prefix]).whereRaw('starts_with(key, ?)', [prefix]);
    if (after !== undefined) q.whereRaw(`${key} > ?`, [after]);
    const rows = (await q.orderByRaw(key).limit(limit + 1).select('key')) as Array<{ key: string }>;
    const keys = rows.slice(0, limit).map((r) => r.key);
    return { keys, nextCursor: rows.length > limit ? encodeCursor(keys[keys.length - 1]) : null };
  }

  /**
   * How `list` orders and compares keys. `key COLLATE "C"` is bytewise on any database, but no
   * index has that collation: PostgreSQL sorted every key of the namespace for each page
   * (measured on 10 000 keys: a seq scan + top-N sort, 4–10 ms a page, against 0.2–0.6 ms
   * on the primary key). Where the column's own collation already sorts bytewise (a "C" or
   * "POSIX" locale, or libc/builtin "C.UTF-8": code point order, which is UTF-8 byte order), the
   * plain column is used and the primary key (install_id, namespace, key) serves the page. The
   * database is asked once, and must also order a set of probe strings identically both ways;
   * anything else keeps the COLLATE "C" form.
   */
  private listKeyOrder(): Promise<string> {
    this.keyOrder ??= (async () => {
      const found = await this.knex.raw(
        `select coalesce(c.collcollate, d.datcollate) as locale,
                case when a.attcollation = 100 then coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') else c.collprovider::text end as provider,
                (select array_agg(p order by p) = array_agg(p order by p collate "C") from unnest(?::text[]) p) as probe_agrees
           from pg_attribute a join pg_collation c on c.oid = a.attcollation, pg_database d
          where a.attrelid = to_regclass(?) and a.attname = 'key' and d.datname = current_database()`,
        [ORDER_PROBES, records],
      );
      const row = (found.rows as Array<{ locale: string | null; provider: string; probe_agrees: boolean }>)[0];
      const bytewise = row !== undefined && row.probe_agrees === true && ['c', 'b'].includes(row.provider) && BYTEWISE_LOCALES.has(row.locale ?? '');
      return bytewise ? 'key' : KEY_C;
    })().catch((err: unknown) => {
      this.keyOrder = undefined; // asked again next time
      throw err;
    });
    return this.keyOrder;
  }

  /**
   * The key's row, locked, and whether its namespace holds any row yet (the namespace quota
   * counts only when a put opens a new one): one statement, one round trip.
   */
  private async lookUp(trx: Knex.Transaction, ids: { tenant_id: string; install_id: string }, ns: string, k: string): Promise<{ existing?: ExistingRow; namespaceInUse: boolean }> {
    const result = await trx.raw(
      `select e.revision, e.size, e.expired,
              exists(select 1 from ${records} where tenant_id = ? and install_id = ? and namespace = ?) as namespace_in_use
       from (select 1) as one
       left join lateral (
         select revision, ${RECORD_SIZE_SQL}::int as size, (expires_at is not null and expires_at <= now()) as expired
         from ${records} where tenant_id = ? and install_id = ? and namespace = ? and key = ? for update
       ) as e on true`,
      [ids.tenant_id, ids.install_id, ns, ids.tenant_id, ids.install_id, ns, k],
    );
    const row = (result.rows as Array<{ revision: number | null; size: number | null; expired: boolean | null; namespace_in_use: boolean }>)[0];
    const existing = row.revision === null ? undefined : { revision: Number(row.revision), size: Number(row.size), expired: row.expired === true };
    return { existing, namespaceInUse: row.namespace_in_use === true };
  }

  /**
   * A record's write and the usage it leaves, as one statement (the write as a data-modifying
   * CTE): one round trip instead of two, in the transaction that holds the usage lock.
   */
  private async withUsage(trx: Knex.Transaction, write: Knex.QueryBuilder, ids: { tenant_id: string; install_id: string }, next: UsageRow, now: Date): Promise<void> {
    const { sql, bindings } = write.toSQL();
    await trx.raw(
      `with written as (${sql}) update ${usage} set key_count = ?, total_bytes = ?, updated_at = ? where tenant_id = ? and install_id = ?`,
      [...bindings, next.key_count, next.total_bytes, now, ids.tenant_id, ids.install_id],
    );
  }

  /**
   * The usage row is the install's write lock: created on first put, locked by the same
   * statement (an upsert's DO UPDATE takes the row lock, as FOR UPDATE would), one round trip
   * instead of two. A row of another tenant under this install id is not returned.
   */
  private async lockUsage(trx: Knex.Transaction, ids: { tenant_id: string; install_id: string }): Promise<UsageRow | undefined> {
    const result = await trx.raw(
      `insert into ${usage} (tenant_id, install_id, key_count, total_bytes) values (?, ?, 0, 0)
       on conflict (install_id) do update set key_count = ${usage}.key_count where ${usage}.tenant_id = excluded.tenant_id
       returning key_count, total_bytes`,
      [ids.tenant_id, ids.install_id],
    );
    return (result.rows as UsageRow[])[0];
  }

  /** Removes the install's expired rows and corrects its usage; true if any were removed. Caller holds the usage lock. */
  private async purgeExpired(trx: Knex.Transaction, ids: { tenant_id: string; install_id: string }, u: UsageRow): Promise<boolean> {
    const result = await trx.raw(
      `with gone as (delete from ${records} where tenant_id = ? and install_id = ? and expires_at is not null and expires_at <= now() returning ${RECORD_SIZE_SQL} as size)
       select count(*)::int as keys, coalesce(sum(size), 0)::bigint as bytes from gone`,
      [ids.tenant_id, ids.install_id],
    );
    const { keys, bytes } = (result.rows as Array<{ keys: number; bytes: number }>)[0];
    if (keys === 0) return false;
    await trx(usage).where(ids).update({ key_count: u.key_count - keys, total_bytes: u.total_bytes - bytes, updated_at: new Date() });
    return true;
  }
}
