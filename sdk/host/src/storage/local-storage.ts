/**
 * Extension key-value storage for a single machine (`alga component dev`, the test host): the
 * gateway's own StorageService on an embedded PGlite, so namespaces, compare-and-set revisions,
 * quotas (key + value bytes), bytewise key order, cursors and expiry behave exactly as in
 * production — not a look-alike in memory that could drift from it.
 *
 * The two tables are created here with the columns, types, keys and indexes of the gateway's
 * migrations (004_storage_and_logs, 006_storage_usage_counts_keys) minus the foreign keys to
 * `tenant_extension_install`: there is no install table locally. `test/local-storage-schema.test.ts`
 * fails when the two drift apart. Tenant and install ids are uuid columns, as in the gateway.
 *
 * @example
 *   const local = await openLocalStorage({ dataDir: '.alga/storage' }); // or 'memory'
 *   const scope = { tenantId, installId, namespaces: ['cache'] };      // ids are UUIDs
 *   await local.service.put(scope, 'cache', 'k', Buffer.from('v'), 0); // 1
 *   await local.dump(scope);   // [{ namespace: 'cache', key: 'k', value: <Buffer 76>, revision: 1 }]
 *   await local.reset();       // every install's keys gone, quotas' usage back to zero
 *   await local.close();       // the data stays in .alga/storage for the next run
 */
import type { Knex } from 'knex';
import { openPgliteKnex } from '../db/pglite-knex.ts';
import { DEFAULT_STORAGE_QUOTAS, StorageService, type StorageQuotas } from './storage-service.ts';

export interface LocalStorageOptions {
  /** A directory kept between runs (created if missing), or 'memory'. */
  dataDir: string | 'memory';
  /** Overrides of DEFAULT_STORAGE_QUOTAS (the gateway's defaults), e.g. to try a quota error. */
  quotas?: Partial<StorageQuotas>;
}

export interface LocalStorageRecord {
  namespace: string;
  key: string;
  value: Buffer;
  revision: number;
}

export interface LocalStorage {
  service: StorageService;
  knex: Knex;
  /** The install's live (unexpired) records, by namespace then key, both bytewise (the service's key order). */
  dump(scope: { tenantId: string; installId: string }): Promise<LocalStorageRecord[]>;
  /** Deletes every record and usage row of every install. */
  reset(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

const RECORDS = 'ext_storage_records';
const USAGE = 'ext_storage_usage';

/** The same builder calls as migrations/004_storage_and_logs.ts without `.references(...)`. */
async function createTables(knex: Knex): Promise<void> {
  // One transaction (PostgreSQL DDL is transactional): an interrupted first run leaves no half schema behind.
  await knex.transaction(async (trx) => {
    if (!(await trx.schema.hasTable(RECORDS))) {
      await trx.schema.createTable(RECORDS, (t) => {
        t.uuid('tenant_id').notNullable();
        t.uuid('install_id').notNullable();
        t.text('namespace').notNullable();
        t.text('key').notNullable();
        t.binary('value').notNullable();
        t.bigInteger('revision').notNullable();
        t.timestamp('expires_at', { useTz: true }).nullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(trx.fn.now());
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(trx.fn.now());
        t.primary(['install_id', 'namespace', 'key'], { constraintName: 'ext_storage_records_pkey' });
        t.index(['tenant_id', 'install_id'], 'ext_storage_records_tenant_install_idx');
      });
    }
    if (!(await trx.schema.hasTable(USAGE))) {
      await trx.schema.createTable(USAGE, (t) => {
        t.uuid('install_id').primary();
        t.uuid('tenant_id').notNullable();
        t.integer('key_count').notNullable().defaultTo(0);
        t.bigInteger('total_bytes').notNullable().defaultTo(0);
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(trx.fn.now());
        t.index(['tenant_id'], 'ext_storage_usage_tenant_id_idx');
      });
    }
  });
}

function resolveQuotas(overrides: Partial<StorageQuotas> = {}): StorageQuotas {
  const quotas = { ...DEFAULT_STORAGE_QUOTAS, ...overrides };
  // The gateway's config schema refuses these too; a 0 or NaN quota would make every put fail confusingly.
  for (const [name, value] of Object.entries(quotas)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`storage quota ${name} must be a positive integer, got ${value}`);
  }
  return quotas;
}

export async function openLocalStorage(opts: LocalStorageOptions): Promise<LocalStorage> {
  const quotas = resolveQuotas(opts.quotas);
  const { knex, close } = await openPgliteKnex({ dataDir: opts.dataDir });
  try {
    await createTables(knex);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  const service = new StorageService({ knex, quotas });
  return {
    service,
    knex,
    async dump(scope) {
      const rows = (await knex(RECORDS)
        .where({ tenant_id: scope.tenantId, install_id: scope.installId })
        // What the service would still return: an expired row is absent to get and list.
        .where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
        .orderByRaw('namespace collate "C", key collate "C"')
        .select('namespace', 'key', 'value', 'revision')) as Array<{ namespace: string; key: string; value: Uint8Array; revision: number }>;
      return rows.map((r) => ({ namespace: r.namespace, key: r.key, value: Buffer.from(r.value), revision: r.revision }));
    },
    async reset() {
      await knex.raw(`truncate table ${RECORDS}, ${USAGE}`);
    },
    close,
  };
}
