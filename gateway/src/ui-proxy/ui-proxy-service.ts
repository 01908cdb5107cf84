/**
 * ui-proxy (DESIGN.md §3 `ui-proxy`, §6): an extension calls a host (platform) route through the
 * gateway. A call goes through only when BOTH the install's manifest (`uiProxy.routes`) and the
 * operator's host-route catalog (`config.hostRouteCatalog`) allow (method, path), both in the
 * `"METHOD /path/:param"` format.
 *
 * The route the guest sends is a concrete path with an optional query (`/host/tickets/42?x=1`).
 * It is validated strictly before any matching: absolute path only (no scheme, no host, no
 * `//`), no `.`/`..` segments raw or percent-encoded, no encoded `/` or `\`, no NUL, no control
 * characters or fragment, well-formed percent-encoding (the rules live in the contracts'
 * `ui-proxy-route.ts`, shared with the runner's provider). The forwarded URL is built from the
 * operator's `hostApiBaseUrl` and re-checked after WHATWG URL parsing (same origin, path
 * unchanged), so nothing the guest sends can reach another host or another path.
 *
 * Forwarding (undici): the method, the body (`content-type: application/json` when there is
 * one), `authorization: Bearer <hostApiToken>` when configured, and the identity headers
 * `x-alga-tenant-id`, `x-alga-install-id`, `x-alga-extension-id`, `x-request-id` taken from the
 * execution token's claims. The execution token itself is never forwarded. Redirects are not
 * followed (a 3xx is a result), the response body is capped, the timeout is the token's expiry.
 * A host route's 4xx/5xx is a result, not an error; an unreachable or slow host is
 * `E_HOST_UNAVAILABLE`.
 *
 * @example
 *   const svc = new UiProxyService({ hostApiBaseUrl: 'https://psa.internal', hostApiToken: 't', hostRouteCatalog: ['GET /host/tickets/:id'] });
 *   const call = parseUiProxyCall({ method: 'GET', route: '/host/tickets/42' });
 *   svc.authorize(runtime.uiProxyRoutes, call);          // throws AlgaError('E_FORBIDDEN')
 *   const result = await svc.forward(call, claims, signal); // { status, headers, body }
 */
import { request, type Dispatcher } from 'undici';
import {
  AlgaError, checkUiProxyMethod, checkUiProxyRoute, compileUiProxyRoute, readBodyCapped, uiProxyRouteListAllows,
  type CompiledUiProxyRoute, type DestroyableBody, type ExecutionClaims, type UiProxyMethod,
} from '@alga-psa/extension-contracts';

export type { UiProxyMethod };

export const UI_PROXY_MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const UI_PROXY_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Upper bound of one host call, whatever the token's expiry says. */
export const UI_PROXY_MAX_TIMEOUT_MS = 60_000;

/** A validated call: `path` is the raw (still percent-encoded) path, `search` is `''` or `?…`. */
export interface UiProxyCall {
  method: UiProxyMethod;
  path: string;
  search: string;
  body: Buffer | undefined;
}

