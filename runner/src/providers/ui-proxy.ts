/**
 * `alga:extension/ui-proxy` (cap:ui.proxy): `call-route(method, route, body)` calls a host
 * (platform) route through the gateway's internal API
 * `POST {gatewayUrl}/api/internal/ext-ui-proxy/install/{installId}` with the request's execution
 * token. The gateway is the authority: it checks the manifest's `uiProxy.routes` AND the
 * operator's host-route catalog, validates the route and forwards it to the host API.
 *
 * Gateway answer → guest:
 *  - 200 `{ status, headers, bodyB64 }` → `http-response` (a host route's 4xx/5xx is a result);
 *  - 403 → `denied`; 404 `E_NOT_FOUND` (the gateway's own: unknown install) → `not-found`;
 *  - 400 → `bad-request(message)`;
 *  - anything else (401, 5xx, timeout, connection error, no gateway configured) → `unavailable(message)`.
 * The host function only ever throws `witError(...)` values: anything else would trap the guest.
 * The timeout is the request deadline (minus a small margin so the guest can still answer).
 *
 * @example
 *   const fns = uiProxyProvider.bind(scope, null);
 *   const res = await fns.callRoute('GET', '/host/tickets/42', undefined);
 *   // res = { status: 200, headers: [['content-type', 'application/json; charset=utf-8'], …], body: Uint8Array }
 */
import { request } from 'undici';
import { readBodyCapped, type DestroyableBody } from '@alga-psa/extension-contracts';
import { witError, type CapabilityProvider, type RequestScope } from './provider.ts';

export interface ProxyResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

export const UI_PROXY_MAX_BODY_BYTES = 5 * 1024 * 1024;
/** The gateway's JSON answer: a 5 MiB host body in base64 plus headers. */
const MAX_GATEWAY_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEADLINE_MARGIN_MS = 20;
const MAX_ROUTE_LENGTH = 2048;
const WIT_TAGS = new Set(['denied', 'not-found', 'bad-request', 'unavailable']);

type WitErr = { tag: string; val?: unknown };

function isWitErr(e: unknown): e is WitErr {
  return typeof e === 'object' && e !== null && !(e instanceof Error) && WIT_TAGS.has((e as WitErr).tag);
}

const badRequest = (msg: string) => witError('bad-request', msg);
const unavailable = (msg: string) => witError('unavailable', msg);

/** A gateway error message, bounded (never the token: the gateway does not echo it). */
function gatewayMessage(body: unknown, fallback: string): string {
  const message = (body as { error?: { message?: unknown } })?.error?.message;
  return (typeof message === 'string' && message ? message : fallback).replace(/\s+/g, ' ').slice(0, 300);
}

function parseProxyResult(body: unknown): ProxyResponse {
  const r = body as { status?: unknown; headers?: unknown; bodyB64?: unknown };
  if (typeof r !== 'object' || r === null) throw unavailable('invalid answer from the gateway');
  if (typeof r.status !== 'number' || !Number.isInteger(r.status) || r.status < 100 || r.status > 599) throw unavailable('invalid status from the gateway');
  if (!Array.isArray(r.headers) || !r.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
    throw unavailable('invalid headers from the gateway');
  }
  if (r.bodyB64 !== undefined && r.bodyB64 !== null && typeof r.bodyB64 !== 'string') throw unavailable('invalid body from the gateway');
  const bytes = typeof r.bodyB64 === 'string' && r.bodyB64.length > 0 ? Buffer.from(r.bodyB64, 'base64') : undefined;
  return {
    status: r.status,
    headers: (r.headers as Array<[string, string]>).map(([k, v]) => [k, v]),
    body: bytes === undefined ? undefined : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}


async function callRoute(scope: RequestScope, method: unknown, route: unknown, body: unknown): Promise<ProxyResponse> {
  if (typeof method !== 'string' || method.length === 0 || method.length > 16) throw badRequest('method must be an HTTP method name');
  if (typeof route !== 'string' || route.length === 0) throw badRequest('route must be a non-empty string');
  if (route.length > MAX_ROUTE_LENGTH) throw badRequest(`route is longer than ${MAX_ROUTE_LENGTH} characters`);
  if (body !== undefined && body !== null && !(body instanceof Uint8Array)) throw badRequest('body must be bytes');
  const bytes = body instanceof Uint8Array ? body : undefined;
  if (bytes && bytes.byteLength > UI_PROXY_MAX_BODY_BYTES) throw badRequest(`body exceeds ${UI_PROXY_MAX_BODY_BYTES} bytes`);

  const gatewayUrl = scope.operator.gatewayUrl;
  if (!gatewayUrl) throw unavailable('ui-proxy is not configured on this runner (no gateway URL)');
  const timeoutMs = Math.floor(scope.deadlineMs - Date.now() - DEADLINE_MARGIN_MS);
  if (timeoutMs <= 0) throw unavailable('the request deadline has passed');

  const url = `${gatewayUrl.replace(/\/+$/, '')}/api/internal/ext-ui-proxy/install/${encodeURIComponent(scope.installId)}`;
  const payload = JSON.stringify({
    method,
    route,
    // A copy: the guest's memory must not be read after this call returns.
    ...(bytes && bytes.byteLength > 0 ? { bodyB64: Buffer.from(bytes).toString('base64') } : {}),
  });
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Awaited<ReturnType<typeof request>> | undefined;
  const onAbort = () => res?.body.destroy(new Error('deadline'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    res = await request(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${scope.executionToken}`, 'content-type': 'application/json', accept: 'application/json' },
      body: payload,
      signal,
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
    });
    res.body.on('error', () => {});
    const bytes = await readBodyCapped(res.body as unknown as DestroyableBody, MAX_GATEWAY_RESPONSE_BYTES, res.headers['content-length']);
    if (!bytes) throw unavailable('the gateway answer is too large');
    const text = bytes.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const status = res.statusCode;
    const code = (parsed as { error?: { code?: unknown } })?.error?.code;
    if (status === 200) {
      if (parsed === undefined) throw unavailable('invalid answer from the gateway');
      return parseProxyResult(parsed);
    }
    if (status === 403) throw witError('denied');
    if (status === 404 && code === 'E_NOT_FOUND') throw witError('not-found');
    if (status === 400) throw badRequest(gatewayMessage(parsed, 'the gateway refused the request'));
    if (status === 401) throw unavailable(gatewayMessage(parsed, 'the gateway refused the execution token'));
    throw unavailable(gatewayMessage(parsed, `the gateway answered ${status}`));
  } catch (e) {
    if (signal.aborted) throw unavailable('the request deadline was reached before the host route answered');
    if (isWitErr(e)) throw e;
    const err = e as { code?: unknown };
    throw unavailable(`the gateway is unreachable${typeof err?.code === 'string' ? ` (${err.code})` : ''}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export const uiProxyProvider: CapabilityProvider<null> = {
  capability: 'cap:ui.proxy',
  witInterface: 'ui-proxy',
  asyncFunctions: ['call-route'],
  configure: () => null,
  bind: (scope) => ({
    callRoute: async (method: unknown, route: unknown, body: unknown): Promise<ProxyResponse> => {
      try {
        return await callRoute(scope, method, route, body);
      } catch (e) {
        // Only WIT variants may leave a host function; anything else would trap the guest.
        if (isWitErr(e)) throw e;
        throw unavailable('internal error');
      }
    },
  }),
  denied: () => ({
    callRoute: async () => {
      throw witError('denied');
    },
  }),
};
