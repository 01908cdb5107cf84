/**
 * Runner configuration: read from the environment in this one place and validated at start-up.
 * Every variable is documented in README.md ("Runner configuration").
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { JWK } from 'jose';
import { httpServerTimeoutProblems } from '@alga-psa/extension-contracts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const file = z.string().min(1).optional();
const trustedKeysNeeded = 'set RUNNER_TRUSTED_KEYS to the gateway\'s execution-token public keys (a JWKS JSON document or a path to one)';

/** TLS termination on the runner's own listener (gateway → runner traffic carries tokens and secret envelopes). */
const tlsSchema = z.object({
  /** PEM certificate chain and key: serve https. */
  certFile: file,
  keyFile: file,
  /** PEM CA bundle: require client certificates it signed (mTLS). */
  clientCaFile: file,
}).superRefine((tls, ctx) => {
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    ctx.addIssue({ code: 'custom', message: 'RUNNER_TLS_CERT_FILE and RUNNER_TLS_KEY_FILE must be set together (both to serve https, neither for http)' });
  }
  if (tls.clientCaFile && !tls.certFile) {
    ctx.addIssue({ code: 'custom', message: 'RUNNER_TLS_CLIENT_CA_FILE needs RUNNER_TLS_CERT_FILE and RUNNER_TLS_KEY_FILE: client certificates are only checked over https' });
  }
});

export const runnerConfigSchema = z.object({
  port: int(0, 65535).default(8081),
  host: z.string().default('127.0.0.1'),
  bundleDir: z.string().default('./data/bundles'),
  cacheDir: z.string().default('./data/transpile-cache'),
  workers: int(1, 256).default(Math.max(1, availableParallelism())),
  concurrencyPerWorker: int(1, 256).default(8),
  maxQueue: int(0, 100_000).default(1000),
  isolation: z.enum(['pooled', 'fresh']).default('pooled'),
  maxUsesPerInstance: int(1, 1_000_000).default(10_000),
  prewarmPerKey: int(0, 16).default(1),
  maxKeysPerWorker: int(1, 10_000).default(256),
  /** Operator ceilings; a manifest may ask for less, never more. */
  maxTimeoutMs: int(10, 600_000).default(30_000),
  defaultMemoryMb: int(16, 4096).default(128),
  maxMemoryMb: int(16, 4096).default(256),
  /**
   * CPU budget per request: time the guest executes, not time it waits on host I/O. A manifest's
   * `limits.cpuMs` replaces the default, capped by the maximum. Measured guest CPU of the sample
   * routes (alga_runner_guest_cpu_seconds, 2 cores): 0.5-3 ms typical (hello, ticket-enricher
   * with storage and http, notes-ui), 25-50 ms for the first call on a fresh instance, 125-150 ms
   * for misbehaving's /alloc to reach its 128 MiB limit, 210-320 ms for its /log-flood (10 000
   * log lines, the heaviest route that ends by itself). 1 s is 3x that and 20x a cold call; it is
   * also how long a runaway can hold a thread before its install is confined to its share, so it
   * stays well under the gateway's 10 s request budget.
   */
  defaultCpuMs: int(10, 600_000).default(1000),
  maxCpuMs: int(10, 600_000).default(30_000),
  /** Threads one install may hold while others wait; unset = max(1, floor(workers / 2)). */
  maxWorkersPerInstall: int(1, 256).optional(),
  /** Requests one install may have waiting; unset = a quarter of maxQueue (at least 1). */
  maxQueuePerInstall: int(1, 100_000).optional(),
  logMaxLines: int(1, 10_000).default(200),
  logMaxBytes: int(256, 10 * 1024 * 1024).default(64 * 1024),
  /** Public JWKs (with kid) of the gateway's execution-token signing keys. */
  trustedKeys: z.array(z.custom<JWK>((k) => typeof k === 'object' && k !== null && typeof (k as JWK).kid === 'string', 'each key needs a kid'), { error: trustedKeysNeeded }).min(1, trustedKeysNeeded),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Private/loopback CIDRs outbound HTTP may reach anyway; empty = SSRF protection everywhere. */
  httpAllowedPrivateCidrs: z.array(z.string()).default([]),
  httpMaxResponseBytes: int(1024, 256 * 1024 * 1024).default(5 * 1024 * 1024),
  httpMaxRedirects: int(0, 20).default(5),
  /** Gateway base URL for storage and ui-proxy callbacks, and for bundles this runner lacks. */
  gatewayUrl: z.string().url().optional(),
  /**
   * The credential this runner presents to the gateway's internal bundle API (the gateway's
   * ALGA_RUNNER_SERVICE_TOKEN). With GATEWAY_URL, a bundle missing from BUNDLE_STORE_DIR is
   * fetched from the gateway; without it the runner reads only its own (possibly shared) disk.
   */
  serviceToken: z.string().min(16, 'RUNNER_SERVICE_TOKEN must be at least 16 characters (the gateway\'s ALGA_RUNNER_SERVICE_TOKEN)').optional(),
  /** Largest bundle fetched from the gateway (its GATEWAY_MAX_BUNDLE_BYTES default). */
  maxBundleBytes: int(1024, 1024 * 1024 * 1024).default(32 * 1024 * 1024),
  /** How long decrypted secrets stay cached per (tenant, install, secretsVersion). */
  secretsCacheTtlMs: int(0, 3_600_000).default(60_000),
  /** On SIGTERM: /readyz answers 503 for this long before the listener closes, so gateways stop routing here first (RUNNER_DRAIN_MS). */
  drainMs: int(0, 600_000).default(0),
  /**
   * Execution-token ids remembered (each token runs once). Full of live tokens, the runner sheds
   * requests with 503; the default holds ~12 s of tokens at 8 000 requests/s.
   */
  replayCacheMax: int(1000, 10_000_000).default(100_000),
  tls: tlsSchema.default({}),
  /**
   * Slow clients: the gateway sends a complete request at once, so headers get 10 s and the whole
   * request 30 s (= the default RUNNER_MAX_TIMEOUT_MS: a request still arriving then cannot be served).
   */
  headersTimeoutMs: int(100, 3_600_000).default(10_000),
  requestTimeoutMs: int(100, 3_600_000).default(30_000),
  keepAliveTimeoutMs: int(100, 3_600_000).default(5_000),
});

