/**
 * The database layer on the engine under test (in-memory PGlite; PostgreSQL when
 * ALGA_TEST_DATABASE_URL is set): value types, unavailability detection, test isolation.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, migrateLatest, openDatabase } from '../../src/db/database.ts';
import type { Database } from '../../src/db/database.ts';
import { openTestDatabase } from '../../src/db/test-database.ts';

const url = process.env.ALGA_TEST_DATABASE_URL;
const engineUnderTest = url ? 'postgres' : 'pglite';

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe(`type normalisation on ${engineUnderTest}`, () => {
  let db: Database;
  let tenantId: string;
  let installId: string;

  beforeAll(async () => {
    db = await openTestDatabase();
    const { knex } = db;
    tenantId = randomUUID();
    installId = randomUUID();
    const publisherId = randomUUID(), keyId = randomUUID(), registryId = randomUUID(), versionId = randomUUID();
    await knex('tenant').insert({ id: tenantId, name: 't' });
    await knex('publisher').insert({ id: publisherId, name: 'p' });
    await knex('publisher_key').insert({ id: keyId, publisher_id: publisherId, kid: 'k', public_key: 'x' });
    await knex('extension_bundle').insert({ content_hash: 'a'.repeat(64), size_bytes: 2 ** 40 + 7 });
    await knex('extension_registry').insert({ id: registryId, name: 'e', publisher_id: publisherId });
    await knex('extension_version').insert({
      id: versionId, registry_id: registryId, version: '1.0.0', content_hash: 'a'.repeat(64),
      manifest: JSON.stringify({ name: 'e', nested: { list: [1, 'two', null, true] } }), signature: 's', publisher_key_id: keyId, imports: '[]',
    });
    await knex('tenant_extension_install').insert({
      id: installId, tenant_id: tenantId, registry_id: registryId, version_id: versionId, status: 'enabled', granted_capabilities: JSON.stringify(['storage']),
    });
  });
  afterAll(async () => { await db?.close(); });

  it('reports the engine under test', () => {
    expect(db.engine).toBe(engineUnderTest);
  });

  it('returns bigint and numeric columns as numbers', async () => {
    const bundle = await db.knex('extension_bundle').first();
    expect(bundle.size_bytes).toBe(2 ** 40 + 7);
    const { rows } = await db.knex.raw(`select 9007199254740991::int8 as max_safe, -42::bigint as neg, 12.5::numeric as num, 3::numeric(10,2) as num2, 7::int4 as i4`);
    expect(rows[0]).toEqual({ max_safe: Number.MAX_SAFE_INTEGER, neg: -42, num: 12.5, num2: 3, i4: 7 });
    expect(await db.knex('extension_bundle').count({ n: '*' }).first()).toEqual({ n: 1 });
    expect(await db.knex('extension_bundle').sum({ s: 'size_bytes' }).first()).toEqual({ s: 2 ** 40 + 7 });
  });

  it('refuses an int8 that a JS number cannot hold exactly instead of rounding it', async () => {
    const err = await caught(db.knex.raw(`select 9007199254740993::int8 as too_big`));
    expect(String((err as Error).message)).toMatch(/does not fit a JS number/);
  });

  it('returns identity ids, revisions and usage counters as numbers', async () => {
    const [log] = await db.knex('extension_log')
      .insert({ tenant_id: tenantId, install_id: installId, request_id: 'r1', level: 'info', message: 'm', fields: JSON.stringify({ a: [1, { b: 'c' }] }) })
      .returning('*');
    expect(typeof log.id).toBe('number');
    expect(log.fields).toEqual({ a: [1, { b: 'c' }] });
    const [usage] = await db.knex('ext_storage_usage').insert({ install_id: installId, tenant_id: tenantId }).returning('*');
    expect(usage).toMatchObject({ key_count: 0, total_bytes: 0 });
    const [next] = await db.knex('ext_storage_usage').where({ install_id: installId })
      .update({ total_bytes: db.knex.raw('total_bytes + ?', [2 ** 33]), key_count: db.knex.raw('key_count + 1') }).returning(['key_count', 'total_bytes']);
    expect(next).toEqual({ key_count: 1, total_bytes: 2 ** 33 });
  });

  it('returns jsonb parsed', async () => {
    const version = await db.knex('extension_version').first('manifest', 'imports');
    expect(version).toEqual({ manifest: { name: 'e', nested: { list: [1, 'two', null, true] } }, imports: [] });
    const install = await db.knex('tenant_extension_install').where({ id: installId }).first('granted_capabilities', 'granted_http_hosts');
    expect(install).toEqual({ granted_capabilities: ['storage'], granted_http_hosts: null });
    const { rows } = await db.knex.raw(`select '"str"'::jsonb as s, '42'::jsonb as n, 'null'::jsonb as jn, '{"k":"v"}'::json as j`);
    expect(rows[0]).toEqual({ s: 'str', n: 42, jn: null, j: { k: 'v' } });
  });

  it('returns bytea as a Buffer with every byte intact', async () => {
    const value = Buffer.from([0, 1, 2, 0x5c, 0x27, 0x7f, 0x80, 0xfe, 0xff, 0]);
    await db.knex('ext_storage_records').insert({ tenant_id: tenantId, install_id: installId, namespace: 'ns', key: 'bin', value, revision: 2 ** 35 });
    const row = await db.knex('ext_storage_records').where({ install_id: installId, key: 'bin' }).first();
    expect(Buffer.isBuffer(row.value)).toBe(true);
    expect(row.value.equals(value)).toBe(true);
    expect(row.revision).toBe(2 ** 35);
    // A Uint8Array that is not a Buffer writes the same bytes.
    await db.knex('ext_storage_records').insert({ tenant_id: tenantId, install_id: installId, namespace: 'ns', key: 'u8', value: new Uint8Array([9, 8, 7]), revision: 1 });
    const u8 = await db.knex('ext_storage_records').where({ install_id: installId, key: 'u8' }).first('value');
    expect(Buffer.isBuffer(u8.value) && [...u8.value]).toEqual([9, 8, 7]);
    const empty = await db.knex.raw(`select ''::bytea as e`);
    expect(Buffer.isBuffer(empty.rows[0].e) && empty.rows[0].e.length).toBe(0);
  });

  it('returns timestamptz as Date, defaults to now() and round-trips exact milliseconds', async () => {
    const before = Date.now();
    const expires = new Date('2031-02-03T04:05:06.789Z');
    const [row] = await db.knex('ext_storage_records')
      .insert({ tenant_id: tenantId, install_id: installId, namespace: 'ns', key: 'time', value: Buffer.from('x'), revision: 1, expires_at: expires })
      .returning(['created_at', 'updated_at', 'expires_at']);
    for (const k of ['created_at', 'updated_at', 'expires_at']) expect(row[k]).toBeInstanceOf(Date);
    expect(row.expires_at.toISOString()).toBe(expires.toISOString());
    expect(Math.abs(row.created_at.getTime() - before)).toBeLessThan(60_000);
    const read = await db.knex('ext_storage_records').where({ install_id: installId, key: 'time' }).first('expires_at');
    expect(read.expires_at.getTime()).toBe(expires.getTime());
    expect(await db.knex('ext_storage_records').where('expires_at', '>', new Date('2031-02-03T04:05:06.788Z')).where({ key: 'time' }).count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('returns uuids and text as strings and integers as numbers', async () => {
    const install = await db.knex('tenant_extension_install').where({ id: installId }).first('id', 'tenant_id', 'status', 'secrets_version');
    expect(install).toEqual({ id: installId, tenant_id: tenantId, status: 'enabled', secrets_version: 0 });
  });
});

describe('isDatabaseUnavailable', () => {
  it('is true for a real connection failure: PostgreSQL at 127.0.0.1:1 (nothing listens) refuses the connection', async () => {
    const db = await openDatabase({ url: 'postgres://alga:alga@127.0.0.1:1/nothing' });
    try {
      expect(db.engine).toBe('postgres');
      const err = await caught(db.knex.raw('select 1'));
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await db.close();
    }
  });

  it('is false for ordinary query errors from the engine under test', async () => {
    const db = await openTestDatabase();
    try {
      const syntax = await caught(db.knex.raw('selec 1'));
      const missing = await caught(db.knex('no_such_table').select());
      const id = randomUUID();
      await db.knex('tenant').insert({ id, name: 'a' });
      const duplicate = await caught(db.knex('tenant').insert({ id, name: 'b' }));
      const notNull = await caught(db.knex('tenant').insert({ id: randomUUID(), name: null }));
      for (const err of [syntax, missing, duplicate, notNull]) {
        expect(err).toBeInstanceOf(Error);
        expect(isDatabaseUnavailable(err)).toBe(false);
      }
      expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
      expect(isDatabaseUnavailable(undefined)).toBe(false);
      expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('is true for a knex pool acquisition timeout and for a wrapped connection error', async () => {
    const { default: knexFactory } = await import('knex');
    const timeout = new knexFactory.KnexTimeoutError('Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?');
    expect(isDatabaseUnavailable(timeout)).toBe(true);
    expect(isDatabaseUnavailable(new knexFactory.KnexTimeoutError('Defined query timeout of 5ms exceeded when running query.'))).toBe(false);
    const db = await openDatabase({ url: 'postgres://alga:alga@127.0.0.1:1/nothing' });
    try {
      const refused = await caught(db.knex.raw('select 1'));
      expect(isDatabaseUnavailable(new Error('loading install failed', { cause: refused }))).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('is true for a query on a closed database (shutting down)', async () => {
    const db = await openDatabase(url ? { url } : {});
    await db.close();
    expect(isDatabaseUnavailable(await caught(db.knex.raw('select 1')))).toBe(true);
  });

  it.skipIf(!url)('is true when PostgreSQL terminates the session (pg_terminate_backend)', async () => {
    const victim = await openTestDatabase();
    const admin = await openTestDatabase();
    try {
      const err = await caught(victim.knex.transaction(async (trx) => {
        const { rows } = await trx.raw('select pg_backend_pid() as pid');
        await admin.knex.raw('select pg_terminate_backend(?)', [rows[0].pid]);
        await trx.raw('select 1');
      }));
      expect(isDatabaseUnavailable(err)).toBe(true);
      // The pool recovers: the next query gets a fresh connection.
      expect((await victim.knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await victim.close();
      await admin.close();
    }
  });
});

describe('openTestDatabase', () => {
  it('gives each call its own migrated, isolated database', async () => {
    const a = await openTestDatabase();
    const b = await openTestDatabase();
    try {
      expect(a.engine).toBe(engineUnderTest);
      const id = randomUUID();
      await a.knex('tenant').insert({ id, name: 'only in a' });
      expect(await a.knex('tenant').pluck('name')).toEqual(['only in a']);
      expect(await b.knex('tenant').pluck('name')).toEqual([]);
      // Same primary key in b does not collide with a.
      await b.knex('tenant').insert({ id, name: 'only in b' });
      expect(await a.knex('tenant').where({ id }).first('name')).toEqual({ name: 'only in a' });
      if (url) {
        const [sa, sb] = await Promise.all([a, b].map(async (d) => (await d.knex.raw('select current_schema() as s')).rows[0].s as string));
        expect(sa).not.toBe(sb);
        await a.close();
        const exists = await b.knex.raw('select count(*) as n from pg_namespace where nspname = ?', [sa]);
        expect(exists.rows[0].n).toBe(0); // close() dropped a's schema
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('openDatabase', () => {
  it('persists a PGlite database in dataDir across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alga-db-'));
    try {
      const first = await openDatabase({ dataDir: join(dir, 'db') });
      expect(first.engine).toBe('pglite');
      await migrateLatest(first);
      const id = randomUUID();
      await first.knex('tenant').insert({ id, name: 'persisted' });
      await first.close();
      const second = await openDatabase({ dataDir: join(dir, 'db') });
      try {
        await migrateLatest(second); // already at latest: a no-op
        expect(await second.knex('tenant').where({ id }).first('name')).toEqual({ name: 'persisted' });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses and creates the requested schema', async () => {
    const schema = `alga_schema_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const db = await openDatabase(url ? { url, schema } : { schema });
    try {
      expect((await db.knex.raw('select current_schema() as s')).rows[0].s).toBe(schema);
      await migrateLatest(db);
      const { rows } = await db.knex.raw(`select count(*) as n from information_schema.tables where table_schema = ? and table_name = 'tenant'`, [schema]);
      expect(rows[0].n).toBe(1);
    } finally {
      if (url) await db.knex.raw('drop schema if exists ?? cascade', [schema]);
      await db.close();
    }
  });

  it('rejects unsupported urls and unsafe schema names', async () => {
    await expect(openDatabase({ url: 'mysql://x@y/z' })).rejects.toThrow(/postgres:\/\//);
    await expect(openDatabase({ schema: 'a"; drop table x; --' })).rejects.toThrow(/invalid schema name/);
  });
});

describe(`query results on ${engineUnderTest}`, () => {
  let db: Database;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(async () => { await db?.close(); });

  it('update, delete and increment resolve to the affected row count', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await db.knex('tenant').insert(ids.map((id, i) => ({ id, name: `n${i}` })));
    expect(await db.knex('tenant').whereIn('id', ids.slice(0, 2)).update({ name: 'renamed' })).toBe(2);
    expect(await db.knex('tenant').where({ id: randomUUID() }).update({ name: 'x' })).toBe(0);
    expect(await db.knex('tenant').where({ id: ids[0] }).delete()).toBe(1);
    expect(await db.knex('tenant').where({ id: ids[0] }).del()).toBe(0);
    const installId = randomUUID();
    // ext_storage_usage has no FK to tenant; make an install for it.
    const pub = randomUUID(), key = randomUUID(), reg = randomUUID(), ver = randomUUID();
    await db.knex('publisher').insert({ id: pub, name: 'p' });
    await db.knex('publisher_key').insert({ id: key, publisher_id: pub, kid: 'k', public_key: 'x' });
    await db.knex('extension_bundle').insert({ content_hash: 'b'.repeat(64), size_bytes: 1 });
    await db.knex('extension_registry').insert({ id: reg, name: 'e', publisher_id: pub });
    await db.knex('extension_version').insert({ id: ver, registry_id: reg, version: '1', content_hash: 'b'.repeat(64), manifest: '{}', signature: 's', publisher_key_id: key, imports: '[]' });
    await db.knex('tenant_extension_install').insert({ id: installId, tenant_id: ids[1], registry_id: reg, version_id: ver, status: 'enabled', granted_capabilities: '[]' });
    await db.knex('ext_storage_usage').insert({ install_id: installId, tenant_id: ids[1] });
    expect(await db.knex('ext_storage_usage').where({ install_id: installId }).increment('key_count', 3)).toBe(1);
    expect(await db.knex('tenant_extension_install').where({ id: installId }).increment('secrets_version', 1).returning('secrets_version')).toEqual([{ secrets_version: 1 }]);
    expect(await db.knex('tenant').whereIn('id', ids).orderBy('name').pluck('name')).toEqual(['n2', 'renamed']);
    expect(await db.knex('tenant').where({ id: ids[2] }).first('name')).toEqual({ name: 'n2' });
    expect(await db.knex('tenant').where({ id: randomUUID() }).first()).toBeUndefined();
  });

  it('transactions commit and roll back', async () => {
    const id = randomUUID();
    await expect(db.knex.transaction(async (trx) => {
      await trx('tenant').insert({ id, name: 'rolled back' });
      throw new Error('abort');
    })).rejects.toThrow('abort');
    expect(await db.knex('tenant').where({ id }).first()).toBeUndefined();
    await db.knex.transaction(async (trx) => { await trx('tenant').insert({ id, name: 'committed' }); });
    expect(await db.knex('tenant').where({ id }).first('name')).toEqual({ name: 'committed' });
  });
});
