/**
 * Browser tests of the admin console (`/admin/`, gateway/web) in real Chromium: a gateway with the
 * built console, sign-in, screenshots, a collector of everything that went wrong in the page, and
 * an axe accessibility check.
 *
 * @example
 *   let admin: AdminBrowser;
 *   beforeAll(async () => { admin = await startAdminBrowser(); });
 *   afterAll(() => admin?.close());
 *
 *   it('shows the installs', async () => {
 *     const t = await admin.h.tenant();
 *     const { page, problems } = await admin.newPage();          // 1280×800 unless { viewport }
 *     await signIn(page, admin.url, t.adminKey);                  // lands on /admin/extensions
 *     await page.getByRole('heading', { level: 1, name: 'Extensions' }).waitFor();
 *     await screenshot(page, 'extensions-installed');             // test-results/admin-screenshots/extensions-installed.png
 *     await expectNoSeriousA11yViolations(page);
 *     problems.expectNone();                                      // console errors, page errors, failed requests, CSP violations
 *   });
 *
 * Expected failures (a 401 the test provokes) are declared with `problems.allow(/\/api\/v1\/installs/)`
 * before they happen; anything else fails `expectNone()`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium } from './browser.ts';
import { startGatewayHarness, type GatewayHarness, type GatewayHarnessOptions } from './gateway-harness.ts';

export const screenshotDir = fileURLToPath(new URL('../test-results/admin-screenshots/', import.meta.url));

export const viewports = {
  desktop: { width: 1280, height: 800 },
  mobile: { width: 390, height: 844 },
} as const;

export interface PageProblem {
  kind: 'console' | 'pageerror' | 'requestfailed' | 'http' | 'csp';
  text: string;
  url?: string;
}

export interface ProblemCollector {
  readonly all: PageProblem[];
  /** Problems whose text or URL matches are expected (e.g. a 401 the test provokes). */
  allow(pattern: RegExp): void;
  /** Fails the test with every unexpected problem listed. */
  expectNone(): void;
  clear(): void;
}

export interface AdminBrowser {
  h: GatewayHarness;
  url: string;
  browser: Browser;
  /** A fresh context (own cookies) and page with a problem collector attached. */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<{ page: Page; context: BrowserContext; problems: ProblemCollector }>;
  close(): Promise<void>;
}

export async function startAdminBrowser(options: GatewayHarnessOptions = {}): Promise<AdminBrowser> {
  const h = await startGatewayHarness(options);
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    h,
    url: h.url,
    browser,
    async newPage({ viewport = viewports.desktop } = {}) {
      const context = await browser.newContext({ viewport });
      contexts.push(context);
      const page = await context.newPage();
      return { page, context, problems: await collectProblems(page) };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await h.close();
    },
  };
}

/**
 * Everything that went wrong in a page: console errors (which include the browser's "Refused to
 * … because it violates the Content Security Policy" and "Failed to load resource" lines),
 * uncaught exceptions, requests that failed, HTTP answers ≥ 400 and `securitypolicyviolation`
 * events (reported by an init script, which CSP does not govern).
 */
export async function collectProblems(page: Page): Promise<ProblemCollector> {
  const all: PageProblem[] = [];
  const allowed: RegExp[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') all.push({ kind: 'console', text: msg.text(), url: msg.location().url });
  });
  page.on('pageerror', (err) => all.push({ kind: 'pageerror', text: err.stack ?? err.message }));
  page.on('requestfailed', (req) => {
    // A navigation away aborts what the old page still had in flight: not a failure of the app.
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    all.push({ kind: 'requestfailed', text: `${req.method()} ${req.url()}: ${req.failure()?.errorText}`, url: req.url() });
  });
  page.on('response', (res) => {
    if (res.status() >= 400) all.push({ kind: 'http', text: `${res.request().method()} ${res.url()} → ${res.status()}`, url: res.url() });
  });
  await page.exposeFunction('__algaReportCspViolation', (text: string) => all.push({ kind: 'csp', text }));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      void (window as unknown as { __algaReportCspViolation(t: string): void }).__algaReportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const unexpected = () => all.filter((p) => !allowed.some((re) => re.test(p.text) || (p.url !== undefined && re.test(p.url))));
  return {
    all,
    allow: (pattern) => { allowed.push(pattern); },
    expectNone: () => expect(unexpected().map((p) => `${p.kind}: ${p.text}`)).toEqual([]),
    clear: () => { all.length = 0; },
  };
}

/** Signs in through the sign-in form and waits for the page it lands on (default: the extensions list). */
export async function signIn(page: Page, gatewayUrl: string, apiKey: string, options: { next?: string } = {}): Promise<void> {
  await page.goto(`${gatewayUrl}/admin/sign-in${options.next ? `?next=${encodeURIComponent(options.next)}` : ''}`);
  await page.getByLabel('API key').fill(apiKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/admin/sign-in'));
  await page.locator('h1#page-title').waitFor();
}

/** A full-page PNG in test-results/admin-screenshots/<name>.png (look at them; CI keeps the folder). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  // Fonts and the spinner's first frame: let the page settle.
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/**
 * axe-core (WCAG 2.1 A/AA rules): no violation of impact serious or critical, on the console's
 * own document. Framed extension UIs are left out: they are third-party content, and axe injected
 * into their sandbox (connect-src 'none') would only trip its CSP.
 */
export async function expectNoSeriousA11yViolations(page: Page, options: { exclude?: string[] } = {}): Promise<void> {
  let builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).options({ iframes: false });
  for (const selector of options.exclude ?? []) builder = builder.exclude(selector);
  const { violations } = await builder.analyze();
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`)).toEqual([]);
}
