/**
 * The admin console's shell in real Chromium: sign in with a tenant's admin key, the extensions
 * page, sign out, an expired session, roles, the CSP (no violations), keyboard basics and axe at
 * desktop (1280×800) and phone (390×844) sizes. Screenshots: test-results/admin-screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { expectNoSeriousA11yViolations, screenshot, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';

let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };

beforeAll(async () => {
  admin = await startAdminBrowser();
  for (const sample of ['hello', 'notes-ui', 'ticket-enricher']) await admin.h.publishSample(sample);
  t = await admin.h.tenant('Acme MSP');
  for (const extension of ['com.alga.samples.hello', 'com.alga.samples.notes-ui']) {
    expect((await t.call('POST', '/api/v1/extensions/install', { extension })).status).toBe(201);
  }
});
afterAll(() => admin?.close());

describe('signing in and out', () => {
  it('an admin signs in with the API key and sees the installed extensions; the page has no CSP violation or console error', async () => {
    const { page, problems } = await admin.newPage();
    const res = await page.goto(`${admin.url}/admin/sign-in`);
    expect(res!.headers()['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';.*frame-ancestors 'none'/);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'sign-in-desktop');
    await signIn(page, admin.url, t.adminKey);
    expect(new URL(page.url()).pathname).toBe('/admin/extensions');
    await expect.poll(() => page.title()).toBe('Extensions · Alga Extensions');
    await page.getByRole('heading', { level: 1, name: 'Extensions' }).waitFor();
    const installed = page.getByRole('table', { name: 'Installed extensions' });
    await installed.waitFor();
    expect(await installed.getByRole('row').count()).toBe(3);
    await installed.getByText('com.alga.samples.notes-ui', { exact: true }).waitFor();
    await installed.getByRole('link', { name: 'Open UI of com.alga.samples.notes-ui' }).waitFor();
    await installed.getByRole('link', { name: 'Settings of com.alga.samples.hello' }).waitFor();
    // The header: tenant, key, role; sign out.
    const banner = page.getByRole('banner');
    await banner.getByText('Acme MSP').waitFor();
    await banner.getByText('role Admin', { exact: true }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-installed-desktop');

    await page.getByRole('tab', { name: 'Available' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('?tab=available');
    const available = page.getByRole('table', { name: 'Available extensions' });
    await available.getByRole('row', { name: /ticket-enricher/ }).getByText('Not installed').waitFor();
    await available.getByRole('row', { name: /samples\.hello/ }).getByText('Installed 1.0.0').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-available-desktop');
    problems.expectNone();
  });

  it('opening a console page without a session goes to sign-in and, once signed in, back to that page', async () => {
    const { page, problems } = await admin.newPage();
    problems.allow(/\/api\/v1\/auth\/me/); // the start-up probe: 401 without a session
    await page.goto(`${admin.url}/admin/api-keys`);
    await page.waitForURL((url) => url.pathname === '/admin/sign-in');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/admin/api-keys');
    expect(await page.getByText('Your session expired').count()).toBe(0);
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/api-keys');
    await page.getByRole('table', { name: 'API keys' }).getByText('initial admin').waitFor();
    problems.expectNone();
  });

  it('/admin/ goes to the extensions list; an open redirect through ?next= is refused', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: 'https://evil.example/' });
    expect(new URL(page.url()).pathname).toBe('/admin/extensions');
    await page.goto(`${admin.url}/admin`);
    await page.waitForURL((url) => url.pathname === '/admin/extensions');
    problems.expectNone();
  });

  it('a wrong key is refused inline, with the field marked invalid', async () => {
    const { page, problems } = await admin.newPage();
    problems.allow(/\/api\/v1\/auth\/login/);
    await page.goto(`${admin.url}/admin/sign-in`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Enter your API key.').waitFor();
    await page.getByLabel('API key').fill('alga_notarealkey0_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText(/That API key was not accepted/).waitFor();
    expect(await page.getByLabel('API key').getAttribute('aria-invalid')).toBe('true');
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'sign-in-error');
    problems.expectNone();
  });

  it('signing out ends the session on the gateway and returns to sign-in', async () => {
    const { page, context, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/sign-in');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect((await context.request.get(`${admin.url}/api/v1/auth/me`)).status()).toBe(401);
    expect((await context.cookies()).filter((c) => c.name === 'alga_session')).toEqual([]);
    problems.expectNone();
  });

  it('the session cookie is HttpOnly and SameSite=Strict, and the CSRF token is kept in memory only', async () => {
    const { page, context } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'alga_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 0]);
  });

  it('a session ended elsewhere (signed out in another tab) sends the next API call to sign-in with a message, and signing in returns to that page', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    // The gateway ends the session, as a sign-out in another tab does (a row changed behind the
    // gateway's back would count only after its credential cache TTL, like another replica's write).
    const cookie = (await page.context().cookies()).find((c) => c.name === 'alga_session')!;
    await admin.h.gateway.sessions.revoke(cookie.value);
    problems.allow(/\/api\/v1\/api-keys/);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/sign-in' && url.searchParams.get('expired') === '1');
    await page.getByText('Your session expired; sign in again.').waitFor();
    expect(new URL(page.url()).searchParams.get('next')).toBe('/admin/api-keys');
    await screenshot(page, 'sign-in-expired');
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/api-keys');
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    problems.expectNone();
  });
});

describe('every route of the console', () => {
  it('renders its page inside the shell: an install\'s settings, UI and activity, and API keys', async () => {
    const installs = (await t.call('GET', '/api/v1/installs')).body.installs as Array<{ id: string; extensionName: string }>;
    const notes = installs.find((i) => i.extensionName === 'com.alga.samples.notes-ui')!;
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await page.getByRole('link', { name: 'Settings of com.alga.samples.notes-ui' }).click();
    for (const [name, path] of [['Settings', 'settings'], ['Extension UI', 'ui'], ['Activity', 'activity']] as const) {
      if (path !== 'settings') await page.getByRole('navigation', { name: 'com.alga.samples.notes-ui pages' }).getByRole('link', { name: path === 'ui' ? 'UI' : name }).click();
      await page.waitForURL((url) => url.pathname === `/admin/extensions/${notes.id}/${path}`);
      await page.getByRole('heading', { level: 1, name }).waitFor();
      await page.getByText('com.alga.samples.notes-ui', { exact: true }).first().waitFor();
      await page.locator('[role=status]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `install-${path}`);
    }
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('table', { name: 'API keys' }).getByText('this session').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys');
    // A made-up install id: the not-found state, not a crash.
    problems.allow(/\/api\/v1\/installs\/00000000-0000-4000-8000-000000000000/);
    await page.goto(`${admin.url}/admin/extensions/00000000-0000-4000-8000-000000000000/activity`);
    await page.getByRole('heading', { name: "We couldn't find this install" }).waitFor();
    problems.expectNone();
  });
});

describe('roles', () => {
  it('a read-only key sees the installs without admin actions, and API keys say "You don\'t have access"', async () => {
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'auditor', roles: ['extension:read'] })).body;
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, key);
    await page.getByRole('banner').getByText('role Read', { exact: true }).waitFor();
    const installed = page.getByRole('table', { name: 'Installed extensions' });
    await installed.getByRole('link', { name: 'Activity of com.alga.samples.hello' }).waitFor();
    expect(await installed.getByRole('link', { name: /^Settings of/ }).count()).toBe(0);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: "You don't have access" }).waitFor();
    problems.expectNone();
  });
});

describe('layout and accessibility', () => {
  it('at 390×844 the navigation folds behind a menu button; sign-in and extensions pass axe', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await page.goto(`${admin.url}/admin/sign-in`);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'sign-in-mobile');
    await signIn(page, admin.url, t.adminKey);
    await page.getByRole('table', { name: 'Installed extensions' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    // Nothing wider than the screen: the table scrolls inside its own region.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-mobile');
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await menu.getAttribute('aria-expanded')).toBe('false');
    await menu.click();
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await nav.waitFor({ state: 'visible' });
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-mobile-menu');
    await nav.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    expect(await nav.isVisible()).toBe(false);
    problems.expectNone();
  });

  it('keyboard: the first Tab reaches "Skip to content", which moves focus to the main content; focus is visible', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await page.goto(`${admin.url}/admin/extensions`);
    await page.getByRole('table', { name: 'Installed extensions' }).waitFor();
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    expect(await skip.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await skip.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe('none');
    await screenshot(page, 'skip-link-focused');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // In-app navigation moves focus to the new page's heading.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('page-title');
    problems.expectNone();
  });

  it('an unknown console path shows the not-found page inside the shell', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await page.goto(`${admin.url}/admin/nowhere`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await page.getByRole('link', { name: 'Go to extensions' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/extensions');
    problems.expectNone();
  });
});
