/** Tenants, their API keys, publishers and publisher signing keys. Ids are app-generated uuids. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('api_key', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('id').inTable('tenant').onDelete('CASCADE');
    t.text('name');
    t.text('key_prefix').notNullable().unique();
    t.text('key_hash').notNullable();
    t.jsonb('roles').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.timestamp('last_used_at', { useTz: true }).nullable();
    t.index(['tenant_id'], 'api_key_tenant_id_idx');
  });

  await knex.schema.createTable('publisher', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('publisher_key', (t) => {
    t.uuid('id').primary();
    t.uuid('publisher_id').notNullable().references('id').inTable('publisher').onDelete('CASCADE');
    t.text('kid').notNullable().unique();
    /** base64 of the raw 32-byte Ed25519 public key */
    t.text('public_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.index(['publisher_id'], 'publisher_key_publisher_id_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publisher_key');
  await knex.schema.dropTable('publisher');
  await knex.schema.dropTable('api_key');
  await knex.schema.dropTable('tenant');
}
