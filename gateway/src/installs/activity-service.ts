/** Recent executions (audit rows) and guest logs of one install, always scoped to the caller's tenant. */
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { GuestStackMaps, StackMapper } from './guest-stack-maps.ts';

export interface ActivityQuery {
  limit?: unknown;
  /** Only rows older than this id (paging backwards). */
  before?: unknown;
  /** Only rows newer than this id (a live view polling for what is new). */
  after?: unknown;
}

const logLevels = ['debug', 'info', 'warn', 'error'] as const;

function positiveId(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new AlgaError('E_VALIDATION', `${name} must be a positive integer id`);
  return n;
}

function parseQuery(query: ActivityQuery): { limit: number; before: number | undefined; after: number | undefined } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AlgaError('E_VALIDATION', 'limit must be an integer from 1 to 500');
  return { limit, before: positiveId(query.before, 'before'), after: positiveId(query.after, 'after') };
}

/** Requests in the last hour per install, and its last failure (the extensions list shows them). */
export interface InstallActivitySummary {
  requestsLastHour: number;
  errorsLastHour: number;
  lastError: { code: string | null; status: number | null; route: string; at: Date } | null;
}

/** A failed execution: the gateway or runner answered an error code, or the extension answered 5xx. */
const failed = (q: Knex.QueryBuilder) => q.whereNotNull('error_code').orWhere('status', '>=', 500);

/** A page's lines come from a handful of versions; each uncached one costs a bundle read. */
const maxBundlesPerPage = 4;

export interface GuestLogLine {
  id: number;
  requestId: string;
  level: string;
  message: string;
  fields: Record<string, string>;
  at: Date;
  /**
   * On an 'error' line with a `stack` field (the guest SDK's unhandled-error line): that stack
   * with each bundled-JS frame mapped to the TypeScript source (`fn@src/tickets.ts:12:11`) by the
   * source map of the bundle that wrote the line. Absent when that bundle carries no map. Beside
   * `fields`, not in it: a guest cannot pass its own text off as the host's mapping.
   */
  mappedStack?: string;
}

/** Rows written behind the answer (audit/write-behind.ts): flushed before each read, so a caller sees its own requests. */
export interface PendingRows {
  flush(): Promise<void>;
}

export class ActivityService {
  private readonly knex: Knex;
  private readonly stackMaps: GuestStackMaps | undefined;
  private readonly executionRows: PendingRows | undefined;
  private readonly logRows: PendingRows | undefined;

  constructor(knex: Knex, options: { stackMaps?: GuestStackMaps; executionRows?: PendingRows; logRows?: PendingRows } = {}) {
    this.knex = knex;
    this.stackMaps = options.stackMaps;
    this.executionRows = options.executionRows;
    this.logRows = options.logRows;
  }

  private async assertInstall(tenantId: string, installId: string): Promise<void> {
    const found = /^[0-9a-f-]{36}$/i.test(installId) && (await this.knex('tenant_extension_install').where({ tenant_id: tenantId, id: installId }).first('id'));
    if (!found) throw new AlgaError('E_NOT_FOUND', 'no such install');
  }

  /** One grouped query for every install of the tenant (no row per request is read). */
  async summaries(tenantId: string): Promise<Map<string, InstallActivitySummary>> {
    await this.executionRows?.flush();
    const since = new Date(Date.now() - 3_600_000);
    const counts = await this.knex('extension_execution_log').where({ tenant_id: tenantId }).where('created_at', '>=', since)
      .groupBy('install_id').select('install_id')
      .count({ requests: '*' })
      .select(this.knex.raw('count(*) filter (where error_code is not null or status >= 500) as errors'));
    const last = await this.knex('extension_execution_log').where({ tenant_id: tenantId }).where(failed)
      .distinctOn('install_id').orderBy([{ column: 'install_id' }, { column: 'id', order: 'desc' }])
      .select('install_id', 'error_code', 'status', 'route', 'created_at');
    const out = new Map<string, InstallActivitySummary>();
    const entry = (id: string) => out.get(id) ?? out.set(id, { requestsLastHour: 0, errorsLastHour: 0, lastError: null }).get(id)!;
    for (const r of counts as Array<Record<string, any>>) Object.assign(entry(r.install_id), { requestsLastHour: Number(r.requests), errorsLastHour: Number(r.errors) });
    for (const r of last as Array<Record<string, any>>) entry(r.install_id).lastError = { code: r.error_code, status: r.status, route: r.route, at: r.created_at };
    return out;
  }

