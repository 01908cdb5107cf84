/**
 * Server-side browser sessions (logout and key revocation end them at once) and the name
 * prefixes an operator reserves for a publisher (issue 7: nobody else may publish `com.alga.*`).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_session', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('id').inTable('tenant').onDelete('CASCADE');
    t.uuid('api_key_id').notNullable().references('id').inTable('api_key').onDelete('CASCADE');
    /** sha256 of the cookie value: a database read does not yield a usable session */
    t.text('token_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true }).nullable();
    t.index(['tenant_id'], 'api_session_tenant_id_idx');
    t.index(['api_key_id'], 'api_session_api_key_id_idx');
  });

  await knex.schema.createTable('publisher_name_prefix', (t) => {
    /** reverse-DNS prefix, e.g. `com.alga`: covers `com.alga` itself and every `com.alga.*` name */
    t.text('prefix').primary();
    t.uuid('publisher_id').notNullable().references('id').inTable('publisher').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['publisher_id'], 'publisher_name_prefix_publisher_id_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('publisher_name_prefix');
  await knex.schema.dropTable('api_session');
}
