/**
 * Serving the admin console (gateway/src/ui/admin-routes.ts) over plain HTTP: redirects, the SPA
 * fallback, caching, the CSP on every /admin answer, and the built bundle itself (no inline code,
 * nothing from another origin, deterministic and content-cached).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { adminWebKey, buildAdminWeb } from '../web/build.ts';
import { adminCsp } from '../src/ui/admin-routes.ts';

const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

let h: GatewayHarness;
beforeAll(async () => { h = await startGatewayHarness({ runner: false }); });
afterAll(() => h?.close());

const get = (path: string, init?: RequestInit) => fetch(`${h.url}${path}`, { redirect: 'manual', ...init });

function expectSecurityHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toBe(csp);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('same-origin');
}

describe('/admin/', () => {
  it('/admin redirects to /admin/ (308, query kept)', async () => {
    const res = await get('/admin?x=1');
    expect(res.status).toBe(308);
    expect(res.headers.get('location')).toBe('/admin/?x=1');
    expectSecurityHeaders(res);
  });

  it('serves index.html for /admin/ and every extension-less path below it, never cached', async () => {
    const index = await get('/admin/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-store');
    expectSecurityHeaders(index);
    const html = await index.text();
    expect(html).toContain('<div id="root"></div>');
    for (const path of ['/admin/sign-in', '/admin/extensions', '/admin/extensions/0b7e6d7e-0000-4000-8000-000000000000/settings', '/admin/no/such/page']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toBe(html);
      expectSecurityHeaders(res);
    }
  });

  it('hashed assets are immutable, have an ETag and answer 304; a missing file is a 404 with the CSP', async () => {
    const html = await (await get('/admin/')).text();
    const script = /<script type="module" crossorigin src="(\/admin\/assets\/[^"]+\.js)"><\/script>/.exec(html)![1];
    const style = /<link rel="stylesheet" crossorigin href="(\/admin\/assets\/[^"]+\.css)">/.exec(html)![1];
    const js = await get(script);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders(js);
    const etag = js.headers.get('etag')!;
    expect((await get(script, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await get(style)).headers.get('content-type')).toMatch(/^text\/css/);
    const missing = await get('/admin/assets/nope-123.js');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('E_NOT_FOUND');
    expectSecurityHeaders(missing);
    // Other methods are not served, and still carry the headers.
    const post = await get('/admin/', { method: 'POST' });
    expect(post.status).toBe(404);
    expectSecurityHeaders(post);
  });

  it('HEAD answers like GET without a body', async () => {
    const res = await get('/admin/extensions', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toBe('');
  });

  it('frame-src names the extension-UI origin when there is one', () => {
    expect(adminCsp('https://ext-ui.example.com')).toContain("frame-src 'self' https://ext-ui.example.com;");
    expect(adminCsp('')).toContain("frame-src 'self';");
  });

  it('without a built console /admin answers 404 saying how to build it', async () => {
    const bare = await startGatewayHarness({ runner: false, adminWeb: false });
    try {
      const res = await fetch(`${bare.url}/admin/`);
      expect(res.status).toBe(404);
      const body = await res.json();
      expect(body.error.code).toBe('E_NOT_FOUND');
      expect(body.error.message).toMatch(/not built.*buildAdminWeb/);
      expect(res.headers.get('content-security-policy')).toBe(csp);
    } finally {
      await bare.close();
    }
  });
});

describe('the built bundle', () => {
  it('has no inline script or style, loads nothing from another origin and uses no eval', async () => {
    const { dir } = await buildAdminWeb();
    const html = await readFile(join(dir, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = await readdir(join(dir, 'assets'));
    expect(assets.some((f) => f.endsWith('.js'))).toBe(true);
    expect(assets.some((f) => f.endsWith('.css'))).toBe(true);
    for (const file of assets.filter((f) => f.endsWith('.js'))) {
      const js = await readFile(join(dir, 'assets', file), 'utf8');
      expect(js, file).not.toMatch(/new Function\(|\beval\(/);
      expect(js, file).not.toMatch(/import\(\s*["'`](https?:)?\/\//);
    }
  });

  it('is content-cached: the same sources give the same folder, found without a build', async () => {
    const first = await buildAdminWeb();
    const key = await adminWebKey();
    expect(first.key).toBe(key);
    expect(first.dir.endsWith(key)).toBe(true);
  });
});
