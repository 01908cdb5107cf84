/**
 * The dev shell of `alga component dev` in real Chromium: the component-with-ui template's UI,
 * mounted by the real host bridge (`/_alga/host.js`), runs sandboxed in an opaque origin, talks to
 * its handler only through the bridge (`/api/ext-proxy/<name>/…`), cannot reach the dev server on
 * its own, is remounted on each deploy without a page reload, and keeps working under the error
 * banner of a broken build.
 *
 * The template lists notes in the order they were added (ids from a storage counter: the guest has
 * no clock), so lists are compared in order.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Frame, Page, Request } from 'playwright-core';
import { launchChromium } from '../../../test-setup/browser.ts';
import { alga, startAlgaDev, type AlgaDev } from './support/alga-process.ts';

const name = 'com.acme.shell-notes';

let work: string;
let dir: string;
let dev: AlgaDev | undefined;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** What the pages reported that they should not have: uncaught errors, console errors, CSP violations of the shell. */
const problems: string[] = [];

async function notesFromNode(): Promise<string[]> {
  const res = await fetch(`${url}/notes`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { notes: Array<{ text: string }> }).notes.map((n) => n.text);
}

async function openShell(shellUrl: string): Promise<Page> {
  const opened = await context.newPage();
  opened.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  // Console errors of the shell and its frame, but for the direct calls the CSP test makes on purpose.
  opened.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && !(text.includes(`${url}/notes`) && text.includes('Content Security Policy'))) problems.push(`console: ${text} @ ${msg.location().url}`);
  });
  // The shell's own CSP must let the host bridge, the event stream and the frame work: any violation is a bug.
  await opened.addInitScript(() => {
    if (window.top !== window) return;
    document.addEventListener('securitypolicyviolation', (e) => console.error(`shell CSP violation: ${e.effectiveDirective} ${e.blockedURI}`));
  });
  // The UI lists the notes once connected: that first call is done before a test starts counting calls.
  const listedFirst = opened.waitForResponse((r) => r.request().method() === 'GET' && r.url() === `${new URL(shellUrl).origin}/api/ext-proxy/${name}/notes`);
  const response = await opened.goto(shellUrl);
  expect(response!.status()).toBe(200);
  expect((await listedFirst).status()).toBe(200);
  return opened;
}

/** The extension's frame for a build, once the shell reports the bridge's handshake done. */
async function extensionFrame(contentHash: string, on: Page = page): Promise<Frame> {
  await on.waitForFunction((hash) => document.body.dataset.frameReady === hash, contentHash, { timeout: 30_000 });
  const frame = on.frames().find((f) => f.url().includes(`/ext-ui/${name}/${contentHash}/`));
  if (!frame) throw new Error(`no frame for ${contentHash}: ${on.frames().map((f) => f.url()).join(', ')}`);
  return frame;
}

const listed = (frame: Frame) => frame.$$eval('#notes li span', (spans) => spans.map((s) => s.textContent));

/** Waits until the UI lists exactly `texts`, in this order; on timeout says what it shows instead. */
async function expectListed(frame: Frame, texts: string[]): Promise<void> {
  const want = texts.join('\n');
  try {
    await frame.waitForFunction((w) => Array.from(document.querySelectorAll('#notes li span')).map((s) => s.textContent).join('\n') === w, want, { timeout: 30_000 });
  } catch (err) {
    const status = await frame.textContent('#status').catch((e: Error) => `(${e.message})`);
    throw new Error(`the UI lists ${JSON.stringify(await listed(frame).catch(() => null))}, not ${JSON.stringify(texts)}; status: ${JSON.stringify(status)}`, { cause: err });
  }
}

async function addNote(frame: Frame, text: string): Promise<void> {
  await frame.fill('#text', text);
  await frame.click('#add button[type=submit]');
}

