/**
 * The extensions page in real Chromium: the empty state, the registry (Available), installing
 * through the consent screen (cancel changes nothing; allow installs exactly what was listed),
 * the installed rows with version, status, entry points and the last hour of activity, an
 * upgrade whose one new capability is highlighted (and a version waiting for consent), the
 * enabled switch as a kill switch for the very next proxied call, uninstall, read-only users,
 * and axe at 1280×800 and 390×844. Screenshots: test-results/admin-screenshots/extensions-*.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { sampleVariant } from '../../test-setup/bundles.ts';
import { expectNoSeriousA11yViolations, screenshot, screenshotDir, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';

const hello = 'com.alga.samples.hello';
const enricher = 'com.alga.samples.ticket-enricher';
const notes = 'com.alga.samples.notes-ui';

let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };

interface WireInstall { id: string; extensionName: string; version: string; status: string; pendingVersion: string | null; grantedCapabilities: string[] }
const installs = async () => (await t.call('GET', '/api/v1/installs')).body.installs as WireInstall[];
const installOf = async (name: string) => (await installs()).find((i) => i.extensionName === name);

async function publishVariant(sample: string, manifest: Record<string, unknown>) {
  const res = await admin.h.publish(await sampleVariant(sample, manifest));
  expect(res.status, await res.clone().text()).toBe(201);
}

/** The list items of the consent screen's "will be able to" list, as text. */
async function consentItems(page: Page, dialogName: string) {
  const dialog = page.getByRole('dialog', { name: dialogName });
  await dialog.waitFor();
  const list = dialog.getByRole('list', { name: /will be able to:/ });
  return { dialog, list, texts: await list.getByRole('listitem').allInnerTexts() };
}

/** A modal is fixed to the viewport: a full-page shot of a scrolled page would misplace it. */
async function viewportShot(page: Page, name: string) {
  await mkdir(screenshotDir, { recursive: true });
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), animations: 'disabled' });
}

beforeAll(async () => {
  admin = await startAdminBrowser();
  for (const sample of ['hello', 'ticket-enricher', 'notes-ui']) await admin.h.publishSample(sample);
  t = await admin.h.tenant('Northwind MSP');
});
afterAll(() => admin?.close());

