/**
 * Scale-out (issue 13): state that every gateway replica must see moves from process memory and
 * local disk into the database.
 * - `extension_bundle_blob`: the bundle bytes, so a replica that never saw the publish can serve
 *   the bundle's UI and hand it to a runner (gateway/src/registry/database-bundle-store.ts).
 *   Each replica keeps a verified copy on its own disk after the first read.
 * - `rate_limit_bucket`: per-install token buckets shared by the replicas; each replica leases
 *   tokens in small batches (gateway/src/proxy/shared-rate-limiter.ts).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('extension_bundle_blob', (t) => {
    t.text('content_hash').primary();
    t.binary('bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('rate_limit_bucket', (t) => {
    t.text('key').primary();
    t.double('tokens').notNullable();
    /** What the last lease took: the lease statement returns it (RETURNING sees only the new row). */
    t.double('last_granted').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rate_limit_bucket');
  await knex.schema.dropTable('extension_bundle_blob');
}
