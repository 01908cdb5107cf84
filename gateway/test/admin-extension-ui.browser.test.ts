/**
 * The extension UI page (`/admin/extensions/:installId/ui`) in real Chromium: the notes-ui
 * sample's iframe hosted by the `@alga-psa/extension-ui/host` bridge, used end to end (list, add,
 * delete notes; ticket titles come from a host API stand-in through ui-proxy), with the
 * isolation checked from inside the frame (opaque origin, no cookie, no parent DOM) and from the
 * network (proxy calls leave the admin page with the session and `x-alga-csrf`, the frame gets
 * no credential). Then: disabling the install while the UI is open, an install without a UI, a
 * UI that never loads the client SDK (error + retry), navigation requests from the frame, a
 * read-only user, and the phone layout. Screenshots: test-results/admin-screenshots/extension-ui-*.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Frame, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { screenshot, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';
import { helloVariant } from '../../test-setup/bundles.ts';
import { uiUsingClient } from '../../test-setup/extension-ui.ts';
import { startHostApi, type HostApi } from '../../test-setup/host-api.ts';

const HOST_TOKEN = 'host-api-token-not-for-browsers';
const NOTES = 'com.alga.samples.notes-ui';
const NO_SDK = 'com.alga.samples.ui-no-sdk';
const NAV = 'com.alga.samples.ui-nav';

let host: HostApi;
let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };
const ids: Record<string, string> = {};
const uiPath = (name: string) => `/admin/extensions/${ids[name]}/ui`;

/**
 * axe on the admin page only (WCAG 2.1 A/AA + best practice, serious/critical fail): the frame's
 * content is the extension's, not the console's. The iframe element itself is the page's and is
 * checked (`frame-title`).
 */
