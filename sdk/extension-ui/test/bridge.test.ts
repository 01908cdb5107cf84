/**
 * The iframe SDK end to end in real Chromium, against a real gateway and runner: a published
 * extension whose `ui/` uses the client, framed by a platform-origin page (logged in with a
 * session) that mounts it with the host bridge. The UI's test hooks (`hooks.js`, loaded before
 * the SDK) record every message the frame receives, so the tests can search them for secrets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { adminPage, launchChromium } from '../../../test-setup/browser.ts';
import { helloVariant } from '../../../test-setup/bundles.ts';
import { bundleUiScript, extensionUiBundles, uiUsingClient } from '../../../test-setup/extension-ui.ts';
import type * as ClientModule from '../src/client.ts';
import type * as HostModule from '../src/host.ts';
import type { MountOptions } from '../src/host.ts';

const extensionName = 'com.alga.samples.ui-bridge';

interface Attempt { ok: boolean; value?: any; name?: string; code?: string; status?: number; message?: string }
interface Received { via: 'window' | 'port'; origin?: string; fromParent?: boolean; data: any }
interface HostRecord {
  resizes: number[];
  navigations: string[];
  fetches: Array<{ url: string; method: string; headers: Record<string, string>; credentials?: string; mode?: string }>;
  posts: Array<{ targetOrigin: string; message: any; readyCountWhenPosted: number }>;
  aborted: string[];
  readyCount: number;
  ready: string | null;
}

declare global {
  interface Window {
    AlgaExtensionUi: typeof ClientModule;
    AlgaExtensionHost: typeof HostModule;
    __received: Received[];
    __ports: Array<{ channelId: unknown; port: MessagePort }>;
    __try(fn: () => Promise<unknown>): Promise<Attempt>;
    __host: HostRecord;
    __frame: HostModule.ExtensionFrame;
    __forged: unknown[];
    __violations: string[];
  }
}

// Loaded before the SDK: records what this document receives, and runs calls for the tests.
const hooksJs = `
window.__received = [];
window.__ports = [];
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.addEventListener('message', (e) => {
  window.__received.push({ via: 'window', origin: e.origin, fromParent: e.source === window.parent, data: e.data });
  for (const port of e.ports) {
    window.__ports.push({ channelId: e.data && e.data.channelId, port });
    port.addEventListener('message', (m) => window.__received.push({ via: 'port', data: m.data }));
  }
}, true);
window.__try = async (fn) => {
  try { return { ok: true, value: await fn() }; }
  catch (e) { return { ok: false, name: e.name, code: e.code, status: e.status, message: e.message }; }
};
`;

// The extension's UI proper: greets through the bridge once connected, then fits its frame.
const appJs = `
AlgaExtensionUi.onReady(async (info) => {
  document.getElementById('status').textContent = 'connected to ' + info.extensionId + ' from ' + info.parentOrigin;
  const hello = await AlgaExtensionUi.callProxyJson('/hello');
  document.getElementById('greeting').textContent = hello.greeting;
  await AlgaExtensionUi.resize();
  document.title = 'ready';
});
`;

// An extension's own UI source, bundled with the client by esbuild as its build would.
const bundledAppTs = `
import { onReady, callProxyJson } from '@alga-psa/extension-ui/client';
onReady(async () => {
  const echo = await callProxyJson<{ path: string }>('/echo/bundled', { via: 'esbuild' });
  document.getElementById('out')!.textContent = JSON.stringify(echo);
  document.title = 'ready';
});
`;

async function uiFiles(): Promise<Record<string, string>> {
  const files = await uiUsingClient({ 'app.js': appJs }, {
    before: { 'hooks.js': hooksJs },
    body: '<p id="status">waiting</p><p id="greeting"></p><div id="tall" style="height: 640px"></div>',
  });
  return {
    ...files,
    'bundled.html': '<!doctype html><html><head><meta charset="utf-8"><title>loading</title></head><body><p id="out"></p><script src="bundled-app.js"></script></body></html>',
    'bundled-app.js': await bundleUiScript(bundledAppTs),
    'no-sdk.html': '<!doctype html><html><head><meta charset="utf-8"><title>no sdk</title></head><body>This page never loads the SDK.</body></html>',
  };
}

/**
 * Loads the host bridge into the page — the IIFE as a script, or the ESM build from a module script —
 * and records what the host does: every message it posts to a frame window (through
 * `contentWindow`, the only way to reach an iframe) and every fetch.
 */
