/**
 * The `ui-proxy` provider against the REAL gateway (internal ui-proxy API, execution-token auth,
 * manifest + catalog checks) and a real host API on loopback. Scopes are built by hand, with
 * tokens minted by the gateway's own keys. A few mappings the real gateway cannot be made to
 * produce on demand (its own 404 E_NOT_FOUND, a garbled answer) use a tiny HTTP server.
 */
import { randomUUID } from 'node:crypto';
import { executeBodyDigest } from '@alga-psa/extension-contracts';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { uiProxyProvider, type ProxyResponse } from '../../src/providers/ui-proxy.ts';
import type { RequestScope } from '../../src/providers/provider.ts';
import type { InstallSpec } from '@alga-psa/extension-contracts';
import { startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../../test-setup/bundles.ts';
import { failure as witFailure } from './support/http-servers.ts';
import { startHostApi, type HostApi } from '../../../test-setup/host-api.ts';

const HOST_TOKEN = 'host-secret-token';
let host: HostApi;
let h: GatewayHarness;
let tenantId: string;
let install: { id: string; extensionId: string; versionId: string };

beforeAll(async () => {
  host = await startHostApi();
  h = await startGatewayHarness({
    runner: false,
    gateway: { hostApiBaseUrl: host.url, hostApiToken: HOST_TOKEN, hostRouteCatalog: ['GET /host/tickets/:id', 'POST /host/tickets/:id/notes'] },
  });
  const res = await h.publish(await helloVariant({
    name: 'com.acme.uiproxy-provider', version: '1.0.0', capabilities: ['cap:ui.proxy'],
    uiProxy: { routes: ['GET /host/tickets/:id', 'GET /host/admin/users', 'POST /host/tickets/:id/notes'] },
  }));
  expect(res.status).toBe(201);
  const t = await h.tenant();
  tenantId = t.tenantId;
  const inst = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.uiproxy-provider' });
  install = { id: inst.body.id, extensionId: inst.body.extensionId, versionId: inst.body.versionId };
});
afterAll(async () => {
  await h?.close();
  await host?.close();
});
beforeEach(() => host?.reset());

interface ScopeOptions {
  gatewayUrl?: string | null;
  deadlineMs?: number;
  token?: string;
  installId?: string;
}

async function bound(o: ScopeOptions = {}) {
  const deadlineMs = o.deadlineMs ?? Date.now() + 5000;
  const requestId = randomUUID();
  const token = o.token ?? await h.gateway.executionKeys.mint(
    { requestId, tenantId, installId: install.id, extensionId: install.extensionId, versionId: install.versionId, contentHash: 'a'.repeat(64), bodyDigest: executeBodyDigest({}), capabilities: ['cap:context.read', 'cap:log.emit', 'cap:ui.proxy'] },
    // A deadline already past still gets a token that verifies (the provider must refuse first).
    Math.max(deadlineMs, Date.now() + 1000),
  );
  const spec: InstallSpec = {
    config: {}, configVersion: 1, grantedCapabilities: ['cap:ui.proxy'], httpAllowedHosts: [], storageNamespaces: null,
    uiProxyRoutes: ['GET /host/tickets/:id', 'GET /host/admin/users', 'POST /host/tickets/:id/notes'],
    tenantId, extensionId: install.extensionId, installId: o.installId ?? install.id, versionId: install.versionId, contentHash: 'a'.repeat(64),
  };
  const scope: RequestScope = {
    requestId, tenantId, extensionId: install.extensionId, installId: o.installId ?? install.id, versionId: install.versionId, deadlineMs, install: spec,
    executionToken: token, prepared: undefined,
    operator: { httpAllowedPrivateCidrs: [], httpMaxResponseBytes: 1024 * 1024, httpMaxRedirects: 5, gatewayUrl: o.gatewayUrl === null ? undefined : (o.gatewayUrl ?? h.url) },
    log: () => {}, markSensitive: () => {},
  };
  const fns = uiProxyProvider.bind(scope, uiProxyProvider.configure(spec));
  return {
    token, requestId,
    call: (method: unknown, route: unknown, body?: unknown) => fns.callRoute(method, route, body) as Promise<ProxyResponse>,
  };
}

/** Await a rejection: a WIT variant (never an Error), and one of proxy-error's cases. */
async function failure(p: Promise<unknown>): Promise<{ tag: string; val?: unknown }> {
  const thrown = await witFailure(p);
  expect(['denied', 'not-found', 'bad-request', 'unavailable']).toContain(thrown.tag);
  return thrown;
}

const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : '');

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function fakeGateway(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('ui-proxy provider', () => {
  it('declares cap:ui.proxy on the ui-proxy interface with call-route async', () => {
    expect(uiProxyProvider).toMatchObject({ capability: 'cap:ui.proxy', witInterface: 'ui-proxy', asyncFunctions: ['call-route'] });
  });

  it('success: returns the host status, headers and body; the host sees its own token, never the execution token', async () => {
    const { call, token, requestId } = await bound();
    const res = await call('GET', '/host/tickets/7?expand=notes', undefined);
    expect(res.status).toBe(200);
    expect(JSON.parse(text(res.body))).toMatchObject({ id: '7', title: 'Ticket 7', query: { expand: 'notes' } });
    expect(res.headers.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string')).toBe(true);
    expect(res.headers.find(([k]) => k === 'content-type')?.[1]).toMatch(/application\/json/);
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0].headers.authorization).toBe(`Bearer ${HOST_TOKEN}`);
    expect(host.requests[0].headers['x-request-id']).toBe(requestId);
    expect(host.requests[0].headers['x-alga-install-id']).toBe(install.id);
    expect(JSON.stringify(host.requests[0].headers)).not.toContain(token);
  });

  it('a body is forwarded; a host 404 or 500 is a result, not an error', async () => {
    const { call } = await bound();
    const note = await call('POST', '/host/tickets/3/notes', new TextEncoder().encode('{"n":1}'));
    expect(note.status).toBe(201);
    expect(JSON.parse(text(note.body))).toMatchObject({ ticketId: '3', note: '{"n":1}', contentType: 'application/json' });
    expect((await call('GET', '/host/tickets/missing', undefined)).status).toBe(404);
    expect((await call('GET', '/host/tickets/boom', undefined)).status).toBe(500);
  });

  it('denied: a route the catalog or the manifest does not allow (gateway 403), and a token for another install', async () => {
    const { call } = await bound();
    expect(await failure(call('GET', '/host/admin/users', undefined))).toEqual({ tag: 'denied' });
    expect(await failure(call('DELETE', '/host/tickets/1', undefined))).toEqual({ tag: 'denied' });
    const wrongInstall = await bound({ installId: randomUUID() });
    expect(await failure(wrongInstall.call('GET', '/host/tickets/1', undefined))).toEqual({ tag: 'denied' });
    expect(host.requests).toHaveLength(0);
  });

  it('denied(): the functions of an install without the grant', async () => {
    const fns = uiProxyProvider.denied();
    expect(await failure(Promise.resolve().then(() => fns.callRoute('GET', '/host/tickets/1', undefined)))).toEqual({ tag: 'denied' });
  });

  it('bad-request: malformed routes and methods, with the gateway message', async () => {
    const { call } = await bound();
    const traversal = await failure(call('GET', '/host/tickets/../admin/users', undefined));
    expect(traversal.tag).toBe('bad-request');
    expect(traversal.val).toMatch(/\.\./);
    expect((await failure(call('GET', 'http://evil/', undefined))).tag).toBe('bad-request');
    expect((await failure(call('TRACE', '/host/tickets/1', undefined))).tag).toBe('bad-request');
    expect((await failure(call('GET', '/host/tickets/1', new Uint8Array([1])))).tag).toBe('bad-request');
    // Refused locally: wrong types never leave the runner.
    expect((await failure(call(42, '/host/tickets/1', undefined))).tag).toBe('bad-request');
    expect((await failure(call('GET', { path: '/x' }, undefined))).tag).toBe('bad-request');
    expect((await failure(call('POST', '/host/tickets/1/notes', 'not bytes'))).tag).toBe('bad-request');
    expect(host.requests).toHaveLength(0);
  });

  it('unavailable: gateway port closed, no gateway configured, token rejected, host down behind the gateway', async () => {
    const closed = await bound({ gatewayUrl: `http://127.0.0.1:${await closedPort()}` });
    const a = await failure(closed.call('GET', '/host/tickets/1', undefined));
    expect(a.tag).toBe('unavailable');
    expect(a.val).toMatch(/unreachable/);
    const none = await bound({ gatewayUrl: null });
    expect((await failure(none.call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
    const badToken = await bound({ token: 'not.a.token' });
    expect((await failure(badToken.call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
    host.behaviour.failStatus = 503; // the host's 503 is still a result
    expect((await (await bound()).call('GET', '/host/tickets/1', undefined)).status).toBe(503);
  });

  it('deadline: a slow host is cut off at the request deadline with unavailable; a past deadline makes no call', async () => {
    host.behaviour.delayMs = 3000;
    const { call } = await bound({ deadlineMs: Date.now() + 400 });
    const started = Date.now();
    const err = await failure(call('GET', '/host/tickets/1', undefined));
    expect(err.tag).toBe('unavailable');
    expect(err.val).toMatch(/deadline/);
    expect(Date.now() - started).toBeLessThan(1200);

    host.reset();
    const past = await bound({ deadlineMs: Date.now() - 1 });
    expect((await failure(past.call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
    expect(host.requests).toHaveLength(0);
  });

  it('maps the gateway\'s own 404 E_NOT_FOUND to not-found, anything garbled to unavailable', async () => {
    let answer: { status: number; body: string } = { status: 404, body: JSON.stringify({ error: { code: 'E_NOT_FOUND', message: 'no such install' } }) };
    const seen: Array<{ url: string; auth: string | undefined; body: string }> = [];
    const gw = await fakeGateway(async (req, res) => {
      let body = '';
      for await (const c of req) body += c;
      seen.push({ url: req.url ?? '', auth: req.headers.authorization, body });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    try {
      const { call, token } = await bound({ gatewayUrl: gw.url });
      expect(await failure(call('POST', '/host/tickets/1/notes', new Uint8Array([104, 105])))).toEqual({ tag: 'not-found' });
      expect(seen[0]).toEqual({ url: `/api/internal/ext-ui-proxy/install/${install.id}`, auth: `Bearer ${token}`, body: JSON.stringify({ method: 'POST', route: '/host/tickets/1/notes', bodyB64: 'aGk=' }) });
      answer = { status: 404, body: 'no json' };
      expect((await failure(call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
      answer = { status: 200, body: '{"status":"x"}' };
      expect((await failure(call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
      answer = { status: 200, body: 'not json' };
      expect((await failure(call('GET', '/host/tickets/1', undefined))).tag).toBe('unavailable');
      answer = { status: 502, body: JSON.stringify({ error: { code: 'E_HOST_UNAVAILABLE', message: 'the host API response exceeds 5242880 bytes' } }) };
      expect(await failure(call('GET', '/host/tickets/1', undefined))).toEqual({ tag: 'unavailable', val: 'the host API response exceeds 5242880 bytes' });
      answer = { status: 200, body: JSON.stringify({ status: 204, headers: [], bodyB64: '' }) };
      expect(await call('GET', '/host/tickets/1', undefined)).toEqual({ status: 204, headers: [], body: undefined });
    } finally {
      await gw.close();
    }
  });
});
