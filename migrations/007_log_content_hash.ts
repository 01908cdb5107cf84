/**
 * Guest log lines remember the bundle (content hash) that wrote them, so the logs API can map
 * an unhandled error's stack with THAT version's source map even after an upgrade. Rows written
 * before this have none and are returned unmapped.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('extension_log', (t) => {
    t.text('content_hash').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('extension_log', (t) => {
    t.dropColumn('content_hash');
  });
}
