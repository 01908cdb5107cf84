/**
 * The pure rules of a ui-proxy call (DESIGN.md §3 `ui-proxy`), shared by the gateway (the
 * authority, which also checks the operator's host-route catalog) and the runner's ui-proxy
 * provider (which refuses a bad or undeclared route before any backend sees it): one copy, so
 * the two can never disagree on what a route is.
 *
 * A route is a concrete path with an optional query (`/host/tickets/42?x=1`): absolute path only
 * (no scheme, no host, no `//`), no `.`/`..` segments raw or percent-encoded, no encoded `/` or
 * `\`, no NUL, no control characters or fragment, well-formed percent-encoding. The checks never
 * decode what they return: the host receives exactly the bytes that were matched.
 *
 * Route lists (manifest `uiProxy.routes`, operator catalog) use `"METHOD /path/:param"`.
 *
 * @example
 *   checkUiProxyRoute('/host/tickets/42?x=1');  // { ok: true, path: '/host/tickets/42', search: '?x=1' }
 *   checkUiProxyRoute('/host/../admin');        // { ok: false, message: 'route path must not contain . or .. segments' }
 *   const routes = ['GET /host/tickets/:id'].map(compileUiProxyRoute).flatMap((r) => (r.ok ? [r.route] : []));
 *   uiProxyRouteListAllows(routes, 'GET', '/host/tickets/42'); // true
 */
import { compilePathPattern, uiProxyMethods, type PathMatcher } from './path-pattern.ts';

export type UiProxyMethod = (typeof uiProxyMethods)[number];

export const UI_PROXY_MAX_ROUTE_LENGTH = 2048;

export type UiProxyCheck<T> = ({ ok: true } & T) | { ok: false; message: string };

/** RFC 3986 pchar (without `%`, checked separately) and `/`. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** Query: pchar, `/`, `?`. */
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const PERCENT = /%(?![0-9A-Fa-f]{2})/;

const fail = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** Validate a route: the raw path and query (`''` or `?…`), or why it is refused. */
export function checkUiProxyRoute(route: unknown): UiProxyCheck<{ path: string; search: string }> {
  if (typeof route !== 'string' || route.length === 0) return fail('route must be a non-empty string');
  if (route.length > UI_PROXY_MAX_ROUTE_LENGTH) return fail(`route is longer than ${UI_PROXY_MAX_ROUTE_LENGTH} characters`);
  if (!route.startsWith('/')) return fail('route must be an absolute path starting with / (no scheme or host)');
  if (route.startsWith('//')) return fail('route must not start with // (no host)');
  const q = route.indexOf('?');
  const path = q === -1 ? route : route.slice(0, q);
  const search = q === -1 ? '' : route.slice(q);
  if (!PATH_CHARS.test(path)) return fail('route path contains characters that are not allowed (control characters, spaces, \\, # or non-ASCII must be percent-encoded)');
  if (!QUERY_CHARS.test(search.slice(1))) return fail('route query contains characters that are not allowed');
  if (PERCENT.test(path) || PERCENT.test(search)) return fail('route has malformed percent-encoding');
  if (/%(2f|5c|00)/i.test(path)) return fail('route path must not contain encoded /, \\ or NUL');
  const body = path === '/' ? '' : path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  if (body !== '') {
    for (const seg of body.split('/')) {
      if (seg === '') return fail('route path must not contain empty segments (//)');
      let decoded: string;
      try {
        decoded = decodeURIComponent(seg);
      } catch {
        return fail('route has malformed percent-encoding');
      }
      if (decoded === '.' || decoded === '..') return fail('route path must not contain . or .. segments');
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(decoded)) return fail('route path must not contain control characters');
    }
  }
  return { ok: true, path, search: search === '?' ? '' : search };
}

/** A method name, upper-cased, that ui-proxy forwards; or why not. */
export function checkUiProxyMethod(method: unknown): UiProxyCheck<{ method: UiProxyMethod }> {
  if (typeof method !== 'string') return fail('method must be a string');
  const upper = method.toUpperCase();
  if (!(uiProxyMethods as readonly string[]).includes(upper)) return fail(`method must be one of ${uiProxyMethods.join(' ')}`);
  return { ok: true, method: upper as UiProxyMethod };
}

export interface CompiledUiProxyRoute {
  method: string;
  pattern: string;
  match: PathMatcher;
}

/** `"GET /host/tickets/:id"` → compiled, or a message. */
export function compileUiProxyRoute(entry: string): { ok: true; route: CompiledUiProxyRoute } | { ok: false; message: string } {
  const m = /^([A-Z]+) (\S+)$/.exec(typeof entry === 'string' ? entry.trim() : '');
  if (!m) return fail(`${JSON.stringify(entry)} is not "METHOD /path"`);
  if (!(uiProxyMethods as readonly string[]).includes(m[1])) return fail(`${JSON.stringify(entry)}: method must be one of ${uiProxyMethods.join(' ')}`);
  try {
    return { ok: true, route: { method: m[1], pattern: m[2], match: compilePathPattern(m[2]) } };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** True when some route of the list has this method and its pattern matches the (raw, query-less) path. */
export function uiProxyRouteListAllows(routes: readonly CompiledUiProxyRoute[], method: string, path: string): boolean {
  return routes.some((r) => r.method === method && r.match(path) !== null);
}