export interface UiProxyResult {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** The host answered with more than the cap: the gateway answers 502. */
export class UiProxyResponseTooLarge extends Error {
  constructor(limit: number) {
    super(`the host API response exceeds ${limit} bytes`);
    this.name = 'UiProxyResponseTooLarge';
  }
}

// ---------------------------------------------------------------------------------------------
// Validation of the guest's call
// ---------------------------------------------------------------------------------------------

const invalid = (message: string) => new AlgaError('E_VALIDATION', message);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Validate the route (the rules shared with the runner: `checkUiProxyRoute`): returns the raw
 * path and query, or throws E_VALIDATION. Never decodes what it returns: the host receives
 * exactly the bytes that were matched.
 */
export function parseRoute(route: unknown): { path: string; search: string } {
  const checked = checkUiProxyRoute(route);
  if (!checked.ok) throw invalid(checked.message);
  return { path: checked.path, search: checked.search };
}

/** Validate the internal API body `{ method, route, bodyB64? }`. */
export function parseUiProxyCall(input: unknown): UiProxyCall {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('body must be { method, route, bodyB64? }');
  const { method: rawMethod, route, bodyB64 } = input as { method?: unknown; route?: unknown; bodyB64?: unknown };
  const checkedMethod = checkUiProxyMethod(rawMethod);
  if (!checkedMethod.ok) throw invalid(checkedMethod.message);
  const { method } = checkedMethod;
  const { path, search } = parseRoute(route);
  let body: Buffer | undefined;
  if (bodyB64 !== undefined && bodyB64 !== null) {
    if (typeof bodyB64 !== 'string' || bodyB64.length % 4 !== 0 || !BASE64.test(bodyB64)) throw invalid('bodyB64 must be base64');
    body = Buffer.from(bodyB64, 'base64');
    if (body.length > UI_PROXY_MAX_REQUEST_BYTES) throw invalid(`body exceeds ${UI_PROXY_MAX_REQUEST_BYTES} bytes`);
    if (method === 'GET' && body.length > 0) throw invalid('a GET request cannot have a body');
    if (body.length === 0) body = undefined;
  }
  return { method, path, search, body };
}

// ---------------------------------------------------------------------------------------------
// Route lists: manifest `uiProxy.routes` and the operator catalog
// ---------------------------------------------------------------------------------------------

export type CompiledRoute = CompiledUiProxyRoute;

/** `"GET /host/tickets/:id"` → compiled, or a message. */
export const compileRoute = compileUiProxyRoute;

export const routeListAllows = uiProxyRouteListAllows;

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

export interface UiProxyOptions {
  hostApiBaseUrl: string | undefined;
  hostApiToken: string | undefined;
  hostRouteCatalog: readonly string[];
  maxResponseBytes?: number;
  /** undici dispatcher for host calls (default: undici's global one). */
  dispatcher?: Dispatcher;
}

const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'set-cookie', 'set-cookie2']);

export class UiProxyService {
  private readonly catalog: CompiledRoute[];
  private readonly base: URL | undefined;
  private readonly token: string | undefined;
  private readonly maxResponseBytes: number;
  private readonly dispatcher: Dispatcher | undefined;
  /** Manifest route entries compiled once (bounded: entries come from validated manifests). */
  private readonly manifestRoutes = new Map<string, CompiledRoute | null>();

  constructor(options: UiProxyOptions) {
    this.catalog = options.hostRouteCatalog.map((entry) => {
      const r = compileRoute(entry);
      // An operator mistake must not silently widen or narrow what extensions may call.
      if (!r.ok) throw new Error(`invalid hostRouteCatalog entry: ${r.message}`);
      return r.route;
    });
    if (options.hostApiBaseUrl) {
      const base = new URL(options.hostApiBaseUrl);
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('hostApiBaseUrl must be an http(s) URL');
      base.search = '';
      base.hash = '';
      this.base = base;
    }
    this.token = options.hostApiToken || undefined;
    this.maxResponseBytes = options.maxResponseBytes ?? UI_PROXY_MAX_RESPONSE_BYTES;
    this.dispatcher = options.dispatcher;
  }

  private compiledManifestRoute(entry: string): CompiledRoute | null {
    let r = this.manifestRoutes.get(entry);
    if (r === undefined) {
      const c = compileRoute(entry);
      r = c.ok ? c.route : null;
      if (this.manifestRoutes.size >= 5000) this.manifestRoutes.clear();
      this.manifestRoutes.set(entry, r);
    }
    return r;
  }

