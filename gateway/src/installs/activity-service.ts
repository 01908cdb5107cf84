/** Recent executions (audit rows) and guest logs of one install, always scoped to the caller's tenant. */
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';

export interface ActivityQuery {
  limit?: unknown;
  /** Only rows older than this id (paging backwards). */
  before?: unknown;
}

function parseQuery(query: ActivityQuery): { limit: number; before: number | undefined } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AlgaError('E_VALIDATION', 'limit must be an integer from 1 to 500');
  const before = query.before === undefined ? undefined : Number(query.before);
  if (before !== undefined && (!Number.isInteger(before) || before < 1)) throw new AlgaError('E_VALIDATION', 'before must be a positive integer id');
  return { limit, before };
}

export class ActivityService {
  private readonly knex: Knex;

  constructor(knex: Knex) {
    this.knex = knex;
  }

  private async assertInstall(tenantId: string, installId: string): Promise<void> {
    const found = /^[0-9a-f-]{36}$/i.test(installId) && (await this.knex('tenant_extension_install').where({ tenant_id: tenantId, id: installId }).first('id'));
    if (!found) throw new AlgaError('E_NOT_FOUND', 'no such install');
  }

  async executions(tenantId: string, installId: string, query: ActivityQuery) {
    await this.assertInstall(tenantId, installId);
    const { limit, before } = parseQuery(query);
    const rows = await this.knex('extension_execution_log').where({ tenant_id: tenantId, install_id: installId })
      .modify((q) => { if (before) q.where('id', '<', before); }).orderBy('id', 'desc').limit(limit);
    return {
      executions: rows.map((r: Record<string, any>) => ({ id: r.id, requestId: r.request_id, method: r.method, route: r.route, status: r.status, durationMs: r.duration_ms, errorCode: r.error_code, at: r.created_at })),
      nextBefore: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  async logs(tenantId: string, installId: string, query: ActivityQuery & { requestId?: unknown }) {
    await this.assertInstall(tenantId, installId);
    const { limit, before } = parseQuery(query);
    const rows = await this.knex('extension_log').where({ tenant_id: tenantId, install_id: installId })
      .modify((q) => {
        if (before) q.where('id', '<', before);
        if (typeof query.requestId === 'string') q.where('request_id', query.requestId);
      }).orderBy('id', 'desc').limit(limit);
    return {
      logs: rows.map((r: Record<string, any>) => ({ id: r.id, requestId: r.request_id, level: r.level, message: r.message, fields: r.fields, at: r.created_at })),
      nextBefore: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }
}
