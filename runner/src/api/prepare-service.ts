/**
 * `POST /v1/prepare`: the gateway, right after a publish, asks the runner to get a component ready
 * so its first request does not pay for it: read and compile it, run one warm-up call, and have
 * every worker hold never-used instances of it.
 *
 * The warm-up call is what takes lazy compilation off that first request: V8 compiles a wasm
 * function on its first call (measured here: the first call of a fresh process ~75 ms, later
 * first calls ~5 ms), and the compiled code is shared by every instance and worker of the module.
 * It runs as an ordinary pool job (same CPU budget, deadline and worker replacement) with no
 * install's data and every capability denied, on an instance of its own that is thrown away after.
 * No request ever runs on it; the never-used instances the workers keep have run no guest code.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AlgaError, type InstallSpec } from '@alga-psa/extension-contracts';
import type { ComponentLoader, LoadedComponent } from '../component/component-loader.ts';
import type { WorkerPool } from '../pool/worker-pool.ts';
import type { WorkerJob } from '../pool/messages.ts';
import type { RunnerConfig } from '../config.ts';
import type { JsonOutcome } from './json-routes.ts';

export interface PrepareServiceDeps {
  config: RunnerConfig;
  /** Returns the content hash a prepare token names, or throws E_AUTH. */
  verifyToken(token: string): string;
  loader: ComponentLoader;
  pool: WorkerPool;
  logger: Logger;
}

export interface PrepareResult {
  contentHash: string;
  /** Reading the bundle, its transpile output and compiling it (0 when it was already in memory). */
  loadMs: number;
  warmUpMs: number;
  /** Never-used instances ready across the workers. */
  readyInstances: number;
}

const warmUpId = 'alga:warm-up';
const warmUpDeadlineMs = 10_000;
/** A first call with lazy compilation measured ~75 ms; a guest that loops on its warm-up path loses one worker, not seconds of it. */
const warmUpCpuMs = 500;

export class PrepareService {
  private readonly deps: PrepareServiceDeps;

  constructor(deps: PrepareServiceDeps) {
    this.deps = deps;
  }

  readonly route = async (authorization: string | undefined, body: unknown): Promise<JsonOutcome> => {
    try {
      const m = /^Bearer ([A-Za-z0-9._-]+)$/.exec(authorization ?? '');
      if (!m) throw new AlgaError('E_AUTH', 'missing prepare token (Authorization: Bearer <token>)');
      const contentHash = this.deps.verifyToken(m[1]);
      const named = (body as { contentHash?: unknown } | null)?.contentHash;
      if (named !== undefined && named !== contentHash) throw new AlgaError('E_AUTH', 'the prepare token was issued for another component');
      return { status: 200, body: await this.prepare(contentHash) };
    } catch (err) {
      const error = err instanceof AlgaError ? err : new AlgaError('E_INTERNAL');
      if (!(err instanceof AlgaError)) this.deps.logger.error({ err }, 'prepare failed unexpectedly');
      return { status: error.status, body: error.toBody() };
    }
  };

  async prepare(contentHash: string): Promise<PrepareResult> {
    let started = performance.now();
    const component = await this.deps.loader.load(contentHash);
    const loadMs = performance.now() - started;
    started = performance.now();
    const outcome = await this.deps.pool.execute(component, this.warmUpJob(component), { cpuMs: warmUpCpuMs });
    const warmUpMs = performance.now() - started;
    // Whatever the guest answered is nobody's business; only a failure to run at all is worth a line.
    if (!outcome.ok && outcome.code !== 'E_GUEST_TRAP') this.deps.logger.warn({ contentHash, code: outcome.code }, 'warm-up call did not complete');
    const readyInstances = await this.deps.pool.warm(component);
    const round = (ms: number) => Math.round(ms * 10) / 10;
    return { contentHash, loadMs: round(loadMs), warmUpMs: round(warmUpMs), readyInstances };
  }

  /** A GET of the component's first declared GET endpoint (path parameters filled in), else of `/`. */
  private warmUpJob(component: LoadedComponent): WorkerJob {
    const endpoint = component.manifest.api?.endpoints?.find((e) => e.method === 'GET' && !e.path.includes('*'));
    const path = endpoint ? endpoint.path.replace(/:[^/]+/g, 'warm-up') : '/';
    const install: InstallSpec = {
      tenantId: warmUpId, extensionId: warmUpId, installId: warmUpId, versionId: warmUpId, contentHash: component.contentHash,
      config: {}, configVersion: 0, grantedCapabilities: [], httpAllowedHosts: [], storageNamespaces: null, uiProxyRoutes: [],
    };
    return {
      contentHash: component.contentHash, install,
      request: { method: 'GET', path, query: [], headers: [], body: undefined },
      requestId: `warm-up-${randomUUID()}`, deadlineMs: Date.now() + warmUpDeadlineMs,
      memoryLimitBytes: this.deps.config.defaultMemoryMb * 1024 * 1024,
      executionToken: '', effectiveCapabilities: [], prepared: {}, warmUp: true,
    };
  }
}