async function instrument(page: Page, host: 'iife' | 'esm' = 'iife'): Promise<void> {
  const bundles = await extensionUiBundles();
  if (host === 'iife') await page.addScriptTag({ content: bundles.hostIife.code });
  else {
    // A plain <script type="module"> importing the ESM build (from a blob: URL, as the page has no file server).
    const url = await page.evaluate((code) => URL.createObjectURL(new Blob([code], { type: 'text/javascript' })), bundles.hostEsm.code);
    await page.addScriptTag({ type: 'module', content: `import * as host from '${url}'; window.AlgaExtensionHost = host;` });
    await page.waitForFunction(() => typeof window.AlgaExtensionHost?.mountExtensionFrame === 'function');
  }
  await page.evaluate(() => {
    const rec: HostRecord = { resizes: [], navigations: [], fetches: [], posts: [], aborted: [], readyCount: 0, ready: null };
    window.__host = rec;
    const contentWindow = Object.getOwnPropertyDescriptor(HTMLIFrameElement.prototype, 'contentWindow')!;
    Object.defineProperty(HTMLIFrameElement.prototype, 'contentWindow', {
      configurable: true,
      get(this: HTMLIFrameElement) {
        const win = contentWindow.get!.call(this) as Window | null;
        if (!win) return win;
        return {
          postMessage(message: unknown, targetOrigin: string, transfer?: Transferable[]) {
            rec.posts.push({ targetOrigin, message: JSON.parse(JSON.stringify(message)), readyCountWhenPosted: rec.readyCount });
            win.postMessage(message, targetOrigin, transfer);
          },
        };
      },
    });
  });
}

type MountConfig = Partial<Pick<MountOptions, 'allowedRoutes' | 'maxRequestBytes' | 'maxResponseBytes' | 'maxConcurrentRequests' | 'handshakeTimeoutMs'>> & { withNavigate?: boolean; uiUrl?: string; csrfToken?: string };

/** Mounts the extension's frame with the host bridge; `/echo/slow` never answers (until aborted). */
async function mount(page: Page, uiUrl: string, csrfToken: string, config: MountConfig = {}): Promise<Frame> {
  await page.evaluate(({ uiUrl, csrfToken, extensionId, config }) => {
    const rec = window.__host;
    const fetchSpy: typeof fetch = (input, init) => {
      const url = String(input);
      rec.fetches.push({ url, method: init?.method ?? 'GET', headers: { ...(init?.headers as Record<string, string>) }, credentials: init?.credentials, mode: init?.mode });
      if (url.includes('/echo/slow')) {
        return new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => { rec.aborted.push(url); reject(init!.signal!.reason); }));
      }
      return fetch(input, init);
    };
    const { withNavigate = true, uiUrl: _u, csrfToken: _c, ...options } = config;
    const frame = window.AlgaExtensionHost.mountExtensionFrame({
      container: document.body, extensionId, uiUrl, csrfToken, fetch: fetchSpy,
      onResize: (h) => rec.resizes.push(h),
      ...(withNavigate ? { onNavigate: (p: string) => rec.navigations.push(p) } : {}),
      onReady: () => { rec.readyCount++; },
      ...options,
    });
    window.__frame = frame;
    frame.ready.then(() => { rec.ready = 'ok'; }, (e: { code: string }) => { rec.ready = e.code; });
  }, { uiUrl: config.uiUrl ?? uiUrl, csrfToken: config.csrfToken ?? csrfToken, extensionId: extensionName, config });
  const frame = (await (await page.waitForSelector('iframe')).contentFrame())!;
  return frame;
}

const ready = (frame: Frame) => frame.waitForFunction(() => document.title === 'ready', undefined, { timeout: 15_000 });
const hostRecord = (page: Page) => page.evaluate(() => window.__host);
const fetchCount = async (page: Page) => (await hostRecord(page)).fetches.length;
const callProxy = (frame: Frame, route: string, options: ClientModule.RawCallOptions = {}) =>
  frame.evaluate(([r, o]) => window.__try(() => window.AlgaExtensionUi.callProxy(r, o)), [route, options] as const);
