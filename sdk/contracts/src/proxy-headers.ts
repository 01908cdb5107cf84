/**
 * What crosses the extension proxy in each direction (issue 7), in the gateway and in
 * `alga component dev` alike. An extension's response is data served on
 * the platform origin, so it is allowed a few descriptive headers and nothing that acts on the
 * browser (cookies, redirects, refresh, service-worker scope, CORS, auth challenges, site
 * data); and it is always sandboxed, so HTML from an extension never runs as a platform page.
 */

/** Response headers an extension may set, plus any `x-extension-*` header of its own. */
const allowedResponseHeaders = new Set(['content-type', 'cache-control', 'etag', 'last-modified', 'content-language', 'vary']);
export const extensionHeaderPrefix = 'x-extension-';
/** Headers HTTP allows once: when a guest repeats one, its last value wins. */
export const singleValuedResponseHeaders: ReadonlySet<string> = new Set(['content-type', 'etag', 'last-modified', 'content-language']);

/**
 * On every proxied response: an opaque origin with no script, no subresources and no
 * framing by anyone, even when the browser navigates to it directly.
 */
export const proxiedResponseSecurityHeaders: ReadonlyArray<[string, string]> = [
  ['content-security-policy', "sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['cross-origin-resource-policy', 'same-origin'],
  ['referrer-policy', 'no-referrer'],
];

/** Never handed to an extension: the caller's credentials and hop-by-hop headers. */
const droppedRequestHeaders = new Set(['authorization', 'cookie', 'proxy-authorization', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length', 'forwarded', 'x-real-ip', 'x-request-id']);
/** Prefixes the gateway owns: a caller cannot pose as the gateway (request id, client address, versions, CSRF token). */
const droppedRequestPrefixes = ['x-forwarded-', 'x-alga-', 'x-ext-'];

export function extensionRequestHeaders(headers: NodeJS.Dict<string | string[]>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || droppedRequestHeaders.has(name) || droppedRequestPrefixes.some((p) => name.startsWith(p))) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
  }
  return out;
}

export function isAllowedResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return allowedResponseHeaders.has(lower) || (lower.startsWith(extensionHeaderPrefix) && lower.length > extensionHeaderPrefix.length);
}