const deleteNote = (frame: Frame, text: string) => frame.locator('#notes li', { has: frame.locator('span', { hasText: new RegExp(`^${text}$`) }) }).locator('button').click();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'alga-dev-shell-'));
  dir = join(work, 'shell-notes');
  const created = await alga(['component', 'new', dir, '--template', 'component-with-ui', '--name', name, '--json'], work);
  expect(created.code, created.stderr).toBe(0);
  browser = await launchChromium();
  context = await browser.newContext();
  dev = startAlgaDev(['--port', '0'], dir);
  url = (await dev.waitFor((e) => e.event === 'ready', 150_000)).url as string;
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await dev?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('alga component dev: the dev shell in Chromium', () => {
  let firstHash: string;
  let secondHash: string;
  const source = () => join(dir, 'src/index.ts');

  it('mounts the UI sandboxed in an opaque origin with the real host bridge', async () => {
    firstHash = (dev!.events.find((e) => e.event === 'deployed')!.contentHash) as string;
    page = await openShell(`${url}/`);
    expect(await page.evaluate(() => typeof (globalThis as { AlgaExtensionHost?: { mountExtensionFrame?: unknown } }).AlgaExtensionHost?.mountExtensionFrame)).toBe('function');
    const frame = await extensionFrame(firstHash);
    const iframes = await page.$$('#extension iframe');
    expect(iframes).toHaveLength(1);
    expect(await iframes[0].getAttribute('sandbox')).toBe('allow-scripts allow-forms');
    expect(await frame.evaluate(() => [self.origin, window.origin, document.domain])).toEqual(['null', 'null', '']);
    expect(await frame.evaluate(() => { try { return String(window.parent.document); } catch { return 'blocked'; } })).toBe('blocked');
    expect(await page.$eval('#build', (b) => (b as HTMLElement).dataset.state)).toBe('ready');
    expect(await page.$eval('#build-error', (b) => (b as HTMLElement).hidden)).toBe(true);
    await expectListed(frame, []);
    expect(problems).toEqual([]);
  });

  it('a note added with the UI form goes through the bridge to the handler, and deleting works', async () => {
    const frame = await extensionFrame(firstHash);
    const proxied: Request[] = [];
    const onRequest = (r: Request) => { if (r.url().startsWith(url)) proxied.push(r); };
    page.on('request', onRequest);
    try {
      const mark = dev!.events.length - 1;
      const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url() === `${url}/api/ext-proxy/${name}/notes`);
      await addNote(frame, 'toner');
      const post = await posted;
      expect(post.postDataJSON()).toEqual({ text: 'toner' });
      expect(post.headers()['x-alga-csrf']).toBe('alga-dev');
      expect((await post.response())!.status()).toBe(200);
      // The shell page (the bridge) made the call, not the frame.
      expect(post.frame()).toBe(page.mainFrame());
      await expectListed(frame, ['toner']);
      expect(await frame.textContent('#status')).toBe('');
      const logged = await dev!.waitFor((e) => e.event === 'request' && e.method === 'POST' && e.path === '/notes', 30_000, mark);
      expect(logged.status).toBe(200);
      expect(logged.logs.map((l: { message: string }) => l.message)).toEqual(['note added']);
      expect(await notesFromNode()).toEqual(['toner']);

      await addNote(frame, 'paper');
      await expectListed(frame, ['toner', 'paper']);
      expect(await notesFromNode()).toEqual(['toner', 'paper']);

      const deleted = page.waitForRequest((r) => r.method() === 'DELETE' && r.url().startsWith(`${url}/api/ext-proxy/${name}/notes/`));
      await deleteNote(frame, 'toner');
      expect((await (await deleted).response())!.status()).toBe(200);
      await expectListed(frame, ['paper']);
      expect(await notesFromNode()).toEqual(['paper']);
      // Every call went to this extension's proxy route on the shell's origin: POST+GET, POST+GET, DELETE+GET.
      expect(proxied.map((r) => `${r.method()} ${new URL(r.url()).pathname.replace(/\/notes\/[^/]+$/, '/notes/:id')}`)).toEqual([
        `POST /api/ext-proxy/${name}/notes`, `GET /api/ext-proxy/${name}/notes`,
        `POST /api/ext-proxy/${name}/notes`, `GET /api/ext-proxy/${name}/notes`,
        `DELETE /api/ext-proxy/${name}/notes/:id`, `GET /api/ext-proxy/${name}/notes`,
      ]);
    } finally {
      page.off('request', onRequest);
    }
  });

  it('the UI cannot reach the dev server directly (CSP connect-src none), only through the bridge', async () => {
    const frame = await extensionFrame(firstHash);
    const attempt = await frame.evaluate(async (target) => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
      const results: string[] = [];
      const tries: RequestInit[] = [
        {},
        { method: 'POST', body: JSON.stringify({ text: 'sneaky' }), headers: { 'content-type': 'application/json' } },
        { method: 'POST', mode: 'no-cors', body: JSON.stringify({ text: 'sneaky' }) },
      ];
      for (const init of tries) {
        try {
          results.push(`reached ${(await fetch(target, init)).status}`);
        } catch (err) {
          results.push(`blocked ${(err as Error).name}`);
        }
      }
      // Violation events are queued as tasks; by now the first ones have been dispatched.
      await new Promise((resolve) => setTimeout(resolve, 0));
      return { results, violations };
    }, `${url}/notes`);
    expect(attempt.results).toEqual(['blocked TypeError', 'blocked TypeError', 'blocked TypeError']);
    expect(attempt.violations).toContain('connect-src');
    expect(await notesFromNode()).toEqual(['paper']);
    // The same frame still reaches its handler through the bridge.
    await addNote(frame, 'staples');
    await expectListed(frame, ['paper', 'staples']);
    expect(await notesFromNode()).toEqual(['paper', 'staples']);
  });

  it('the shell works on localhost too (frame-ancestors and the proxy origin check name both loopback hosts)', async () => {
    const other = await openShell(`${url.replace('127.0.0.1', 'localhost')}/`);
    try {
      const frame = await extensionFrame(firstHash, other);
      expect(await frame.evaluate(() => self.origin)).toBe('null');
      await expectListed(frame, ['paper', 'staples']);
      await addNote(frame, 'clips');
      await expectListed(frame, ['paper', 'staples', 'clips']);
      expect(await notesFromNode()).toEqual(['paper', 'staples', 'clips']);
      expect(problems).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('an edit of the handler is deployed and the shell remounts the frame without reloading the page', async () => {
    const loads: string[] = [];
    page.on('load', () => loads.push(page.url()));
    await page.evaluate(() => { (window as { shellMarker?: string }).shellMarker = 'same page'; });
    const original = await readFile(source(), 'utf8');
    const edited = original.replace("'GET /notes': async ({ ctx }) => ({ notes: await allNotes(ctx) }),",
      "'GET /notes': async ({ ctx }) => ({ notes: (await allNotes(ctx)).map((n) => ({ ...n, text: n.text.toUpperCase() })) }),");
    expect(edited).not.toBe(original);
    const mark = dev!.events.length - 1;
    await writeFile(source(), edited);
    const deployed = await dev!.waitFor((e) => e.event === 'deployed' && e.swapped === true, 120_000, mark);
    secondHash = deployed.contentHash as string;
    expect(secondHash).not.toBe(firstHash);
    const frame = await extensionFrame(secondHash);
    // The new frame loaded the list from the new handler.
    await expectListed(frame, ['PAPER', 'STAPLES', 'CLIPS']);
    expect(await page.evaluate(() => (window as { shellMarker?: string }).shellMarker)).toBe('same page');
    expect(loads).toEqual([]);
    // One frame: the old one was destroyed.
    expect(await page.$$eval('#extension iframe', (frames) => frames.length)).toBe(1);
    expect(page.frames().some((f) => f.url().includes(`/${firstHash}/`))).toBe(false);
    expect(await frame.evaluate(() => self.origin)).toBe('null');
    expect(await page.$eval('#build', (b) => (b as HTMLElement).dataset.state)).toBe('ready');
    // The new frame's bridge works too.
    await addNote(frame, 'ink');
    await expectListed(frame, ['PAPER', 'STAPLES', 'CLIPS', 'INK']);
    expect(await notesFromNode()).toEqual(['PAPER', 'STAPLES', 'CLIPS', 'INK']);
    expect(problems).toEqual([]);
  }, 150_000);

  it('a broken build shows the error banner while the previous frame keeps working', async () => {
    const mark = dev!.events.length - 1;
    await writeFile(source(), `${await readFile(source(), 'utf8')}\nconst broken: number = 'text';\n`);
    const failed = await dev!.waitFor((e) => e.event === 'build-failed', 120_000, mark);
    expect(failed.code).toBe('E_TYPECHECK_FAILED');
    await page.waitForSelector('#build-error:not([hidden])', { timeout: 30_000 });
    const banner = await page.textContent('#build-error');
    expect(banner).toContain('E_TYPECHECK_FAILED');
    expect(banner).toMatch(/src\/index\.ts:\d+:\d+ - error TS2322/);
    expect(await page.$eval('#build', (b) => (b as HTMLElement).dataset.state)).toBe('failed');
    // The frame of the last good build is still mounted and still calls its handler.
    expect(await page.evaluate(() => document.body.dataset.frameReady)).toBe(secondHash);
    expect(await page.$$eval('#extension iframe', (frames) => frames.length)).toBe(1);
    const frame = await extensionFrame(secondHash);
    await deleteNote(frame, 'PAPER');
    await expectListed(frame, ['STAPLES', 'CLIPS', 'INK']);
    await addNote(frame, 'glue');
    await expectListed(frame, ['STAPLES', 'CLIPS', 'INK', 'GLUE']);
    expect(await notesFromNode()).toEqual(['STAPLES', 'CLIPS', 'INK', 'GLUE']);
    expect(problems).toEqual([]);
  }, 150_000);
});
