/** Tenants are created by the operator, each with a first admin API key (returned once). */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { ApiKeys } from './api-keys.ts';

export async function createTenant(knex: Knex, apiKeys: ApiKeys, name: string): Promise<{ tenantId: string; adminKey: string }> {
  if (typeof name !== 'string' || name.trim().length < 2 || name.length > 200) throw new AlgaError('E_VALIDATION', 'tenant name must be 2-200 characters');
  const tenantId = randomUUID();
  await knex('tenant').insert({ id: tenantId, name: name.trim() });
  const { key } = await apiKeys.create({ tenantId, name: 'initial admin', roles: ['extension:admin'] });
  return { tenantId, adminKey: key };
}
