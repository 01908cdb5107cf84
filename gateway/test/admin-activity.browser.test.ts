/**
 * The Activity page of an install in real Chromium (`/admin/extensions/:id/activity`): executions
 * and guest logs of the hello and misbehaving samples called through the gateway with the tenant's
 * key; a new call appears while the page is open (no reload), Pause / Resume, "Failures only",
 * minimum level, request-id filters (clicked and typed), a mapped stack trace in a disclosure,
 * a secret the guest logs shown only as [REDACTED], paging with a small `limit`, empty states, a
 * read-only key, and axe at 1280×800 and 390×844. Screenshots: test-results/admin-screenshots/activity-*.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../test-setup/gateway-harness.ts';
import { expectNoSeriousA11yViolations, screenshot, signIn, startAdminBrowser, viewports, type AdminBrowser } from '../../test-setup/admin-browser.ts';

const hello = 'com.alga.samples.hello';
const misbehaving = 'com.alga.samples.misbehaving';
const secretToken = `tok_${randomBytes(16).toString('hex')}`;

let admin: AdminBrowser;
let t: { tenantId: string; adminKey: string; call: Caller };
let helloId: string;
let misId: string;

beforeAll(async () => {
  admin = await startAdminBrowser({ gateway: { rateLimitPerMinute: 100_000 } });
  await admin.h.publishSample('hello');
  await admin.h.publishSample('misbehaving');
  t = await admin.h.tenant('Acme MSP');
  helloId = (await t.call('POST', '/api/v1/extensions/install', { extension: hello })).body.id;
  misId = (await t.call('POST', '/api/v1/extensions/install', { extension: misbehaving })).body.id;
  expect((await t.call('PUT', `/api/v1/installs/${misId}/secrets`, { set: { token: secretToken } })).status).toBe(200);
});
afterAll(() => admin?.close());

const activityPath = (installId: string, query = '') => `/admin/extensions/${installId}/activity${query}`;

async function call(caller: Caller, extension: string, path: string, status: number): Promise<string> {
  const res = await caller('GET', `/api/ext/${extension}${path}`);
  expect(res.status, `${path}: ${res.text}`).toBe(status);
  return res.headers.get('x-request-id')!;
}

/** The audit rows are finished (status written after the answer) and the guest's log lines stored. */
async function settled(caller: Caller, installId: string, executions: number, logs = 0): Promise<void> {
  await expect.poll(async () => {
    const ex = (await caller('GET', `/api/v1/installs/${installId}/executions?limit=500`)).body.executions as Array<{ status: number | null; errorCode: string | null }>;
    const lines = (await caller('GET', `/api/v1/installs/${installId}/logs?limit=500`)).body.logs as unknown[];
    return ex.length >= executions && ex.every((e) => e.status !== null || e.errorCode !== null) && lines.length >= logs;
  }, { timeout: 15_000, interval: 50 }).toBe(true);
}

const executionsTable = (page: Page, name = 'Recent executions') => page.getByRole('table', { name });
const rowOf = (page: Page, requestId: string) => page.getByRole('row').filter({ has: page.getByRole('button', { name: new RegExp(requestId) }) });
const logList = (page: Page, name = 'Log lines') => page.getByRole('list', { name });

