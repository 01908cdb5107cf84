/**
 * The execute use case, independent of HTTP: verify the execution token, validate the body,
 * load the component, run provider `prepare` steps, dispatch to the pool, shape the answer.
 */
import type { Logger } from 'pino';
import { AlgaError, effectiveCapabilities, executeBodyDigest, type ExecutionTokenVerifier, type VerifiedExecutionClaims,
  executeBodySchema, type ExecuteBody, type ExecuteSuccess, type InstallSpec } from '@alga-psa/extension-contracts';
import type { ComponentLoader, LoadedComponent } from '../component/component-loader.ts';
import type { WorkerPool } from '../pool/worker-pool.ts';
import type { RunnerConfig } from '../config.ts';
import type { RunnerMetrics } from '../metrics.ts';
import { providers } from '../providers/index.ts';
import type { OperatorSettings, RunnerServices } from '../providers/provider.ts';
import type { ReplayCache } from './replay-cache.ts';

export interface ExecuteServiceDeps {
  config: RunnerConfig;
  verifyToken: ExecutionTokenVerifier;
  /** Token ids already executed (each token runs once). */
  replayCache: ReplayCache;
  loader: ComponentLoader;
  pool: WorkerPool;
  metrics: RunnerMetrics;
  logger: Logger;
  operator: OperatorSettings;
  services: RunnerServices;
}

export type ExecuteOutcome = { status: 200; body: ExecuteSuccess } | { status: number; error: AlgaError; requestId?: string };

export class ExecuteService {
  private readonly deps: ExecuteServiceDeps;

  constructor(deps: ExecuteServiceDeps) {
    this.deps = deps;
  }

  async execute(authorization: string | undefined, rawBody: unknown): Promise<ExecuteOutcome> {
    const started = performance.now();
    let requestId: string | undefined;
    try {
      const token = bearerToken(authorization);
      const claims = await this.deps.verifyToken(token);
      const body = parseBody(rawBody);
      requestId = body.context.requestId;
      checkClaimsMatch(claims, body, rawBody as RawSections);
      // Only now, with the signature and the body checked, may the id take a cache slot.
      this.deps.replayCache.claim(claims.tokenId, claims.expiresAtMs);
      const result = await this.run(body, token, claims.capabilities, claims.expiresAtMs);
      this.record('ok', started);
      return { status: 200, body: result };
    } catch (err) {
      const error = err instanceof AlgaError ? err : new AlgaError('E_INTERNAL');
      if (!(err instanceof AlgaError)) this.deps.logger.error({ err, requestId }, 'execute failed unexpectedly');
      this.record(error.code, started);
      return { status: error.status, error, requestId };
    }
  }

  private async run(body: ExecuteBody, token: string, tokenCaps: string[], tokenExpiresAtMs: number): Promise<ExecuteSuccess> {
    const { config } = this.deps;
    const component = await this.deps.loader.load(body.context.contentHash);
    const now = Date.now();
    const manifestTimeout = component.manifest.limits?.timeoutMs ?? config.maxTimeoutMs;
    const deadlineMs = Math.min(body.limits.deadlineMs, tokenExpiresAtMs, now + Math.min(config.maxTimeoutMs, manifestTimeout));
    if (deadlineMs <= now) throw new AlgaError('E_DEADLINE', 'the request deadline had already passed when it reached the runner');
    const memoryMb = Math.min(body.limits.memoryMb ?? component.manifest.limits?.memoryMb ?? config.defaultMemoryMb, config.maxMemoryMb);
    const cpuMs = Math.min(component.manifest.limits?.cpuMs ?? config.defaultCpuMs, config.maxCpuMs);

    const granted = body.install.grantedCapabilities.filter((c) => tokenCaps.includes(c));
    const effective = effectiveCapabilities([...component.declaredCapabilities], granted);
    const install: InstallSpec = {
      ...body.install,
      tenantId: body.context.tenantId,
      extensionId: body.context.extensionId,
      installId: body.context.installId,
      versionId: body.context.versionId,
      contentHash: body.context.contentHash,
    };
    const prepared = await this.prepare(body, component, effective, deadlineMs);
    const outcome = await this.deps.pool.execute(component, {
      contentHash: component.contentHash,
      install,
      request: {
        method: body.request.method,
        path: body.request.path,
        query: body.request.query,
        headers: body.request.headers,
        body: body.request.bodyB64 === undefined ? undefined : new Uint8Array(Buffer.from(body.request.bodyB64, 'base64')),
      },
      requestId: body.context.requestId,
      deadlineMs,
      memoryLimitBytes: memoryMb * 1024 * 1024,
      executionToken: token,
      effectiveCapabilities: [...effective],
      prepared,
    }, { cpuMs, maxWorkersPerInstall: config.maxWorkersPerInstall, maxQueuePerInstall: config.maxQueuePerInstall });
    this.deps.metrics.guestCpu.observe({ outcome: outcome.ok ? 'ok' : outcome.code }, outcome.cpuMs / 1000);
    for (const line of outcome.logs) {
      this.deps.logger[line.level]({ requestId: body.context.requestId, tenantId: body.context.tenantId, installId: body.context.installId, guest: true, fields: line.fields }, line.message);
    }
    if (!outcome.ok) throw new AlgaError(outcome.code, outcome.message);
    this.deps.metrics.instanceCache.inc({ result: outcome.coldInstance ? 'miss' : 'hit' });
    return {
      status: outcome.status,
      headers: outcome.headers,
      bodyB64: outcome.body ? Buffer.from(outcome.body).toString('base64') : '',
      logs: outcome.logs,
      metrics: { durationMs: Math.round(outcome.durationMs * 1000) / 1000, hostCalls: outcome.hostCalls },
    };
  }