  /** Throws E_FORBIDDEN unless BOTH the manifest's routes and the operator catalog allow the call. */
  authorize(manifestRoutes: readonly string[], call: Pick<UiProxyCall, 'method' | 'path'>): void {
    const declared = manifestRoutes.map((e) => this.compiledManifestRoute(e)).filter((r): r is CompiledRoute => r !== null);
    if (!routeListAllows(declared, call.method, call.path)) {
      throw new AlgaError('E_FORBIDDEN', `${call.method} ${call.path} is not declared in the extension's uiProxy.routes`);
    }
    if (!routeListAllows(this.catalog, call.method, call.path)) {
      throw new AlgaError('E_FORBIDDEN', `${call.method} ${call.path} is not in the operator's host-route catalog`);
    }
  }

  /** The URL a validated call is sent to; throws when the result would leave the host API. */
  targetUrl(call: Pick<UiProxyCall, 'path' | 'search'>): URL {
    if (!this.base) throw new AlgaError('E_HOST_UNAVAILABLE', 'no host API is configured (hostApiBaseUrl)');
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const url = new URL(`${this.base.origin}${prefix}${call.path}${call.search}`);
    // Belt and braces: the WHATWG parser must not have changed origin or path (dot segments,
    // backslashes, tabs…). parseRoute already refuses all of those.
    if (url.origin !== this.base.origin || url.pathname !== `${prefix}${call.path}` || url.search !== call.search || url.username || url.password) {
      throw invalid('route does not stay on the host API');
    }
    return url;
  }

  async forward(call: UiProxyCall, claims: ExecutionClaims & { expiresAtMs: number }, signal?: AbortSignal): Promise<UiProxyResult> {
    const url = this.targetUrl(call);
    const timeoutMs = Math.min(UI_PROXY_MAX_TIMEOUT_MS, claims.expiresAtMs - Date.now());
    if (timeoutMs <= 0) throw new AlgaError('E_HOST_UNAVAILABLE', 'the request deadline has passed');

    const headers: Record<string, string> = {
      accept: 'application/json, */*;q=0.5',
      'x-alga-tenant-id': claims.tenantId,
      'x-alga-install-id': claims.installId,
      'x-alga-extension-id': claims.extensionId,
      'x-request-id': claims.requestId,
    };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';

    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Dispatcher.ResponseData | undefined;
    const onAbort = () => res?.body.destroy(new Error('aborted'));
    combined.addEventListener('abort', onAbort, { once: true });
    try {
      res = await request(url, {
        method: call.method,
        headers,
        body: call.body,
        signal: combined,
        headersTimeout: timeoutMs + 1000,
        bodyTimeout: timeoutMs + 1000,
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      });
      res.body.on('error', () => {});
      const body = await readBodyCapped(res.body as DestroyableBody, this.maxResponseBytes, res.headers['content-length']);
      if (!body) throw new UiProxyResponseTooLarge(this.maxResponseBytes);
      return { status: res.statusCode, headers: responseHeaders(res.headers), body };
    } catch (err) {
      if (err instanceof UiProxyResponseTooLarge || err instanceof AlgaError) throw err;
      if (timeout.aborted) throw new AlgaError('E_HOST_UNAVAILABLE', `the host API did not answer within ${timeoutMs} ms`);
      if (signal?.aborted) throw new AlgaError('E_HOST_UNAVAILABLE', 'the caller went away');
      throw new AlgaError('E_HOST_UNAVAILABLE', `the host API is unreachable (${errorCode(err)})`);
    } finally {
      combined.removeEventListener('abort', onAbort);
    }
  }
}

function responseHeaders(headers: Record<string, string | string[] | undefined>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(name)) continue;
    if (Array.isArray(v)) for (const x of v) out.push([name, String(x)]);
    else if (v !== undefined) out.push([name, String(v)]);
  }
  return out;
}

/** A short, non-sensitive description of a transport error (never the URL or its query). */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; errors?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (Array.isArray(e?.errors) && typeof (e.errors[0] as { code?: unknown })?.code === 'string') return (e.errors[0] as { code: string }).code;
  return 'connection failed';
}
