/**
 * Gateway configuration: read from the environment in this one place and validated at
 * start-up. Every variable is documented in README.md ("Gateway configuration").
 */
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const gatewayConfigSchema = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().default('127.0.0.1'),
  /** postgres://… for PostgreSQL; absent = embedded PGlite in `dataDir/db`. */
  databaseUrl: z.string().optional(),
  dataDir: z.string().default('./data'),
  runnerUrl: z.string().url().default('http://127.0.0.1:8081'),
  /** Bearer token the runner presents on internal APIs (install-config). */
  runnerServiceToken: z.string().min(16).optional(),
  /** Bearer token for operator APIs (publisher registration, /metrics). */
  operatorToken: z.string().min(16).optional(),
  /** Execution-token signing keyring (created on first start when missing). */
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
  storageMaxKeys: int(1, 10_000_000).default(10_000),
  storageMaxValueBytes: int(1, 64 * 1024 * 1024).default(256 * 1024),
  storageMaxTotalBytes: int(1, 1024 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  storageMaxNamespaces: int(1, 10_000).default(32),
  /** Public origin used in CSP frame-ancestors for extension UIs. */
  publicOrigin: z.string().default(''),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

export function gatewayConfigFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<GatewayConfigInput> = {}): GatewayConfig {
  const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const result = gatewayConfigSchema.safeParse({
    port: env.GATEWAY_PORT,
    host: env.GATEWAY_HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.ALGA_DATA_DIR,
    runnerUrl: env.RUNNER_URL,
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
    logLevel: env.LOG_LEVEL,
    ...overrides,
  });
  if (!result.success) {
    throw new Error(`invalid gateway configuration:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return result.data;
}
