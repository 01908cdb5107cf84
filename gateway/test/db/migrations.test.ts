/**
 * The migrations on the engine under test (in-memory PGlite; PostgreSQL when
 * ALGA_TEST_DATABASE_URL is set): forward from empty, back to empty, the column contract,
 * the tenant indexes, and the unique / foreign-key / check constraints.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { migrateLatest, migrationConfig, openDatabase, rollbackAll } from '../../src/db/database.ts';
import type { Database } from '../../src/db/database.ts';
import { openTestDatabase } from '../../src/db/test-database.ts';

const url = process.env.ALGA_TEST_DATABASE_URL;

/** An empty database (no migrations applied): a fresh schema on PostgreSQL, a fresh PGlite otherwise. */
async function openEmptyDatabase(): Promise<Database> {
  if (!url) return openDatabase();
  const schema = `alga_mig_${randomBytes(8).toString('hex')}`;
  const db = await openDatabase({ url, schema });
  return {
    ...db,
    close: async () => {
      try { await db.knex.raw('drop schema if exists ?? cascade', [schema]); } finally { await db.close(); }
    },
  };
}

async function tables(knex: Knex): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: Array<{ table_name: string }> }>(
    `select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  return rows.map((r) => r.table_name);
}

const knexTables = ['knex_migrations', 'knex_migrations_lock'];
const steps: Array<{ file: string; tables: string[] }> = [
  { file: '001_identity.ts', tables: ['tenant', 'api_key', 'publisher', 'publisher_key'] },
  { file: '002_registry.ts', tables: ['extension_bundle', 'extension_registry', 'extension_version'] },
  { file: '003_installs.ts', tables: ['tenant_extension_install', 'tenant_extension_install_config', 'tenant_extension_install_secrets'] },
  { file: '004_storage_and_logs.ts', tables: ['ext_storage_records', 'ext_storage_usage', 'extension_execution_log', 'extension_log'] },
  { file: '005_sessions_and_name_prefixes.ts', tables: ['api_session', 'publisher_name_prefix'] },
  { file: '006_storage_usage_counts_keys.ts', tables: [] },
  { file: '007_log_content_hash.ts', tables: [] },
  { file: '008_operator_capability_policy.ts', tables: ['operator_disabled_capability'] },
  { file: '009_scale_out.ts', tables: ['extension_bundle_blob', 'rate_limit_bucket'] },
];
const allTables = steps.flatMap((s) => s.tables);
const sorted = (xs: string[]) => [...xs].sort();

describe('migrations', () => {
  it('run forward one at a time from an empty schema, roll back to empty, and run again', async () => {
    const db = await openEmptyDatabase();
    try {
      const { knex } = db;
      expect(await tables(knex)).toEqual([]);

      const expected: string[] = [...knexTables];
      for (const step of steps) {
        const [, applied] = (await knex.migrate.up(migrationConfig())) as [number, string[]];
        expect(applied).toEqual([step.file]);
        expected.push(...step.tables);
        expect(await tables(knex)).toEqual(sorted(expected));
      }
      expect((await knex.migrate.up(migrationConfig()))[1]).toEqual([]);

      for (const step of [...steps].reverse()) {
        const [, reverted] = (await knex.migrate.down(migrationConfig())) as [number, string[]];
        expect(reverted).toEqual([step.file]);
        for (const t of step.tables) expected.splice(expected.indexOf(t), 1);
        expect(await tables(knex)).toEqual(sorted(expected));
      }
      expect(await tables(knex)).toEqual(knexTables);

      await migrateLatest(db);
      expect(await tables(knex)).toEqual(sorted([...knexTables, ...allTables]));
      expect(await knex.migrate.currentVersion(migrationConfig())).toBe('009');

      await rollbackAll(db);
      expect(await tables(knex)).toEqual(knexTables);
      const { rows: leftovers } = await knex.raw<{ rows: unknown[] }>(
        `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relname not like 'knex_migrations%'`,
      );
      expect(leftovers).toEqual([]); // no orphaned sequences or indexes

      await migrateLatest(db);
      expect(await tables(knex)).toEqual(sorted([...knexTables, ...allTables]));
      await migrateLatest(db); // idempotent
      expect(await knex('knex_migrations').count({ n: '*' }).first()).toEqual({ n: steps.length });
    } finally {
      await db.close();
    }
  });
});

describe('schema contract', () => {
  let db: Database;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(async () => { await db?.close(); });

  const uuid = 'uuid', text = 'text', tstz = 'timestamp with time zone', jsonb = 'jsonb', int = 'integer', big = 'bigint', bytea = 'bytea';
  // column -> [data_type, nullable]
  const contract: Record<string, Record<string, [string, boolean]>> = {
    tenant: { id: [uuid, false], name: [text, false], created_at: [tstz, false] },
    api_key: {
      id: [uuid, false], tenant_id: [uuid, false], name: [text, true], key_prefix: [text, false], key_hash: [text, false],
      roles: [jsonb, false], created_at: [tstz, false], expires_at: [tstz, false], revoked_at: [tstz, true], last_used_at: [tstz, true],
    },
    api_session: {
      id: [uuid, false], tenant_id: [uuid, false], api_key_id: [uuid, false], token_hash: [text, false],
      created_at: [tstz, false], expires_at: [tstz, false], revoked_at: [tstz, true],
    },
    publisher: { id: [uuid, false], name: [text, false], created_at: [tstz, false] },
    publisher_name_prefix: { prefix: [text, false], publisher_id: [uuid, false], created_at: [tstz, false] },
    operator_disabled_capability: { id: [uuid, false], tenant_id: [uuid, true], capability: [text, false], disabled_at: [tstz, false] },
    publisher_key: { id: [uuid, false], publisher_id: [uuid, false], kid: [text, false], public_key: [text, false], created_at: [tstz, false], revoked_at: [tstz, true] },
    extension_bundle: { content_hash: [text, false], size_bytes: [big, false], created_at: [tstz, false] },
    extension_bundle_blob: { content_hash: [text, false], bytes: [bytea, false], created_at: [tstz, false] },
    rate_limit_bucket: { key: [text, false], tokens: ['double precision', false], last_granted: ['double precision', false], updated_at: [tstz, false] },
    extension_registry: { id: [uuid, false], name: [text, false], publisher_id: [uuid, false], created_at: [tstz, false] },
    extension_version: {
      id: [uuid, false], registry_id: [uuid, false], version: [text, false], content_hash: [text, false], manifest: [jsonb, false],
      signature: [text, false], publisher_key_id: [uuid, false], imports: [jsonb, false], created_at: [tstz, false],
    },
    tenant_extension_install: {
      id: [uuid, false], tenant_id: [uuid, false], registry_id: [uuid, false], version_id: [uuid, false], status: [text, false],
      granted_capabilities: [jsonb, false], granted_http_hosts: [jsonb, true], pending_version_id: [uuid, true],
      secrets_version: [int, false], created_at: [tstz, false], updated_at: [tstz, false],
    },
    tenant_extension_install_config: { install_id: [uuid, false], tenant_id: [uuid, false], config: [jsonb, false], config_version: [int, false], updated_at: [tstz, false] },
    tenant_extension_install_secrets: {
      id: [uuid, false], tenant_id: [uuid, false], install_id: [uuid, false], key: [text, false], ciphertext: [text, false],
      algorithm: [text, false], key_ref: [text, false], updated_at: [tstz, false],
    },
    ext_storage_records: {
      tenant_id: [uuid, false], install_id: [uuid, false], namespace: [text, false], key: [text, false], value: [bytea, false],
      revision: [big, false], expires_at: [tstz, true], created_at: [tstz, false], updated_at: [tstz, false],
    },
    ext_storage_usage: { install_id: [uuid, false], tenant_id: [uuid, false], key_count: [int, false], total_bytes: [big, false], updated_at: [tstz, false] },
    extension_execution_log: {
      id: [big, false], tenant_id: [uuid, false], install_id: [uuid, true], request_id: [text, false], method: [text, true], route: [text, false],
      status: [int, true], duration_ms: [int, true], error_code: [text, true], created_at: [tstz, false],
    },
    extension_log: {
      id: [big, false], tenant_id: [uuid, false], install_id: [uuid, false], request_id: [text, false], level: [text, false],
      message: [text, false], fields: [jsonb, false], created_at: [tstz, false], content_hash: [text, true],
    },
  };

  it('has exactly the contracted columns, types and nullability', async () => {
    const { rows } = await db.knex.raw<{ rows: Array<{ table_name: string; column_name: string; data_type: string; is_nullable: string }> }>(
      `select table_name, column_name, data_type, is_nullable from information_schema.columns
        where table_schema = current_schema() and table_name not like 'knex_migrations%'`,
    );
    const actual: Record<string, Record<string, [string, boolean]>> = {};
    for (const r of rows) (actual[r.table_name] ??= {})[r.column_name] = [r.data_type, r.is_nullable === 'YES'];
    expect(actual).toEqual(contract);
  });

  it('gives every tenant-scoped table an index whose first column is tenant_id', async () => {
    const { rows } = await db.knex.raw<{ rows: Array<{ table_name: string; first_column: string }> }>(
      `select t.relname as table_name, a.attname as first_column
         from pg_index i
         join pg_class t on t.oid = i.indrelid
         join pg_namespace n on n.oid = t.relnamespace
         join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
        where n.nspname = current_schema()`,
    );
    const tenantTables = Object.keys(contract).filter((t) => 'tenant_id' in contract[t]);
    expect(tenantTables).toHaveLength(10);
    for (const table of tenantTables) {
      expect(rows.filter((r) => r.table_name === table).map((r) => r.first_column), table).toContain('tenant_id');
    }
  });

  it('leaves ids to the application: no defaults on uuid ids', async () => {
    const { rows } = await db.knex.raw<{ rows: Array<{ table_name: string; column_name: string; column_default: string | null }> }>(
      `select table_name, column_name, column_default from information_schema.columns
        where table_schema = current_schema() and data_type = 'uuid' and column_default is not null`,
    );
    expect(rows).toEqual([]);
  });
});

describe('constraints', () => {
  let db: Database;
  let knex: Knex;
  beforeAll(async () => { db = await openTestDatabase(); knex = db.knex; });
  afterAll(async () => { await db?.close(); });

  async function pgCode(p: Promise<unknown>): Promise<string | undefined> {
    try {
      await p;
    } catch (err) {
      return (err as { code?: string }).code;
    }
    throw new Error('expected the statement to be rejected');
  }

  /** A tenant, a published extension with versions 1.0.0 and 1.1.0, and an enabled install of 1.0.0. */
  async function seed() {
    const tenantId = randomUUID(), publisherId = randomUUID(), keyId = randomUUID(), registryId = randomUUID();
    const v1 = randomUUID(), v2 = randomUUID(), installId = randomUUID();
    const hash = randomBytes(32).toString('hex');
    await knex('tenant').insert({ id: tenantId, name: 'Acme' });
    await knex('publisher').insert({ id: publisherId, name: `pub-${publisherId}` });
    await knex('publisher_key').insert({ id: keyId, publisher_id: publisherId, kid: `kid-${keyId}`, public_key: randomBytes(32).toString('base64') });
    await knex('extension_bundle').insert({ content_hash: hash, size_bytes: 1234 });
    await knex('extension_registry').insert({ id: registryId, name: `ext-${registryId}`, publisher_id: publisherId });
    const version = (id: string, v: string) => ({
      id, registry_id: registryId, version: v, content_hash: hash, manifest: JSON.stringify({ name: 'x', version: v }),
      signature: 'sig', publisher_key_id: keyId, imports: JSON.stringify(['alga:extension/context@0.1.0']),
    });
    await knex('extension_version').insert([version(v1, '1.0.0'), version(v2, '1.1.0')]);
    const install = {
      id: installId, tenant_id: tenantId, registry_id: registryId, version_id: v1, status: 'enabled',
      granted_capabilities: JSON.stringify(['context']), granted_http_hosts: null,
    };
    await knex('tenant_extension_install').insert(install);
    return { tenantId, publisherId, keyId, registryId, v1, v2, installId, hash, version, install };
  }

  it('rejects a duplicate (registry_id, version)', async () => {
    const s = await seed();
    expect(await pgCode(knex('extension_version').insert(s.version(randomUUID(), '1.0.0')))).toBe('23505');
    expect(await knex('extension_version').where({ registry_id: s.registryId }).count({ n: '*' }).first()).toEqual({ n: 2 });
  });

  it('rejects a second install of the same extension in the same tenant', async () => {
    const s = await seed();
    expect(await pgCode(knex('tenant_extension_install').insert({ ...s.install, id: randomUUID() }))).toBe('23505');
    // ...while another tenant may install it.
    const other = randomUUID();
    await knex('tenant').insert({ id: other, name: 'Other' });
    await knex('tenant_extension_install').insert({ ...s.install, id: randomUUID(), tenant_id: other });
  });

  it('rejects unknown status, dangling references and duplicate unique names', async () => {
    const s = await seed();
    expect(await pgCode(knex('tenant_extension_install').where({ id: s.installId }).update({ status: 'paused' }))).toBe('23514');
    expect(await pgCode(knex('tenant_extension_install').where({ id: s.installId }).update({ pending_version_id: randomUUID() }))).toBe('23503');
    expect(await pgCode(knex('extension_version').insert({ ...s.version(randomUUID(), '2.0.0'), content_hash: 'f'.repeat(64) }))).toBe('23503');
    expect(await pgCode(knex('publisher_key').insert({ id: randomUUID(), publisher_id: s.publisherId, kid: `kid-${s.keyId}`, public_key: 'x' }))).toBe('23505');
    expect(await pgCode(knex('extension_registry').insert({ id: randomUUID(), name: `ext-${s.registryId}`, publisher_id: s.publisherId }))).toBe('23505');
    expect(await pgCode(knex('publisher').insert({ id: randomUUID(), name: `pub-${s.publisherId}` }))).toBe('23505');
    // A published extension cannot vanish from under an install.
    expect(await pgCode(knex('extension_registry').where({ id: s.registryId }).delete())).toBe('23503');
    await knex('tenant_extension_install').where({ id: s.installId }).update({ pending_version_id: s.v2, status: 'disabled' });
  });

  it('deleting an install removes its config, secrets, storage and usage rows, and keeps the audit logs', async () => {
    const s = await seed();
    const other = await seed(); // a second install whose rows must survive
    for (const x of [s, other]) {
      await knex('tenant_extension_install_config').insert({ install_id: x.installId, tenant_id: x.tenantId, config: JSON.stringify({ a: 1 }), config_version: 1 });
      await knex('tenant_extension_install_secrets').insert([
        { id: randomUUID(), tenant_id: x.tenantId, install_id: x.installId, key: 'token', ciphertext: 'c1', algorithm: 'aes-256-gcm', key_ref: 'k1' },
        { id: randomUUID(), tenant_id: x.tenantId, install_id: x.installId, key: 'other', ciphertext: 'c2', algorithm: 'aes-256-gcm', key_ref: 'k1' },
      ]);
      await knex('ext_storage_records').insert({ tenant_id: x.tenantId, install_id: x.installId, namespace: 'ns', key: 'k', value: Buffer.from('v'), revision: 1 });
      await knex('ext_storage_usage').insert({ install_id: x.installId, tenant_id: x.tenantId, key_count: 1, total_bytes: 1 });
      await knex('extension_execution_log').insert({ tenant_id: x.tenantId, install_id: x.installId, request_id: 'r', method: 'GET', route: '/x', status: 200, duration_ms: 3 });
      await knex('extension_log').insert({ tenant_id: x.tenantId, install_id: x.installId, request_id: 'r', level: 'info', message: 'hi', fields: JSON.stringify({}) });
    }
    // Unique (install_id, key) for secrets and the storage primary key hold.
    expect(await pgCode(knex('tenant_extension_install_secrets').insert({ id: randomUUID(), tenant_id: s.tenantId, install_id: s.installId, key: 'token', ciphertext: 'c', algorithm: 'a', key_ref: 'k' }))).toBe('23505');
    expect(await pgCode(knex('ext_storage_records').insert({ tenant_id: s.tenantId, install_id: s.installId, namespace: 'ns', key: 'k', value: Buffer.from('w'), revision: 2 }))).toBe('23505');

    const count = async (table: string, installId: string) => (await knex(table).where({ install_id: installId }).count({ n: '*' }).first())?.n;
    const owned = ['tenant_extension_install_config', 'tenant_extension_install_secrets', 'ext_storage_records', 'ext_storage_usage'];
    expect(await Promise.all(owned.map((t) => count(t, s.installId)))).toEqual([1, 2, 1, 1]);

    expect(await knex('tenant_extension_install').where({ id: s.installId }).delete()).toBe(1);
    expect(await Promise.all(owned.map((t) => count(t, s.installId)))).toEqual([0, 0, 0, 0]);
    expect(await Promise.all(owned.map((t) => count(t, other.installId)))).toEqual([1, 2, 1, 1]);
    expect(await count('extension_execution_log', s.installId)).toBe(1);
    expect(await count('extension_log', s.installId)).toBe(1);
  });

  it('deleting a tenant removes its API keys and installs (and through them their data)', async () => {
    const s = await seed();
    await knex('api_key').insert({
      id: randomUUID(), tenant_id: s.tenantId, name: 'ci', key_prefix: randomBytes(6).toString('hex'), key_hash: 'h',
      roles: JSON.stringify(['extension:read']), expires_at: new Date(Date.now() + 86_400_000),
    });
    await knex('tenant_extension_install_config').insert({ install_id: s.installId, tenant_id: s.tenantId, config: '{}', config_version: 1 });
    await knex('tenant').where({ id: s.tenantId }).delete();
    expect(await knex('api_key').where({ tenant_id: s.tenantId }).count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await knex('tenant_extension_install').where({ tenant_id: s.tenantId }).count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await knex('tenant_extension_install_config').where({ tenant_id: s.tenantId }).count({ n: '*' }).first()).toEqual({ n: 0 });
    // The registry is not tenant data.
    expect(await knex('extension_version').where({ registry_id: s.registryId }).count({ n: '*' }).first()).toEqual({ n: 2 });
  });

  it('rejects a duplicate API key prefix', async () => {
    const s = await seed();
    const key = { tenant_id: s.tenantId, key_prefix: 'dupprefix', key_hash: 'h', roles: '[]', expires_at: new Date() };
    await knex('api_key').insert({ ...key, id: randomUUID() });
    expect(await pgCode(knex('api_key').insert({ ...key, id: randomUUID() }))).toBe('23505');
  });
});
