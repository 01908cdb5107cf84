/**
 * One proxy call on a frame's behalf: checks the route, builds
 * `${proxyBase}/${encodeURIComponent(extensionId)}${route}` on the platform origin, sends it with
 * the admin's session (same-origin cookie + `x-alga-csrf`), and returns status, `content-type` and
 * the body text. Nothing of the session — the token, the cookie, any other header — goes back.
 *
 * @example
 *   const result = await forwardProxyCall(request, {
 *     extensionId: 'com.acme.notes', proxyBase: '/api/ext-proxy', csrfToken, fetch, allowed: () => true,
 *     maxRequestBytes: 1 << 20, maxResponseBytes: 4 << 20, maxTimeoutMs: 30_000, pageUrl: location.href,
 *   }, controller.signal);
 *   // → { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' }
 */
import type { RouteFilter } from './allowed-routes.ts';
import { ExtensionUiError } from './errors.ts';
import type { ProxyRequest, ProxyResult } from './protocol.ts';
import { readTextCapped } from './read-capped.ts';
import { checkRoute } from './route.ts';

export interface ProxySettings {
  extensionId: string;
  /** A path on the platform origin, without a trailing slash. */
  proxyBase: string;
  csrfToken: string | (() => string | Promise<string>);
  fetch: typeof fetch;
  allowed: RouteFilter;
  maxRequestBytes: number;
  maxResponseBytes: number;
  maxTimeoutMs: number;
  /** The platform page's URL: calls resolve against it and must stay on its origin. */
  pageUrl: string;
}

/** Rejects with an ExtensionUiError, or with the abort reason when `closed` aborts (nobody is listening then). */
export async function forwardProxyCall(request: ProxyRequest, settings: ProxySettings, closed: AbortSignal): Promise<ProxyResult> {
  const { path, query } = checkRoute(request.route);
  if (!settings.allowed(request.method, path)) {
    throw new ExtensionUiError('E_ROUTE_NOT_ALLOWED', `the host page does not let this frame call ${request.method} ${path}`);
  }
  if (request.body !== undefined && exceeds(request.body, settings.maxRequestBytes)) {
    throw new ExtensionUiError('E_BODY_TOO_LARGE', `the request body is larger than the host accepts (${settings.maxRequestBytes} bytes)`);
  }
  const prefix = `${settings.proxyBase}/${encodeURIComponent(settings.extensionId)}`;
  const page = new URL(settings.pageUrl);
  const url = new URL(`${prefix}${path}${query}`, page);
  // checkRoute should make this impossible; if the URL parser still moved the path, refuse.
  if (url.origin !== page.origin || url.pathname !== `${prefix}${path}`) {
    throw new ExtensionUiError('E_ROUTE_INVALID', 'route refused: it resolves outside the extension proxy');
  }
  const timeoutMs = Math.min(request.timeoutMs ?? settings.maxTimeoutMs, settings.maxTimeoutMs);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([closed, timeout]);
  const csrfToken = typeof settings.csrfToken === 'function' ? await settings.csrfToken() : settings.csrfToken;
  const headers: Record<string, string> = { 'x-alga-csrf': csrfToken };
  if (request.contentType !== undefined) headers['content-type'] = request.contentType;
  try {
    const response = await settings.fetch(url.href, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      // same-origin mode: even a misconfigured proxyBase can never carry the token to another origin.
      credentials: 'same-origin',
      mode: 'same-origin',
      redirect: 'error',
      cache: 'no-store',
      signal,
    });
    const body = await readTextCapped(response, settings.maxResponseBytes);
    const contentType = response.headers.get('content-type');
    return { status: response.status, headers: contentType ? { 'content-type': contentType.slice(0, 256) } : {}, body };
  } catch (err) {
    if (err instanceof ExtensionUiError) throw err;
    if (closed.aborted) throw closed.reason;
    if (timeout.aborted) throw new ExtensionUiError('E_TIMEOUT', `the proxy call did not finish within ${timeoutMs} ms`);
    throw new ExtensionUiError('E_NETWORK', `the proxy call failed: ${(err as Error)?.message ?? String(err)}`.slice(0, 500));
  }
}

function exceeds(body: string, maxBytes: number): boolean {
  // UTF-8 never has fewer bytes than UTF-16 code units, so a long string is refused without encoding it.
  return body.length > maxBytes || new TextEncoder().encode(body).byteLength > maxBytes;
}