const callProxyJson = (frame: Frame, route: string, body?: unknown, options: ClientModule.CallOptions = {}) =>
  frame.evaluate(([r, b, o]) => window.__try(() => window.AlgaExtensionUi.callProxyJson(r, b, o)), [route, body, options] as const);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An init as the host would send it, on a channel id made of `letter`. */
const forgedInit = (letter: string) => ({
  protocol: 'alga-extension-ui', version: 1, type: 'init', channelId: letter.repeat(22), extensionId: extensionName,
  limits: { maxRequestBytes: 1000, maxResponseBytes: 1000 },
});

/** Posts an init from the page into the iframe `#id` by hand; resolves with the first port message, or 'no answer'. */
const postInit = (page: Page, id: string, init: object) => page.evaluate(([i, message]) => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => resolve(e.data);
  (document.getElementById(i) as HTMLIFrameElement).contentWindow!.postMessage(message, '*', [channel.port2]);
  setTimeout(() => resolve('no answer'), 500);
}), [id, init] as const);

/** A plain sandboxed iframe of a UI page, with no host bridge behind it. */
async function plainFrame(page: Page, src: string, id: string): Promise<Frame> {
  await page.evaluate(([s, i]) => {
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts allow-forms');
    frame.id = i;
    frame.src = s;
    document.body.appendChild(frame);
  }, [src, id] as const);
  const frame = (await (await page.waitForSelector(`#${id}`)).contentFrame())!;
  await frame.waitForFunction(() => typeof window.AlgaExtensionUi === 'object');
  return frame;
}

let browser: Browser;
beforeAll(async () => { browser = await launchChromium(['--host-resolver-rules=MAP *.alga.test 127.0.0.1']); });
afterAll(() => browser?.close());

