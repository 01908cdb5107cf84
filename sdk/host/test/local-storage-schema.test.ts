/**
 * Local storage (`openLocalStorage`) must keep exactly the gateway's storage semantics, so its
 * two tables must be the gateway's: this compares them with a database migrated by the repo's
 * migrations (columns, types, nullability, defaults, collation, keys, indexes; the foreign keys
 * to tenant_extension_install are the one intended difference), then exercises the service on
 * local storage, in memory and in a data directory kept across reopening.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
// Test only: the host package does not depend on the gateway, but its migrations are the reference.
import { migrateLatest, openDatabase, type Database } from '../../../gateway/src/db/database.ts';
import { gatewayConfigSchema } from '../../../gateway/src/config.ts';
import { openLocalStorage, type LocalStorage } from '../src/storage/local-storage.ts';
import { DEFAULT_STORAGE_QUOTAS, type StorageScope } from '../src/storage/storage-service.ts';

const TABLES: string[] = ['ext_storage_records', 'ext_storage_usage'];

/** Everything about the two tables that storage code could depend on, in a stable order. */
async function schemaOf(knex: Knex) {
  const columns = await knex.raw(
    `select table_name, column_name, data_type, udt_name, is_nullable, column_default, collation_name,
            character_maximum_length, numeric_precision, datetime_precision, is_identity, is_generated
       from information_schema.columns
      where table_schema = current_schema() and table_name = any(?)
      order by table_name, column_name`,
    [TABLES],
  );
  // indexdef names the schema; both databases use the default one.
  const indexes = await knex.raw(
    `select tablename, indexname, indexdef from pg_indexes
      where schemaname = current_schema() and tablename = any(?) order by tablename, indexname`,
    [TABLES],
  );
  // pg_constraint rather than information_schema: the latter names NOT NULL checks by OID.
  const constraints = await knex.raw(
    `select c.conrelid::regclass::text as table_name, c.conname, c.contype, pg_get_constraintdef(c.oid) as definition
       from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = current_schema() and c.conrelid::regclass::text = any(?)
      order by 1, 2`,
    [TABLES],
  );
  const triggers = await knex.raw(
    `select event_object_table, trigger_name from information_schema.triggers
      where trigger_schema = current_schema() and event_object_table = any(?) order by 1, 2`,
    [TABLES],
  );
  type Constraint = { table_name: string; conname: string; contype: string; definition: string };
  const all = constraints.rows as Constraint[];
  return {
    columns: columns.rows as Array<Record<string, unknown>>,
    indexes: indexes.rows as Array<Record<string, unknown>>,
    constraints: all.filter((c) => c.contype !== 'f'),
    foreignKeys: all.filter((c) => c.contype === 'f'),
    triggers: triggers.rows as Array<Record<string, unknown>>,
  };
}

describe('local storage schema = the gateway migrations\' storage tables', () => {
  let gateway: Database;
  let local: LocalStorage;

  beforeAll(async () => {
    gateway = await openDatabase({ dataDir: 'memory' });
    await migrateLatest(gateway);
    local = await openLocalStorage({ dataDir: 'memory' });
  });
  afterAll(async () => {
    await gateway?.close();
    await local?.close();
  });

  it('has the same columns (name, type, nullability, default, collation), keys and indexes', async () => {
    const expected = await schemaOf(gateway.knex);
    const actual = await schemaOf(local.knex);
    // A comparison of two empty lists would prove nothing.
    expect(expected.columns.length).toBeGreaterThan(10);
    expect(expected.indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(['ext_storage_records_pkey', 'ext_storage_usage_pkey']));
    expect(actual.columns).toEqual(expected.columns);
    expect(actual.indexes).toEqual(expected.indexes);
    expect(actual.constraints).toEqual(expected.constraints);
    expect(actual.triggers).toEqual(expected.triggers);
  });

  it('differs only by the foreign keys to tenant_extension_install, which the gateway has and local storage cannot', async () => {
    const expected = await schemaOf(gateway.knex);
    expect(expected.foreignKeys.map((f) => [f.table_name, f.definition])).toEqual([
      ['ext_storage_records', 'FOREIGN KEY (install_id) REFERENCES tenant_extension_install(id) ON DELETE CASCADE'],
      ['ext_storage_usage', 'FOREIGN KEY (install_id) REFERENCES tenant_extension_install(id) ON DELETE CASCADE'],
    ]);
    expect((await schemaOf(local.knex)).foreignKeys).toEqual([]);
  });

  it('the comparison sees a column added to one side only', async () => {
    const drifted = await openLocalStorage({ dataDir: 'memory' });
    try {
      await drifted.knex.schema.alterTable('ext_storage_records', (t) => { t.text('extra'); });
      expect((await schemaOf(drifted.knex)).columns).not.toEqual((await schemaOf(gateway.knex)).columns);
    } finally {
      await drifted.close();
    }
  });
});

const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof AlgaError ? e.code : String(e);
  }
};

