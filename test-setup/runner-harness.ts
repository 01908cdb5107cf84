/**
 * A real runner on loopback, a temp bundle store and a test-only execution-token signing
 * key (the gateway mints tokens in production).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import { createRunner, runnerConfigFromEnv, type Runner, type RunnerConfig, type RunnerOptions } from '@alga-psa/runner';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { sampleBundle } from './samples.ts';

export interface RunnerHarness {
  runner: Runner;
  url: string;
  config: RunnerConfig;
  store: FileBundleStore;
  signer: ExecutionSigningKey;
  dir: string;
  /** Publish a sample into the store; returns its content hash. */
  addSample(name: string): Promise<string>;
  execute(input: ExecuteInput): Promise<ExecuteAnswer>;
  /** The token and body `execute` would send (the token bound to that body), to alter or replay. */
  prepare(input: ExecuteInput): Promise<{ token: string | null; body: any }>;
  /** POST a token and body as they are. */
  post(token: string | null, body: unknown): Promise<ExecuteAnswer>;
  close(): Promise<void>;
}

export interface ExecuteAnswer { status: number; body: any; ms: number }

export interface ExecuteInput {
  contentHash: string;
  method?: string;
  path: string;
  /** Query parameters the guest sees (`req.query`). */
  query?: Array<[string, string]>;
  body?: string;
  config?: Record<string, unknown>;
  installId?: string;
  tenantId?: string;
  timeoutMs?: number;
  memoryMb?: number;
  grantedCapabilities?: string[];
  httpAllowedHosts?: string[];
  secrets?: { secretsVersion: number; envelope: Record<string, string> };
  /** Overrides for adversarial cases. */
  token?: string | null;
  /** Sign with this key instead of the harness's own. */
  signer?: ExecutionSigningKey;
  rawBody?: unknown;
}

export async function startRunnerHarness(overrides: Partial<RunnerConfig> = {}, options: Pick<RunnerOptions, 'secretCipher'> = {}): Promise<RunnerHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'alga-runner-test-'));
  const signer = await generateExecutionSigningKey(`test-${randomUUID().slice(0, 8)}`);
  const config = runnerConfigFromEnv({}, {
    bundleDir: join(dir, 'bundles'),
    // Transpile output is keyed by content hash + toolchain: sharing it across test files is safe.
    cacheDir: join(process.cwd(), '.alga-cache', 'transpile'),
    workers: 2,
    trustedKeys: [signer.publicJwk],
    logLevel: 'silent',
    ...overrides,
  } as never);
  const store = new FileBundleStore(config.bundleDir);
  const runner = await createRunner(config, { bundleStore: store, logger: pino({ level: 'silent' }), ...options });
  const { url } = await runner.listen(0, '127.0.0.1');

  // Like the gateway: every distinct config of an install gets a new, higher config version.
  const configVersions = new Map<string, number>();
  function configVersionOf(installId: string, config: Record<string, unknown>): number {
    const key = `${installId}|${JSON.stringify(config)}`;
    if (!configVersions.has(key)) configVersions.set(key, configVersions.size + 1);
    return configVersions.get(key)!;
  }

  async function prepare(input: ExecuteInput) {
    const requestId = randomUUID();
    const tenantId = input.tenantId ?? 'tenant-a';
    const installId = input.installId ?? 'install-1';
    const deadlineMs = Date.now() + (input.timeoutMs ?? 5000);
    const body = {
      context: { requestId, tenantId, extensionId: 'ext-1', installId, versionId: 'v1', contentHash: input.contentHash },
      request: { method: input.method ?? 'GET', path: input.path, query: input.query ?? [], headers: [['content-type', 'application/json']], bodyB64: input.body === undefined ? undefined : Buffer.from(input.body).toString('base64') },
      install: { config: input.config ?? {}, configVersion: configVersionOf(installId, input.config ?? {}), grantedCapabilities: input.grantedCapabilities ?? [], httpAllowedHosts: input.httpAllowedHosts ?? [], storageNamespaces: null, uiProxyRoutes: [] },
      secrets: input.secrets ?? { secretsVersion: 0, envelope: {} },
      limits: { deadlineMs, memoryMb: input.memoryMb },
    };
    // Like the gateway: the token is minted over the finished body.
    const token = input.token === undefined
      ? await mintExecutionToken(input.signer ?? signer, {
        requestId, tenantId, installId, extensionId: 'ext-1', versionId: body.context.versionId, contentHash: input.contentHash,
        bodyDigest: executeBodyDigest({ install: body.install, secrets: body.secrets }), capabilities: input.grantedCapabilities ?? [],
      }, deadlineMs)
      : input.token;
    return { token, body: input.rawBody ?? body };
  }

  async function post(token: string | null, body: unknown): Promise<ExecuteAnswer> {
    const started = performance.now();
    const res = await fetch(`${url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* keep text */ }
    return { status: res.status, body: parsed as any, ms: performance.now() - started };
  }

  async function execute(input: ExecuteInput) {
    const { token, body } = await prepare(input);
    return post(token, body);
  }

  return {
    runner, url, config, store, signer, dir, execute, prepare, post,
    async addSample(name) {
      return store.put((await sampleBundle(name)).bytes);
    },
    async close() {
      await runner.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function decodeBody(body: { bodyB64: string }): any {
  return JSON.parse(Buffer.from(body.bodyB64, 'base64').toString('utf8'));
}