describe('the bridge on the platform origin', () => {
  let h: GatewayHarness;
  let t: { tenantId: string; adminKey: string; call: Caller };
  let uiUrl: string;
  let context: BrowserContext;
  let page: Page;
  let csrfToken: string;

  beforeAll(async () => {
    h = await startGatewayHarness();
    const bundle = await helloVariant({ name: extensionName, ui: { type: 'iframe', entry: 'ui/index.html', menu: { label: 'Bridge' } } }, await uiFiles());
    const published = await h.publish(bundle);
    if (published.status !== 201) throw new Error(`publish: ${published.status} ${await published.text()}`);
    t = await h.tenant();
    const install = await t.call('POST', '/api/v1/extensions/install', { extension: extensionName });
    if (install.status !== 201) throw new Error(`install: ${install.status} ${install.text}`);
    uiUrl = install.body.uiUrl;
    context = await browser.newContext();
  });
  afterAll(async () => { await context?.close(); await h?.close(); });

  // A fresh logged-in platform page per test, with the host bridge loaded and instrumented.
  async function freshPage(options: { host?: 'iife' | 'esm' } = {}): Promise<void> {
    await page?.close();
    ({ page, csrfToken } = await adminPage(context, h.url, t.adminKey));
    await instrument(page, options.host);
  }

  it("the UI's callProxyJson reaches the extension through the host, which sends the session's CSRF token same-origin", async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    expect(await frame.textContent('#greeting')).toBe('Hello');
    expect(await frame.textContent('#status')).toBe(`connected to ${extensionName} from ${new URL(h.url).origin}`);

    const echo = await callProxyJson(frame, '/echo/x?y=1', { hi: 1 });
    expect(echo).toMatchObject({ ok: true, value: { method: 'POST', path: '/echo/x', query: { y: '1' }, body: '{"hi":1}' } });
    const sent = (await hostRecord(page)).fetches.at(-1)!;
    expect(sent).toEqual({
      url: `${new URL(h.url).origin}/api/ext-proxy/${extensionName}/echo/x?y=1`, method: 'POST',
      headers: { 'x-alga-csrf': csrfToken, 'content-type': 'application/json' }, credentials: 'same-origin', mode: 'same-origin',
    });
    expect(await callProxyJson(frame, '/echo/del', undefined, { method: 'GET' })).toMatchObject({ ok: true, value: { method: 'GET', body: '' } });
    // The SDK runs clean under the UI's CSP (no eval, no inline script, no connection attempts).
    expect(await frame.evaluate(() => window.__violations)).toEqual([]);
  });

  it('the frame is sandboxed in an opaque origin, sends no referrer, and names the platform origin in its URL', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    expect(await frame.evaluate(() => String(self.origin))).toBe('null');
    const attrs = await page.evaluate(() => {
      const f = document.querySelector('iframe')!;
      return { sandbox: f.getAttribute('sandbox'), referrerpolicy: f.getAttribute('referrerpolicy'), src: f.src };
    });
    expect(attrs.sandbox).toBe('allow-scripts allow-forms');
    expect(attrs.referrerpolicy).toBe('no-referrer');
    expect(new URL(attrs.src).searchParams.get('alga-parent-origin')).toBe(new URL(h.url).origin);
    expect(await frame.evaluate(() => document.referrer)).toBe('');
  });

  it('resize reaches onResize and sets the frame height; without an argument it measures the document', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const auto = (await hostRecord(page)).resizes[0];
    expect(auto).toBeGreaterThanOrEqual(640);
    expect(auto).toBeLessThan(800);
    expect(await frame.evaluate(() => window.__try(() => window.AlgaExtensionUi.resize(321)))).toEqual({ ok: true });
    expect(await page.evaluate(() => document.querySelector('iframe')!.style.height)).toBe('321px');
    // A frame cannot make itself taller than the host allows.
    await frame.evaluate(() => window.AlgaExtensionUi.resize(900_000));
    expect((await hostRecord(page)).resizes).toEqual([auto, 321, 20_000]);
  });

  it('navigate hands a checked relative path to onNavigate and refuses scheme, host and traversal paths', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const nav = (path: string) => frame.evaluate((p) => window.__try(() => window.AlgaExtensionUi.navigate(p)), path);
    expect(await nav('/admin/tickets/42?tab=notes')).toEqual({ ok: true });
    for (const bad of ['javascript:alert(document.cookie)', '//evil.example/phish', 'https://evil.example/', '/admin/../../logout', '/admin\\..\\x']) {
      expect(await nav(bad), bad).toMatchObject({ ok: false, name: 'ExtensionUiError', code: 'E_ROUTE_INVALID' });
    }
    expect((await hostRecord(page)).navigations).toEqual(['/admin/tickets/42?tab=notes']);
  });

  it('a host page without onNavigate answers navigate with E_UNSUPPORTED', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken, { withNavigate: false });
    await ready(frame);
    expect(await frame.evaluate(() => window.__try(() => window.AlgaExtensionUi.navigate('/admin')))).toMatchObject({ ok: false, code: 'E_UNSUPPORTED' });
  });

  it('routes that would leave the extension proxy are refused with E_ROUTE_INVALID and never fetched', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const before = await fetchCount(page);
    const routes = [
      '/../../v1/api-keys', '/echo/../../../v1/installs', '/echo/%2e%2e/%2e%2e/%2e%2e/v1/api-keys', '/echo/.%2E/x', '/echo/%2F..%2Fx',
      '//evil.example/steal', 'https://evil.example/steal', 'javascript:alert(1)', 'echo/x', '/echo\\..\\..\\v1', '/echo/\t../x',
      '/echo/x\n', '/echo/x#frag', '/echo/%zz', '/echo/%00', `/${'a'.repeat(2100)}`, '/echo/é',
    ];
    for (const route of routes) {
      expect(await callProxy(frame, route), JSON.stringify(route)).toMatchObject({ ok: false, name: 'ExtensionUiError', code: 'E_ROUTE_INVALID' });
    }
    expect(await fetchCount(page)).toBe(before);
    // The plain form of the same characters still works.
    expect(await callProxyJson(frame, '/echo/a.b/~c', undefined)).toMatchObject({ ok: true, value: { path: '/echo/a.b/~c' } });
  });

  it('a route outside allowedRoutes is refused with E_ROUTE_NOT_ALLOWED and never fetched', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken, { allowedRoutes: ['GET /hello', { method: 'POST', path: '/echo/*' }] });
    await ready(frame);
    const before = await fetchCount(page);
    expect(await callProxyJson(frame, '/echo/x', undefined)).toMatchObject({ ok: false, code: 'E_ROUTE_NOT_ALLOWED' });
    expect(await callProxyJson(frame, '/hello', undefined, { method: 'DELETE' })).toMatchObject({ ok: false, code: 'E_ROUTE_NOT_ALLOWED' });
    expect(await fetchCount(page)).toBe(before);
    expect(await callProxyJson(frame, '/echo/x', { a: 1 })).toMatchObject({ ok: true, value: { method: 'POST' } });
    expect(await callProxyJson(frame, '/hello')).toMatchObject({ ok: true, value: { greeting: 'Hello' } });
  });

  it('a call the host does not finish in time fails with E_TIMEOUT, and the host aborts its fetch', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const started = Date.now();
    expect(await callProxyJson(frame, '/echo/slow', undefined, { timeoutMs: 300 })).toMatchObject({ ok: false, name: 'ExtensionUiError', code: 'E_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect.poll(async () => (await hostRecord(page)).aborted).toEqual([`${new URL(h.url).origin}/api/ext-proxy/${extensionName}/echo/slow`]);
  });

  it('a frame with more calls in flight than the host allows gets E_BUSY for the extra ones', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken, { maxConcurrentRequests: 2 });
    await ready(frame);
    const results = await frame.evaluate(() => Promise.all([1, 2, 3].map(() => window.__try(() => window.AlgaExtensionUi.callProxy('/echo/slow', { timeoutMs: 800 })))));
    expect(results.map((r) => r.code).sort()).toEqual(['E_BUSY', 'E_TIMEOUT', 'E_TIMEOUT']);
  });

  it('bodies over the host limits are refused both ways: E_BODY_TOO_LARGE before any fetch, E_RESPONSE_TOO_LARGE after', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken, { maxRequestBytes: 1000, maxResponseBytes: 600 });
    await ready(frame);
    const before = await fetchCount(page);
    expect(await callProxyJson(frame, '/echo/big', { pad: 'x'.repeat(1000) })).toMatchObject({ ok: false, code: 'E_BODY_TOO_LARGE' });
    // Multi-byte text counts in bytes, not characters.
    expect(await callProxy(frame, '/echo/big', { body: 'é'.repeat(600) })).toMatchObject({ ok: false, code: 'E_BODY_TOO_LARGE' });
    // A UI that skips the client's check and writes to the port itself meets the host's.
    const raw = await frame.evaluate(async () => {
      const { port, channelId } = window.__ports[0];
      port.postMessage({ type: 'request', op: 'proxy', channelId, id: 'raw-big', route: '/echo/big', method: 'POST', body: 'x'.repeat(5000) });
      for (let i = 0; i < 50; i++) {
        const answer = window.__received.find((r) => r.via === 'port' && r.data?.id === 'raw-big');
        if (answer) return answer.data;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return null;
    });
    expect(raw).toMatchObject({ type: 'response', ok: false, error: { code: 'E_BODY_TOO_LARGE' } });
    expect(await fetchCount(page)).toBe(before);
    expect(await callProxyJson(frame, '/echo/big', { pad: 'x'.repeat(700) })).toMatchObject({ ok: false, code: 'E_RESPONSE_TOO_LARGE' });
    expect(await callProxyJson(frame, '/echo/small', { pad: 'x' })).toMatchObject({ ok: true });
  });

  it("the gateway's errors reach the UI as typed errors with their code and status", async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    expect(await callProxyJson(frame, '/not-declared')).toMatchObject({ ok: false, name: 'ExtensionUiError', code: 'E_ENDPOINT_NOT_DECLARED', status: 404 });
    expect(await callProxy(frame, '/not-declared')).toMatchObject({ ok: true, value: { status: 404 } });
  });

  it('a host page with the wrong CSRF token gets E_CSRF from the gateway, which the frame can do nothing about', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken, { csrfToken: 'not-the-token' });
    await frame.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('connected'));
    expect(await callProxyJson(frame, '/hello')).toMatchObject({ ok: false, code: 'E_CSRF', status: 403 });
  });

  it('only content-type crosses back to the frame: no request id, CSP or other response header', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const hello = await callProxy(frame, '/hello');
    expect(hello.ok).toBe(true);
    expect(hello.value.headers).toEqual({ 'content-type': expect.stringMatching(/^application\/json/) });
  });

  it('the frame never sees the CSRF token or the session cookie: not in any message it received, its DOM or its URL', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    await callProxyJson(frame, '/echo/x', { hi: 1 });
    await callProxyJson(frame, '/not-declared');
    const cookie = (await context.cookies(h.url)).find((c) => c.name === 'alga_session')!.value;
    const seen = await frame.evaluate(() => JSON.stringify(window.__received) + document.documentElement.outerHTML + location.href);
    expect(seen).toContain('"ok":true'); // the spy did see the answers
    expect(seen).not.toContain(csrfToken);
    expect(seen).not.toContain(cookie);
    expect(seen.toLowerCase()).not.toContain('x-alga-csrf');
  });

  it('the host posts to the frame window only to hand over the channel, never after the handshake', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const afterHandshake = (await hostRecord(page)).posts.length;
    await callProxyJson(frame, '/echo/x', { hi: 1 });
    await frame.evaluate(() => window.AlgaExtensionUi.resize(300));
    await frame.evaluate(() => window.AlgaExtensionUi.navigate('/admin'));
    await callProxyJson(frame, '/nope');
    const { posts } = await hostRecord(page);
    expect(posts.length).toBe(afterHandshake);
    expect(posts.length).toBeGreaterThanOrEqual(1);
    for (const post of posts) {
      expect(post.readyCountWhenPosted).toBe(0);
      expect(post.targetOrigin).toBe('*');
      expect(Object.keys(post.message).sort()).toEqual(['channelId', 'extensionId', 'limits', 'protocol', 'type', 'version']);
      expect(post.message.type).toBe('init');
      expect(JSON.stringify(post.message)).not.toContain(csrfToken);
    }
    // And the frame agrees: every window message it got is an init from its parent.
    const windowMessages = await frame.evaluate(() => window.__received.filter((r) => r.via === 'window'));
    expect(windowMessages.length).toBe(posts.length);
    for (const m of windowMessages) expect(m).toMatchObject({ fromParent: true, origin: new URL(h.url).origin, data: { type: 'init' } });
  });

  it('messages from another window are ignored: a sibling frame cannot make the host fetch, even with the real channel id', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const channelId = await frame.evaluate(() => window.__ports[0].channelId as string);
    const sibling = await plainFrame(page, new URL(uiUrl, h.url).href, 'sibling');
    const before = await fetchCount(page);
    await sibling.evaluate(([id, ext]) => {
      const forged = { type: 'request', op: 'proxy', channelId: id, id: '1', route: '/echo/forged', method: 'POST', body: 'x' };
      parent.postMessage(forged, '*');
      parent.postMessage({ protocol: 'alga-extension-ui', version: 1, type: 'ready', channelId: id, extensionId: ext }, '*');
      // and straight at the extension's frame, which stopped listening to windows after its handshake
      parent.frames[0].postMessage(forged, '*');
    }, [channelId, extensionName] as const);
    await sleep(500);
    expect(await fetchCount(page)).toBe(before);
    expect(await sibling.evaluate(() => window.__received.filter((r) => r.fromParent))).toEqual([]);
    // The real frame still works.
    expect(await callProxyJson(frame, '/hello')).toMatchObject({ ok: true });
  });

  it("a forged init from a sibling frame or a same-origin popup does not connect a waiting client; the parent's init then does", async () => {
    await freshPage();
    const origin = new URL(h.url).origin;
    const src = new URL(uiUrl, h.url);
    src.searchParams.set('alga-parent-origin', origin);
    const target = await plainFrame(page, src.href, 'target');
    const sibling = await plainFrame(page, new URL(uiUrl, h.url).href, 'sibling');
    await sibling.evaluate((init) => {
      window.__forged = [];
      const channel = new MessageChannel();
      channel.port1.onmessage = (e) => window.__forged.push(e.data);
      parent.frames[0].postMessage(init, '*', [channel.port2]);
    }, forgedInit('F'));
    // A popup of the platform page has the platform's origin, the one the client expects: only `source` tells it apart.
    const [popup] = await Promise.all([context.waitForEvent('page'), page.evaluate(() => { window.open('/healthz', 'popup'); })]);
    await popup.waitForLoadState();
    const popupAnswer = await popup.evaluate((init) => new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = (e) => resolve(e.data);
      (window.opener as Window).frames[0].postMessage(init, '*', [channel.port2]);
      setTimeout(() => resolve('no answer'), 500);
    }), forgedInit('O'));
    await popup.close();
    expect(popupAnswer).toBe('no answer');
    expect(await callProxy(target, '/hello', { timeoutMs: 300 })).toMatchObject({ ok: false, code: 'E_NOT_CONNECTED' });
    expect(await target.evaluate(() => window.__received.map((r) => ({ fromParent: r.fromParent, origin: r.origin, channelId: r.data?.channelId })))).toEqual([
      { fromParent: false, origin: 'null', channelId: 'F'.repeat(22) },
      { fromParent: false, origin, channelId: 'O'.repeat(22) },
    ]);
    expect(await sibling.evaluate(() => window.__forged)).toEqual([]);
    expect(await postInit(page, 'target', forgedInit('P'))).toEqual({ type: 'ready', channelId: 'P'.repeat(22) });
  });

  it("without alga-parent-origin in its URL, the client pins the origin of its parent's first init", async () => {
    await freshPage();
    const frame = await plainFrame(page, new URL(uiUrl, h.url).href, 'target');
    expect(await postInit(page, 'target', forgedInit('P'))).toEqual({ type: 'ready', channelId: 'P'.repeat(22) });
    await frame.waitForFunction(() => document.getElementById('status')!.textContent !== 'waiting');
    expect(await frame.textContent('#status')).toBe(`connected to ${extensionName} from ${new URL(h.url).origin}`);
  });

  it('a client told to expect another parent origin ignores this page\'s init', async () => {
    await freshPage();
    const src = new URL(uiUrl, h.url);
    src.searchParams.set('alga-parent-origin', 'https://platform.example');
    const target = await plainFrame(page, src.href, 'target');
    const answered = await postInit(page, 'target', forgedInit('P'));
    expect(answered).toBe('no answer');
    expect(await callProxy(target, '/hello', { timeoutMs: 200 })).toMatchObject({ ok: false, code: 'E_NOT_CONNECTED' });
  });

  it('on the port, a wrong channel id is ignored and a message with smuggled fields is refused as E_BAD_MESSAGE', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const before = await fetchCount(page);
    const answers = await frame.evaluate(async () => {
      const { port, channelId } = window.__ports[0];
      port.postMessage({ type: 'request', op: 'proxy', channelId: 'W'.repeat(22), id: 'wrong-channel', route: '/hello', method: 'GET' });
      port.postMessage({ type: 'request', op: 'proxy', channelId, id: 'smuggled', route: '/hello', method: 'GET', headers: { authorization: 'Bearer x', cookie: 'alga_session=x' } });
      port.postMessage({ type: 'request', op: 'proxy', channelId, id: 'get-body', route: '/hello', method: 'GET', body: 'x' });
      port.postMessage({ type: 'request', op: 'proxy', channelId, id: 'bad-method', route: '/hello', method: 'TRACE' });
      port.postMessage({ type: 'request', op: 'proxy', channelId, id: 'control', route: '/hello', method: 'GET' });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return Object.fromEntries(window.__received.filter((r) => r.via === 'port' && typeof r.data?.id === 'string').map((r) => [r.data.id, r.data.ok ? 'ok' : r.data.error.code]));
    });
    expect(answers).toMatchObject({ smuggled: 'E_BAD_MESSAGE', 'get-body': 'E_BAD_MESSAGE', 'bad-method': 'E_BAD_MESSAGE', control: 'ok' });
    expect(answers).not.toHaveProperty('wrong-channel');
    expect(await fetchCount(page)).toBe(before + 1); // only the control
  });

  it('opened outside a frame, the UI fails every call at once with E_NOT_CONNECTED', async () => {
    await freshPage();
    await page.goto(`${h.url}${uiUrl}`);
    await page.waitForFunction(() => typeof window.AlgaExtensionUi === 'object');
    const started = Date.now();
    expect(await page.evaluate(() => window.__try(() => window.AlgaExtensionUi.callProxyJson('/hello')))).toMatchObject({ ok: false, code: 'E_NOT_CONNECTED' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await page.textContent('#status')).toBe('waiting');
  });

  it("the ESM host build imports into the platform page, and a UI bundled by esbuild from @alga-psa/extension-ui/client connects to it", async () => {
    await freshPage({ host: 'esm' });
    const frame = await mount(page, uiUrl.replace(/index\.html$/, 'bundled.html'), csrfToken);
    await ready(frame);
    expect(JSON.parse((await frame.textContent('#out'))!)).toMatchObject({ method: 'POST', path: '/echo/bundled', body: '{"via":"esbuild"}' });
  });

  it('a reloaded frame handshakes again on a new channel, and its calls work on it', async () => {
    await freshPage();
    const frame = await mount(page, uiUrl, csrfToken);
    await ready(frame);
    const first = await frame.evaluate(() => window.__ports[0].channelId as string);
    await frame.evaluate(() => location.reload());
    await expect.poll(async () => (await hostRecord(page)).readyCount).toBe(2);
    const reloaded = (await (await page.waitForSelector('iframe')).contentFrame())!;
    await ready(reloaded);
    const second = await reloaded.evaluate(() => window.__ports[0].channelId as string);
    expect(second).not.toBe(first);
    expect(await callProxyJson(reloaded, '/hello')).toMatchObject({ ok: true });
  });

  it('ready rejects with E_NOT_CONNECTED when the UI never loads the SDK, and destroy() removes the frame', async () => {
    await freshPage();
    await mount(page, uiUrl.replace(/index\.html$/, 'no-sdk.html'), csrfToken, { handshakeTimeoutMs: 500 });
    await expect.poll(async () => (await hostRecord(page)).ready).toBe('E_NOT_CONNECTED');
    await page.evaluate(() => window.__frame.destroy());
    expect(await page.$$('iframe')).toHaveLength(0);
  });
});

