/**
 * How an extension's iframe UI is served, wherever it is served from (the gateway's `/ext-ui`
 * routes, the `alga component dev` shell): third-party UI never runs as the platform, so every
 * response carries a CSP `sandbox` (an opaque origin even when a host page forgets the iframe
 * attribute), no network access of its own, and only the platform page may frame it.
 *
 * @example
 *   res.setHeader('content-security-policy', extUiCsp("'self'"));
 *   for (const [name, value] of extUiAssetHeaders) res.setHeader(name, value);
 *   res.setHeader('content-type', extUiContentType('index.html')); // 'text/html; charset=utf-8'
 */

/** The iframe's `sandbox` attribute on the host page; the CSP below applies the same sandbox when it is forgotten. */
export const extUiIframeSandbox = 'allow-scripts allow-forms';

/** The CSP of every ext-ui response; `frameAncestor` is the platform origin that may frame it. */
export function extUiCsp(frameAncestor: string): string {
  return `sandbox ${extUiIframeSandbox}; default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; `
    + `connect-src 'none'; frame-ancestors ${frameAncestor}; base-uri 'none'; form-action 'none'`;
}

/**
 * Headers of every ext-ui asset besides the CSP. The sandboxed document's origin is opaque, so
 * its module scripts and fonts are CORS requests: without `access-control-allow-origin` they
 * are blocked. The assets are public, immutable and served without credentials, so any origin
 * may read them.
 */
export const extUiAssetHeaders: ReadonlyArray<readonly [string, string]> = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['access-control-allow-origin', '*'],
];

const contentTypes: Record<string, string> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
  json: 'application/json', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  ico: 'image/x-icon', woff: 'font/woff', woff2: 'font/woff2', txt: 'text/plain; charset=utf-8', map: 'application/json',
};

/** The content type of a UI asset by its extension (unknown: octet-stream, never sniffed). */
export function extUiContentType(asset: string): string {
  return contentTypes[asset.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
}
