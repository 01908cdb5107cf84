/**
 * The API keys page in real Chromium (`/admin/api-keys`, extension:admin): create a read key with
 * an expiry, see it once with a copy button (clipboard granted, and refused), prove it is gone from
 * the page and from web storage after the dialog closes, use it against the API (reads: 200,
 * writes: 403), revoke it (then 401), revoke the session's own key, non-admin keys get "You don't
 * have access", and axe at 1280×800 and 390×844. Screenshots: test-results/admin-screenshots/api-keys-*.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { expectNoSeriousA11yViolations, screenshot, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';

let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };

beforeAll(async () => {
  admin = await startAdminBrowser();
  await admin.h.publishSample('hello');
  t = await admin.h.tenant('Acme MSP');
  expect((await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).status).toBe(201);
});
afterAll(() => admin?.close());

const day = 86_400_000;

/** A call with another key than the tenant's admin key. */
async function withKey(key: string, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${admin.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Everything the page could keep: the DOM, web storage, cookies visible to script, the URL and history state. */
async function pageKeeps(page: Page): Promise<string> {
  const kept = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie, url: location.href, state: history.state }));
  return `${await page.content()}\n${kept}`;
}

/** The 43-character secret of `alga_<prefix>_<secret>`. It is base64url, so it may itself hold `_`. */
const secretOf = (key: string): string => key.slice('alga_'.length + 12 + 1);

const keysTable = (page: Page) => page.getByRole('table', { name: 'API keys' });
const keyRow = (page: Page, name: string) => keysTable(page).getByRole('row').filter({ hasText: name });

