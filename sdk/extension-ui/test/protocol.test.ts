/** The bridge's zod schemas: what each side accepts from the other, and everything it refuses. */
import { describe, expect, it } from 'vitest';
import { clientMessage, hostMessage, initMessage, maxRouteLength, maxTimeoutMs } from '../src/protocol.ts';

const channelId = 'AbCdEfGhIjKlMnOpQrStUv';
const init = { protocol: 'alga-extension-ui', version: 1, type: 'init', channelId, extensionId: 'com.acme.notes', limits: { maxRequestBytes: 1024, maxResponseBytes: 4096 } };
const proxy = { type: 'request', op: 'proxy', channelId, id: '1', route: '/notes/1', method: 'POST', body: '{}', contentType: 'application/json; charset=utf-8', timeoutMs: 5000 };

const accepts = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) => schema.safeParse(value).success;

describe('init (host → client, the only window message)', () => {
  it('accepts the init the host sends', () => {
    expect(accepts(initMessage, init)).toBe(true);
    expect(accepts(initMessage, { ...init, extensionId: '3c8f633f-1e98-4f6e-8944-cd1121c713da' })).toBe(true);
  });

  it('refuses an init that carries anything beyond the channel, such as a token', () => {
    expect(accepts(initMessage, { ...init, csrfToken: 'x' })).toBe(false);
    expect(accepts(initMessage, { ...init, limits: { ...init.limits, cookie: 'x' } })).toBe(false);
  });

  it('refuses another protocol, version or message type', () => {
    expect(accepts(initMessage, { ...init, protocol: 'other' })).toBe(false);
    expect(accepts(initMessage, { ...init, version: 2 })).toBe(false);
    expect(accepts(initMessage, { ...init, type: 'ready' })).toBe(false);
  });

  it('refuses guessable or malformed channel ids and extension ids', () => {
    for (const bad of ['short', 'x'.repeat(65), `${'a'.repeat(21)}/`, `${'a'.repeat(21)} `, 42]) {
      expect(accepts(initMessage, { ...init, channelId: bad }), String(bad)).toBe(false);
    }
    for (const bad of ['', '../x', 'a/b', 'a b', 'x'.repeat(257)]) expect(accepts(initMessage, { ...init, extensionId: bad }), bad).toBe(false);
  });

  it('refuses limits that are not positive integers', () => {
    for (const bad of [0, -1, 1.5, Number.POSITIVE_INFINITY, '1024']) {
      expect(accepts(initMessage, { ...init, limits: { ...init.limits, maxRequestBytes: bad } }), String(bad)).toBe(false);
    }
  });
});

describe('client → host (over the port)', () => {
  it('accepts ready, proxy, resize and navigate messages', () => {
    expect(accepts(clientMessage, { type: 'ready', channelId })).toBe(true);
    expect(accepts(clientMessage, proxy)).toBe(true);
    expect(accepts(clientMessage, { type: 'request', op: 'proxy', channelId, id: 'a-1_B', route: '/hello', method: 'GET' })).toBe(true);
    expect(accepts(clientMessage, { type: 'request', op: 'resize', channelId, id: '2', height: 480.5 })).toBe(true);
    expect(accepts(clientMessage, { type: 'request', op: 'navigate', channelId, id: '3', path: '/tickets/1' })).toBe(true);
  });

  it('refuses extra fields: a frame cannot smuggle headers, credentials or a target URL', () => {
    for (const extra of [{ headers: { authorization: 'Bearer x' } }, { credentials: 'include' }, { url: 'https://evil.example/' }, { csrfToken: 'x' }]) {
      expect(accepts(clientMessage, { ...proxy, ...extra }), JSON.stringify(extra)).toBe(false);
    }
  });

  it('refuses a GET with a body, unknown methods and unknown operations', () => {
    expect(accepts(clientMessage, { ...proxy, method: 'GET' })).toBe(false);
    for (const method of ['TRACE', 'CONNECT', 'get', 'HEAD', '']) expect(accepts(clientMessage, { ...proxy, method }), method).toBe(false);
    expect(accepts(clientMessage, { ...proxy, op: 'fetch' })).toBe(false);
    expect(accepts(clientMessage, { ...proxy, type: 'response' })).toBe(false);
  });

  it('refuses a content type that could carry a second header line', () => {
    for (const bad of ['application/json\r\nx-alga-csrf: x', 'text/plain\n', 'not a mime', 'a/b; c="d\r\n"', 'x'.repeat(201)]) {
      expect(accepts(clientMessage, { ...proxy, contentType: bad }), JSON.stringify(bad)).toBe(false);
    }
  });

  it('bounds routes, timeouts, heights and request ids', () => {
    expect(accepts(clientMessage, { ...proxy, route: '' })).toBe(false);
    expect(accepts(clientMessage, { ...proxy, route: `/${'a'.repeat(4 * maxRouteLength)}` })).toBe(false);
    for (const timeoutMs of [0, -1, 1.5, maxTimeoutMs + 1]) expect(accepts(clientMessage, { ...proxy, timeoutMs }), String(timeoutMs)).toBe(false);
    for (const height of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1_000_001, '100']) {
      expect(accepts(clientMessage, { type: 'request', op: 'resize', channelId, id: '2', height }), String(height)).toBe(false);
    }
    for (const id of ['', 'a b', 'x'.repeat(65), 7]) expect(accepts(clientMessage, { ...proxy, id }), String(id)).toBe(false);
  });

  it('refuses anything that is not a message object', () => {
    for (const junk of [null, undefined, 'ready', 42, [], [proxy], { type: 'ready' }]) expect(accepts(clientMessage, junk), JSON.stringify(junk)).toBe(false);
  });
});

describe('host → client (over the port)', () => {
  const ok = { type: 'response', channelId, id: '1', ok: true, result: { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' } };

  it('accepts results, null results, typed errors and close', () => {
    expect(accepts(hostMessage, ok)).toBe(true);
    expect(accepts(hostMessage, { ...ok, result: { status: 204, headers: {}, body: '' } })).toBe(true);
    expect(accepts(hostMessage, { ...ok, result: null })).toBe(true);
    expect(accepts(hostMessage, { type: 'response', channelId, id: '1', ok: false, error: { code: 'E_TIMEOUT', message: 'slow' } })).toBe(true);
    expect(accepts(hostMessage, { type: 'close', channelId })).toBe(true);
  });

  it('refuses a result with any response header but content-type', () => {
    for (const header of ['set-cookie', 'x-request-id', 'x-alga-csrf', 'authorization']) {
      expect(accepts(hostMessage, { ...ok, result: { ...ok.result, headers: { 'content-type': 'text/plain', [header]: 'x' } } }), header).toBe(false);
    }
  });

  it('refuses statuses outside HTTP, error codes outside the E_ catalog shape, and mixed answers', () => {
    expect(accepts(hostMessage, { ...ok, result: { ...ok.result, status: 99 } })).toBe(false);
    expect(accepts(hostMessage, { ...ok, result: { ...ok.result, status: 600 } })).toBe(false);
    expect(accepts(hostMessage, { type: 'response', channelId, id: '1', ok: false, error: { code: 'timeout', message: 'x' } })).toBe(false);
    expect(accepts(hostMessage, { ...ok, ok: false })).toBe(false);
    expect(accepts(hostMessage, { ...ok, error: { code: 'E_TIMEOUT', message: 'x' } })).toBe(false);
  });
});
