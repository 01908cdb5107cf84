/**
 * Capabilities an operator has switched off, for every tenant (tenant_id null) or for one.
 * A row means "off"; no row means on. Calls to a switched-off capability answer `denied`, and an
 * install or upgrade that would grant it is refused (E_CAPABILITY_DISABLED).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('operator_disabled_capability', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').nullable().references('id').inTable('tenant').onDelete('CASCADE');
    t.text('capability').notNullable();
    t.timestamp('disabled_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'capability'], 'operator_disabled_capability_tenant_idx');
  });
  // One row per (tenant, capability) and one global row per capability.
  await knex.raw('create unique index operator_disabled_capability_tenant_uq on operator_disabled_capability (tenant_id, capability) where tenant_id is not null');
  await knex.raw('create unique index operator_disabled_capability_global_uq on operator_disabled_capability (capability) where tenant_id is null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('operator_disabled_capability');
}