describe('the bridge with ALGA_EXT_UI_ORIGIN (UIs on their own origin)', () => {
  let h: GatewayHarness;
  let context: BrowserContext;

  beforeAll(async () => {
    h = await startGatewayHarness({ gateway: (url) => ({ publicOrigin: url, extUiOrigin: url.replace('127.0.0.1', 'ext-ui.alga.test') }) });
    const published = await h.publish(await helloVariant({ name: extensionName, ui: { type: 'iframe', entry: 'ui/index.html' } }, await uiFiles()));
    if (published.status !== 201) throw new Error(`publish: ${published.status} ${await published.text()}`);
    context = await browser.newContext();
  });
  afterAll(async () => { await context?.close(); await h?.close(); });

  it('the frame runs on the extension origin, pins the platform origin, and its calls still work', async () => {
    const t = await h.tenant();
    const install = (await t.call('POST', '/api/v1/extensions/install', { extension: extensionName })).body;
    expect(new URL(install.uiUrl).hostname).toBe('ext-ui.alga.test');
    const { page, csrfToken } = await adminPage(context, h.url, t.adminKey);
    await instrument(page);
    const frame = await mount(page, install.uiUrl, csrfToken);
    await ready(frame);
    expect(new URL(frame.url()).hostname).toBe('ext-ui.alga.test');
    expect(await frame.evaluate(() => String(self.origin))).toBe('null');
    expect(await frame.textContent('#status')).toBe(`connected to ${extensionName} from ${new URL(h.url).origin}`);
    expect(await callProxyJson(frame, '/echo/x', { hi: 1 })).toMatchObject({ ok: true, value: { body: '{"hi":1}' } });
    expect(await context.cookies(install.uiUrl)).toEqual([]);
  });
});
