/**
 * The local host behind `alga component dev` and `loadExtension`: the REAL runner, in this
 * process, with local backends instead of a gateway. Everything production checks is checked
 * here by the same code: the bundle format, the component's imports against its manifest, the
 * capability providers (declared capabilities, the http allowlist with its SSRF rules, storage
 * namespaces and quotas, ui-proxy routes), execution tokens bound to their request, secret
 * decryption through the runner's cache, memory, CPU and deadline limits.
 *
 * What differs from production, and why:
 *  - an install is granted every capability its manifest declares (a developer's own machine);
 *  - secrets are sealed with a throwaway keyring made at start-up, so the runner's real decrypt
 *    path runs and plaintext never sits in an execute body;
 *  - storage is the gateway's StorageService on an embedded PGlite (`.alga/storage`, or memory);
 *  - host routes come from fixtures; outbound HTTP goes to the network (dev) or to fixtures (tests).
 *
 * One host serves any number of installs (a test file's `loadExtension` calls share one runner
 * and one database; each install's storage and fixtures are its own).
 *
 * Hot swap: `deploy()` stores and loads the new bundle first and only then makes it current;
 * a request captures the deployment it started with, so requests in flight finish on the old
 * component while new ones get the new one.
 *
 * @example
 *   const host = await createLocalHost({ stateDir: '.alga', storage: 'memory', outboundHttp: 'network' });
 *   const install = host.install({});
 *   await install.deploy(await packBuildOutput('dist'), { config: {}, secrets: { API_KEY: 'sk-1' } });
 *   const res = await install.request({ method: 'GET', path: '/hello' });  // { status: 200, body, logs, … }
 *   await host.close();
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  effectiveCapabilities, executeBodyDigest, generateExecutionSigningKey, mintExecutionToken, readBundle,
  type ExecuteBody, type ExecuteSuccess, type ExecutionSigningKey, type Manifest,
} from '@alga-psa/extension-contracts';
import { assertManifest, matchEndpoint } from '@alga-psa/extension-contracts/manifest';
import { createRunner, runnerConfigFromEnv, type HostBackend, type Runner } from '@alga-psa/runner';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { generateKeyring, LocalKeyringCipher } from '@alga-psa/extension-host/secrets/local-keyring';
import { openLocalStorage, type LocalStorage } from '@alga-psa/extension-host/storage/local-storage';
import { parseFixtures, type Fixtures } from './fixtures.ts';
import { httpFixtureBackend, storageBackend, uiProxyBackend, type HostRouteCall, type OutboundCall } from './local-backends.ts';
import { resolveConfig } from './install-settings.ts';

export interface LocalIdentity {
  tenantId: string;
  installId: string;
}

export interface LocalHostOptions {
  /** Bundles and the transpile cache live under it (`.alga` in a project). */
  stateDir: string;
  /** PGlite data directory for storage, or 'memory'. */
  storage: string;
  /** 'network': real calls under the SSRF rules (dev); 'fixtures': each install's canned answers (tests). */
  outboundHttp: 'network' | 'fixtures';
  /** Private CIDRs outbound HTTP may reach anyway (`--allow-private`). */
  allowPrivateCidrs?: string[];
  workers?: number;
  /** Per-request deadline; the manifest's `limits.timeoutMs` may ask for less. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface InstallOptions {
  /** Kept between runs by `dev` so stored data stays the install's; default: new ids. */
  identity?: LocalIdentity;
  /** Host routes for ui-proxy calls; asked on every call, so a reloaded file applies at once. */
  hostRoutes?: () => Fixtures;
  /** Answers for outbound HTTP when the host runs with `outboundHttp: 'fixtures'`. */
  httpFixtures?: Fixtures;
  onHostRouteCall?: (call: HostRouteCall) => void;
}

export interface Deployment {
  manifest: Manifest;
  contentHash: string;
  versionId: string;
  config: Record<string, unknown>;
  secretsVersion: number;
  envelope: Record<string, string>;
}

export interface LocalRequest {
  method: string;
  path: string;
  query?: Array<[string, string]> | Record<string, string>;
  headers?: Array<[string, string]> | Record<string, string>;
  body?: Uint8Array | string;
}

