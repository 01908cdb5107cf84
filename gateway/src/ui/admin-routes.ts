/**
 * `GET /admin/*`: the tenant admin console (DESIGN.md §9), a Vite build of `gateway/web/`
 * (`buildAdminWeb()` in `gateway/web/build.ts`) served from memory.
 *
 * - `/admin` → 308 `/admin/`; `/admin/` and every path below it without a file extension
 *   (`/admin/extensions/…`) → `index.html` (the app routes in the browser); a missing file → 404.
 * - `assets/*` are content-hashed by Vite: cached for a year, immutable. `index.html` is
 *   `no-store`, so a new build is picked up on the next load.
 * - Every `/admin` response (redirects and errors too) carries a strict CSP: only the gateway's
 *   own scripts, styles, images and API (no inline code, no eval), frames only from the gateway or
 *   `ALGA_EXT_UI_ORIGIN` (extension UIs), and the console itself may not be framed.
 * - Static files are public (the console holds no data; it signs in through the API, whose
 *   routes require a session like every other). Without a built folder `/admin` answers 404
 *   saying how to build it.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import express, { type Router } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import { route } from '../http/errors.ts';

export interface AdminRoutesDeps {
  /** The built console (`(await buildAdminWeb()).dir`); undefined = not built. */
  adminWebDir: string | undefined;
  /** ALGA_EXT_UI_ORIGIN ('' = extension UIs come from this origin). */
  extUiOrigin: string;
}

export function adminCsp(extUiOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `frame-src 'self'${extUiOrigin ? ` ${extUiOrigin}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

interface StaticFile { body: Buffer; type: string; etag: string; cacheControl: string }

async function loadFiles(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const rel = relative(dir, full).split('\\').join('/');
        const body = await readFile(full);
        files.set(rel, {
          body,
          type: contentTypes[extname(rel).toLowerCase()] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
          cacheControl: rel === 'index.html' ? 'no-store' : rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    }
  };
  await walk(dir);
  if (!files.has('index.html')) throw new Error(`${dir} is not a built admin console (no index.html); build it with \`node gateway/web/build.ts\``);
  return files;
}

export async function adminRoutes(deps: AdminRoutesDeps): Promise<Router> {
  const router = express.Router();
  const files = deps.adminWebDir ? await loadFiles(deps.adminWebDir) : undefined;
  const csp = adminCsp(deps.extUiOrigin);

  // Every method, so that a refused POST /admin/x carries the headers too.
  router.use((req, res, next) => {
    if (req.path === '/admin' || req.path.startsWith('/admin/')) {
      res.setHeader('content-security-policy', csp);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'same-origin');
      res.setHeader('cross-origin-opener-policy', 'same-origin');
      res.setHeader('cross-origin-resource-policy', 'same-origin');
    }
    next();
  });

  router.get('/admin{/*asset}', route(async (req, res) => {
    if (req.path === '/admin') {
      const query = req.originalUrl.indexOf('?');
      res.redirect(308, `/admin/${query === -1 ? '' : req.originalUrl.slice(query)}`);
      return;
    }
    if (!files) {
      throw new AlgaError('E_NOT_FOUND', 'the admin console is not built: `npm start` builds it, or pass createGateway(config, { adminWebDir: (await buildAdminWeb()).dir }) (gateway/web/build.ts)');
    }
    const path = decodeURIComponent(req.path.slice('/admin/'.length));
    const lastSegment = path.slice(path.lastIndexOf('/') + 1);
    const file = files.get(path) ?? (lastSegment.includes('.') ? undefined : files.get('index.html'));
    if (!file) throw new AlgaError('E_NOT_FOUND', `no such file in the admin console: ${path}`);
    res.setHeader('cache-control', file.cacheControl);
    res.setHeader('etag', file.etag);
    if (req.headers['if-none-match'] === file.etag) { res.status(304).end(); return; }
    res.setHeader('content-type', file.type);
    res.setHeader('content-length', String(file.body.byteLength));
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }));
  return router;
}
