/**
 * forwardProxyCall with a recording fetch (Node has the same fetch, Response and AbortSignal as
 * the browser): the request it builds, what it passes back, and how each failure is typed.
 */
import { describe, expect, it } from 'vitest';
import { ExtensionUiError } from '../src/errors.ts';
import { forwardProxyCall, type ProxySettings } from '../src/host-proxy.ts';
import type { ProxyRequest } from '../src/protocol.ts';

const channelId = 'AbCdEfGhIjKlMnOpQrStUv';
const request = (extra: Partial<ProxyRequest> = {}): ProxyRequest => ({ type: 'request', op: 'proxy', channelId, id: '1', route: '/notes/1?x=1', method: 'POST', body: '{"a":1}', contentType: 'application/json', ...extra });

function settings(fetchImpl: typeof fetch, extra: Partial<ProxySettings> = {}): ProxySettings {
  return {
    extensionId: 'com.acme.notes', proxyBase: '/api/ext-proxy', csrfToken: 'csrf-secret', fetch: fetchImpl, allowed: () => true,
    maxRequestBytes: 1000, maxResponseBytes: 1000, maxTimeoutMs: 5000, pageUrl: 'https://msp.example.com/admin/extensions/1', ...extra,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (err) {
    return err instanceof ExtensionUiError ? err.code : `other: ${String(err)}`;
  }
}

describe('forwardProxyCall', () => {
  it('calls the proxy on the page origin with the session token and passes back status, content-type and body only', async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    const fake: typeof fetch = async (url, init) => {
      seen.push({ url: String(url), init: init! });
      return new Response('{"ok":true}', { status: 201, headers: { 'content-type': 'application/json', 'set-cookie': 'a=b', 'x-request-id': 'r1', 'x-extension-thing': 'y' } });
    };
    const result = await forwardProxyCall(request(), settings(fake), new AbortController().signal);
    expect(result).toEqual({ status: 201, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    expect(seen[0].url).toBe('https://msp.example.com/api/ext-proxy/com.acme.notes/notes/1?x=1');
    expect(seen[0].init).toMatchObject({
      method: 'POST', body: '{"a":1}', headers: { 'x-alga-csrf': 'csrf-secret', 'content-type': 'application/json' },
      credentials: 'same-origin', mode: 'same-origin', redirect: 'error', cache: 'no-store',
    });
  });

  it('asks a token function on every call, so a refreshed token is used', async () => {
    const tokens: string[] = [];
    let n = 0;
    const fake: typeof fetch = async (_url, init) => { tokens.push((init!.headers as Record<string, string>)['x-alga-csrf']); return new Response(''); };
    const s = settings(fake, { csrfToken: async () => `token-${++n}` });
    await forwardProxyCall(request(), s, new AbortController().signal);
    await forwardProxyCall(request(), s, new AbortController().signal);
    expect(tokens).toEqual(['token-1', 'token-2']);
  });

  it('encodes the extension id into one path segment', async () => {
    let url = '';
    const fake: typeof fetch = async (u) => { url = String(u); return new Response(''); };
    await forwardProxyCall(request({ route: '/x' }), settings(fake, { extensionId: '3c8f633f-1e98-4f6e-8944-cd1121c713da' }), new AbortController().signal);
    expect(url).toBe('https://msp.example.com/api/ext-proxy/3c8f633f-1e98-4f6e-8944-cd1121c713da/x');
  });

  it('refuses invalid routes, routes outside the allowlist and oversized bodies without fetching', async () => {
    let calls = 0;
    const fake: typeof fetch = async () => { calls++; return new Response(''); };
    const signal = new AbortController().signal;
    expect(await codeOf(forwardProxyCall(request({ route: '/../v1/api-keys' }), settings(fake), signal))).toBe('E_ROUTE_INVALID');
    expect(await codeOf(forwardProxyCall(request({ route: '/notes/1' }), settings(fake, { allowed: (m) => m === 'GET' }), signal))).toBe('E_ROUTE_NOT_ALLOWED');
    expect(await codeOf(forwardProxyCall(request({ body: 'x'.repeat(1001) }), settings(fake), signal))).toBe('E_BODY_TOO_LARGE');
    expect(await codeOf(forwardProxyCall(request({ body: '€'.repeat(400) }), settings(fake), signal))).toBe('E_BODY_TOO_LARGE'); // 1200 bytes in 400 characters
    expect(calls).toBe(0);
  });

  it('stops reading a response past the limit, declared or streamed', async () => {
    const declared: typeof fetch = async () => new Response('x'.repeat(2000));
    expect(await codeOf(forwardProxyCall(request(), settings(declared), new AbortController().signal))).toBe('E_RESPONSE_TOO_LARGE');
    let pulled = 0;
    const streamed: typeof fetch = async () => new Response(new ReadableStream({
      pull(controller) { pulled++; controller.enqueue(new TextEncoder().encode('y'.repeat(400))); },
    }));
    expect(await codeOf(forwardProxyCall(request(), settings(streamed), new AbortController().signal))).toBe('E_RESPONSE_TOO_LARGE');
    expect(pulled).toBeLessThan(10); // it stopped, instead of draining an endless body
  });

  it('times out at the smaller of the request timeout and the host ceiling, aborting the fetch', async () => {
    let aborted = false;
    const hang: typeof fetch = (_url, init) => new Promise((_resolve, reject) => {
      init!.signal!.addEventListener('abort', () => { aborted = true; reject(init!.signal!.reason); });
    });
    const started = Date.now();
    expect(await codeOf(forwardProxyCall(request({ timeoutMs: 60_000 }), settings(hang, { maxTimeoutMs: 100 }), new AbortController().signal))).toBe('E_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(aborted).toBe(true);
  });

  it('types a failed fetch as E_NETWORK, and a closed channel as the abort it is', async () => {
    const down: typeof fetch = async () => { throw new TypeError('Failed to fetch'); };
    expect(await codeOf(forwardProxyCall(request(), settings(down), new AbortController().signal))).toBe('E_NETWORK');
    const closed = new AbortController();
    const hang: typeof fetch = (_url, init) => new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    const pending = forwardProxyCall(request(), settings(hang), closed.signal);
    closed.abort(new DOMException('closed', 'AbortError'));
    expect(await codeOf(pending)).toMatch(/^other: AbortError/);
  });
});
