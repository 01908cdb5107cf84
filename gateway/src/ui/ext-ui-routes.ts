/**
 * `GET /ext-ui/:extensionId/:contentHash/*`: an extension's iframe UI, straight from its
 * content-addressed bundle. Content never changes for a hash, so ETags are the hash and
 * caching is immutable.
 *
 * Third-party UI never runs as the platform (issue 7): every response carries a CSP `sandbox`
 * without `allow-same-origin`, so even a direct top-level navigation gets an opaque origin — no
 * cookies, no storage, no same-origin fetch, no service worker — and the UI reaches its backend
 * only through the host page's postMessage bridge (`connect-src 'none'`). With
 * `ALGA_EXT_UI_ORIGIN` the UIs are served from that separate, cookieless origin instead, and the
 * platform origin only redirects there.
 */
import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { AlgaError, contentHashPattern, extUiAssetHeaders, extUiContentType, extUiCsp, isSafeArchivePath, readBundle } from '@alga-psa/extension-contracts';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { route } from '../http/errors.ts';

export interface ExtUiDeps {
  knex: Knex;
  bundleStore: BundleStore;
  /** ALGA_PUBLIC_ORIGIN: the origin allowed to frame extension UIs when they have their own origin. */
  publicOrigin: string;
  /** ALGA_EXT_UI_ORIGIN ('' = serve from the platform origin, sandboxed). */
  extUiOrigin: string;
}

export function extUiRoutes(deps: ExtUiDeps): Router {
  const router = express.Router();
  const extUiHost = deps.extUiOrigin ? new URL(deps.extUiOrigin).host : undefined;
  const csp = extUiCsp(deps.extUiOrigin ? deps.publicOrigin : "'self'");
  const uiByHash = new LRUCache<string, { files: Map<string, Uint8Array> }>({
    max: 64,
    fetchMethod: async (hash) => {
      const bytes = await deps.bundleStore.get(hash);
      if (!bytes) throw new AlgaError('E_NOT_FOUND', 'no such bundle');
      return { files: (await readBundle(bytes)).uiFiles };
    },
  });
  router.get('/ext-ui/:extensionId/:contentHash/{*asset}', route(async (req, res) => {
    if (extUiHost && req.headers.host !== extUiHost) {
      res.redirect(308, `${deps.extUiOrigin}${req.originalUrl}`);
      return;
    }
    if (req.headers['service-worker'] !== undefined) throw new AlgaError('E_FORBIDDEN', 'extension UI assets cannot be service-worker scripts');
    const { extensionId, contentHash } = req.params as { extensionId: string; contentHash: string };
    const asset = ([] as string[]).concat((req.params as { asset?: string[] }).asset ?? []).join('/') || 'index.html';
    if (!contentHashPattern.test(contentHash) || !isSafeArchivePath(asset)) throw new AlgaError('E_NOT_FOUND', 'no such asset');
    const isUuid = /^[0-9a-f-]{36}$/i.test(extensionId);
    const version = await deps.knex('extension_version as v').join('extension_registry as r', 'r.id', 'v.registry_id')
      .where({ 'v.content_hash': contentHash, ...(isUuid ? { 'r.id': extensionId } : { 'r.name': extensionId }) }).first('v.id');
    if (!version) throw new AlgaError('E_NOT_FOUND', 'no such extension version');
    const etag = `"${createHash('sha256').update(`${contentHash}/${asset}`).digest('base64url').slice(0, 32)}"`;
    res.setHeader('content-security-policy', csp);
    for (const [name, value] of extUiAssetHeaders) res.setHeader(name, value);
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.setHeader('etag', etag);
    if (req.headers['if-none-match'] === etag) { res.status(304).end(); return; }
    const ui = await uiByHash.fetch(contentHash);
    const data = ui?.files.get(asset);
    if (!data) throw new AlgaError('E_NOT_FOUND', 'no such asset');
    res.type(extUiContentType(asset));
    res.end(Buffer.from(data));
  }));
  return router;
}

/**
 * On the separate extension-UI origin nothing but the UI assets is served: no API, no login,
 * so no cookie is ever set there and no platform call can be made from it.
 */
export function extUiOriginOnly(extUiOrigin: string): express.RequestHandler {
  const host = extUiOrigin ? new URL(extUiOrigin).host : undefined;
  return (req, _res, next) => {
    if (host && req.headers.host === host && !req.path.startsWith('/ext-ui/') && req.path !== '/healthz') {
      return next(new AlgaError('E_NOT_FOUND', 'this origin serves extension UIs only'));
    }
    next();
  };
}