export type RunnerConfig = z.infer<typeof runnerConfigSchema>;
export type RunnerConfigInput = z.input<typeof runnerConfigSchema>;

/** RUNNER_TRUSTED_KEYS is a JWKS JSON document or a path to one. */
function readTrustedKeys(value: string | undefined): unknown {
  if (!value) return undefined;
  let text = value;
  if (!value.trim().startsWith('{') && !value.trim().startsWith('[')) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new Error(`invalid runner configuration: cannot read RUNNER_TRUSTED_KEYS ${value}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const parsed = JSON.parse(text) as { keys?: unknown } | unknown[];
  return Array.isArray(parsed) ? parsed : parsed.keys;
}

export function runnerConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<RunnerConfigInput> = {}): RunnerConfig {
  const result = runnerConfigSchema.safeParse({
    port: env.RUNNER_PORT,
    host: env.RUNNER_HOST,
    bundleDir: env.BUNDLE_STORE_DIR,
    cacheDir: env.RUNNER_CACHE_DIR,
    workers: env.RUNNER_WORKERS,
    concurrencyPerWorker: env.RUNNER_CONCURRENCY_PER_WORKER,
    maxQueue: env.RUNNER_MAX_QUEUE,
    isolation: env.RUNNER_ISOLATION,
    maxUsesPerInstance: env.RUNNER_MAX_USES_PER_INSTANCE,
    prewarmPerKey: env.RUNNER_PREWARM,
    maxKeysPerWorker: env.RUNNER_MAX_KEYS_PER_WORKER,
    maxTimeoutMs: env.RUNNER_MAX_TIMEOUT_MS,
    defaultMemoryMb: env.RUNNER_DEFAULT_MEMORY_MB,
    maxMemoryMb: env.RUNNER_MAX_MEMORY_MB,
    defaultCpuMs: env.RUNNER_DEFAULT_CPU_MS,
    maxCpuMs: env.RUNNER_MAX_CPU_MS,
    maxWorkersPerInstall: env.RUNNER_MAX_WORKERS_PER_INSTALL || undefined,
    maxQueuePerInstall: env.RUNNER_MAX_QUEUE_PER_INSTALL || undefined,
    logMaxLines: env.RUNNER_LOG_MAX_LINES,
    logMaxBytes: env.RUNNER_LOG_MAX_BYTES,
    trustedKeys: readTrustedKeys(env.RUNNER_TRUSTED_KEYS),
    logLevel: env.LOG_LEVEL,
    httpAllowedPrivateCidrs: env.RUNNER_HTTP_ALLOWED_PRIVATE_CIDRS ? env.RUNNER_HTTP_ALLOWED_PRIVATE_CIDRS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    httpMaxResponseBytes: env.RUNNER_HTTP_MAX_RESPONSE_BYTES,
    httpMaxRedirects: env.RUNNER_HTTP_MAX_REDIRECTS,
    gatewayUrl: env.GATEWAY_URL,
    serviceToken: env.RUNNER_SERVICE_TOKEN || undefined,
    maxBundleBytes: env.RUNNER_MAX_BUNDLE_BYTES,
    secretsCacheTtlMs: env.RUNNER_SECRETS_CACHE_TTL_MS,
    drainMs: env.RUNNER_DRAIN_MS,
    replayCacheMax: env.RUNNER_REPLAY_CACHE_MAX,
    tls: { certFile: env.RUNNER_TLS_CERT_FILE || undefined, keyFile: env.RUNNER_TLS_KEY_FILE || undefined, clientCaFile: env.RUNNER_TLS_CLIENT_CA_FILE || undefined },
    headersTimeoutMs: env.RUNNER_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.RUNNER_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.RUNNER_KEEP_ALIVE_TIMEOUT_MS,
    ...overrides,
  });
  const problems = result.success
    ? httpServerTimeoutProblems(result.data, 'RUNNER')
    : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!result.success || problems.length > 0) throw new Error(`invalid runner configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return result.data;
}

export interface RunnerTlsMaterial { cert: Buffer; key: Buffer; ca?: Buffer }

/**
 * The PEM files named by `config.tls`, read at start-up so a wrong path stops the runner before
 * it listens; undefined when the runner serves plain http.
 */
export function readRunnerTls(config: RunnerConfig): RunnerTlsMaterial | undefined {
  const { certFile, keyFile, clientCaFile } = config.tls;
  if (!certFile || !keyFile) return undefined;
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`invalid runner configuration: cannot read ${variable} ${path}: ${(err as Error).message}`);
    }
  };
  return {
    cert: read('RUNNER_TLS_CERT_FILE', certFile),
    key: read('RUNNER_TLS_KEY_FILE', keyFile),
    ca: clientCaFile ? read('RUNNER_TLS_CLIENT_CA_FILE', clientCaFile) : undefined,
  };
}