describe('executions', () => {
  it('lists the calls; a new call appears while the page is open, without a reload; Pause holds it back until Resume; a request id opens its log lines', async () => {
    const first = await call(t.call, hello, '/hello', 200);
    const second = await call(t.call, hello, '/hello', 200);
    await settled(t.call, helloId, 2, 2);
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t.adminKey, { next: activityPath(helloId) });
    await page.getByRole('heading', { level: 1, name: 'Activity' }).waitFor();
    await expect.poll(() => page.title()).toBe('Activity · Alga Extensions');
    const table = executionsTable(page);
    await table.waitFor();
    expect(await table.getByRole('row').count()).toBe(3);
    for (const id of [first, second]) {
      const row = rowOf(page, id);
      await row.getByText('GET /hello', { exact: true }).waitFor();
      await row.getByText('200', { exact: true }).waitFor();
    }
    // Newest first.
    expect(await table.getByRole('button', { name: /log lines of request/ }).first().getAttribute('title')).toContain(second);
    await page.getByText('Live', { exact: true }).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-executions');

    // A marker that a reload would wipe.
    await page.evaluate(() => { (window as unknown as { __noReload: boolean }).__noReload = true; });
    const third = await call(t.call, hello, '/hello', 200);
    await rowOf(page, third).waitFor({ timeout: 10_000 });
    // Written as "running" first, then finished: the row catches up with its status.
    await rowOf(page, third).getByText('200', { exact: true }).waitFor({ timeout: 10_000 });
    await rowOf(page, third).getByText('New', { exact: true }).waitFor();
    await page.getByRole('status').filter({ hasText: '1 new execution' }).waitFor({ state: 'attached' });
    expect(await table.getByRole('row').count()).toBe(4);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await screenshot(page, 'activity-executions-live');

    await page.getByRole('button', { name: 'Pause live updates' }).click();
    await page.getByText('Paused', { exact: true }).waitFor();
    const fourth = await call(t.call, hello, '/hello', 200);
    await settled(t.call, helloId, 4);
    await page.waitForTimeout(3000);
    expect(await rowOf(page, fourth).count()).toBe(0);
    await screenshot(page, 'activity-paused');
    await page.getByRole('button', { name: 'Resume live updates' }).click();
    await rowOf(page, fourth).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);

    // A background tab does not poll; coming back catches up at once.
    const setVisibility = (state: 'hidden' | 'visible') => page.evaluate((s) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
    await setVisibility('hidden');
    let polls = 0;
    page.on('request', (req) => { if (req.url().includes(`/installs/${helloId}/executions`)) polls += 1; });
    const fifth = await call(t.call, hello, '/hello', 200);
    await page.waitForTimeout(3000);
    expect(polls).toBe(0);
    expect(await rowOf(page, fifth).count()).toBe(0);
    await setVisibility('visible');
    await rowOf(page, fifth).waitFor({ timeout: 5_000 });

    // The request id: that request's log lines.
    await rowOf(page, third).getByRole('button', { name: new RegExp(third) }).click();
    await page.waitForURL((url) => url.searchParams.get('tab') === 'logs' && url.searchParams.get('requestId') === third);
    const lines = logList(page, `Log lines of request ${third}`);
    await lines.waitFor();
    await expect.poll(() => lines.getByRole('listitem').count()).toBe(1);
    await lines.getByText('greeted', { exact: true }).waitFor();
    await lines.getByText(t.tenantId).waitFor();
    expect(await page.getByLabel('Request ID').inputValue()).toBe(third);
    await page.getByRole('group', { name: 'Active filters' }).getByText(third).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-logs-request');
    // Back returns to the executions; Clear filters shows every line.
    await page.goBack();
    await executionsTable(page).waitFor();
    await page.getByRole('tab', { name: 'Logs' }).click();
    await expect.poll(() => logList(page).getByText('greeted', { exact: true }).count()).toBe(5);
    problems.expectNone();
  });

  it('"Failures only" keeps the failing calls (a trap: 502 E_GUEST_TRAP; a route that threw: 500); the logs show the mapped stack, filter by level and by a typed request id, and show the logged secret only as [REDACTED]', async () => {
    await call(t.call, misbehaving, '/ok', 200);
    const trap = await call(t.call, misbehaving, '/throw', 502);
    const thrown = await call(t.call, misbehaving, '/route-throws?ref=oops', 500);
    const leak = await call(t.call, misbehaving, '/leak-secret', 200);
    await settled(t.call, misId, 4, 2);
    const { page, problems } = await admin.newPage();
    // Every API answer the page gets, to prove the secret never reaches the browser.
    const bodies: Promise<string>[] = [];
    page.on('response', (res) => { if (res.url().includes('/api/v1/')) bodies.push(res.text().catch(() => '')); });
    await signIn(page, admin.url, t.adminKey, { next: activityPath(misId) });
    const table = executionsTable(page);
    await table.waitFor();
    expect(await table.getByRole('row').count()).toBe(5);
    await rowOf(page, trap).getByText('E_GUEST_TRAP', { exact: true }).waitFor();
    await rowOf(page, trap).getByText('502', { exact: true }).waitFor();

    await page.getByText('Failures only', { exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('outcome') === 'error');
    const failures = executionsTable(page, 'Failed executions');
    await failures.waitFor();
    expect(await failures.getByRole('row').count()).toBe(3);
    await rowOf(page, trap).getByText('E_GUEST_TRAP', { exact: true }).waitFor();
    // The guest's own 500 (its router caught the throw): a failure without a gateway error code.
    await rowOf(page, thrown).getByText('500', { exact: true }).waitFor();
    expect(await failures.getByText('GET /ok', { exact: true }).count()).toBe(0);
    expect(await failures.getByText('GET /leak-secret', { exact: true }).count()).toBe(0);
    expect(await page.getByRole('radio', { name: 'Failures only' }).isChecked()).toBe(true);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-failures');

    await page.getByRole('tab', { name: 'Logs' }).click();
    const lines = logList(page);
    await lines.waitFor();
    // The guest tried to log its secret: the runner stored [REDACTED].
    const leaked = lines.getByRole('listitem').filter({ hasText: 'the token is [REDACTED]' });
    await leaked.waitFor();
    await leaked.getByText('[[REDACTED]]', { exact: true }).waitFor();
    // The route that threw: its stack, mapped to the sample's TypeScript, in a disclosure.
    const error = lines.getByRole('listitem').filter({ hasText: 'unhandled error in GET /route-throws' });
    const stack = error.locator('summary', { hasText: 'Stack trace (TypeScript)' });
    expect(await error.getByText(/src\/faults\.ts:\d+:\d+/).isVisible()).toBe(false);
    await stack.click();
    await error.getByText(/parseTicketRef@src\/faults\.ts:\d+:\d+/).waitFor();
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-logs-stack');

    await page.getByLabel('Minimum level').selectOption({ label: 'Errors only' });
    await page.waitForURL((url) => url.searchParams.get('level') === 'error');
    await expect.poll(() => lines.getByText('the token is [REDACTED]').count()).toBe(0);
    await error.waitFor();
    await screenshot(page, 'activity-logs-errors');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await leaked.waitFor();
    await page.getByLabel('Request ID').fill(leak);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((url) => url.searchParams.get('requestId') === leak);
    const one = logList(page, `Log lines of request ${leak}`);
    await one.getByText('the token is [REDACTED]').waitFor();
    expect(await one.getByRole('listitem').count()).toBe(1);

    expect(await page.content()).not.toContain(secretToken);
    for (const body of await Promise.all(bodies)) expect(body).not.toContain(secretToken);
    expect(bodies.length).toBeGreaterThan(3);
    expect(await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]))).toBe('[{},{}]');
    problems.expectNone();
  });
});

