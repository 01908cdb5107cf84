/**
 * The settings page (`/admin/extensions/:installId/settings`) in real Chromium, against a real
 * gateway and runner: a form generated from the manifest's settings (every field type, groups,
 * defaults, required marks), inline validation with the shared schema before any request, the
 * gateway's own refusals at their field, Save with the new versions (and the extension seeing the
 * config through the proxy), write-only secrets that never come back (page text, DOM, input
 * values, web storage, every API answer), Remove, Reset to defaults, the unsaved-changes warning,
 * read-only roles, no role, an unknown install, and axe at 1280×800 and 390×844.
 *
 * The extension is the hello sample's component (it echoes its config at /echo/*) under a
 * manifest with text, textarea, number, boolean, select and two secrets.
 */
import { randomBytes } from 'node:crypto';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloVariant } from '../../test-setup/bundles.ts';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { expectNoSeriousA11yViolations, screenshot, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';

const name = 'com.alga.samples.helpdesk-sync';
const settings = (syncMax: number) => [
  { key: 'signature', label: 'Reply signature', type: 'textarea', default: '', description: 'Appended to replies posted from the PSA.' },
  { key: 'workspace', label: 'Helpdesk workspace', type: 'text', required: true, pattern: '[a-z0-9-]{3,32}', group: 'Connection', description: 'The slug in your helpdesk address, e.g. acme-support.' },
  { key: 'apiToken', label: 'API token', type: 'secret', required: true, group: 'Connection', description: 'Create one in your helpdesk under Admin → API.' },
  { key: 'webhookSecret', label: 'Webhook signing secret', type: 'secret', group: 'Connection' },
  { key: 'syncMinutes', label: 'Sync every (minutes)', type: 'number', min: 5, max: syncMax, default: 60, group: 'Sync' },
  {
    key: 'direction', label: 'Direction', type: 'select', default: 'both', group: 'Sync',
    options: [{ value: 'pull', label: 'Helpdesk to PSA' }, { value: 'push', label: 'PSA to helpdesk' }, { value: 'both', label: 'Both ways' }],
  },
  { key: 'includeClosed', label: 'Include closed tickets', type: 'boolean', default: false, group: 'Sync' },
];

let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

async function install(call: Caller, version = '1.0.0'): Promise<string> {
  const res = await call('POST', '/api/v1/extensions/install', { extension: name, version });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

beforeAll(async () => {
  admin = await startAdminBrowser();
  for (const [version, syncMax] of [['1.0.0', 1440], ['1.1.0', 120]] as const) {
    const res = await admin.h.publish(await helloVariant({ name, version, capabilities: ['cap:secrets.get'], description: 'Syncs tickets with a helpdesk.', settings: settings(syncMax) }));
    expect(res.status).toBe(201);
  }
  await admin.h.publishSample('notes-ui');
  t = await admin.h.tenant('Acme MSP');
  installId = await install(t.call);
}, 120_000);
afterAll(() => admin?.close());

const settingsUrl = (id: string) => `${admin.url}/admin/extensions/${id}/settings`;

/** Opens the settings page and waits until the form (or the read-only view) is there. */
async function openSettings(page: Page, id: string): Promise<void> {
  await page.goto(settingsUrl(id));
  await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
  await page.locator('[role=status]').filter({ hasText: 'Loading' }).waitFor({ state: 'detached' });
}

/** Every API answer the page got, with its body (to grep for secrets). */
function collectResponses(page: Page): { bodies: Array<{ url: string; body: string }>; settle(): Promise<void> } {
  const pending: Array<Promise<void>> = [];
  const bodies: Array<{ url: string; body: string }> = [];
  page.on('response', (res: Response) => {
    if (!new URL(res.url()).pathname.startsWith('/api/')) return;
    pending.push(res.text().then((body) => { bodies.push({ url: res.url(), body }); }, () => undefined));
  });
  return { bodies, settle: async () => { await Promise.all(pending); } };
}

/** The plaintext is nowhere the page keeps or shows anything. */
async function expectNowhere(page: Page, responses: ReturnType<typeof collectResponses>, secrets: string[]): Promise<void> {
  await responses.settle();
  const text = await page.evaluate(() => document.body.innerText);
  const html = await page.content();
  const inputs = await page.evaluate(() => Array.from(document.querySelectorAll('input, textarea, select'), (el) => (el as HTMLInputElement).value));
  const storage = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    expect(html).not.toContain(secret);
    expect(inputs.filter((v) => v.includes(secret))).toEqual([]);
    expect(storage).not.toContain(secret);
    expect(responses.bodies.filter((r) => r.body.includes(secret)).map((r) => r.url)).toEqual([]);
  }
  expect(responses.bodies.length).toBeGreaterThan(0);
}

const savebar = (page: Page) => page.locator('.settings-savebar [role=status]');
const secretRow = (page: Page, label: string) => page.getByRole('listitem', { name: label });

describe('an admin edits the settings', () => {
  it('validates inline with the shared schema, saves config and secrets with new versions, never shows a secret again, removes and resets', async () => {
    const { page, problems } = await admin.newPage();
    const responses = collectResponses(page);
    const writes: Array<{ method: string; path: string; body: string | null }> = [];
    page.on('request', (req) => {
      if (req.method() !== 'GET' && req.url().includes('/api/v1/installs/')) writes.push({ method: req.method(), path: new URL(req.url()).pathname, body: req.postData() });
    });
    await signIn(page, admin.url, t.adminKey);
    await openSettings(page, installId);
    await page.getByText(name, { exact: true }).first().waitFor();

    // The form is generated from the manifest: groups, labels, descriptions, defaults, required marks.
    for (const heading of ['General', 'Connection', 'Sync', 'Secrets']) await page.getByRole('heading', { level: 2, name: heading }).waitFor();
    expect(await page.getByLabel('Reply signature').evaluate((el) => el.tagName)).toBe('TEXTAREA');
    const workspace = page.getByLabel('Helpdesk workspace');
    expect(await workspace.getAttribute('aria-required')).toBe('true');
    expect(await workspace.inputValue()).toBe('');
    await page.getByText('The slug in your helpdesk address, e.g. acme-support.').waitFor();
    const minutes = page.getByLabel('Sync every (minutes)');
    expect(await minutes.inputValue()).toBe('60');
    await page.getByText('From 5 to 1440. Leave empty to use the default. Default: 60').waitFor();
    const direction = page.getByLabel('Direction');
    expect(await direction.inputValue()).toBe('both');
    expect(await direction.locator('option').allTextContents()).toEqual(['Helpdesk to PSA', 'PSA to helpdesk', 'Both ways']);
    expect(await page.getByLabel('Include closed tickets').isChecked()).toBe(false);
    expect(await page.locator('.settings-required-legend').textContent()).toBe('* Required');
    await expect.poll(() => page.getByTestId('config-version').textContent()).toBe('1');
    expect(await secretRow(page, 'API token (required)').getByText('Not set').count()).toBe(1);
    await page.getByText('The extension needs API token before it can work.').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-form');

    // Invalid values: the shared schema's messages at their fields, before any request.
    await workspace.fill('Acme Support');
    await workspace.press('Tab');
    await page.getByText('Must match the pattern [a-z0-9-]{3,32}.').waitFor();
    expect(await workspace.getAttribute('aria-invalid')).toBe('true');
    await minutes.fill('2');
    await minutes.press('Tab');
    await page.getByText('Must be >= 5.').waitFor();
    await minutes.fill('12a');
    await page.getByText('Must be a finite number.').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').getByText('2 settings need attention before you can save: Helpdesk workspace, Sync every (minutes).').waitFor();
    await expect.poll(() => workspace.evaluate((el) => el === document.activeElement)).toBe(true);
    const describedBy = (await workspace.getAttribute('aria-describedby'))!.split(' ');
    expect(await page.locator(`[id="${describedBy[0]}"]`).textContent()).toBe('Must match the pattern [a-z0-9-]{3,32}.');
    expect(writes).toEqual([]);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-invalid');

    // Fixed and saved: the new configuration version, and the extension sees the config.
    await workspace.fill('acme-support');
    await minutes.fill('30');
    await direction.selectOption('pull');
    await page.getByLabel('Include closed tickets').check();
    await page.getByLabel('Reply signature').fill('— The Acme service desk');
    expect(await page.getByText('Must match the pattern').count()).toBe(0);
    await savebar(page).getByText('Unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 2, secrets version 0.').waitFor();
    await expect.poll(() => page.getByTestId('config-version').textContent()).toBe('2');
    expect(writes.map((w) => `${w.method} ${w.path}`)).toEqual([`PUT /api/v1/installs/${installId}/settings`]);
    const expected = { signature: '— The Acme service desk', workspace: 'acme-support', syncMinutes: 30, direction: 'pull', includeClosed: true };
    expect(JSON.parse(writes[0].body!)).toEqual(expected);
    await expect.poll(async () => (await t.call('GET', `/api/ext/${name}/echo/config`)).body.config, { timeout: 10_000 }).toEqual(expected);
    await screenshot(page, 'settings-saved');

    // A secret: set, then replaced. Write-only inputs; the value is never shown or returned.
    const first = `tok_first_${randomBytes(12).toString('hex')}`;
    const second = `tok_second_${randomBytes(12).toString('hex')}`;
    const token = secretRow(page, 'API token (required)');
    await token.getByRole('button', { name: 'Set API token' }).click();
    const tokenInput = page.getByLabel('Value for API token');
    await expect.poll(() => tokenInput.evaluate((el) => el === document.activeElement)).toBe(true);
    expect(await tokenInput.getAttribute('type')).toBe('password');
    await tokenInput.fill(first);
    expect(await tokenInput.getAttribute('value')).toBeNull();
    await token.getByText('Set when you save').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-secret-editing');
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 2, secrets version 1.').waitFor();
    await token.getByText('Set', { exact: true }).waitFor();
    await token.getByText(/^Changed /).waitFor();
    expect(await page.locator('input[type=password]').count()).toBe(0);
    await expectNowhere(page, responses, [first]);

    await token.getByRole('button', { name: 'Replace API token' }).click();
    await page.getByLabel('New value for API token').fill(second);
    await token.getByText('Replaced when you save').waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 2, secrets version 2.').waitFor();
    expect((await t.call('GET', `/api/v1/installs/${installId}/secrets`)).body).toMatchObject({ secretsVersion: 2, keys: [{ key: 'apiToken' }], missing: ['webhookSecret'] });
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Secrets' }).waitFor();
    await expectNowhere(page, responses, [first, second]);
    await screenshot(page, 'settings-secret-set');

    // Remove: staged, undoable, applied by Save.
    await token.getByRole('button', { name: 'Remove API token' }).click();
    await token.getByText('Removed when you save').waitFor();
    await token.getByRole('button', { name: 'Undo remove API token' }).click();
    await token.getByText('Set', { exact: true }).waitFor();
    await token.getByRole('button', { name: 'Remove API token' }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 2, secrets version 3.').waitFor();
    await token.getByText('Not set').waitFor();
    await token.getByText('Never set').waitFor();

    // Reset to defaults: the confirmation says secrets are cleared; afterwards they are "Not set".
    const third = `whsec_${randomBytes(12).toString('hex')}`;
    await secretRow(page, 'Webhook signing secret').getByRole('button', { name: 'Set Webhook signing secret' }).click();
    await page.getByLabel('Value for Webhook signing secret').fill(third);
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 2, secrets version 4.').waitFor();
    await minutes.fill('45'); // unsaved
    await page.getByRole('button', { name: 'Reset to defaults…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset to defaults?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/All secrets will be cleared \(API token, Webhook signing secret\)/);
    expect(await dialog.textContent()).toContain('Your unsaved changes will be lost.');
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-reset-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await minutes.inputValue()).toBe('45');
    await page.getByRole('button', { name: 'Reset to defaults…' }).click();
    await dialog.getByRole('button', { name: 'Reset and clear secrets' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await savebar(page).getByText('Reset to defaults. Configuration version 3, secrets version 5.').waitFor();
    expect(await minutes.inputValue()).toBe('60');
    expect(await workspace.inputValue()).toBe('');
    expect(await direction.inputValue()).toBe('both');
    expect(await page.getByLabel('Include closed tickets').isChecked()).toBe(false);
    for (const label of ['API token (required)', 'Webhook signing secret']) await secretRow(page, label).getByText('Not set').waitFor();
    expect((await t.call('GET', `/api/v1/installs/${installId}/settings`)).body.config).toEqual({ signature: '', syncMinutes: 60, direction: 'both', includeClosed: false });
    expect((await t.call('GET', `/api/v1/installs/${installId}/secrets`)).body).toMatchObject({ secretsVersion: 5, keys: [] });
    await expectNowhere(page, responses, [first, second, third]);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-after-reset');
    problems.expectNone();
  });

  it('shows at its field a value the gateway refuses although the page accepted it (the extension was upgraded meanwhile)', async () => {
    const other = await admin.h.tenant();
    const id = await install(other.call);
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, other.adminKey);
    await openSettings(page, id);
    await page.getByLabel('Helpdesk workspace').fill('globex');
    const minutes = page.getByLabel('Sync every (minutes)');
    await minutes.fill('600'); // fine for 1.0.0 (max 1440)
    // Another admin upgrades to 1.1.0 (max 120) while this page is open.
    expect((await other.call('POST', `/api/v1/installs/${id}/upgrade`, { version: '1.1.0' })).status).toBe(200);
    problems.allow(new RegExp(`/installs/${id}/settings`)); // the refused PUT (400)
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').getByText(/The gateway refused one value; see the marked field\./).waitFor();
    await page.getByText('Must be <= 120.').waitFor();
    expect(await minutes.getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => minutes.evaluate((el) => el === document.activeElement)).toBe(true);
    // The page reloaded the declaration: its hint follows the new version; the typed values stay.
    await page.getByText('From 5 to 120. Leave empty to use the default. Default: 60').waitFor();
    expect(await page.getByLabel('Helpdesk workspace').inputValue()).toBe('globex');
    await page.locator('.page-eyebrow').getByText('1.1.0').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-server-error');
    await minutes.fill('90');
    expect(await page.getByText('Must be <= 120.').count()).toBe(0);
    await page.getByRole('button', { name: 'Save' }).click();
    await savebar(page).getByText('Saved. Configuration version 3, secrets version 1.').waitFor();
    expect((await other.call('GET', `/api/v1/installs/${id}/settings`)).body.config).toMatchObject({ workspace: 'globex', syncMinutes: 90 });
    problems.expectNone();
  });
});

describe('unsaved changes', () => {
  it('asks before an in-app link or Back leaves the page, keeps the draft on Stay, and Discard restores', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await openSettings(page, installId);
    const subnav = page.getByRole('navigation', { name: `${name} pages` });
    // Reach the page in-app, so Back is a history step inside the console.
    await subnav.getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    await subnav.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    const minutes = page.getByLabel('Sync every (minutes)');
    await minutes.waitFor();
    await minutes.fill('15');
    await savebar(page).getByText('Unsaved changes').waitFor();

    const dialog = page.getByRole('dialog', { name: 'Leave without saving?' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await dialog.waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-leave-confirm');
    await dialog.getByRole('button', { name: 'Stay' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${installId}/settings`);
    expect(await minutes.inputValue()).toBe('15');

    // The browser's Back: the page cancels the traversal (so goBack never sees a navigation) and asks.
    const back = page.goBack({ timeout: 3000 }).catch(() => null);
    await dialog.waitFor();
    await back;
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${installId}/settings`);
    await dialog.getByRole('button', { name: 'Stay' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await minutes.inputValue()).toBe('15');
    // Back again, and this time leave: the traversal the page held back goes ahead.
    const again = page.goBack({ timeout: 3000 }).catch(() => null);
    await dialog.waitFor();
    await again;
    await dialog.getByRole('button', { name: 'Leave page' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${installId}/activity`);
    await subnav.getByRole('link', { name: 'Settings' }).click();
    await minutes.waitFor();
    await minutes.fill('15');

    // The browser's own prompt for a reload or closing the tab.
    expect(await page.evaluate(() => { const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented; })).toBe(true);

    await subnav.getByRole('link', { name: 'Activity' }).click();
    await dialog.getByRole('button', { name: 'Leave page' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/admin/extensions/${installId}/activity`);

    // Discard: back to the saved values, and nothing asks any more.
    await subnav.getByRole('link', { name: 'Settings' }).click();
    await minutes.waitFor();
    await minutes.fill('20');
    await page.getByRole('button', { name: 'Discard' }).click();
    expect(await minutes.inputValue()).toBe('60');
    await savebar(page).getByText('Changes discarded.').waitFor();
    expect(await page.evaluate(() => { const e = new Event('beforeunload', { cancelable: true }); window.dispatchEvent(e); return e.defaultPrevented; })).toBe(false);
    await subnav.getByRole('link', { name: 'Activity' }).click();
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    problems.expectNone();
  });

  it('closing the tab with unsaved changes shows the browser\'s leave prompt', async () => {
    const { page } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await openSettings(page, installId);
    await page.getByLabel('Reply signature').click();
    await page.keyboard.type('draft');
    const prompt = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.type()); void d.dismiss(); }));
    await page.close({ runBeforeUnload: true });
    expect(await prompt).toBe('beforeunload');
  });
});

describe('roles and states', () => {
  it('read and write keys see a read-only view without secret controls; a key without an extension role gets "You don\'t have access"', async () => {
    expect((await t.call('PUT', `/api/v1/installs/${installId}/settings`, { workspace: 'acme-support', syncMinutes: 30, direction: 'push' })).status).toBe(200);
    for (const role of ['extension:read', 'extension:write'] as const) {
      const { key } = (await t.call('POST', '/api/v1/api-keys', { name: `settings ${role}`, roles: [role] })).body;
      const { page, problems } = await admin.newPage();
      const asked: string[] = [];
      page.on('request', (req) => { if (req.url().includes('/api/')) asked.push(`${req.method()} ${new URL(req.url()).pathname}`); });
      await signIn(page, admin.url, key);
      await openSettings(page, installId);
      await page.getByText('You can view this configuration.', { exact: false }).waitFor();
      const row = (label: string) => page.locator('.settings-readonly-row').filter({ hasText: label });
      expect(await row('Helpdesk workspace').locator('dd').textContent()).toBe('acme-support');
      expect(await row('Sync every (minutes)').locator('dd').textContent()).toBe('30');
      expect(await row('Direction').locator('dd').textContent()).toBe('PSA to helpdesk');
      expect(await row('Include closed tickets').locator('dd').textContent()).toBe('Off (default)');
      await page.getByRole('list', { name: 'Secret settings' }).getByText('API token').waitFor();
      expect(await page.locator('input, textarea, select').count()).toBe(0);
      for (const button of [/^Save$/, /^Set /, /^Replace /, /^Remove /, /Reset to defaults/]) expect(await page.getByRole('button', { name: button }).count()).toBe(0);
      expect(asked.filter((a) => a.includes('/secrets') || !a.startsWith('GET'))).toEqual(['POST /api/v1/auth/login']);
      await expectNoSeriousA11yViolations(page);
      await screenshot(page, `settings-readonly-${role.split(':')[1]}`);
      problems.expectNone();
    }

    const { key, apiKey } = (await t.call('POST', '/api/v1/api-keys', { name: 'no role', roles: ['extension:read'] })).body;
    await admin.h.db.knex('api_key').where({ id: apiKey.id }).update({ roles: JSON.stringify(['billing:view']) });
    const { page, problems } = await admin.newPage();
    const asked: string[] = [];
    page.on('request', (req) => { if (req.url().includes('/api/v1/installs')) asked.push(req.url()); });
    await signIn(page, admin.url, key, { next: `/admin/extensions/${installId}/settings` });
    await page.getByRole('heading', { name: "You don't have access" }).waitFor();
    expect(asked).toEqual([]);
    await screenshot(page, 'settings-forbidden');
    problems.expectNone();
  });

  it('an unknown install shows the not-found state; an extension without settings says so', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    problems.allow(/\/api\/v1\/installs\/00000000-0000-4000-8000-000000000000/);
    await page.goto(settingsUrl('00000000-0000-4000-8000-000000000000'));
    await page.getByRole('heading', { name: "We couldn't find this install" }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-not-found');

    const res = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.notes-ui' });
    expect(res.status).toBe(201);
    await openSettings(page, res.body.id);
    await page.getByRole('heading', { name: 'Nothing to configure' }).waitFor();
    await screenshot(page, 'settings-empty');
    problems.expectNone();
  });

  it('at 390×844 the form, the secrets and the save bar fit the screen and pass axe', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await signIn(page, admin.url, t.adminKey);
    await openSettings(page, installId);
    await secretRow(page, 'API token (required)').getByRole('button', { name: 'Set API token' }).click();
    await page.getByLabel('Helpdesk workspace').fill('No Spaces');
    await page.getByLabel('Helpdesk workspace').press('Tab');
    await page.getByText('Must match the pattern [a-z0-9-]{3,32}.').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-mobile');
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('button', { name: 'Reset to defaults…' }).click();
    await page.getByRole('dialog', { name: 'Reset to defaults?' }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'settings-mobile-reset');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await openSettings(page, installId);
    problems.expectNone();
  });
});