export type GuestLog = ExecuteSuccess['logs'][number];

export interface LocalResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  logs: GuestLog[];
  hostCalls: number;
  durationMs: number;
  requestId: string;
  contentHash: string;
  /** Set when the host refused or the runner failed (the body is then `{ error: { code, message } }`). */
  errorCode?: string;
}

export interface LocalInstall {
  readonly identity: LocalIdentity;
  /** Outbound calls answered (or refused) by fixtures, in order. */
  readonly outbound: OutboundCall[];
  current(): Deployment | undefined;
  deploy(bundle: Uint8Array, settings: { config?: unknown; secrets?: Record<string, string> }): Promise<Deployment>;
  request(req: LocalRequest): Promise<LocalResponse>;
  /** Forgets the install (its stored data stays in the database until `storage.reset()`). */
  remove(): void;
}

export interface LocalHost {
  readonly storage: LocalStorage;
  install(options: InstallOptions): LocalInstall;
  close(): Promise<void>;
}

interface InstallState {
  options: InstallOptions;
  outbound: OutboundCall[];
}

const pairs = (v: LocalRequest['headers']): Array<[string, string]> => (v === undefined ? [] : Array.isArray(v) ? v : Object.entries(v));
const noFixtures = parseFixtures({}, 'host route');

export async function createLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const signingKey: ExecutionSigningKey = await generateExecutionSigningKey('alga-dev');
  const cipher = new LocalKeyringCipher(generateKeyring());
  const bundleStore = new FileBundleStore(join(options.stateDir, 'bundles'));
  const storage = await openLocalStorage({ dataDir: options.storage });
  const installs = new Map<string, InstallState>();
  const of = (installId: string) => installs.get(installId);
  const hostBackends: Record<string, HostBackend> = {
    storage: storageBackend(storage.service),
    'ui-proxy': uiProxyBackend((installId) => of(installId)?.options.hostRoutes?.() ?? noFixtures, (installId, call) => of(installId)?.options.onHostRouteCall?.(call)),
  };
  if (options.outboundHttp === 'fixtures') {
    hostBackends.http = httpFixtureBackend((installId) => {
      const state = of(installId);
      return state ? { fixtures: state.options.httpFixtures ?? parseFixtures({}, 'http'), calls: state.outbound } : undefined;
    });
  }

  let runner: Runner;
  try {
    runner = await createRunner(runnerConfigFromEnv({}, {
      port: 0,
      host: '127.0.0.1',
      bundleDir: join(options.stateDir, 'bundles'),
      cacheDir: join(options.stateDir, 'transpile-cache'),
      workers: options.workers ?? 1,
      trustedKeys: [signingKey.publicJwk],
      httpAllowedPrivateCidrs: options.allowPrivateCidrs ?? [],
      logLevel: 'silent',
    }), { bundleStore, secretCipher: cipher, hostBackends, logger });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const { url } = await runner.listen(0, '127.0.0.1');
  const client = new Pool(url, { connections: 16 });

  function install(installOptions: InstallOptions): LocalInstall {
    const identity = installOptions.identity ?? { tenantId: randomUUID(), installId: randomUUID() };
    const extensionId = randomUUID();
    const state: InstallState = { options: installOptions, outbound: [] };
    installs.set(identity.installId, state);
    let current: Deployment | undefined;
    let secretsVersion = 0;

    async function deploy(bundle: Uint8Array, settings: { config?: unknown; secrets?: Record<string, string> }): Promise<Deployment> {
      const contents = await readBundle(bundle);
      const manifest = assertManifest(contents.manifestJson);
      const config = resolveConfig(manifest, settings.config ?? {});
      const contentHash = await bundleStore.put(bundle);
      // Transpiled, compiled, warmed up and instances ready before it becomes current: the first
      // request after a swap pays nothing.
      await runner.prepare(contentHash);
      const sealed = await cipher.encrypt(identity, settings.secrets ?? {});
      const envelope = Object.fromEntries(Object.entries(sealed).map(([k, v]) => [k, v.ciphertext]));
      // A new envelope is a new secrets version: the runner's cache never serves the old values.
      current = { manifest, contentHash, versionId: `${manifest.version}+${contentHash.slice(0, 12)}`, config, secretsVersion: ++secretsVersion, envelope };
      return current;
    }

    async function request(req: LocalRequest): Promise<LocalResponse> {
      const deployment = current;
      const requestId = randomUUID();
      const started = performance.now();
      const refuse = (status: number, code: string, message: string): LocalResponse => ({
        status, headers: [['content-type', 'application/json; charset=utf-8']], body: Buffer.from(JSON.stringify({ error: { code, message } })),
        logs: [], hostCalls: 0, durationMs: performance.now() - started, requestId, contentHash: deployment?.contentHash ?? '', errorCode: code,
      });
      if (!deployment) return refuse(503, 'E_NOT_READY', 'no build is deployed yet; wait for the first build to finish');
      const method = req.method.toUpperCase();
      const [rawPath, rawQuery] = req.path.split('?', 2);
      const path = rawPath || '/';
      if (!matchEndpoint(deployment.manifest.api.endpoints, method, path)) {
        return refuse(404, 'E_ENDPOINT_NOT_DECLARED', `${deployment.manifest.name} does not declare ${method} ${path}; add it to api.endpoints in manifest.json`);
      }
      const query = req.query !== undefined ? pairs(req.query) : [...new URLSearchParams(rawQuery ?? '')] as Array<[string, string]>;
      const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body ? Buffer.from(req.body) : undefined;
      const deadlineMs = Date.now() + Math.min(options.timeoutMs ?? 30_000, deployment.manifest.limits?.timeoutMs ?? Infinity);
      const granted = deployment.manifest.capabilities;
      const execute: ExecuteBody = {
        context: { requestId, tenantId: identity.tenantId, extensionId, installId: identity.installId, versionId: deployment.versionId, contentHash: deployment.contentHash },
        request: { method, path, query, headers: [...pairs(req.headers), ['x-request-id', requestId]], bodyB64: body && body.length > 0 ? body.toString('base64') : undefined },
        install: {
          config: deployment.config, configVersion: 1, grantedCapabilities: [...granted],
          httpAllowedHosts: deployment.manifest.http.allowedHosts, storageNamespaces: deployment.manifest.storage.namespaces ?? null, uiProxyRoutes: deployment.manifest.uiProxy.routes,
        },
        secrets: { secretsVersion: deployment.secretsVersion, envelope: deployment.envelope },
        limits: { deadlineMs, memoryMb: deployment.manifest.limits?.memoryMb },
      };
      // Minted as the gateway mints it: bound to this request, component, install config and envelope.
      const token = await mintExecutionToken(signingKey, {
        requestId, tenantId: identity.tenantId, installId: identity.installId, extensionId, versionId: deployment.versionId,
        contentHash: deployment.contentHash, bodyDigest: executeBodyDigest({ install: execute.install, secrets: execute.secrets }),
        capabilities: [...effectiveCapabilities(deployment.manifest.capabilities, granted)],
      }, deadlineMs);
      const res = await client.request({
        path: '/v1/execute', method: 'POST', body: JSON.stringify(execute),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        headersTimeout: deadlineMs - Date.now() + 5000, bodyTimeout: deadlineMs - Date.now() + 5000,
      });
      const answer = await res.body.json() as ExecuteSuccess | { error: { code: string; message: string } };
      if ('error' in answer) {
        return { ...refuse(res.statusCode >= 400 ? res.statusCode : 500, answer.error.code, answer.error.message), contentHash: deployment.contentHash };
      }
      return {
        status: answer.status, headers: answer.headers, body: Buffer.from(answer.bodyB64, 'base64'), logs: answer.logs,
        hostCalls: answer.metrics.hostCalls, durationMs: performance.now() - started, requestId, contentHash: deployment.contentHash,
      };
    }

    return {
      identity,
      outbound: state.outbound,
      current: () => current,
      deploy,
      request,
      remove: () => { installs.delete(identity.installId); },
    };
  }

  return {
    storage,
    install,
    async close() {
      installs.clear();
      await client.close().catch(() => undefined);
      await runner.close();
      await storage.close();
    },
  };
}
