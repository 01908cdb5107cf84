/**
 * Issue 7 in real Chromium: a published extension's UI and a proxied HTML response can neither
 * read nor act with a logged-in admin's session, nor register a service worker. The hostile
 * content is the misbehaving sample's (ui/attack.js and its /page route), which reports into
 * the DOM what it managed to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { adminPage, launchChromium } from '../../test-setup/browser.ts';

interface AttackReport { origin: string; cookie: unknown; storage: unknown; parent: unknown; apiKey: unknown; installs: unknown; sw: unknown }

async function report(target: Page | Frame): Promise<AttackReport> {
  await target.waitForFunction(() => document.title === 'done', undefined, { timeout: 10_000 });
  return JSON.parse((await target.textContent('#out'))!) as AttackReport;
}

function expectNothingWorked(out: AttackReport): void {
  expect(out.origin).toBe('null');
  expect(out.cookie).toBe('blocked');
  expect(out.storage).toBe('blocked');
  expect(out.apiKey).toBe('blocked');
  expect(out.installs).toBe('blocked');
  expect(out.sw).toBe('blocked');
}

let browser: Browser;
beforeAll(async () => { browser = await launchChromium(['--host-resolver-rules=MAP *.alga.test 127.0.0.1']); });
afterAll(() => browser?.close());

describe('extension content on the platform origin (the default)', () => {
  let h: GatewayHarness;
  let t: { tenantId: string; adminKey: string; call: Caller };
  let uiUrl: string;
  let context: BrowserContext;
  const apiKeys = async () => (await t.call('GET', '/api/v1/api-keys')).body.apiKeys.length as number;

  beforeAll(async () => {
    h = await startGatewayHarness();
    await h.publishSample('misbehaving');
    t = await h.tenant();
    uiUrl = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body.uiUrl;
  });
  afterAll(async () => { await context?.close(); await h?.close(); });

  it("a logged-in admin who opens an extension UI link runs it in an opaque origin: no cookie, storage, API call or service worker", async () => {
    context = await browser.newContext();
    const { page } = await adminPage(context, h.url, t.adminKey);
    const before = await apiKeys();
    await page.goto(`${h.url}${uiUrl}`);
    expectNothingWorked(await report(page));
    expect(await apiKeys()).toBe(before);
    expect(context.serviceWorkers()).toHaveLength(0);
    // The admin's own session is untouched.
    const me = await context.request.get(`${h.url}/api/v1/auth/me`);
    expect(me.status()).toBe(200);
  });

  it('framed by a platform page that forgot the sandbox attribute, the UI is still sandboxed and cannot reach its parent', async () => {
    const { page } = await adminPage(context, h.url, t.adminKey);
    const before = await apiKeys();
    await page.evaluate((src) => {
      const frame = document.createElement('iframe');
      frame.src = src;
      document.body.appendChild(frame);
    }, uiUrl);
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    const out = await report(frame!);
    expectNothingWorked(out);
    expect(out.parent).toBe('blocked');
    expect(await apiKeys()).toBe(before);
  });

  it('a proxied HTML response never runs as a platform page, even when a request gets through with the CSRF token', async () => {
    const { page, csrfToken } = await adminPage(context, h.url, t.adminKey);
    const pageUrl = `${h.url}/api/ext-proxy/com.alga.samples.misbehaving/page`;
    // A link or a typed URL: the session cookie alone is not enough (403 E_CSRF), nothing renders.
    const direct = await page.goto(pageUrl);
    expect(direct!.status()).toBe(403);
    expect(await page.textContent('body')).toContain('E_CSRF');
    // Suppose the token leaked: the HTML arrives, but as sandboxed data with no script at all.
    await context.setExtraHTTPHeaders({ 'x-alga-csrf': csrfToken });
    try {
      await page.goto(`${h.url}/healthz`);
      const [response] = await Promise.all([page.waitForNavigation(), page.evaluate((url) => { location.href = url; }, pageUrl)]);
      expect(response!.status()).toBe(200);
      expect(await page.textContent('#out')).toBe('script did not run');
      expect(await page.evaluate(() => String(self.origin))).toBe('null');
    } finally {
      await context.setExtraHTTPHeaders({});
    }
    expect(context.serviceWorkers()).toHaveLength(0);
    const cookies = await context.cookies(h.url);
    expect(cookies.map((c) => c.value)).not.toContain('planted');
    // Platform paths are still answered by the platform.
    const admin = await page.goto(`${h.url}/admin/anything`);
    expect(await admin!.text()).not.toContain('owned by an extension');
  });
});

describe('ALGA_EXT_UI_ORIGIN (extension UIs on their own cookieless origin)', () => {
  let h: GatewayHarness;
  let t: { tenantId: string; adminKey: string; call: Caller };
  let context: BrowserContext;

  beforeAll(async () => {
    h = await startGatewayHarness({ gateway: (url) => ({ publicOrigin: url, extUiOrigin: url.replace('127.0.0.1', 'ext-ui.alga.test') }) });
    await h.publishSample('misbehaving');
    t = await h.tenant();
  });
  afterAll(async () => { await context?.close(); await h?.close(); });

  it('the platform page frames the UI from the extension origin, where it runs sandboxed with no session to use', async () => {
    const install = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body;
    expect(new URL(install.uiUrl).hostname).toBe('ext-ui.alga.test');
    context = await browser.newContext();
    const { page } = await adminPage(context, h.url, t.adminKey);
    await page.evaluate((src) => {
      const frame = document.createElement('iframe');
      frame.src = src;
      frame.setAttribute('sandbox', 'allow-scripts allow-forms');
      document.body.appendChild(frame);
    }, install.uiUrl);
    const frame = await (await page.waitForSelector('iframe')).contentFrame();
    expectNothingWorked(await report(frame!));
    expect(new URL(frame!.url()).hostname).toBe('ext-ui.alga.test');
    expect(await context.cookies(install.uiUrl)).toEqual([]);
  });
});