describe('creating, using and revoking a key', () => {
  it('a read key with a 14-day expiry is shown once with Copy; afterwards it is nowhere in the page or storage; it reads (200), cannot write (403), and fails once revoked (401)', async () => {
    const { page, context, problems } = await admin.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: admin.url });
    await signIn(page, admin.url, t.adminKey, { next: '/admin/api-keys' });
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await keyRow(page, 'initial admin').getByText('this session').waitFor();
    await keyRow(page, 'initial admin').getByText('Active', { exact: true }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-list');

    await page.getByRole('button', { name: 'Create API key' }).click();
    const form = page.getByRole('dialog', { name: 'Create API key' });
    await form.waitFor();
    expect(await page.getByLabel('Name').evaluate((el) => el === document.activeElement)).toBe(true);
    // Nothing filled in: the error is next to the field.
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.getByText('Enter a name, so you can tell this key apart later.').waitFor();
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Name').fill('Reporting script');
    expect(await form.getByRole('radio', { name: /^Read/ }).isChecked()).toBe(true);
    await form.getByLabel('Expires after').selectOption({ label: 'Custom…' });
    await form.getByLabel('Days until it expires').fill('5000');
    await form.getByRole('button', { name: 'Create key' }).click();
    await form.getByText('Enter a whole number of days from 1 to 3650.').waitFor();
    await form.getByLabel('Days until it expires').fill('14');
    await form.getByText(/^Expires on /).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-create');
    await form.getByRole('button', { name: 'Create key' }).click();

    const shown = page.getByRole('dialog', { name: 'Copy your new API key' });
    await shown.waitFor();
    await shown.getByText('This is the only time the key is shown.', { exact: false }).waitFor();
    const key = await shown.getByLabel('API key “Reporting script”').inputValue();
    expect(key).toMatch(/^alga_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    // Focus is on Copy, the next thing to do.
    expect(await shown.getByRole('button', { name: 'Copy' }).evaluate((el) => el === document.activeElement)).toBe(true);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-created');
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'hidden' });
    // Focus returns to what opened the dialog.
    expect(await page.getByRole('button', { name: 'Create API key' }).evaluate((el) => el === document.activeElement)).toBe(true);

    // Gone: not in the DOM, web storage, the URL or history state.
    const secretPart = secretOf(key);
    expect(await pageKeeps(page)).not.toContain(secretPart);
    const row = keyRow(page, 'Reporting script');
    await row.getByText('Read', { exact: true }).waitFor();
    await row.getByText('Active', { exact: true }).waitFor();
    await row.getByText(`alga_${key.split('_')[1]}_…`).waitFor();
    const record = (await t.call('GET', '/api/v1/api-keys')).body.apiKeys.find((k: { name: string }) => k.name === 'Reporting script');
    expect(record.roles).toEqual(['extension:read']);
    expect(Math.abs(new Date(record.expiresAt).getTime() - (Date.now() + 14 * day))).toBeLessThan(60_000);

    // The key works for what its role allows, and only that.
    expect(await withKey(key, 'GET', '/api/v1/installs')).toBe(200);
    expect(await withKey(key, 'GET', '/api/ext/com.alga.samples.hello/hello')).toBe(200);
    expect(await withKey(key, 'POST', '/api/ext/com.alga.samples.hello/echo/x', { a: 1 })).toBe(403);
    expect(await withKey(key, 'POST', '/api/v1/api-keys', { name: 'escalate', roles: ['extension:admin'] })).toBe(403);

    await row.getByRole('button', { name: 'Revoke Reporting script' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “Reporting script”?' });
    await confirm.waitFor();
    await confirm.getByText(/stops working at once/).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-revoke-confirm');
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.getByText('Key “Reporting script” revoked').waitFor();
    await row.getByText('Revoked', { exact: true }).waitFor();
    expect(await row.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    expect(await withKey(key, 'GET', '/api/v1/installs')).toBe(401);
    await screenshot(page, 'api-keys-revoked');
    expect(await pageKeeps(page)).not.toContain(secretPart);
    problems.expectNone();
  });

  it('when the clipboard refuses, the key is selected for Ctrl+C; Esc closes the dialog and takes the key with it; the next dialog starts empty', async () => {
    const { page, problems } = await admin.newPage();
    await page.addInitScript(() => {
      Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')) } });
    });
    await signIn(page, admin.url, t.adminKey, { next: '/admin/api-keys' });
    await page.getByRole('button', { name: 'Create API key' }).click();
    const form = page.getByRole('dialog', { name: 'Create API key' });
    await form.getByLabel('Name').fill('CI deploys');
    await form.getByRole('radio', { name: /^Write/ }).check();
    await form.getByLabel('Expires after').selectOption({ label: '7 days' });
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('dialog', { name: 'Copy your new API key' });
    const input = shown.getByLabel('API key “CI deploys”');
    const key = await input.inputValue();
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByText(/Couldn’t copy automatically/).waitFor();
    expect(await input.evaluate((el: HTMLInputElement) => [el === document.activeElement, el.selectionStart, el.selectionEnd])).toEqual([true, 0, key.length]);
    await screenshot(page, 'api-keys-copy-failed');
    await page.keyboard.press('Escape');
    await shown.waitFor({ state: 'hidden' });
    expect(await pageKeeps(page)).not.toContain(secretOf(key));
    await keyRow(page, 'CI deploys').getByText('Write', { exact: true }).waitFor();
    const record = (await t.call('GET', '/api/v1/api-keys')).body.apiKeys.find((k: { name: string }) => k.name === 'CI deploys');
    expect(Math.abs(new Date(record.expiresAt).getTime() - (Date.now() + 7 * day))).toBeLessThan(60_000);
    // A write key: may call a POST endpoint, still not manage keys.
    expect(await withKey(key, 'POST', '/api/ext/com.alga.samples.hello/echo/x', { a: 1 })).toBe(200);
    expect(await withKey(key, 'GET', '/api/v1/api-keys')).toBe(403);

    await page.getByRole('button', { name: 'Create API key' }).click();
    await form.waitFor();
    expect(await form.getByLabel('Name').inputValue()).toBe('');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'hidden' });
    problems.expectNone();
  });

  it('revoking the key of this session ends it: the next request goes to sign-in', async () => {
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'short-lived admin', roles: ['extension:admin'] })).body;
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, key, { next: '/admin/api-keys' });
    const row = keyRow(page, 'short-lived admin');
    await row.getByText('this session').waitFor();
    await row.getByRole('button', { name: 'Revoke short-lived admin' }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke “short-lived admin”?' });
    await confirm.getByText(/You are signed in with this key/).waitFor();
    problems.allow(/\/api\/v1\/api-keys/); // the list's reload after the revoke: 401
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await page.waitForURL((url) => url.pathname === '/admin/sign-in' && url.searchParams.get('expired') === '1');
    expect(await withKey(key, 'GET', '/api/v1/installs')).toBe(401);
    problems.expectNone();
  });
});

describe('roles', () => {
  it('read and write keys get "You don\'t have access" and no Create button', async () => {
    for (const role of ['extension:read', 'extension:write']) {
      const { key } = (await t.call('POST', '/api/v1/api-keys', { name: `${role} user`, roles: [role] })).body;
      const { page, problems } = await admin.newPage();
      await signIn(page, admin.url, key, { next: '/admin/api-keys' });
      await page.getByRole('heading', { name: "You don't have access" }).waitFor();
      expect(await page.getByRole('button', { name: 'Create API key' }).count()).toBe(0);
      expect(await page.getByRole('table', { name: 'API keys' }).count()).toBe(0);
      if (role === 'extension:read') {
        await expectNoSeriousA11yViolations(page);
        await screenshot(page, 'api-keys-forbidden');
      }
      problems.expectNone();
    }
  });
});

describe('layout and accessibility', () => {
  it('at 390×844 the keys are cards and the dialogs fit; no horizontal scrolling; axe passes', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await signIn(page, admin.url, t.adminKey, { next: '/admin/api-keys' });
    await keyRow(page, 'initial admin').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-mobile');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const form = page.getByRole('dialog', { name: 'Create API key' });
    await form.waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-create-mobile');
    await form.getByLabel('Name').fill('Phone test');
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('dialog', { name: 'Copy your new API key' });
    await shown.waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'api-keys-created-mobile');
    await shown.getByRole('button', { name: 'Done' }).click();
    await keyRow(page, 'Phone test').waitFor();
    problems.expectNone();
  });
});
