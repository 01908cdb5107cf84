/** Extension key-value storage with per-install usage, the request audit log and guest logs. */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ext_storage_records', (t) => {
    t.uuid('tenant_id').notNullable();
    t.uuid('install_id').notNullable().references('id').inTable('tenant_extension_install').onDelete('CASCADE');
    t.text('namespace').notNullable();
    t.text('key').notNullable();
    t.binary('value').notNullable();
    t.bigInteger('revision').notNullable();
    t.timestamp('expires_at', { useTz: true }).nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['install_id', 'namespace', 'key'], { constraintName: 'ext_storage_records_pkey' });
    t.index(['tenant_id', 'install_id'], 'ext_storage_records_tenant_install_idx');
  });

  await knex.schema.createTable('ext_storage_usage', (t) => {
    t.uuid('install_id').primary().references('id').inTable('tenant_extension_install').onDelete('CASCADE');
    t.uuid('tenant_id').notNullable();
    t.integer('key_count').notNullable().defaultTo(0);
    t.bigInteger('total_bytes').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id'], 'ext_storage_usage_tenant_id_idx');
  });

  // Audit rows outlive the install they describe: no foreign keys.
  await knex.schema.createTable('extension_execution_log', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable();
    t.uuid('install_id').nullable();
    t.text('request_id').notNullable();
    t.text('method');
    t.text('route').notNullable();
    t.integer('status').nullable();
    t.integer('duration_ms').nullable();
    t.text('error_code').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'install_id', 'created_at'], 'extension_execution_log_tenant_install_created_idx');
  });

  await knex.schema.createTable('extension_log', (t) => {
    t.bigIncrements('id');
    t.uuid('tenant_id').notNullable();
    t.uuid('install_id').notNullable();
    t.text('request_id').notNullable();
    t.text('level').notNullable();
    t.text('message').notNullable();
    t.jsonb('fields').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'install_id', 'created_at'], 'extension_log_tenant_install_created_idx');
    // The retention sweep deletes by age across tenants.
    t.index(['created_at'], 'extension_log_created_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('extension_log');
  await knex.schema.dropTable('extension_execution_log');
  await knex.schema.dropTable('ext_storage_usage');
  await knex.schema.dropTable('ext_storage_records');
}