  /** `outcome=error`: failed executions only. */
  async executions(tenantId: string, installId: string, query: ActivityQuery & { outcome?: unknown }) {
    await this.assertInstall(tenantId, installId);
    const { limit, before, after } = parseQuery(query);
    if (query.outcome !== undefined && query.outcome !== 'error') throw new AlgaError('E_VALIDATION', 'outcome must be "error" (or left out for every execution)');
    await this.executionRows?.flush();
    const rows = await this.knex('extension_execution_log').where({ tenant_id: tenantId, install_id: installId })
      .modify((q) => {
        if (before) q.where('id', '<', before);
        if (after) q.where('id', '>', after);
        if (query.outcome === 'error') q.where(failed);
      }).orderBy('id', 'desc').limit(limit);
    return {
      executions: rows.map((r: Record<string, any>) => ({ id: r.id, requestId: r.request_id, method: r.method, route: r.route, status: r.status, durationMs: r.duration_ms, errorCode: r.error_code, at: r.created_at })),
      nextBefore: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  /** `level=warn`: that level and above; `requestId`: one request's lines. */
  async logs(tenantId: string, installId: string, query: ActivityQuery & { requestId?: unknown; level?: unknown }) {
    await this.assertInstall(tenantId, installId);
    const { limit, before, after } = parseQuery(query);
    if (query.level !== undefined && !(logLevels as readonly unknown[]).includes(query.level)) throw new AlgaError('E_VALIDATION', `level must be one of ${logLevels.join(', ')}`);
    const levels = query.level === undefined ? undefined : logLevels.slice(logLevels.indexOf(query.level as (typeof logLevels)[number]));
    await this.logRows?.flush();
    const rows = await this.knex('extension_log').where({ tenant_id: tenantId, install_id: installId })
      .modify((q) => {
        if (before) q.where('id', '<', before);
        if (after) q.where('id', '>', after);
        if (levels) q.whereIn('level', levels);
        if (typeof query.requestId === 'string') q.where('request_id', query.requestId);
      }).orderBy('id', 'desc').limit(limit);
    const mappers = await this.mappersFor(rows);
    const logs = rows.map((r: Record<string, any>): GuestLogLine => {
      const line: GuestLogLine = { id: r.id, requestId: r.request_id, level: r.level, message: r.message, fields: r.fields, at: r.created_at };
      const stack = r.fields?.stack;
      const mapStack = r.level === 'error' && typeof stack === 'string' && stack ? mappers.get(r.content_hash) : undefined;
      if (mapStack) line.mappedStack = mapStack(stack);
      return line;
    });
    return { logs, nextBefore: rows.length === limit ? rows[rows.length - 1].id : null };
  }

  /**
   * One mapper per distinct bundle among the page's stack-carrying error lines; at most
   * `maxBundlesPerPage` bundles (the newest lines' first) are read for one page.
   */
  private async mappersFor(rows: Array<Record<string, any>>): Promise<Map<string, StackMapper>> {
    const out = new Map<string, StackMapper>();
    if (!this.stackMaps) return out;
    const hashes = new Set<string>();
    for (const r of rows) {
      if (hashes.size >= maxBundlesPerPage) break;
      if (r.level === 'error' && typeof r.fields?.stack === 'string' && r.fields.stack && typeof r.content_hash === 'string') hashes.add(r.content_hash);
    }
    await Promise.all([...hashes].map(async (hash) => {
      const mapStack = await this.stackMaps!.mapperFor(hash);
      if (mapStack) out.set(hash, mapStack);
    }));
    return out;
  }
}
