/**
 * The local host's capability backends, run on the main thread of the CLI's process and reached
 * by the runner's workers through its host-call channel. The runner's providers have already
 * enforced the capability rules (declared namespaces, ui-proxy routes, the http allowlist);
 * these only store, answer or record, as the gateway does behind its callbacks.
 *
 *  - storage: the gateway's own StorageService on an embedded PGlite (quotas, revisions, order);
 *  - ui-proxy: canned host routes (`--host-routes FILE`); a route the file lacks answers 404;
 *  - http (tests only): canned answers for outbound calls, every call recorded.
 */
import { AlgaError } from '@alga-psa/extension-contracts';
import type { HostBackend, HostCallScope } from '@alga-psa/runner';
import type { StorageService, StorageScope } from '@alga-psa/extension-host/storage/storage-service';
import { matchHostRoute, matchHttp, type Fixtures } from './fixtures.ts';
import type { OutboundCall } from '../testing/api.ts';

const witError = (tag: string, val?: string) => (val === undefined ? { tag } : { tag, val });

function storageScope(scope: HostCallScope): StorageScope {
  return { tenantId: scope.tenantId, installId: scope.installId, namespaces: scope.install.storageNamespaces };
}

/** StorageService errors → WIT `storage-error`, as the gateway's callback route + the runner's client map them. */
function storageError(err: unknown): never {
  if (err instanceof AlgaError) {
    if (err.code === 'E_CONFLICT') throw witError('conflict');
    if (err.code === 'E_QUOTA_EXCEEDED') throw witError('quota-exceeded', err.message);
    if (err.code === 'E_VALIDATION') throw witError('invalid', err.message);
    if (err.code === 'E_FORBIDDEN') throw witError('denied');
  }
  throw witError('unavailable', 'local storage failed; run with --reset if .alga/storage is damaged');
}

const revision = (value: unknown) => (value === undefined || value === null ? undefined : Number(value as bigint));

export function storageBackend(storage: StorageService): HostBackend {
  return async ({ op, args, scope }) => {
    const s = storageScope(scope);
    try {
      switch (op) {
        case 'get': {
          const entry = await storage.get(s, args[0], args[1]);
          return entry ? { key: entry.key, value: new Uint8Array(entry.value), revision: BigInt(entry.revision) } : undefined;
        }
        case 'put':
          return BigInt(await storage.put(s, args[0], args[1], args[2] as Uint8Array, revision(args[3]) ?? null));
        case 'delete':
          return await storage.delete(s, args[0], args[1], revision(args[2]) ?? null);
        case 'list': {
          const page = await storage.list(s, args[0], { prefix: (args[1] as string | undefined) ?? null, cursor: (args[2] as string | undefined) ?? null, limit: args[3] as number });
          return { keys: page.keys, nextCursor: page.nextCursor ?? undefined };
        }
        default:
          throw witError('unavailable', `unknown storage operation ${op}`);
      }
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'tag' in err) throw err;
      storageError(err);
    }
  };
}

export interface HostRouteCall {
  method: string;
  route: string;
  status: number;
}

/** Host routes from each install's fixtures; `onCall` sees each call (the dev server prints it). */
export function uiProxyBackend(routesOf: (installId: string) => Fixtures, onCall?: (installId: string, call: HostRouteCall) => void): HostBackend {
  return async ({ op, args, scope }) => {
    if (op !== 'callRoute') throw witError('unavailable', `unknown ui-proxy operation ${op}`);
    const [method, route] = args as [string, string];
    const answer = matchHostRoute(routesOf(scope.installId), method, route);
    const result = answer ?? {
      status: 404,
      headers: [['content-type', 'application/json; charset=utf-8']] as Array<[string, string]>,
      body: new TextEncoder().encode(JSON.stringify({ error: { code: 'E_NOT_FOUND', message: `no host route ${method} ${route.split('?')[0]} in the host-routes fixtures; add it to answer this call locally` } })),
    };
    onCall?.(scope.installId, { method, route, status: result.status });
    return result;
  };
}

/** One outbound call a test's extension made: the test host's own type (`ext.outbound`). */
export type { OutboundCall } from '../testing/api.ts';

/** Outbound HTTP answered from each install's fixtures; every call is recorded, answered or not. */
export function httpFixtureBackend(fixturesOf: (installId: string) => { fixtures: Fixtures; calls: OutboundCall[] } | undefined): HostBackend {
  return async ({ op, args, scope }) => {
    if (op !== 'fetch') throw witError('unavailable', `unknown http operation ${op}`);
    const req = args[0] as { method: string; url: string; headers: Array<[string, string]>; body: Uint8Array | undefined };
    const install = fixturesOf(scope.installId);
    const answer = install ? matchHttp(install.fixtures, req.method, req.url) : undefined;
    install?.calls.push({ method: req.method, url: req.url, headers: req.headers, body: req.body, status: answer?.status });
    if (!answer) throw witError('transport', `no http fixture for ${req.method} ${req.url}; add one to loadExtension({ http: { '${req.method} ${req.url.split('?')[0]}': { json: … } } })`);
    return answer;
  };
}
