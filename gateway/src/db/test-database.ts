/** Test databases: the same code path as production, on whichever engine the run targets. */
import { randomBytes } from 'node:crypto';
import { migrateLatest, openDatabase } from './database.ts';
import type { Database } from './database.ts';

/** For tests: PostgreSQL when env ALGA_TEST_DATABASE_URL is set (CI) or `url` is given, else in-memory PGlite.
 *  On PostgreSQL every call gets its own fresh schema (random name) so test files run in parallel; close() drops it. Migrations are applied. */
export async function openTestDatabase(url = process.env.ALGA_TEST_DATABASE_URL): Promise<Database> {
  if (!url) {
    const db = await openDatabase();
    try {
      await migrateLatest(db);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return db;
  }
  const schema = `alga_test_${randomBytes(8).toString('hex')}`;
  const db = await openDatabase({ url, schema });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= (async () => {
    try {
      await db.knex.raw('drop schema if exists ?? cascade', [schema]);
    } finally {
      await db.close();
    }
  })());
  try {
    await migrateLatest(db);
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  return { knex: db.knex, engine: db.engine, close, ...(db.listen ? { listen: db.listen } : {}) };
}
