/**
 * Runner assembly: one call builds the whole service for `main.ts`, the gateway's `npm start`, tests and benchmarks.
 *
 * @example
 *   const runner = await createRunner(runnerConfigFromEnv());
 *   const { url } = await runner.listen();
 *   await runner.close();
 */
import type { JWK } from 'jose';
import v8 from 'node:v8';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pino, type Logger } from 'pino';
import { answerClientErrors, executionTokenClockToleranceSec, executionTokenVerifier, httpServerTimeoutOptions, prepareTokenVerifier } from '@alga-psa/extension-contracts';
import { readRunnerTls, type RunnerConfig } from './config.ts';
import { FileBundleStore, TieredBundleStore, type BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { ComponentLoader } from './component/component-loader.ts';
import { GatewayBundleSource } from './component/gateway-bundle-source.ts';
import { WorkerPool } from './pool/worker-pool.ts';
import { ExecuteService } from './api/execute-service.ts';
import { ReplayCache } from './api/replay-cache.ts';
import { createRunnerApp } from './api/http-app.ts';
import { jsonPostListener } from './api/json-routes.ts';
import { PrepareService, type PrepareResult } from './api/prepare-service.ts';
import { createRunnerMetrics } from './metrics.ts';
import type { HostBackend, OperatorSettings } from './providers/provider.ts';
import { providerForInterface } from './providers/index.ts';
import { SecretCache } from './secrets/secret-cache.ts';
import type { SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';

export { runnerConfigFromEnv, type RunnerConfig } from './config.ts';
export type { HostBackend, HostBackendCall, HostCallScope } from './providers/provider.ts';
export type { PrepareResult } from './api/prepare-service.ts';
/** For host backends: the plain `{ tag, val? }` a WIT error is thrown as. */
export { witError } from './providers/provider.ts';

export interface Runner {
  app: ReturnType<typeof createRunnerApp>;
  secretCache: SecretCache | undefined;
  loader: ComponentLoader;
  pool: WorkerPool;
  logger: Logger;
  /** Compile a component, run its warm-up call and make instances ready (what `POST /v1/prepare` does). */
  prepare(contentHash: string): Promise<PrepareResult>;
  /**
   * Key rotation: the gateway public keys tokens are verified with from now on (a new key added
   * before the gateway signs with it; an old one dropped once it no longer does). SIGHUP in
   * `main.ts` reads RUNNER_TRUSTED_KEYS again and calls this.
   */
  trustKeys(keys: JWK[]): void;
  listen(port?: number, host?: string): Promise<{ url: string; server: Server }>;
  /**
   * `drainMs`: first answer /readyz with 503 for this long (gateways eject the runner and route
   * elsewhere), then close; requests already running finish either way.
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

export function operatorSettings(config: RunnerConfig): OperatorSettings {
  return { httpAllowedPrivateCidrs: config.httpAllowedPrivateCidrs, httpMaxResponseBytes: config.httpMaxResponseBytes, httpMaxRedirects: config.httpMaxRedirects, gatewayUrl: config.gatewayUrl };
}

let ceilingPages: number | undefined;

/**
 * V8 flags are process-wide and only one ceiling can hold; it must be set before the first
 * wasm memory exists. Worker `resourceLimits` do not cover wasm memory (DESIGN.md §11).
 */
function setWasmMemoryCeiling(maxMemoryMb: number): void {
  const pages = maxMemoryMb * 16;
  if (ceilingPages === undefined) {
    v8.setFlagsFromString(`--wasm-max-mem-pages=${pages}`);
    ceilingPages = pages;
  }
}

export interface RunnerOptions {
  bundleStore?: BundleStore;
  logger?: Logger;
  /** Decrypts secret envelopes; without one, guests that read secrets get `unavailable`. */
  secretCipher?: SecretCipher;
  /**
   * Main-thread backends by WIT interface name (`'storage'`, `'ui-proxy'`, `'http'`): a dev server or
   * test host in this process serves those capabilities instead of the production backends (gateway
   * callbacks, the network). The providers still enforce every capability rule before calling one.
   */
  hostBackends?: Record<string, HostBackend>;
}

/** A backend for an interface no provider has would never be called: a typo, refused at start. */
function checkHostBackends(backends: Record<string, HostBackend>): Record<string, HostBackend> {
  for (const [iface, backend] of Object.entries(backends)) {
    if (!providerForInterface(iface)) throw new Error(`hostBackends: no capability provider implements the WIT interface ${JSON.stringify(iface)}`);
    if (typeof backend !== 'function') throw new Error(`hostBackends.${iface} must be a function`);
  }
  return { ...backends };
}

export async function createRunner(config: RunnerConfig, options: RunnerOptions = {}): Promise<Runner> {
  setWasmMemoryCeiling(config.maxMemoryMb);
  const hostBackends = checkHostBackends(options.hostBackends ?? {});
  // Before any worker starts: a missing certificate or key is a start-up failure, not a late one.
  const tls = readRunnerTls(config);
  const logger = options.logger ?? pino({ name: 'alga-runner', level: config.logLevel, redact: ['req.headers.authorization', '*.executionToken', '*.secrets'] });
  const metrics = createRunnerMetrics();
  // A runner that never saw a publish fetches the bundle from a gateway and keeps it on its disk.
  const bundleSource = config.gatewayUrl && config.serviceToken
    ? new GatewayBundleSource({ gatewayUrl: config.gatewayUrl, serviceToken: config.serviceToken, maxBundleBytes: config.maxBundleBytes })
    : undefined;
  const localBundles = options.bundleStore ?? new FileBundleStore(config.bundleDir);
  const loader = new ComponentLoader({
    bundleStore: bundleSource
      ? new TieredBundleStore(localBundles, bundleSource, { onLocalWriteFailed: (contentHash, err) => logger.warn({ err, contentHash }, 'fetched bundle not kept on this runner\'s disk; the next load fetches it again') })
      : localBundles,
    transpileCache: new TranspileCache(config.cacheDir),
    onCacheResult: (hit) => metrics.componentCache.inc({ result: hit ? 'hit' : 'miss' }),
  });
  const pool = new WorkerPool({
    size: config.workers,
    concurrencyPerWorker: config.concurrencyPerWorker,
    maxQueue: config.maxQueue,
    isolation: config.isolation,
    maxUsesPerInstance: config.maxUsesPerInstance,
    prewarmPerKey: Math.max(config.prewarmPerKey, config.isolation === 'fresh' ? 1 : 0),
    maxKeysPerWorker: config.maxKeysPerWorker,
    logLimits: { maxLines: config.logMaxLines, maxBytes: config.logMaxBytes },
    operator: operatorSettings(config),
    hostBackends,
  }, { onWorkerReplaced: (reason) => metrics.workerReplacements.inc({ reason }) });
  let ready = false;
  await pool.start();
  ready = true;
  const secretCache = options.secretCipher ? new SecretCache(options.secretCipher, { ttlMs: config.secretsCacheTtlMs }) : undefined;
  // Swapped whole by trustKeys: a request verifies against one set, the old or the new.
  let verifiers = verifiersFor(config.trustedKeys);
  const executeService = new ExecuteService({
    config, loader, pool, metrics, logger,
    verifyToken: (token) => verifiers.execution(token),
    replayCache: new ReplayCache({ max: config.replayCacheMax, clockToleranceMs: executionTokenClockToleranceSec * 1000 }),
    operator: operatorSettings(config), services: { secretCache },
  });
  const app = createRunnerApp({ metrics, pool, isReady: () => ready });
  const prepareService = new PrepareService({
    config, loader, pool, logger,
    verifyToken: (token) => verifiers.prepare(token),
  });
  const listener = jsonPostListener({
    '/v1/execute': async (authorization, body) => {
      const outcome = await executeService.execute(authorization, body);
      return 'body' in outcome ? { status: 200, body: outcome.body } : { status: outcome.status, body: outcome.error.toBody(outcome.requestId) };
    },
    '/v1/prepare': prepareService.route,
  }, app);
  const servers: Server[] = [];
  let closing = false;
  return {
    app, loader, pool, logger, secretCache,
    prepare: (contentHash) => prepareService.prepare(contentHash),
    trustKeys(keys) {
      verifiers = verifiersFor(keys);
      logger.info({ kids: keys.map((k) => k.kid) }, 'execution-token keys trusted');
    },
    async listen(port = config.port, host = config.host) {
      // With a client CA, the handshake itself refuses a client without a certificate it signed:
      // no request from such a peer ever reaches express.
      // Bounded headers and body: a slow client cannot hold a connection for Node's 60 s / 300 s defaults.
      const timeouts = httpServerTimeoutOptions(config);
      const server: Server = tls
        ? createHttpsServer({ ...timeouts, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, listener)
        : createHttpServer(timeouts, listener);
      // Requests the HTTP parser refuses get the platform's JSON error shape too.
      answerClientErrors(server);
      // Once closing, every answer says so: a keep-alive client (the gateway's pool) opens its next
      // request elsewhere instead of holding this connection, so close() can finish under load.
      server.on('request', (_req, res) => { if (closing) res.setHeader('connection', 'close'); });
      server.listen(port, host);
      await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
      servers.push(server);
      const address = server.address() as AddressInfo;
      return { url: `${tls ? 'https' : 'http'}://${host}:${address.port}`, server };
    },
    async close(options = {}) {
      ready = false;
      if (options.drainMs) await new Promise((r) => setTimeout(r, options.drainMs));
      closing = true;
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Idle keep-alive connections would hold close() open until the client drops them.
        s.closeIdleConnections();
      })));
      await pool.close();
      await bundleSource?.close();
    },
  };
}

function verifiersFor(keys: JWK[]) {
  if (keys.length === 0) throw new Error('at least one trusted execution-token key is needed');
  return {
    execution: executionTokenVerifier({ keys, clockToleranceSec: executionTokenClockToleranceSec }),
    prepare: prepareTokenVerifier({ keys, clockToleranceSec: executionTokenClockToleranceSec }),
  };
}
