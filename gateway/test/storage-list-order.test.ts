/**
 * `StorageService.list` (sdk/host/src/storage/storage-service.ts) pages in bytewise key order
 * from the primary key (install_id, namespace, key) where the column's collation already sorts
 * bytewise, as the embedded PGlite ("C") and PostgreSQL with C.UTF-8 do, instead of sorting every
 * key of the namespace for each page; under a collation that does not (an ICU locale), it keeps
 * `COLLATE "C"` and the same bytewise order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { StorageService, type StorageScope } from '@alga-psa/extension-host/storage/storage-service';
import { openTestDatabase } from '../src/db/test-database.ts';
import type { Database } from '../src/db/database.ts';

const quotas = { maxKeys: 100_000, maxValueBytes: 1024, maxTotalBytes: 1 << 30, maxNamespaces: 8 };
/** Keys whose bytewise order differs from a linguistic one (case, accents, punctuation, astral). */
const tricky = ['b', 'B', 'a', 'A', 'é', 'e', 'z', 'Z', '_x', '-x', '~x', 'a b', 'ab', 'aB', '一', '\u{1F600}', 'ß', 'ss'];
const bytewise = (keys: string[]) => [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

async function seed(db: Database, keys: string[]): Promise<StorageScope> {
  // The records table's foreign key wants a real install; the plan and order do not depend on it.
  await db.knex.raw('alter table ext_storage_records drop constraint if exists ext_storage_records_install_id_foreign');
  const scope = { tenantId: randomUUID(), installId: randomUUID(), namespaces: null };
  const rows = keys.map((key) => ({ tenant_id: scope.tenantId, install_id: scope.installId, namespace: 'ns', key, value: Buffer.from('v'), revision: 1 }));
  for (let i = 0; i < rows.length; i += 1000) await db.knex('ext_storage_records').insert(rows.slice(i, i + 1000));
  await db.knex.raw('analyze ext_storage_records');
  return scope;
}

/** Every key, page by page, and the plan of the last page's query. */
async function listAll(knex: Knex, service: StorageService, scope: StorageScope, limit: number): Promise<{ keys: string[]; plan: string }> {
  const keys: string[] = [];
  let last: { sql: string; bindings: unknown[] } | undefined;
  const onQuery = (q: { sql: string; bindings: unknown[] }) => { if (q.sql.includes('from "ext_storage_records"')) last = q; };
  knex.on('query', onQuery);
  try {
    let cursor: string | null = null;
    do {
      const page = await service.list(scope, 'ns', { cursor, limit });
      keys.push(...page.keys);
      cursor = page.nextCursor;
    } while (cursor);
  } finally {
    knex.off('query', onQuery);
  }
  const plan = await knex.raw(`explain ${last!.sql.replace(/\$\d+/g, "?")}`, last!.bindings as never);
  return { keys, plan: (plan.rows as Array<Record<string, string>>).map((r) => r['QUERY PLAN']).join('\n') };
}

describe('storage list order', () => {
  let db: Database;
  beforeAll(async () => { db = await openTestDatabase(); });
  afterAll(() => db?.close());

  it('pages bytewise from the primary key, without sorting the namespace', async () => {
    const keys = [...Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(5, '0')}`), ...tricky];
    const scope = await seed(db, keys);
    const service = new StorageService({ knex: db.knex, quotas });
    const { keys: listed, plan } = await listAll(db.knex, service, scope, 500);
    expect(listed).toEqual(bytewise(keys));
    expect(plan).toContain('ext_storage_records_pkey');
    expect(plan).not.toMatch(/Sort/);
  });
});

describe('storage list order under a linguistic collation', () => {
  let db: Database;
  let icu: string | undefined;
  beforeAll(async () => {
    db = await openTestDatabase();
    icu = ((await db.knex.raw(`select collname from pg_collation where collprovider = 'i' and collname = 'und-x-icu'`)).rows as Array<{ collname: string }>)[0]?.collname;
  });
  afterAll(() => db?.close());

  it('keeps COLLATE "C": still bytewise, every key exactly once', async (ctx) => {
    if (!icu) ctx.skip(); // PGlite has no ICU collations
    await db.knex.raw(`alter table ext_storage_records alter column key type text collate "${icu}"`);
    const keys = [...Array.from({ length: 300 }, (_, i) => `K${i}`), ...tricky];
    const scope = await seed(db, keys);
    const service = new StorageService({ knex: db.knex, quotas });
    const { keys: listed, plan } = await listAll(db.knex, service, scope, 7);
    expect(listed).toEqual(bytewise(keys));
    expect(plan).toContain('COLLATE "C"');
  });
});
