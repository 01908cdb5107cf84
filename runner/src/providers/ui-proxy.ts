/**
 * `alga:extension/ui-proxy` (cap:ui.proxy): `call-route(method, route, body)` calls a host
 * (platform) route.
 *
 * The provider enforces the capability's rules before any backend sees a call:
 *  - the method and route by the rules the gateway uses (`checkUiProxyMethod`, `checkUiProxyRoute`
 *    from the contracts: absolute path, no dot segments raw or encoded, no encoded slash or
 *    backslash, no NUL, controls or fragment, well-formed percent-encoding), bytes for a body,
 *    at most 5 MiB, none on a GET → `bad-request(message)`;
 *  - the call must match the manifest's `uiProxy.routes` (`"METHOD /path/:param"`) → `denied`.
 * The gateway checks all of that again and, as the authority, the operator's host-route catalog.
 *
 * Backends (`UiProxyBackend`): they only forward.
 *  - gateway (production): `POST {gatewayUrl}/api/internal/ext-ui-proxy/install/{installId}` with
 *    the execution token (`gateway-callback.ts`). Answer → guest:
 *    200 `{ status, headers, bodyB64 }` → `http-response` (a host route's 4xx/5xx is a result);
 *    403 → `denied`; 404 `E_NOT_FOUND` (the gateway's own: unknown install) → `not-found`;
 *    400 → `bad-request(message)`; anything else (401, 5xx, timeout, connection error, no gateway
 *    configured) → `unavailable(message)`;
 *  - host (`scope.hostCall`, a dev server or test host on the main thread): op `callRoute` with
 *    (method, route, body); it answers an `http-response` or throws a `{ tag, val? }` proxy-error.
 * The host function only ever throws proxy-error values: anything else would trap the guest.
 * Every call is bounded by the request deadline (minus a small margin so the guest can still answer).
 *
 * @example
 *   const fns = uiProxyProvider.bind(scope, uiProxyProvider.configure(install));
 *   const res = await fns.callRoute('GET', '/host/tickets/42', undefined);
 *   // res = { status: 200, headers: [['content-type', 'application/json; charset=utf-8'], …], body: Uint8Array }
 */
import {
  checkUiProxyMethod, checkUiProxyRoute, compileUiProxyRoute, uiProxyRouteListAllows,
  type CompiledUiProxyRoute, type InstallSpec, type UiProxyMethod,
} from '@alga-psa/extension-contracts';
import { asWitError, witError, type CapabilityProvider, type RequestScope, type WitErrorCases } from './provider.ts';
import { gatewayCallback, GatewayCallbackFailure, gatewayErrorCode, gatewayErrorMessage } from './gateway-callback.ts';

export interface ProxyResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

/** Forwards a checked call to the host API. */
export interface UiProxyBackend {
  callRoute(method: UiProxyMethod, route: string, body: Uint8Array | undefined): Promise<ProxyResponse>;
}

export interface UiProxyConfigured {
  /** The manifest's `uiProxy.routes`, compiled once per install config version. */
  routes: readonly CompiledUiProxyRoute[];
}

export const UI_PROXY_MAX_BODY_BYTES = 5 * 1024 * 1024;
/** The gateway's JSON answer: a 5 MiB host body in base64 plus headers. */
const MAX_GATEWAY_RESPONSE_BYTES = 8 * 1024 * 1024;

/** `proxy-error`: tag → default message of its string payload, null for none. */
const PROXY_ERRORS: WitErrorCases = {
  denied: null,
  'not-found': null,
  'bad-request': 'the host route refused the request',
  unavailable: 'the host API is unavailable',
};

const badRequest = (msg: string) => witError('bad-request', msg);
const unavailable = (msg: string) => witError('unavailable', msg);

function checkResponse(r: unknown, body: Uint8Array | undefined, from: string): ProxyResponse {
  const res = r as { status?: unknown; headers?: unknown };
  if (typeof res !== 'object' || res === null) throw unavailable(`invalid answer from the ${from}`);
  if (typeof res.status !== 'number' || !Number.isInteger(res.status) || res.status < 100 || res.status > 599) throw unavailable(`invalid status from the ${from}`);
  if (!Array.isArray(res.headers) || !res.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
    throw unavailable(`invalid headers from the ${from}`);
  }
  return { status: res.status, headers: (res.headers as Array<[string, string]>).map(([k, v]) => [k, v]), body };
}

// ---------------------------------------------------------------------------------------------
// Gateway backend (production)
// ---------------------------------------------------------------------------------------------

