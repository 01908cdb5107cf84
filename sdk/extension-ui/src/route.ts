/**
 * Is a route from the iframe a plain path under the extension's proxy prefix? The host appends
 * it to `/api/ext-proxy/<extensionId>` and sends the admin's session with it, so anything the URL
 * parser would resolve elsewhere — `..` (raw, `%2e`-encoded, or built from a tab the parser drops),
 * `//host`, a scheme, `\` (a `/` in http URLs) — must be refused before a URL is ever built.
 *
 * Allowlist, not denylist: only RFC 3986 path and query characters pass, so whitespace, control
 * characters, `\`, `#` and non-ASCII never reach `new URL`.
 *
 * @example
 *   checkRoute('/tickets/42?expand=1');   // → { path: '/tickets/42', query: '?expand=1' }
 *   checkRoute('/../api/v1/api-keys');    // throws ExtensionUiError E_ROUTE_INVALID
 */
import { ExtensionUiError } from './errors.ts';
import { maxRouteLength } from './protocol.ts';

const allowedCharacters = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]+$/;
const malformedEscape = /%(?![0-9A-Fa-f]{2})/;
// Decoded, these are dots or separators: the URL parser (or the server) would treat them as such.
const encodedSeparator = /%(2e|2f|5c|00)/i;

export interface CheckedRoute {
  /** The path, starting with `/`. */
  path: string;
  /** `''` or the query string including its `?`. */
  query: string;
}

export function checkRoute(route: unknown): CheckedRoute {
  const refuse = (why: string): never => {
    throw new ExtensionUiError('E_ROUTE_INVALID', `route refused: ${why}`);
  };
  if (typeof route !== 'string' || route.length === 0) return refuse('it must be a non-empty string');
  if (route.length > maxRouteLength) return refuse(`it is longer than ${maxRouteLength} characters`);
  if (!route.startsWith('/')) return refuse('it must be a relative path starting with / (no scheme, no host)');
  if (!allowedCharacters.test(route)) return refuse('it may only contain URL path and query characters (percent-encode the rest; no \\, # or whitespace)');
  if (malformedEscape.test(route)) return refuse('it has a malformed %-escape');
  const queryAt = route.indexOf('?');
  const path = queryAt === -1 ? route : route.slice(0, queryAt);
  const query = queryAt === -1 ? '' : route.slice(queryAt);
  if (path.includes('//')) return refuse('it must not contain // (empty segments or a host)');
  if (encodedSeparator.test(path)) return refuse('its path must not contain encoded dots, slashes, backslashes or NUL (%2e %2f %5c %00)');
  if (path.split('/').some((segment) => segment === '.' || segment === '..')) return refuse('it must not contain . or .. segments');
  return { path, query };
}
