/**
 * The operator's capability switches (DESIGN.md §6, issue 12): each capability provider can be
 * switched off for every tenant or for one. A switched-off capability is taken out of every
 * install's effective grants from the next request on (the runner binds its `denied()` functions,
 * the callbacks refuse it), and an install or upgrade that would grant it is refused with
 * E_CAPABILITY_DISABLED. `context` and `log` cannot be switched off: every extension has them.
 *
 * @example
 *   await policy.set({ capability: 'cap:http.fetch', enabled: false, tenantId });   // off for one tenant
 *   await policy.set({ capability: 'cap:http.fetch', enabled: false });             // off for all
 *   (await policy.disabledFor(tenantId)).has('cap:http.fetch');                     // true
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AlgaError, alwaysGrantedCapabilities, capabilityIds, capabilityWords, isCapabilityId, type CapabilityId } from '@alga-psa/extension-contracts';

const table = 'operator_disabled_capability';

/** The capabilities an operator may switch off. */
export const switchableCapabilities: readonly CapabilityId[] = capabilityIds.filter((c) => !alwaysGrantedCapabilities.includes(c));

export interface CapabilitySwitch {
  capability: CapabilityId;
  description: string;
  disabledGlobally: boolean;
  /** Present when the view is for one tenant. */
  disabledForTenant?: boolean;
  /** What the tenant (or, without one, every tenant) gets. */
  enabled: boolean;
}

export interface CapabilityPolicyDeps {
  knex: Knex;
  /** After every committed change: `null` for a global switch (every tenant's cached installs are stale). */
  onChanged(tenantId: string | null): void;
}

export class CapabilityPolicy {
  private readonly deps: CapabilityPolicyDeps;

  constructor(deps: CapabilityPolicyDeps) {
    this.deps = deps;
  }

  /** Switched off for this tenant, globally or for it alone. */
  async disabledFor(tenantId: string, db: Knex | Knex.Transaction = this.deps.knex): Promise<Set<string>> {
    const rows = (await db(table).where((w) => w.whereNull('tenant_id').orWhere('tenant_id', tenantId)).select('capability')) as Array<{ capability: string }>;
    return new Set(rows.map((r) => r.capability));
  }

  async view(tenantId?: string): Promise<CapabilitySwitch[]> {
    if (tenantId !== undefined) await this.requireTenant(tenantId);
    const rows = (await this.deps.knex(table).where((w) => {
      w.whereNull('tenant_id');
      if (tenantId !== undefined) w.orWhere('tenant_id', tenantId);
    }).select('tenant_id', 'capability')) as Array<{ tenant_id: string | null; capability: string }>;
    return switchableCapabilities.map((capability) => {
      const disabledGlobally = rows.some((r) => r.tenant_id === null && r.capability === capability);
      const disabledForTenant = tenantId === undefined ? undefined : rows.some((r) => r.tenant_id === tenantId && r.capability === capability);
      return {
        capability,
        description: capabilityWords[capability],
        disabledGlobally,
        ...(disabledForTenant === undefined ? {} : { disabledForTenant }),
        enabled: !disabledGlobally && !disabledForTenant,
      };
    });
  }

  /** Switches a capability on or off, for one tenant or (no tenantId) for all; idempotent. */
  async set(input: { capability: unknown; enabled: unknown; tenantId?: unknown }): Promise<CapabilitySwitch[]> {
    const capability = parseSwitchable(input.capability);
    if (typeof input.enabled !== 'boolean') throw new AlgaError('E_VALIDATION', 'enabled must be true or false');
    if (input.tenantId !== undefined && typeof input.tenantId !== 'string') throw new AlgaError('E_VALIDATION', 'tenantId must be a tenant id');
    const tenantId = input.tenantId as string | undefined;
    if (tenantId !== undefined) await this.requireTenant(tenantId);
    const scope = (q: Knex.QueryBuilder) => (tenantId === undefined ? q.whereNull('tenant_id') : q.where('tenant_id', tenantId));
    if (input.enabled) {
      await scope(this.deps.knex(table).where({ capability })).delete();
    } else {
      const conflict = tenantId === undefined ? '(capability) where tenant_id is null' : '(tenant_id, capability) where tenant_id is not null';
      await this.deps.knex.raw(`insert into ${table} (id, tenant_id, capability) values (?, ?, ?) on conflict ${conflict} do nothing`, [randomUUID(), tenantId ?? null, capability]);
    }
    this.deps.onChanged(tenantId ?? null);
    return this.view(tenantId);
  }

  private async requireTenant(tenantId: string): Promise<void> {
    const found = /^[0-9a-f-]{36}$/i.test(tenantId) && (await this.deps.knex('tenant').where({ id: tenantId }).first('id'));
    if (!found) throw new AlgaError('E_NOT_FOUND', `no tenant ${tenantId}`);
  }
}

function parseSwitchable(value: unknown): CapabilityId {
  if (typeof value !== 'string' || !isCapabilityId(value)) throw new AlgaError('E_VALIDATION', `unknown capability ${JSON.stringify(value)} (known: ${switchableCapabilities.join(', ')})`);
  if (!switchableCapabilities.includes(value)) throw new AlgaError('E_VALIDATION', `${value} cannot be switched off: every extension has it`);
  return value;
}

/** Refuses grants that include a switched-off capability, naming them and what to do instead (`alternative`). */
export function refuseDisabled(grants: readonly string[], disabled: ReadonlySet<string>, what: string, alternative: string): void {
  const blocked = grants.filter((c) => disabled.has(c));
  if (blocked.length === 0) return;
  throw new AlgaError(
    'E_CAPABILITY_DISABLED',
    `${what} needs ${blocked.join(', ')}, which the operator has switched off for this tenant; ${alternative} or ask the operator to switch ${blocked.length === 1 ? 'it' : 'them'} on`,
    { capabilities: blocked },
  );
}
