/**
 * Storage quotas count key bytes as well as value bytes (issue 7: 512-character keys were
 * free). Usage rows written before this counted values only; recompute them so deletes and
 * overwrites, which now subtract key bytes, never drive a total below what is stored.
 */
import type { Knex } from 'knex';

const recompute = (bytes: string) => `
  update ext_storage_usage u set
    key_count = (select count(*) from ext_storage_records r where r.install_id = u.install_id),
    total_bytes = (select coalesce(sum(${bytes}), 0) from ext_storage_records r where r.install_id = u.install_id)`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(recompute('octet_length(r.key) + octet_length(r.value)'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(recompute('octet_length(r.value)'));
}