function parseGatewayResult(body: unknown): ProxyResponse {
  const b64 = (body as { bodyB64?: unknown } | undefined)?.bodyB64;
  if (b64 !== undefined && b64 !== null && typeof b64 !== 'string') throw unavailable('invalid body from the gateway');
  const bytes = typeof b64 === 'string' && b64.length > 0 ? Buffer.from(b64, 'base64') : undefined;
  return checkResponse(body, bytes === undefined ? undefined : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gateway');
}

export function gatewayUiProxyBackend(scope: RequestScope): UiProxyBackend {
  return {
    async callRoute(method, route, body) {
      const payload = {
        method,
        route,
        // A copy: the guest's memory must not be read after this call returns.
        ...(body && body.byteLength > 0 ? { bodyB64: Buffer.from(body).toString('base64') } : {}),
      };
      let status: number;
      let parsed: unknown;
      try {
        ({ status, body: parsed } = await gatewayCallback(scope, 'ext-ui-proxy', payload, { maxAnswerBytes: MAX_GATEWAY_RESPONSE_BYTES }));
      } catch (e) {
        if (!(e instanceof GatewayCallbackFailure)) throw e;
        if (e.kind === 'not-configured') throw unavailable('ui-proxy is not configured on this runner (no gateway URL)');
        if (e.kind === 'deadline') throw unavailable('the request deadline was reached before the host route answered');
        throw unavailable(e.message);
      }
      if (status === 200) {
        if (parsed === undefined) throw unavailable('invalid answer from the gateway');
        return parseGatewayResult(parsed);
      }
      if (status === 403) throw witError('denied');
      if (status === 404 && gatewayErrorCode(parsed) === 'E_NOT_FOUND') throw witError('not-found');
      if (status === 400) throw badRequest(gatewayErrorMessage(parsed, 'the gateway refused the request'));
      if (status === 401) throw unavailable(gatewayErrorMessage(parsed, 'the gateway refused the execution token'));
      throw unavailable(gatewayErrorMessage(parsed, `the gateway answered ${status}`));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Host backend (main thread: dev server, test host)
// ---------------------------------------------------------------------------------------------

/** Answers cross threads by structured clone: their shape is checked before the guest gets them. */
export function hostUiProxyBackend(hostCall: NonNullable<RequestScope['hostCall']>): UiProxyBackend {
  return {
    async callRoute(method, route, body) {
      const res = await hostCall('callRoute', [method, route, body]);
      const bytes = (res as { body?: unknown } | null | undefined)?.body;
      if (bytes !== undefined && bytes !== null && !(bytes instanceof Uint8Array)) throw unavailable('invalid body from the ui-proxy backend');
      // The gateway's cap on a host answer holds for any backend.
      if (bytes && bytes.byteLength > UI_PROXY_MAX_BODY_BYTES) throw unavailable(`the host API response exceeds ${UI_PROXY_MAX_BODY_BYTES} bytes`);
      return checkResponse(res, bytes && bytes.byteLength > 0 ? bytes : undefined, 'ui-proxy backend');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

async function callRoute(scope: RequestScope, cfg: UiProxyConfigured, backend: UiProxyBackend, rawMethod: unknown, rawRoute: unknown, rawBody: unknown): Promise<ProxyResponse> {
  const method = checkUiProxyMethod(rawMethod);
  if (!method.ok) throw badRequest(method.message);
  const route = checkUiProxyRoute(rawRoute);
  if (!route.ok) throw badRequest(route.message);
  if (rawBody !== undefined && rawBody !== null && !(rawBody instanceof Uint8Array)) throw badRequest('body must be bytes');
  const body = rawBody instanceof Uint8Array && rawBody.byteLength > 0 ? rawBody : undefined;
  if (body && body.byteLength > UI_PROXY_MAX_BODY_BYTES) throw badRequest(`body exceeds ${UI_PROXY_MAX_BODY_BYTES} bytes`);
  if (body && method.method === 'GET') throw badRequest('a GET request cannot have a body');
  if (!uiProxyRouteListAllows(cfg.routes, method.method, route.path)) throw witError('denied');
  if (scope.deadlineMs <= Date.now()) throw unavailable('the request deadline has passed');
  return backend.callRoute(method.method, rawRoute as string, body);
}

export const uiProxyProvider: CapabilityProvider<UiProxyConfigured> = {
  capability: 'cap:ui.proxy',
  witInterface: 'ui-proxy',
  asyncFunctions: ['call-route'],
  configure: (install: InstallSpec) => ({
    // Invalid entries were refused at publish; here they simply never match.
    routes: (install.uiProxyRoutes ?? []).flatMap((entry) => {
      const r = compileUiProxyRoute(entry);
      return r.ok ? [r.route] : [];
    }),
  }),
  bind: (scope, cfg) => {
    const backend = scope.hostCall ? hostUiProxyBackend(scope.hostCall) : gatewayUiProxyBackend(scope);
    return {
      callRoute: async (method: unknown, route: unknown, body: unknown): Promise<ProxyResponse> => {
        try {
          return await callRoute(scope, cfg, backend, method, route, body);
        } catch (e) {
          // Only WIT variants may leave a host function; anything else would trap the guest.
          throw asWitError(e, PROXY_ERRORS) ?? unavailable('internal error');
        }
      },
    };
  },
  denied: () => ({
    callRoute: async () => {
      throw witError('denied');
    },
  }),
};