describe('paging and empty states', () => {
  it('with ?limit=3, "Load older" pages back through seven calls until there are no older ones, for executions and logs', async () => {
    const t2 = await admin.h.tenant('Paging MSP');
    const installId = (await t2.call('POST', '/api/v1/extensions/install', { extension: hello })).body.id;
    for (let i = 0; i < 7; i++) await call(t2.call, hello, '/hello', 200);
    await settled(t2.call, installId, 7, 7);
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, t2.adminKey, { next: activityPath(installId, '?limit=3') });
    const table = executionsTable(page);
    await table.waitFor();
    expect(await table.getByRole('row').count()).toBe(4);
    await page.getByText('Showing the newest 3 executions').waitFor();
    const older = page.getByRole('button', { name: 'Load older executions' });
    await older.click();
    await expect.poll(() => table.getByRole('row').count()).toBe(7);
    await older.click();
    await expect.poll(() => table.getByRole('row').count()).toBe(8);
    const done = page.getByText('Showing all 7 executions; there are no older ones');
    await done.waitFor();
    expect(await older.count()).toBe(0);
    // Focus does not fall to the page when the button goes away.
    expect(await done.evaluate((el) => el === document.activeElement)).toBe(true);
    await screenshot(page, 'activity-paging');

    await page.getByRole('tab', { name: 'Logs' }).click();
    const lines = logList(page);
    await lines.waitFor();
    expect(await lines.getByRole('listitem').count()).toBe(3);
    await page.getByRole('button', { name: 'Load older log lines' }).click();
    await page.getByRole('button', { name: 'Load older log lines' }).click();
    await page.getByText('Showing all 7 log lines; there are no older ones').waitFor();
    expect(await lines.getByRole('listitem').count()).toBe(7);
    problems.expectNone();
  });

  it('a new install shows "No requests yet" and "No log lines yet"; its first call then appears live; a read-only key sees the page without Settings', async () => {
    const t3 = await admin.h.tenant('Fresh MSP');
    const installId = (await t3.call('POST', '/api/v1/extensions/install', { extension: hello })).body.id;
    const { key } = (await t3.call('POST', '/api/v1/api-keys', { name: 'auditor', roles: ['extension:read'] })).body;
    const { page, problems } = await admin.newPage();
    await signIn(page, admin.url, key, { next: activityPath(installId) });
    await page.getByRole('heading', { name: 'No requests yet' }).waitFor();
    const subnav = page.getByRole('navigation', { name: `${hello} pages` });
    await subnav.getByRole('link', { name: 'Activity' }).waitFor();
    // A reader may look at the settings (read-only view, no secret controls) but not edit them.
    expect(await subnav.getByRole('link', { name: 'Settings' }).count()).toBe(1);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-empty');
    await page.getByRole('radio', { name: 'Failures only' }).check();
    await page.getByRole('heading', { name: 'No failures' }).waitFor();
    await page.getByRole('button', { name: 'Show all requests' }).click();
    await page.getByRole('heading', { name: 'No requests yet' }).waitFor();
    await page.getByRole('tab', { name: 'Logs' }).click();
    await page.getByRole('heading', { name: 'No log lines yet' }).waitFor();
    await page.getByLabel('Minimum level').selectOption({ label: 'Warnings and errors' });
    await page.getByRole('heading', { name: 'No log lines match' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).last().click();
    await page.getByRole('heading', { name: 'No log lines yet' }).waitFor();

    const first = await call(t3.call, hello, '/hello', 200);
    await logList(page).getByText('greeted', { exact: true }).waitFor({ timeout: 10_000 });
    await page.getByRole('status').filter({ hasText: '1 new log line' }).waitFor({ state: 'attached' });
    await page.getByRole('tab', { name: 'Executions' }).click();
    await rowOf(page, first).waitFor();
    problems.expectNone();
  });
});

describe('layout and accessibility', () => {
  it('at 390×844 the executions become cards and the log lines stack; no horizontal scrolling; axe passes on both tabs', async () => {
    const { page, problems } = await admin.newPage({ viewport: viewports.mobile });
    await signIn(page, admin.url, t.adminKey, { next: activityPath(misId) });
    await executionsTable(page).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-executions-mobile');
    await page.getByRole('tab', { name: 'Logs' }).click();
    await logList(page).waitFor();
    await logList(page).locator('summary').first().click();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await expectNoSeriousA11yViolations(page);
    await screenshot(page, 'activity-logs-mobile');
    problems.expectNone();
  });
});