  /** Main-thread provider steps (e.g. secrets decryption through the shared cache), bounded by the deadline. */
  private async prepare(body: ExecuteBody, component: LoadedComponent, effective: Set<string>, deadlineMs: number): Promise<Record<string, unknown>> {
    const prepared: Record<string, unknown> = {};
    const steps = providers.filter((p) => p.prepare && component.interfaces.includes(p.witInterface));
    if (steps.length === 0) return prepared;
    const signal = AbortSignal.timeout(Math.max(1, deadlineMs - Date.now()));
    await Promise.all(steps.map(async (p) => {
      prepared[p.witInterface] = await p.prepare!({ body, manifest: component.manifest, operator: this.deps.operator, services: this.deps.services, granted: effective.has(p.capability), capabilities: effective, imported: true, signal });
    }));
    return prepared;
  }

  private record(outcome: string, started: number): void {
    this.deps.metrics.executions.inc({ outcome });
    this.deps.metrics.latency.observe({ outcome }, (performance.now() - started) / 1000);
  }
}

function bearerToken(header: string | undefined): string {
  const m = /^Bearer ([A-Za-z0-9._-]+)$/.exec(header ?? '');
  if (!m) throw new AlgaError('E_AUTH', 'missing execution token (Authorization: Bearer <token>)');
  return m[1];
}

function parseBody(raw: unknown): ExecuteBody {
  const parsed = executeBodySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: `$.${i.path.join('.')}`, message: i.message }));
  throw new AlgaError('E_BAD_REQUEST', `invalid execute request at ${issues[0].path}: ${issues[0].message}`, { issues });
}

/** The body's sections as received, before the schema's defaults (what the gateway hashed). */
interface RawSections { install?: unknown; secrets?: unknown }

/**
 * A token is minted for one request of one install running one component with one install
 * config and secret envelope: none of these can be swapped under it.
 */
function checkClaimsMatch(claims: VerifiedExecutionClaims, body: ExecuteBody, raw: RawSections): void {
  const ctx = body.context;
  if (claims.requestId !== ctx.requestId || claims.tenantId !== ctx.tenantId || claims.installId !== ctx.installId || claims.extensionId !== ctx.extensionId) {
    throw new AlgaError('E_AUTH', 'execution token was issued for a different request or install');
  }
  if (claims.contentHash !== ctx.contentHash || claims.versionId !== ctx.versionId) {
    throw new AlgaError('E_AUTH', 'execution token was issued for another component or version');
  }
  // Hashed over the raw sections: see executeBodyDigest for why not the parsed body.
  if (claims.bodyDigest !== executeBodyDigest({ install: raw.install, secrets: raw.secrets })) {
    throw new AlgaError('E_AUTH', 'execution token was issued for another install config or secret envelope');
  }
}
