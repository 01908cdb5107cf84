/** Per-tenant installs of registry extensions, their config and their encrypted secrets. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant_extension_install', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('id').inTable('tenant').onDelete('CASCADE');
    t.uuid('registry_id').notNullable().references('id').inTable('extension_registry');
    t.uuid('version_id').notNullable().references('id').inTable('extension_version');
    t.text('status').notNullable();
    t.jsonb('granted_capabilities').notNullable();
    /** null = every host the manifest declares */
    t.jsonb('granted_http_hosts').nullable();
    /** an upgrade waiting for the tenant admin's consent */
    t.uuid('pending_version_id').nullable().references('id').inTable('extension_version');
    t.integer('secrets_version').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['tenant_id', 'registry_id'], { indexName: 'tenant_extension_install_tenant_id_registry_id_unique' });
    t.index(['tenant_id'], 'tenant_extension_install_tenant_id_idx');
    t.index(['registry_id'], 'tenant_extension_install_registry_id_idx');
    t.check(`status in ('enabled', 'disabled')`, [], 'tenant_extension_install_status_check');
  });

  await knex.schema.createTable('tenant_extension_install_config', (t) => {
    t.uuid('install_id').primary().references('id').inTable('tenant_extension_install').onDelete('CASCADE');
    t.uuid('tenant_id').notNullable();
    t.jsonb('config').notNullable();
    t.integer('config_version').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'install_id'], 'tenant_extension_install_config_tenant_install_idx');
  });

  await knex.schema.createTable('tenant_extension_install_secrets', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable();
    t.uuid('install_id').notNullable().references('id').inTable('tenant_extension_install').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('ciphertext').notNullable();
    t.text('algorithm').notNullable();
    t.text('key_ref').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['install_id', 'key'], { indexName: 'tenant_extension_install_secrets_install_id_key_unique' });
    t.index(['tenant_id', 'install_id'], 'tenant_extension_install_secrets_tenant_install_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('tenant_extension_install_secrets');
  await knex.schema.dropTable('tenant_extension_install_config');
  await knex.schema.dropTable('tenant_extension_install');
}