async function expectAdminPageA11y(page: Page, options: { frame?: boolean } = {}): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .options({ iframes: false })
    .analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`)).toEqual([]);
  if (options.frame) expect(results.passes.map((p) => p.id)).toContain('frame-title');
}

async function frameOf(page: Page, title: string): Promise<Frame> {
  const handle = await page.locator(`iframe[title="${title}"]`).elementHandle();
  const frame = await handle!.contentFrame();
  return frame!;
}

/** What a script in the frame can reach of this page and its session. */
async function isolationFromInside(frame: Frame) {
  return frame.evaluate(() => {
    const attempt = (f: () => unknown) => { try { return f(); } catch (err) { return `blocked: ${(err as Error).name}`; } };
    return {
      origin: self.origin,
      cookie: attempt(() => document.cookie),
      parentDocument: attempt(() => parent.document.title),
      parentLocation: attempt(() => parent.location.href),
      storage: attempt(() => localStorage.length),
      href: location.href,
    };
  });
}

beforeAll(async () => {
  host = await startHostApi();
  admin = await startAdminBrowser({ gateway: { hostApiBaseUrl: host.url, hostApiToken: HOST_TOKEN, hostRouteCatalog: ['GET /host/tickets/:id'] } });
  await admin.h.publishSample('notes-ui');
  await admin.h.publishSample('hello');
  const noSdk = await admin.h.publish(await helloVariant(
    { name: NO_SDK, ui: { type: 'iframe', entry: 'ui/index.html', menu: { label: 'Broken board' } } },
    { 'index.html': '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>No SDK</title></head><body><p>This UI never loads the client.</p></body></html>\n' },
  ));
  expect(noSdk.status).toBe(201);
  const nav = await admin.h.publish(await helloVariant(
    { name: NAV, ui: { type: 'iframe', entry: 'ui/index.html', menu: { label: 'Navigator' } } },
    await uiUsingClient({
      'app.js': `
        const ui = window.AlgaExtensionUi;
        const out = document.getElementById('out');
        const show = (p) => p.then((v) => { out.textContent = v === undefined ? 'ok' : JSON.stringify(v); }, (e) => { out.textContent = e.code; });
        ui.onReady(() => { document.title = 'nav ready'; ui.resize(); });
        document.getElementById('available').addEventListener('click', () => show(ui.navigate('/extensions?tab=available')));
        document.getElementById('outside').addEventListener('click', () => show(ui.navigate('/api/v1/api-keys')));
        document.getElementById('hello').addEventListener('click', () => show(ui.callProxyJson('/hello')));
        document.getElementById('undeclared').addEventListener('click', () => show(ui.callProxyJson('/admin/users')));
      `,
    }, { body: '<main><h1>Navigator</h1><button id="available">Available</button> <button id="outside">API</button> <button id="hello">Hello</button> <button id="undeclared">Undeclared</button><p id="out"></p></main>' }),
  ));
  expect(nav.status).toBe(201);
  t = await admin.h.tenant('Acme MSP');
  for (const extension of [NOTES, 'com.alga.samples.hello', NO_SDK, NAV]) {
    const res = await t.call('POST', '/api/v1/extensions/install', { extension });
    expect(res.status, res.text).toBe(201);
    ids[extension] = res.body.id;
  }
}, 120_000);
afterAll(async () => { await admin?.close(); await host?.close(); });

describe('the notes-ui sample in its frame', () => {
  it('lists, adds and deletes notes through the bridge; the frame is sandboxed and its calls leave the admin page with the session', async () => {
    const { page, context, problems } = await admin.newPage();
    const requests: Request[] = [];
    page.on('request', (req) => requests.push(req));
    await signIn(page, admin.url, t.adminKey, { next: uiPath(NOTES) });
    expect(new URL(page.url()).pathname).toBe(uiPath(NOTES));
    await page.getByRole('heading', { level: 1, name: 'Extension UI' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Ticket notes' }).waitFor();
    await expect.poll(() => page.title()).toBe('Extension UI · Alga Extensions');

    // The notes UI loads: ticket 42's title comes from the host API through ui-proxy.
    const notes = page.frameLocator('iframe[title="Ticket notes"]');
    await notes.getByRole('heading', { name: '#42: Ticket 42' }).waitFor();
    await page.locator('[role=status]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
    expect(await notes.getByRole('listitem').count()).toBe(0);
    await expectAdminPageA11y(page, { frame: true });
    await screenshot(page, 'extension-ui-notes-empty');

    // Add two notes, delete the first.
    const add = async (text: string) => {
      await notes.getByPlaceholder('Add a note').fill(text);
      await notes.getByRole('button', { name: 'Add' }).click();
      await notes.getByRole('listitem').filter({ hasText: text }).waitFor();
    };
    await add('Called the customer back');
    await add('Replaced the router');
    expect(await notes.getByRole('listitem').count()).toBe(2);
    await screenshot(page, 'extension-ui-notes-two');
    await notes.getByRole('listitem').filter({ hasText: 'Called the customer back' }).getByRole('button', { name: 'Delete' }).click();
    await notes.getByRole('listitem').filter({ hasText: 'Called the customer back' }).waitFor({ state: 'detached' });
    expect(await notes.getByRole('listitem').allTextContents()).toEqual(['Replaced the routerDelete']);
    // Another ticket has its own notes; back on 42 the remaining one is still there (stored by the handler).
    await notes.getByLabel('Ticket').fill('7');
    await notes.getByRole('button', { name: 'Open' }).click();
    await notes.getByRole('heading', { name: '#7: Ticket 7' }).waitFor();
    expect(await notes.getByRole('listitem').count()).toBe(0);
    await notes.getByLabel('Ticket').fill('42');
    await notes.getByRole('button', { name: 'Open' }).click();
    await notes.getByRole('listitem').filter({ hasText: 'Replaced the router' }).waitFor();
    await expectAdminPageA11y(page, { frame: true });
    await screenshot(page, 'extension-ui-notes-desktop');

    // The iframe: sandboxed without allow-same-origin, no referrer, no credential in its URL.
    const iframe = page.locator('iframe[title="Ticket notes"]');
    const sandbox = (await iframe.getAttribute('sandbox'))!;
    expect(sandbox.split(/\s+/).sort()).toEqual(['allow-forms', 'allow-scripts']);
    expect(sandbox).not.toContain('allow-same-origin');
    expect(await iframe.getAttribute('referrerpolicy')).toBe('no-referrer');
    const src = new URL((await iframe.getAttribute('src'))!);
    const install = (await t.call('GET', `/api/v1/installs/${ids[NOTES]}`)).body;
    expect(`${src.pathname}`).toBe(new URL(install.uiUrl, admin.url).pathname);
    expect([...src.searchParams.keys()]).toEqual(['alga-parent-origin']);
    expect(src.searchParams.get('alga-parent-origin')).toBe(new URL(admin.url).origin);

    // From inside: an opaque origin, no cookie, no access to the admin page.
    const inside = await isolationFromInside(await frameOf(page, 'Ticket notes'));
    expect(inside.origin).toBe('null');
    expect(inside.cookie).toBe('blocked: SecurityError');
    expect(inside.parentDocument).toMatch(/^blocked: SecurityError/);
    expect(inside.parentLocation).toMatch(/^blocked: SecurityError/);
    expect(inside.storage).toMatch(/^blocked: SecurityError/);

    // The network: every proxy call left the admin page (not the frame) for /api/ext-proxy with the
    // session cookie and the session's CSRF token; the frame itself fetched nothing but its assets.
    const { csrfToken } = await (await context.request.get(`${admin.url}/api/v1/auth/me`)).json() as { csrfToken: string };
    const [session] = (await context.cookies()).filter((c) => c.name === 'alga_session');
    const proxied = requests.filter((r) => new URL(r.url()).pathname.startsWith('/api/ext-proxy/'));
    const calls = proxied.map((r) => `${r.method()} ${new URL(r.url()).pathname}`);
    expect(calls).toEqual(expect.arrayContaining([
      `GET /api/ext-proxy/${NOTES}/tickets/42/notes`,
      `POST /api/ext-proxy/${NOTES}/tickets/42/notes`,
      `DELETE /api/ext-proxy/${NOTES}/tickets/42/notes/${calls.find((c) => c.startsWith('DELETE'))!.split('/').pop()}`,
      `GET /api/ext-proxy/${NOTES}/tickets/7/notes`,
    ]));
    for (const req of proxied) {
      const headers = await req.allHeaders();
      expect(req.frame()).toBe(page.mainFrame());
      expect(headers['x-alga-csrf']).toBe(csrfToken);
      expect(headers.cookie).toContain(`alga_session=${session.value}`);
    }
    const fromFrame = requests.filter((r) => r.frame() !== page.mainFrame());
    expect(fromFrame.length).toBeGreaterThan(0);
    for (const req of fromFrame) {
      expect(new URL(req.url()).pathname).toMatch(/^\/ext-ui\//);
      // The frame's document is requested by the admin page (same-site: the cookie goes along to the static
      // route, which ignores it, and the document cannot read it). What the opaque origin loads itself
      // (scripts, styles) is cross-site: the SameSite=Strict session cookie is not sent.
      if (req.resourceType() !== 'document') expect((await req.allHeaders()).cookie ?? '').not.toContain('alga_session');
    }
    expect(src.href).not.toContain(csrfToken);
    expect(src.href).not.toContain(session.value);

    // The host API got the platform's token; no secret reached the page, the frame or storage.
    const hostCalls = host.requests.filter((r) => r.path === '/host/tickets/42');
    expect(hostCalls.length).toBeGreaterThan(0);
    expect(hostCalls[0].headers.authorization).toBe(`Bearer ${HOST_TOKEN}`);
    const frame = await frameOf(page, 'Ticket notes');
    for (const html of [await page.content(), await frame.content()]) {
      expect(html).not.toContain(HOST_TOKEN);
      expect(html).not.toContain(csrfToken);
      expect(html).not.toContain(session.value);
      expect(html).not.toContain(t.adminKey);
    }
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);

    // "Reload UI" gives a fresh frame that connects again.
    await page.getByRole('button', { name: 'Reload UI' }).click();
    await notes.getByRole('listitem').filter({ hasText: 'Replaced the router' }).waitFor();
    expect(await page.locator('iframe').count()).toBe(1);

    // No CSP violation, console error or failed request along the way.
    problems.expectNone();
  });

  it('the CSP of /admin/ allows the frame (frame-src self) and the bridge (connect-src self), no inline code', async () => {
    const res = await fetch(`${admin.url}${uiPath(NOTES)}`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const ui = await fetch(new URL((await t.call('GET', `/api/v1/installs/${ids[NOTES]}`)).body.uiUrl, admin.url));
    expect(ui.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts allow-forms;.*connect-src 'none'/);
  });

  it('disabling the install while the UI is open: the next call is refused (E_INSTALL_DISABLED) and the page says so; an admin re-enables it', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: uiPath(NOTES) });
    const notes = page.frameLocator('iframe[title="Ticket notes"]');
    await notes.getByRole('heading', { name: '#42: Ticket 42' }).waitFor();

    expect((await t.call('POST', `/api/v1/installs/${ids[NOTES]}/disable`)).status).toBe(200);
    problems.allow(new RegExp(`/api/ext-proxy/${NOTES.replaceAll('.', '\\.')}/`));
    const refused = page.waitForResponse((r) => r.url().includes('/api/ext-proxy/') && r.request().method() === 'POST');
    await notes.getByPlaceholder('Add a note').fill('Too late');
    await notes.getByRole('button', { name: 'Add' }).click();
    const answer = await refused;
    expect(answer.status()).toBe(404);
    expect((await answer.json()).error.code).toBe('E_INSTALL_DISABLED');

    await page.getByRole('alert').filter({ hasText: 'The extension was disabled while its UI was open' }).waitFor();
    await page.getByRole('heading', { name: 'This extension is disabled' }).waitFor();
    expect(await page.locator('iframe').count()).toBe(0);
    await page.getByText('Disabled', { exact: true }).first().waitFor(); // the header's badge follows
    await expectAdminPageA11y(page);
    await screenshot(page, 'extension-ui-disabled-while-open');

    await page.getByRole('button', { name: 'Enable extension' }).click();
    await page.getByText(`${NOTES} enabled`).waitFor();
    await notes.getByRole('heading', { name: '#42: Ticket 42' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'disabled while its UI was open' }).count()).toBe(0);
    expect((await t.call('GET', `/api/v1/installs/${ids[NOTES]}`)).body.status).toBe('enabled');
    problems.expectNone();
  });
});

describe('other states', () => {
  it('an install without a UI shows an empty state, and its sub-navigation has no UI link', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: uiPath('com.alga.samples.hello') });
    await page.getByRole('heading', { name: 'This extension has no UI' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'com.alga.samples.hello pages' }).getByRole('link', { name: 'UI' }).count()).toBe(0);
    await page.getByRole('link', { name: 'View activity' }).waitFor();
    expect(await page.locator('iframe').count()).toBe(0);
    await expectAdminPageA11y(page);
    await screenshot(page, 'extension-ui-no-ui');
    problems.expectNone();
  });

  it('a UI that never loads the client SDK: loading, then an error with "Try again"', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: uiPath(NO_SDK) });
    await page.getByRole('heading', { level: 2, name: 'Broken board' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Loading Broken board' }).waitFor();
    await screenshot(page, 'extension-ui-loading');
    const alert = page.getByRole('alert').filter({ hasText: "Broken board didn't load" });
    await alert.waitFor({ timeout: 15_000 });
    await alert.getByText('E_NOT_CONNECTED').waitFor();
    expect(await page.locator('iframe').count()).toBe(0);
    await expectAdminPageA11y(page);
    await screenshot(page, 'extension-ui-failed');
    await alert.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('status').filter({ hasText: 'Loading Broken board' }).waitFor();
    expect(await page.locator('iframe[title="Broken board"]').count()).toBe(1);
    problems.expectNone();
  }, 45_000);

  it('navigation asked by the frame stays inside the console; calls outside the manifest endpoints never leave the page', async () => {
    const { page, problems } = await admin.newPage();
    const requests: string[] = [];
    page.on('request', (req) => requests.push(new URL(req.url()).pathname));
    await signIn(page, admin.url, t.adminKey, { next: uiPath(NAV) });
    const nav = page.frameLocator('iframe[title="Navigator"]');
    await nav.getByRole('heading', { name: 'Navigator' }).waitFor();
    const out = nav.locator('#out');

    await nav.getByRole('button', { name: 'Hello' }).click();
    await expect.poll(() => out.textContent()).toMatch(/Hello/);
    expect(requests).toContain(`/api/ext-proxy/${NAV}/hello`);

    await nav.getByRole('button', { name: 'Undeclared' }).click();
    await expect.poll(() => out.textContent()).toBe('E_ROUTE_NOT_ALLOWED');
    expect(requests.filter((p) => p.includes('/admin/users'))).toEqual([]);

    await nav.getByRole('button', { name: 'API' }).click();
    await expect.poll(() => out.textContent()).toBe('E_ROUTE_NOT_ALLOWED');
    expect(new URL(page.url()).pathname).toBe(uiPath(NAV));

    await nav.getByRole('button', { name: 'Available' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/extensions' && url.search === '?tab=available');
    await page.getByRole('table', { name: 'Available extensions' }).waitFor();
    problems.expectNone();
  });

  it('a read-only user sees the UI; a disabled install tells them to ask an admin', async () => {
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'auditor', roles: ['extension:read'] })).body;
    expect((await t.call('POST', `/api/v1/installs/${ids[NAV]}/disable`)).status).toBe(200);
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, key, { next: uiPath(NOTES) });
    await page.frameLocator('iframe[title="Ticket notes"]').getByRole('heading', { name: '#42: Ticket 42' }).waitFor();
    await page.goto(`${admin.url}${uiPath(NAV)}`);
    await page.getByRole('heading', { name: 'This extension is disabled' }).waitFor();
    await page.getByText('Ask a tenant admin to enable it.').waitFor();
    expect(await page.getByRole('button', { name: 'Enable extension' }).count()).toBe(0);
    expect(await page.locator('iframe').count()).toBe(0);
    await expectAdminPageA11y(page);
    await screenshot(page, 'extension-ui-disabled-read-only');
    problems.expectNone();
  });
});

describe('phone layout', () => {
  it('at 390×844 the frame fits the screen and the notes UI works; the page passes axe', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await signIn(page, admin.url, t.adminKey, { next: uiPath(NOTES) });
    const notes = page.frameLocator('iframe[title="Ticket notes"]');
    await notes.getByRole('heading', { name: '#42: Ticket 42' }).waitFor();
    await notes.getByPlaceholder('Add a note').fill('From my phone');
    await notes.getByRole('button', { name: 'Add' }).click();
    await notes.getByRole('listitem').filter({ hasText: 'From my phone' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = (await page.locator('iframe[title="Ticket notes"]').boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await expectAdminPageA11y(page, { frame: true });
    await screenshot(page, 'extension-ui-notes-mobile');
    problems.expectNone();
  });
});