describe('openLocalStorage', () => {
  const dirs: string[] = [];
  const opened: LocalStorage[] = [];
  async function open(opts: Parameters<typeof openLocalStorage>[0]): Promise<LocalStorage> {
    const s = await openLocalStorage(opts);
    opened.push(s);
    return s;
  }
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const newScope = (namespaces: string[] | null = null): StorageScope => ({ tenantId: randomUUID(), installId: randomUUID(), namespaces });

  it('defaults to the gateway\'s quotas', async () => {
    const s = await open({ dataDir: 'memory' });
    const d = gatewayConfigSchema.parse({});
    expect(s.service.quotas).toEqual({ maxKeys: d.storageMaxKeys, maxValueBytes: d.storageMaxValueBytes, maxTotalBytes: d.storageMaxTotalBytes, maxNamespaces: d.storageMaxNamespaces });
    expect(s.service.quotas).toEqual(DEFAULT_STORAGE_QUOTAS);
    expect((await open({ dataDir: 'memory', quotas: { maxKeys: 2 } })).service.quotas).toEqual({ ...DEFAULT_STORAGE_QUOTAS, maxKeys: 2 });
    await expect(openLocalStorage({ dataDir: 'memory', quotas: { maxTotalBytes: 0 } })).rejects.toThrow(/maxTotalBytes must be a positive integer/);
  });

  it('put, get, list (bytewise order, cursors), delete, and the manifest namespace list', async () => {
    const s = await open({ dataDir: 'memory' });
    const scope = newScope(['cache', 'state']);
    expect(await s.service.put(scope, 'cache', 'b', Buffer.from('2'))).toBe(1);
    expect(await s.service.put(scope, 'cache', 'b', Buffer.from('22'))).toBe(2);
    for (const k of ['a', 'B', 'é', 'ab', 'Z']) await s.service.put(scope, 'cache', k, Buffer.from(k));
    expect(await s.service.get(scope, 'cache', 'b')).toEqual({ key: 'b', value: Buffer.from('22'), revision: 2 });
    expect(await s.service.get(scope, 'state', 'b')).toBeNull();
    // Code point order, whatever the locale: upper case before lower case, é last.
    expect((await s.service.list(scope, 'cache')).keys).toEqual(['B', 'Z', 'a', 'ab', 'b', 'é']);
    expect(await s.service.list(scope, 'cache', { prefix: 'a' })).toEqual({ keys: ['a', 'ab'], nextCursor: null });
    const first = await s.service.list(scope, 'cache', { limit: 4 });
    expect(first.keys).toEqual(['B', 'Z', 'a', 'ab']);
    expect(await s.service.list(scope, 'cache', { limit: 4, cursor: first.nextCursor })).toEqual({ keys: ['b', 'é'], nextCursor: null });
    expect(await s.service.delete(scope, 'cache', 'b')).toBe(true);
    expect(await s.service.delete(scope, 'cache', 'b')).toBe(false);
    expect(await s.service.get(scope, 'cache', 'b')).toBeNull();
    expect(await code(s.service.put(scope, 'other', 'k', Buffer.from('x')))).toBe('E_FORBIDDEN');
    // Another install, even in the same tenant, sees nothing.
    expect(await s.service.get({ ...scope, installId: randomUUID() }, 'cache', 'a')).toBeNull();
  });

  it('compare-and-set: a stale or wrong expectedRevision is E_CONFLICT and changes nothing', async () => {
    const s = await open({ dataDir: 'memory' });
    const scope = newScope();
    expect(await s.service.put(scope, 'ns', 'k', Buffer.from('v1'), 0)).toBe(1);
    expect(await code(s.service.put(scope, 'ns', 'k', Buffer.from('v2'), 0))).toBe('E_CONFLICT');
    expect(await s.service.put(scope, 'ns', 'k', Buffer.from('v2'), 1)).toBe(2);
    expect(await code(s.service.put(scope, 'ns', 'k', Buffer.from('v3'), 1))).toBe('E_CONFLICT');
    expect(await code(s.service.delete(scope, 'ns', 'k', 1))).toBe('E_CONFLICT');
    expect(await s.service.get(scope, 'ns', 'k')).toEqual({ key: 'k', value: Buffer.from('v2'), revision: 2 });
    expect(await s.service.delete(scope, 'ns', 'k', 2)).toBe(true);
  });

  it('a refused put (quota) leaves records and usage as they were; quotas count key bytes', async () => {
    const s = await open({ dataDir: 'memory', quotas: { maxKeys: 2, maxValueBytes: 8, maxTotalBytes: 20, maxNamespaces: 1 } });
    const scope = newScope();
    await s.service.put(scope, 'ns', 'k1', Buffer.from('12345678')); // 2 + 8 = 10 bytes
    const usage = () => s.knex('ext_storage_usage').where({ install_id: scope.installId }).first('key_count', 'total_bytes');
    const before = { dump: await s.dump(scope), usage: await usage() };
    expect(before.usage).toEqual({ key_count: 1, total_bytes: 10 });
    expect(await code(s.service.put(scope, 'ns', 'k2', Buffer.alloc(9)))).toBe('E_QUOTA_EXCEEDED'); // value over 8
    expect(await code(s.service.put(scope, 'ns', 'k-long', Buffer.alloc(8)))).toBe('E_QUOTA_EXCEEDED'); // 10 + 6 + 8 > 20
    expect(await code(s.service.put(scope, 'other', 'k', Buffer.alloc(1)))).toBe('E_QUOTA_EXCEEDED'); // a second namespace
    expect(await code(s.service.put(scope, 'ns', 'k1', Buffer.alloc(9), 1))).toBe('E_QUOTA_EXCEEDED'); // overwrite too big
    expect({ dump: await s.dump(scope), usage: await usage() }).toEqual(before);
    await s.service.put(scope, 'ns', 'k2', Buffer.alloc(1));
    expect(await code(s.service.put(scope, 'ns', 'k3', Buffer.alloc(1)))).toBe('E_QUOTA_EXCEEDED'); // a third key
    expect(await usage()).toEqual({ key_count: 2, total_bytes: 13 });
  });

  it('expired records are absent to get, list and dump', async () => {
    const s = await open({ dataDir: 'memory' });
    const scope = newScope();
    await s.service.put(scope, 'ns', 'live', Buffer.from('1'));
    await s.service.put(scope, 'ns', 'gone', Buffer.from('2'));
    await s.knex('ext_storage_records').where({ install_id: scope.installId, key: 'gone' }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await s.service.get(scope, 'ns', 'gone')).toBeNull();
    expect((await s.service.list(scope, 'ns')).keys).toEqual(['live']);
    expect((await s.dump(scope)).map((r) => r.key)).toEqual(['live']);
    expect(await s.service.put(scope, 'ns', 'gone', Buffer.from('3'), 0)).toBe(1);
  });

  it('dump returns the install\'s records (namespace, key, value bytes, revision) in bytewise order, and only its own', async () => {
    const s = await open({ dataDir: 'memory' });
    const scope = newScope();
    const neighbour = { ...scope, installId: randomUUID() };
    await s.service.put(scope, 'state', 'x', new Uint8Array([0, 255, 10]));
    await s.service.put(scope, 'cache', 'b', Buffer.from('B'));
    await s.service.put(scope, 'cache', 'b', Buffer.from('B2'));
    await s.service.put(scope, 'cache', 'A', Buffer.from('a'));
    await s.service.put(neighbour, 'cache', 'n', Buffer.from('n'));
    expect(await s.dump(scope)).toEqual([
      { namespace: 'cache', key: 'A', value: Buffer.from('a'), revision: 1 },
      { namespace: 'cache', key: 'b', value: Buffer.from('B2'), revision: 2 },
      { namespace: 'state', key: 'x', value: Buffer.from([0, 255, 10]), revision: 1 },
    ]);
    const [first] = await s.dump(scope);
    expect(Buffer.isBuffer(first.value)).toBe(true);
    expect(await s.dump({ tenantId: scope.tenantId, installId: randomUUID() })).toEqual([]);
  });

  it('keeps the data of a data directory across close and reopen, usage included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alga-local-storage-'));
    dirs.push(dir);
    const dataDir = join(dir, 'storage'); // created on first open
    const scope = newScope();
    const first = await openLocalStorage({ dataDir, quotas: { maxKeys: 2 } });
    await first.service.put(scope, 'ns', 'k', Buffer.from('v'));
    await first.service.put(scope, 'ns', 'k', Buffer.from('v2'));
    await first.close();
    await first.close(); // idempotent

    const second = await open({ dataDir, quotas: { maxKeys: 2 } });
    expect(await second.service.get(scope, 'ns', 'k')).toEqual({ key: 'k', value: Buffer.from('v2'), revision: 2 });
    await second.service.put(scope, 'ns', 'k2', Buffer.from('v'));
    // The key count survived too: a third key is over the quota of 2.
    expect(await code(second.service.put(scope, 'ns', 'k3', Buffer.from('v')))).toBe('E_QUOTA_EXCEEDED');
  });

  it('reset() empties every install\'s storage and usage; revisions start over', async () => {
    const s = await open({ dataDir: 'memory' });
    const a = newScope(), b = newScope();
    await s.service.put(a, 'ns', 'k', Buffer.from('1'));
    await s.service.put(a, 'ns', 'k', Buffer.from('2'));
    await s.service.put(b, 'ns', 'k', Buffer.from('1'));
    await s.reset();
    expect(await s.dump(a)).toEqual([]);
    expect(await s.dump(b)).toEqual([]);
    expect(await s.knex('ext_storage_usage').count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await s.service.put(a, 'ns', 'k', Buffer.from('3'), 0)).toBe(1);
  });
});
