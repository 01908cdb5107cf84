/**
 * A real gateway (PGlite locally, PostgreSQL in CI via ALGA_TEST_DATABASE_URL) wired to a real
 * runner on loopback, with a local keyring, a temp bundle store and a registered publisher.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { JWK } from 'jose';
import { generateExecutionSigningKey, generatePublisherKey, signBundle } from '@alga-psa/extension-contracts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { createSecretCipher, type SecretBackendConfig, type SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import { createRunner, runnerConfigFromEnv, type Runner, type RunnerConfig } from '@alga-psa/runner';
import { openTestDatabase } from '../gateway/src/db/test-database.ts';
import type { Database } from '../gateway/src/db/database.ts';
import { createGateway, ExecutionKeys, gatewayConfigFromEnv, type Gateway, type GatewayConfig } from '../gateway/src/index.ts';
import { buildAdminWeb } from '../gateway/web/build.ts';
import { sampleBundle } from './samples.ts';

export const samplesPublisher = 'Alga Samples';

export interface GatewayHarness {
  gateway: Gateway;
  url: string;
  runner: Runner | undefined;
  runnerUrl: string;
  /** Every in-process runner (the first, then `extraRunners`) and their URLs, in that order. */
  runners: Runner[];
  runnerUrls: string[];
  db: Database;
  dir: string;
  operatorToken: string;
  runnerServiceToken: string;
  publisherKeyId: string;
  publisherKeyPem: string;
  secretCipher: SecretCipher;
  /** Captured gateway + runner log output, for leak greps. */
  logs: string[];
  tenant(name?: string): Promise<{ tenantId: string; adminKey: string; call: Caller }>;
  publish(bytes: Uint8Array, opts?: { keyId?: string; signature?: string | null }): Promise<Response>;
  /** Another registered publisher with a key of its own. */
  addPublisher(name: string): Promise<{ id: string; keyId: string; publish(bytes: Uint8Array): Promise<Response> }>;
  publishSample(name: string): Promise<{ name: string; version: string; contentHash: string }>;
  close(): Promise<void>;
}

export type Caller = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: any; headers: Headers; text: string }>;

export interface GatewayHarnessOptions {
  /** A function receives the gateway's URL-to-be (for origin settings that name its port). */
  gateway?: Partial<GatewayConfig> | ((gatewayUrl: string) => Partial<GatewayConfig>);
  runner?: Partial<RunnerConfig> | false;
  secrets?: SecretBackendConfig;
  /**
   * Start the runner outside this process (e.g. `node runner/src/main.ts`, test-setup/external-runner.ts)
   * instead of in it; called once the gateway's address is known, and stopped by `close()`.
   */
  externalRunner?: (ctx: ExternalRunnerContext) => Promise<{ url: string; close(): Promise<void> }>;
  /** Serve the admin console at /admin/ (default true; built once per run by test-setup/global.ts, cached). */
  adminWeb?: boolean;
  /** A PostgreSQL server of the test's own (e.g. one it stops and starts); default ALGA_TEST_DATABASE_URL, else PGlite. */
  databaseUrl?: string;
  /** Execution keys in a file (`<dir>/execution-keys.json`) that `reloadKeys` reads again, as in production (key-rotation tests). */
  executionKeysFile?: boolean;
  /** More in-process runners beside the first (same bundle store and keys): the gateway gets RUNNER_URLS for all of them. */
  extraRunners?: number;
}

/** What an external runner needs to serve this harness's gateway. */
export interface ExternalRunnerContext {
  /** GATEWAY_URL: where storage and ui-proxy callbacks go. */
  gatewayUrl: string;
  /** BUNDLE_STORE_DIR: the bundle store the gateway publishes into. */
  bundleDir: string;
  /** RUNNER_TRUSTED_KEYS: the gateway's execution-token public keys. */
  trustedKeys: JWK[];
  /** The backend the gateway encrypts with (its keyring file already exists). */
  secrets: SecretBackendConfig;
  /** Push the runner's output lines here, so the harness's leak checks cover it. */
  logs: string[];
}

