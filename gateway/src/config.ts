/**
 * Gateway configuration: read from the environment in this one place and validated at
 * start-up. Every variable is documented in README.md ("Gateway configuration").
 */
import { z } from 'zod';
import { httpServerTimeoutProblems, missingInProduction, runtimeMode } from '@alga-psa/extension-contracts';
import { DEFAULT_STORAGE_QUOTAS } from '@alga-psa/extension-host/storage/storage-service';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const gatewayConfigSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().default('127.0.0.1'),
  /** postgres://… for PostgreSQL; absent = embedded PGlite in `dataDir/db`. */
  databaseUrl: z.string().optional(),
  dataDir: z.string().default('./data'),
  runnerUrl: z.string().url().default('http://127.0.0.1:8081'),
  /** RUNNER_URLS: several runners, requests routed by content hash (proxy/runner-tier.ts); default [runnerUrl]. */
  runnerUrls: z.array(z.string().url()).min(1).optional(),
  /** How often the gateway polls each runner's /readyz when there are several (ms; 0 = never). */
  runnerHealthIntervalMs: int(0, 600_000).default(2_000),
  /** TLS to an https RUNNER_URL: a private CA to trust, and a client certificate for a runner that requires mTLS. */
  runnerTls: z.object({
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  }).refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), 'ALGA_RUNNER_TLS_CERT_FILE and ALGA_RUNNER_TLS_KEY_FILE must be set together').default({}),
  /** Bearer token the runner presents on internal APIs (install-config). */
  runnerServiceToken: z.string().min(16).optional(),
  /** Bearer token for operator APIs (publisher registration, /metrics). */
  operatorToken: z.string().min(16).optional(),
  /** Execution-token signing keyring (created on first start when missing, outside production). */
  executionKeysFile: z.string().optional(),
  maxBundleBytes: int(1024, 512 * 1024 * 1024).default(32 * 1024 * 1024),
  /** Requests per minute per install on the proxy routes (token bucket). */
  rateLimitPerMinute: int(1, 1_000_000).default(600),
  /** Whole-request budget for proxied calls; the runner's deadline is what remains of it. */
  requestBudgetMs: int(100, 600_000).default(10_000),
  installConfigCacheTtlMs: int(0, 3_600_000).default(5_000),
  sessionTtlMinutes: int(1, 7 * 24 * 60).default(8 * 60),
  apiKeyDefaultTtlDays: int(1, 3650).default(90),
  logRetentionDays: int(1, 3650).default(14),
  /** Host-route catalog for ui-proxy: `METHOD /path` patterns the platform exposes to extensions. */
  hostRouteCatalog: z.array(z.string()).default([]),
  /** Base URL of the platform (host) API that ui-proxy calls are forwarded to. */
  hostApiBaseUrl: z.string().url().optional(),
  /** Bearer token the gateway presents to the host API. */
  hostApiToken: z.string().optional(),
  // Defaults shared with local storage (`alga component dev`, the test host).
  storageMaxKeys: int(1, 10_000_000).default(DEFAULT_STORAGE_QUOTAS.maxKeys),
  storageMaxValueBytes: int(1, 64 * 1024 * 1024).default(DEFAULT_STORAGE_QUOTAS.maxValueBytes),
  storageMaxTotalBytes: int(1, 1024 * 1024 * 1024 * 1024).default(DEFAULT_STORAGE_QUOTAS.maxTotalBytes),
  storageMaxNamespaces: int(1, 10_000).default(DEFAULT_STORAGE_QUOTAS.maxNamespaces),
  /**
   * The platform's own origin (`https://msp.example.com`): session requests must come from it, and
   * it may frame extension UIs. '' = the origin each request was addressed to (local use).
   */
  publicOrigin: z.union([z.literal(''), z.url().transform((u) => new URL(u).origin)]).default(''),
  /**
   * A separate, cookieless origin that serves extension UIs (`https://ext-ui.msp.example.com`),
   * recommended in production; '' = the platform origin, sandboxed by CSP.
   */
  extUiOrigin: z.union([z.literal(''), z.url().transform((u) => new URL(u).origin)]).default(''),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Slow clients (README "Gateway configuration"): headers within 10 s; the whole request, body
   * included, within 30 s — a 32 MB publish needs ~9 Mbit/s, a proxied call has a 10 s budget anyway.
   */
  headersTimeoutMs: int(100, 3_600_000).default(10_000),
  requestTimeoutMs: int(100, 3_600_000).default(30_000),
  /** Idle keep-alive connections; behind a load balancer, set it above the balancer's idle timeout. */
  keepAliveTimeoutMs: int(100, 3_600_000).default(5_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/** Cross-field rules the schema cannot state field by field. */
function checkOrigins(config: GatewayConfig): string[] {
  if (!config.extUiOrigin) return [];
  if (!config.publicOrigin) return ['extUiOrigin: ALGA_EXT_UI_ORIGIN needs ALGA_PUBLIC_ORIGIN (the platform origin that frames the UIs)'];
  if (config.extUiOrigin === config.publicOrigin) return ['extUiOrigin: ALGA_EXT_UI_ORIGIN must differ from ALGA_PUBLIC_ORIGIN'];
  return [];
}

/** Production (NODE_ENV=production) never generates credentials: each must come from the environment. */
function checkProduction(env: NodeJS.ProcessEnv, config: GatewayConfig): string[] {
  return missingInProduction(runtimeMode(env), [
    { variable: 'ALGA_OPERATOR_TOKEN', present: Boolean(config.operatorToken), meaning: 'the operator API credential (16+ characters)' },
    { variable: 'ALGA_RUNNER_SERVICE_TOKEN', present: Boolean(config.runnerServiceToken), meaning: 'the credential runners present on internal APIs (16+ characters)' },
    { variable: 'ALGA_EXECUTION_KEYS_FILE', present: Boolean(config.executionKeysFile), meaning: 'the path of the existing execution-token signing keys { active, keys }' },
  ]);
}

export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<GatewayConfigInput> = {}): GatewayConfig {
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const result = gatewayConfigSchema.safeParse({
    port: env.GATEWAY_PORT,
    host: env.GATEWAY_HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.ALGA_DATA_DIR,
    runnerUrl: env.RUNNER_URL,
    runnerUrls: env.RUNNER_URLS?.split(',').map((u) => u.trim()).filter(Boolean),
    runnerHealthIntervalMs: env.ALGA_RUNNER_HEALTH_INTERVAL_MS,
    runnerTls: { caFile: env.ALGA_RUNNER_TLS_CA_FILE || undefined, certFile: env.ALGA_RUNNER_TLS_CERT_FILE || undefined, keyFile: env.ALGA_RUNNER_TLS_KEY_FILE || undefined },
    runnerServiceToken: env.ALGA_RUNNER_SERVICE_TOKEN,
    operatorToken: env.ALGA_OPERATOR_TOKEN,
    executionKeysFile: env.ALGA_EXECUTION_KEYS_FILE,
    maxBundleBytes: env.ALGA_MAX_BUNDLE_BYTES,
    rateLimitPerMinute: env.ALGA_RATE_LIMIT_PER_MINUTE,
    requestBudgetMs: env.ALGA_REQUEST_BUDGET_MS,
    installConfigCacheTtlMs: env.ALGA_INSTALL_CONFIG_CACHE_TTL_MS,
    sessionTtlMinutes: env.ALGA_SESSION_TTL_MINUTES,
    apiKeyDefaultTtlDays: env.ALGA_API_KEY_TTL_DAYS,
    logRetentionDays: env.ALGA_LOG_RETENTION_DAYS,
    hostRouteCatalog: list(env.ALGA_HOST_ROUTE_CATALOG),
    hostApiBaseUrl: env.ALGA_HOST_API_BASE_URL,
    hostApiToken: env.ALGA_HOST_API_TOKEN,
    storageMaxKeys: env.ALGA_STORAGE_MAX_KEYS,
    storageMaxValueBytes: env.ALGA_STORAGE_MAX_VALUE_BYTES,
    storageMaxTotalBytes: env.ALGA_STORAGE_MAX_TOTAL_BYTES,
    storageMaxNamespaces: env.ALGA_STORAGE_MAX_NAMESPACES,
    publicOrigin: env.ALGA_PUBLIC_ORIGIN,
    extUiOrigin: env.ALGA_EXT_UI_ORIGIN,
    logLevel: env.LOG_LEVEL,
    headersTimeoutMs: env.GATEWAY_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: env.GATEWAY_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: env.GATEWAY_KEEP_ALIVE_TIMEOUT_MS,
    ...overrides,
  });
  const problems = result.success
    ? [...checkOrigins(result.data), ...httpServerTimeoutProblems(result.data, 'GATEWAY'), ...checkProduction(env, result.data)]
    : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (!result.success || problems.length > 0) throw new Error(`invalid gateway configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return result.data;
}
