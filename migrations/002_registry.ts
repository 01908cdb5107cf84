/** The extension registry: content-addressed bundles, extensions, and their immutable versions. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('extension_bundle', (t) => {
    /** sha256 hex of the bundle bytes */
    t.text('content_hash').primary();
    t.bigInteger('size_bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('extension_registry', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable().unique();
    t.uuid('publisher_id').notNullable().references('id').inTable('publisher');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['publisher_id'], 'extension_registry_publisher_id_idx');
  });

  // Immutable: the application inserts versions and never updates them.
  await knex.schema.createTable('extension_version', (t) => {
    t.uuid('id').primary();
    t.uuid('registry_id').notNullable().references('id').inTable('extension_registry').onDelete('CASCADE');
    t.text('version').notNullable();
    t.text('content_hash').notNullable().references('content_hash').inTable('extension_bundle');
    t.jsonb('manifest').notNullable();
    t.text('signature').notNullable();
    t.uuid('publisher_key_id').notNullable().references('id').inTable('publisher_key');
    /** the component's imported interfaces, e.g. ["alga:extension/secrets@0.1.0"] */
    t.jsonb('imports').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['registry_id', 'version'], { indexName: 'extension_version_registry_id_version_unique' });
    t.index(['content_hash'], 'extension_version_content_hash_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('extension_version');
  await knex.schema.dropTable('extension_registry');
  await knex.schema.dropTable('extension_bundle');
}