export async function startGatewayHarness(options: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'alga-gw-test-'));
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(line); } });
  const db = await openTestDatabase(options.databaseUrl ?? process.env.ALGA_TEST_DATABASE_URL);
  const signer = await generateExecutionSigningKey(`gw-${randomUUID().slice(0, 8)}`);
  const executionKeys = options.executionKeysFile
    ? await ExecutionKeys.load(join(dir, 'execution-keys.json'), { createIfMissing: true })
    : await ExecutionKeys.fromJwks([signer.privateJwk], signer.kid);
  const bundleStore = new FileBundleStore(join(dir, 'bundles'));
  const transpileCache = new TranspileCache(join(process.cwd(), '.alga-cache', 'transpile'));
  const secrets = options.secrets ?? { backend: 'local', keyringFile: join(dir, 'keyring.json'), createIfMissing: true };
  const secretCipher = await createSecretCipher(secrets);
  let runner: Runner | undefined;
  let runnerUrl = 'http://127.0.0.1:1';
  const runners: Runner[] = [];
  const runnerUrls: string[] = [];
  // The runner calls back to the gateway (storage, ui-proxy), so the gateway's port is chosen first.
  const reserved = await reservePort();
  const gatewayPort = reserved.port;
  let external: { url: string; close(): Promise<void> } | undefined;
  if (options.externalRunner) {
    external = await options.externalRunner({ gatewayUrl: `http://127.0.0.1:${gatewayPort}`, bundleDir: join(dir, 'bundles'), trustedKeys: executionKeys.publicJwks(), secrets, logs });
    runnerUrl = external.url;
  } else if (options.runner !== false) {
    const start = async () => {
      const r = await createRunner(runnerConfigFromEnv({}, {
        bundleDir: join(dir, 'bundles'), cacheDir: join(process.cwd(), '.alga-cache', 'transpile'), workers: 2,
        trustedKeys: executionKeys.publicJwks(), logLevel: 'silent', gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
        httpAllowedPrivateCidrs: ['127.0.0.1/32'], ...(options.runner ?? {}),
      } as never), { bundleStore, logger, secretCipher });
      return { runner: r, url: (await r.listen(0, '127.0.0.1')).url };
    };
    const started = [await start()];
    for (let i = 0; i < (options.extraRunners ?? 0); i++) started.push(await start());
    runner = started[0].runner;
    runnerUrl = started[0].url;
    runners.push(...started.map((s) => s.runner));
    runnerUrls.push(...started.map((s) => s.url));
  }
  const operatorToken = `op_${randomBytes(16).toString('hex')}`;
  const runnerServiceToken = `svc_${randomBytes(16).toString('hex')}`;
  const overrides = typeof options.gateway === 'function' ? options.gateway(`http://127.0.0.1:${gatewayPort}`) : options.gateway ?? {};
  const config = gatewayConfigFromEnv({}, { dataDir: dir, runnerUrl, ...(runnerUrls.length > 1 ? { runnerUrls } : {}), operatorToken, runnerServiceToken, logLevel: 'debug', ...overrides } as never);
  const adminWebDir = options.adminWeb === false ? undefined : (await buildAdminWeb()).dir;
  const gateway = await createGateway(config, { db, secretCipher, bundleStore, transpileCache, executionKeys, logger, adminWebDir });
  await reserved.release();
  const { url } = await gateway.listen(gatewayPort, '127.0.0.1');

  // The samples' manifests name "Alga Samples", and publish checks the name against the signing key's publisher.
  const publisher = (await gateway.knex('publisher').where({ name: samplesPublisher }).first('id', 'name')) ?? await gateway.registry.createPublisher(samplesPublisher);
  const pub = generatePublisherKey();
  const publisherKeyId = `test-${randomUUID().slice(0, 8)}`;
  await gateway.registry.addPublisherKey(publisher.id, publisherKeyId, pub.publicKeyB64);

  const caller = (auth: Record<string, string>): Caller => async (method, path, body, headers = {}) => {
    const isRaw = body instanceof Uint8Array || typeof body === 'string';
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...auth, ...(body !== undefined && !isRaw ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : isRaw ? (body as BodyInit) : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed as any, headers: res.headers, text };
  };

  const publishWith = (privateKeyPem: string, defaultKeyId: string) => (bytes: Uint8Array, opts: { keyId?: string; signature?: string | null } = {}) => {
    const signature = opts.signature === undefined ? signBundle(bytes, privateKeyPem) : opts.signature;
    return fetch(`${url}/api/v1/registry/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/gzip', 'x-alga-key-id': opts.keyId ?? defaultKeyId, ...(signature ? { 'x-alga-signature': signature } : {}) },
      body: Buffer.from(bytes),
    });
  };
  const publish = publishWith(pub.privateKeyPem, publisherKeyId);

  return {
    gateway, url, runner, runnerUrl, runners, runnerUrls, db, dir, operatorToken, runnerServiceToken, publisherKeyId, publisherKeyPem: pub.privateKeyPem, secretCipher, logs,
    async tenant(name = `Tenant ${randomUUID().slice(0, 6)}`) {
      const t = await gateway.createTenant(name);
      return { ...t, call: caller({ authorization: `Bearer ${t.adminKey}` }) };
    },
    publish,
    async addPublisher(name) {
      const other = await gateway.registry.createPublisher(name);
      const key = generatePublisherKey();
      const keyId = `test-${randomUUID().slice(0, 8)}`;
      await gateway.registry.addPublisherKey(other.id, keyId, key.publicKeyB64);
      return { id: other.id, keyId, publish: publishWith(key.privateKeyPem, keyId) };
    },
    async publishSample(name) {
      const build = await sampleBundle(name);
      const res = await publish(build.bytes);
      if (res.status !== 201) throw new Error(`publishing ${name} failed: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { name: string; version: string; contentHash: string };
      return body;
    },
    async close() {
      await gateway.close();
      await Promise.all(runners.map((r) => r.close().catch(() => undefined)));
      await external?.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A loopback port held by a placeholder listener until `release()`: the gateway's port must be
 * known before the runner starts (it calls back), and an external runner takes seconds to
 * start, during which a parallel test file could otherwise be handed the same free port.
 */
export async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function freePort(): Promise<number> {
  const reserved = await reservePort();
  await reserved.release();
  return reserved.port;
}

export function operatorCaller(h: GatewayHarness): Caller {
  return async (method, path, body) => {
    const res = await fetch(`${h.url}${path}`, { method, headers: { authorization: `Bearer ${h.operatorToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed as any, headers: res.headers, text };
  };
}