describe('extensions page', () => {
  it('a tenant with nothing installed sees the empty state with a way to the registry', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    await page.getByRole('heading', { name: 'No extensions installed' }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-empty');
    await page.getByRole('link', { name: 'Browse available extensions' }).click();
    await page.getByRole('table', { name: 'Available extensions' }).waitFor();
    expect(new URL(page.url()).searchParams.get('tab')).toBe('available');
    problems.expectNone();
  });

  it('Available lists the registry; install goes through the consent screen: cancel changes nothing, allow installs', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: '/admin/extensions?tab=available' });
    const available = page.getByRole('table', { name: 'Available extensions' });
    const row = available.getByRole('row', { name: /ticket-enricher/ });
    await row.getByText('Not installed').waitFor();
    await row.getByText(/Enriches a ticket with data from an external API/).waitFor();
    await row.getByText('Alga Samples').waitFor();
    await row.getByText('1.0.0', { exact: true }).waitFor();
    expect(await row.getByRole('list', { name: /asks for/ }).getByRole('listitem').allInnerTexts()).toEqual(['Sends secrets, unread', 'Calls 1 web address', 'Its own storage']);
    await available.getByRole('row', { name: /samples\.hello/ }).getByText('Nothing extra').waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-available');

    // The consent screen lists everything, in plain words; focus starts on Cancel.
    await row.getByRole('button', { name: `Install ${enricher}` }).click();
    const { dialog, texts } = await consentItems(page, `Install ${enricher}?`);
    expect(texts.map((s) => s.split('\n')[0])).toEqual([
      'can send the secrets you set to the hosts named below, without reading them',
      'can call the web addresses listed below',
      "can keep its own data in this install's storage",
      'can call https://api.enrichment.example',
      'can keep data under "cache"',
      'uses Enrichment API token to call https://api.enrichment.example; cannot read it',
    ]);
    await dialog.getByText('Like every extension, it can see which tenant and install a request is for, and write log lines you see under Activity.').waitFor();
    await dialog.getByText(/Nothing is installed until you allow it/).waitFor();
    expect(await dialog.getByText('New', { exact: true }).count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await expectNoSeriousA11yViolations(page);
    await viewportShot(page, 'extensions-consent-install');

    // Cancel (and Esc): nothing was installed.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(`Install ${enricher}`);
    await row.getByRole('button', { name: `Install ${enricher}` }).click();
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await installs()).toEqual([]);

    // Allow: installed with exactly the listed grants, and the Installed tab shows it.
    await row.getByRole('button', { name: `Install ${enricher}` }).click();
    await dialog.getByRole('button', { name: 'Allow and install' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: `Installed ${enricher} 1.0.0. Set it up on its Settings page.` }).waitFor();
    expect(new URL(page.url()).searchParams.get('tab')).toBeNull();
    const installedRow = page.getByRole('table', { name: 'Installed extensions' }).getByRole('row', { name: /ticket-enricher/ });
    await installedRow.getByText('1.0.0', { exact: true }).waitFor();
    expect(await installedRow.getByRole('switch', { name: `Enabled for ${enricher}` }).getAttribute('aria-checked')).toBe('true');
    expect((await installOf(enricher))!.grantedCapabilities).toEqual(['cap:context.read', 'cap:http.fetch', 'cap:log.emit', 'cap:secrets.use', 'cap:storage.kv']);

    // An extension that asks for nothing beyond the basics says so.
    await page.getByRole('tab', { name: /Available/ }).click();
    await available.getByRole('row', { name: /ticket-enricher/ }).getByText('Installed 1.0.0').waitFor();
    await available.getByRole('button', { name: `Install ${hello}` }).click();
    const helloDialog = page.getByRole('dialog', { name: `Install ${hello}?` });
    await helloDialog.getByRole('heading', { name: 'It asks for no extra permissions.' }).waitFor();
    await helloDialog.getByRole('button', { name: 'Allow and install' }).click();
    await helloDialog.waitFor({ state: 'hidden' });
    await page.getByRole('table', { name: 'Installed extensions' }).getByRole('row', { name: /samples\.hello/ }).waitFor();
    expect((await installs()).map((i) => `${i.extensionName}@${i.version}`).sort()).toEqual([`${hello}@1.0.0`, `${enricher}@1.0.0`]);
    problems.expectNone();
  });

  it('installed rows show version, status, entry points (Settings, the UI by its menu label, Activity), the last hour and the last error', async () => {
    expect((await t.call('POST', '/api/v1/extensions/install', { extension: notes })).status).toBe(201);
    for (let n = 0; n < 2; n++) expect((await t.call('GET', `/api/ext/${hello}/hello`)).status).toBe(200);
    const enricherInstall = (await installOf(enricher))!;
    expect((await t.call('PUT', `/api/v1/installs/${enricherInstall.id}/secrets`, { set: { apiToken: 'enrich-token-123' } })).status).toBe(200);
    // The enrichment host does not exist: the extension answers 502, an error of this install.
    expect((await t.call('GET', `/api/ext/${enricher}/tickets/42/enrich`)).status).toBe(502);

    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const table = page.getByRole('table', { name: 'Installed extensions' });
    const helloRow = table.getByRole('row', { name: /samples\.hello/ });
    await helloRow.getByText('2 requests', { exact: true }).waitFor();
    await helloRow.getByText('No errors recorded').waitFor();
    const enricherRow = table.getByRole('row', { name: /ticket-enricher/ });
    await enricherRow.getByText('1 request · 1 error').waitFor();
    expect(await enricherRow.locator('.last-error').innerText()).toMatch(/^Last error HTTP 502 on GET \/tickets\/:id\/enrich, \d+ seconds? ago$|^Last error HTTP 502 on GET \/tickets\/:id\/enrich, now$/);
    // Entry points: Settings and Activity for each; the UI only where there is one, labelled by the manifest's menu label.
    const notesRow = table.getByRole('row', { name: /notes-ui/ });
    const notesInstall = (await installOf(notes))!;
    expect(await notesRow.getByRole('link', { name: `Ticket notes — open UI of ${notes}` }).getAttribute('href')).toBe(`/admin/extensions/${notesInstall.id}/ui`);
    expect(await helloRow.getByRole('link', { name: /open UI/i }).count()).toBe(0);
    expect(await helloRow.getByRole('link', { name: `Settings of ${hello}` }).getAttribute('href')).toMatch(/\/settings$/);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-installed');
    await enricherRow.getByRole('link', { name: `Activity of ${enricher}` }).click();
    await page.waitForURL((url) => url.pathname === `/admin/extensions/${enricherInstall.id}/activity`);
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    problems.expectNone();
  });

  it('an upgrade that adds a capability highlights exactly that item as new; nothing changes until consent', async () => {
    await publishVariant('hello', { version: '1.1.0', capabilities: ['cap:secrets.get'] });
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const row = page.getByRole('table', { name: 'Installed extensions' }).getByRole('row', { name: /samples\.hello/ });
    await row.getByText('Update: 1.1.0').waitFor();
    await row.getByRole('button', { name: `Upgrade extension ${hello}` }).click();
    const { dialog, list, texts } = await consentItems(page, `Upgrade ${hello}?`);
    expect(texts).toHaveLength(1);
    await dialog.getByText('Version 1.1.0 asks for 1 new permission since 1.0.0, marked “New” below. Nothing changes until you allow it.').waitFor();
    // Highlighted visually (the row's class) and in text (the badge with its hidden "since").
    const fresh = list.locator('.consent-item-new');
    expect(await fresh.count()).toBe(1);
    expect(await fresh.innerText()).toContain('can read the secrets you set on its settings page');
    expect(await fresh.locator('.consent-new').textContent()).toBe('New since version 1.0.0');
    expect(await dialog.getByLabel('Upgrade to version').inputValue()).toBe('1.1.0');
    await expectNoSeriousA11yViolations(page);
    await viewportShot(page, 'extensions-consent-upgrade');
    // Looking at the upgrade recorded nothing on the gateway.
    expect(await installOf(hello)).toMatchObject({ version: '1.0.0', pendingVersion: null });

    await dialog.getByRole('button', { name: 'Allow and upgrade' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.getByText('1.1.0', { exact: true }).waitFor();
    expect(await row.getByText('Update: 1.1.0').count()).toBe(0);
    const upgraded = (await installOf(hello))!;
    expect(upgraded).toMatchObject({ version: '1.1.0', pendingVersion: null });
    expect(upgraded.grantedCapabilities).toContain('cap:secrets.get');
    problems.expectNone();
  });

  it('a version that waits for consent (an upgrade attempted elsewhere) is shown, and reviewing it highlights its new host and that its secret may now go there', async () => {
    await publishVariant('ticket-enricher', { version: '1.1.0', http: { allowedHosts: ['https://api.enrichment.example', 'https://eu.enrichment.example'] } });
    const id = (await installOf(enricher))!.id;
    const attempt = await t.call('POST', `/api/v1/installs/${id}/upgrade`, {});
    expect(attempt.body.error?.code).toBe('E_CONSENT_REQUIRED');
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const row = page.getByRole('table', { name: 'Installed extensions' }).getByRole('row', { name: /ticket-enricher/ });
    await row.getByText('1.1.0 needs consent').waitFor();
    await row.getByRole('button', { name: `Review upgrade of ${enricher}` }).click();
    const { dialog, list, texts } = await consentItems(page, `Upgrade ${enricher}?`);
    expect(texts).toHaveLength(8);
    // The new host, and (cap:secrets.use, the secret bound to every allowed host) the secret going there too.
    const fresh = list.locator('.consent-item-new');
    expect(await fresh.count()).toBe(2);
    const freshTexts = await fresh.allInnerTexts();
    expect(freshTexts[0]).toContain('can call https://eu.enrichment.example');
    expect(freshTexts[1]).toContain('uses Enrichment API token to call https://eu.enrichment.example; cannot read it');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await installOf(enricher)).toMatchObject({ version: '1.0.0', pendingVersion: '1.1.0' });
    problems.expectNone();
  });

  it('the enabled switch is a kill switch: the very next proxied call is refused (404 E_INSTALL_DISABLED), and enabling restores it', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const row = page.getByRole('table', { name: 'Installed extensions' }).getByRole('row', { name: /samples\.hello/ });
    const toggle = row.getByRole('switch', { name: `Enabled for ${hello}` });
    expect(await toggle.getAttribute('aria-checked')).toBe('true');
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('false');
    await row.getByText('Calls refused').waitFor();
    const refused = await t.call('GET', `/api/ext/${hello}/hello`);
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('E_INSTALL_DISABLED');
    await page.getByRole('status').filter({ hasText: `${hello} is disabled: its API calls are refused from the next request.` }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-installed-disabled');
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('true');
    expect((await t.call('GET', `/api/ext/${hello}/hello`)).status).toBe(200);
    problems.expectNone();
  });

  it('uninstall asks first and says that config, secrets and storage are purged', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey);
    const table = page.getByRole('table', { name: 'Installed extensions' });
    await table.getByRole('button', { name: `Uninstall extension ${enricher}` }).click();
    const dialog = page.getByRole('dialog', { name: `Uninstall ${enricher}?` });
    await dialog.getByText('Its settings, secrets and stored data are deleted for good. Installing it again starts from scratch.').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await installOf(enricher)).toBeDefined();
    await table.getByRole('button', { name: `Uninstall extension ${enricher}` }).click();
    await dialog.getByRole('button', { name: 'Uninstall' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await table.getByRole('row', { name: /ticket-enricher/ }).waitFor({ state: 'detached' });
    expect(await installOf(enricher)).toBeUndefined();
    problems.expectNone();
  });

  it('a read-only key sees both lists without install, upgrade, switch or uninstall controls', async () => {
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'auditor', roles: ['extension:read'] })).body;
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, key);
    const table = page.getByRole('table', { name: 'Installed extensions' });
    const row = table.getByRole('row', { name: /samples\.hello/ });
    await row.getByText('Enabled', { exact: true }).waitFor();
    await row.getByRole('link', { name: `Activity of ${hello}` }).waitFor();
    for (const role of ['switch', 'button'] as const) expect(await table.getByRole(role).count()).toBe(0);
    expect(await table.getByRole('link', { name: /^Settings of/ }).count()).toBe(0);
    await page.getByRole('tab', { name: /Available/ }).click();
    const available = page.getByRole('table', { name: 'Available extensions' });
    await available.getByRole('row', { name: /ticket-enricher/ }).getByText('Not installed').waitFor();
    expect(await available.getByRole('button', { name: /^(Install|Upgrade)/ }).count()).toBe(0);
    await expectNoSeriousA11yViolations(page);
    problems.expectNone();
  });

  it('at 390×844: installed, available, the consent screen and the empty state fit the screen and pass axe', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await signIn(page, admin.url, t.adminKey);
    await page.getByRole('table', { name: 'Installed extensions' }).getByRole('switch', { name: `Enabled for ${hello}` }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-installed-mobile');
    await page.getByRole('tab', { name: /Available/ }).click();
    const available = page.getByRole('table', { name: 'Available extensions' });
    await available.getByRole('button', { name: `Install ${enricher}` }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'extensions-available-mobile');
    await available.getByRole('button', { name: `Install ${enricher}` }).click();
    const dialog = page.getByRole('dialog', { name: `Install ${enricher}?` });
    await dialog.getByRole('button', { name: 'Allow and install' }).waitFor();
    expect(await dialog.evaluate((el) => el.getBoundingClientRect().right)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await viewportShot(page, 'extensions-consent-install-mobile');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const empty = await admin.h.tenant('Empty MSP');
    const other = await admin.newPage({ viewport: viewports.mobile });
    await signIn(other.page, admin.url, empty.adminKey);
    await other.page.getByRole('heading', { name: 'No extensions installed' }).waitFor();
    await expectNoSeriousA11yViolations(other.page);
    await screenshot(other.page, 'extensions-empty-mobile');
    problems.expectNone();
    other.problems.expectNone();
  });

  it('an install that fails (installed meanwhile elsewhere) keeps the consent screen open with the reason, and the list catches up', async () => {
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: '/admin/extensions?tab=available' });
    const row = page.getByRole('table', { name: 'Available extensions' }).getByRole('row', { name: /ticket-enricher/ });
    await row.getByRole('button', { name: `Install ${enricher}` }).click();
    const dialog = page.getByRole('dialog', { name: `Install ${enricher}?` });
    await dialog.waitFor();
    expect((await t.call('POST', '/api/v1/extensions/install', { extension: enricher })).status).toBe(201);
    problems.allow(/\/api\/v1\/extensions\/install/);
    await dialog.getByRole('button', { name: 'Allow and install' }).click();
    await dialog.getByRole('alert').getByText(/already installed for this tenant/).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await row.getByText('Installed 1.1.0').waitFor();
    expect(await row.getByRole('button', { name: `Install ${enricher}` }).count()).toBe(0);
    problems.expectNone();
  });
});
