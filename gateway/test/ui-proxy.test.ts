/**
 * ui-proxy end to end: the internal API `POST /api/internal/ext-ui-proxy/install/:installId`
 * against a REAL host API on loopback (test-setup/host-api.ts), and a real component
 * calling `alga:extension/ui-proxy` through `/api/ext/…` with the harness runner.
 */
import { randomUUID } from 'node:crypto';
import { executeBodyDigest } from '@alga-psa/extension-contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';
import { bundleOf, callsUiProxy, fixtureComponent } from '../../test-setup/fixture-components.ts';
import { startHostApi, type HostApi } from '../../test-setup/host-api.ts';
import { parseRoute } from '../src/ui-proxy/ui-proxy-service.ts';

const HOST_TOKEN = 'host-secret-token';
const CATALOG = ['GET /host/tickets/:id', 'POST /host/tickets/:id/notes'];

let host: HostApi;
let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let other: { tenantId: string; adminKey: string; call: Caller };
/** The hello variant (declares GET tickets and GET admin users). */
type Installed = { id: string; extensionId: string; versionId: string };
let helloInstall: Installed;
/** The real ui-proxy guest (declares GET tickets, GET admin users, POST notes). */
let guestInstall: Installed;
let otherInstall: Installed;

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** Token claims the internal APIs do not check (the runner does): a callback has no execute body of its own. */
const unbound = { contentHash: 'a'.repeat(64), bodyDigest: executeBodyDigest({}) };
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

async function mint(install: Installed, opts: { tenantId?: string; capabilities?: string[]; deadlineMs?: number; requestId?: string } = {}) {
  const requestId = opts.requestId ?? randomUUID();
  const token = await h.gateway.executionKeys.mint(
    // Callbacks check the install and capabilities; the component and body binding is the runner's check.
    { requestId, tenantId: opts.tenantId ?? t.tenantId, installId: install.id, extensionId: install.extensionId, versionId: install.versionId, ...unbound, capabilities: opts.capabilities ?? ['cap:context.read', 'cap:log.emit', 'cap:ui.proxy'] },
    opts.deadlineMs ?? Date.now() + 5000,
  );
  return { token, requestId };
}

async function proxy(installId: string, token: string | undefined, body: unknown) {
  const res = await fetch(`${h.url}/api/internal/ext-ui-proxy/install/${installId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

async function installOf(caller: Caller, extension: string, grants?: string[]) {
  const res = await caller('POST', '/api/v1/extensions/install', { extension, ...(grants ? { grants } : {}) });
  if (res.status !== 201) throw new Error(`install ${extension}: ${res.status} ${res.text}`);
  return { id: res.body.id as string, extensionId: res.body.extensionId as string, versionId: res.body.versionId as string };
}

const guestManifest = {
  name: 'com.acme.uiproxy-guest', publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1',
  capabilities: ['cap:ui.proxy'],
  uiProxy: { routes: ['GET /host/tickets/:id', 'GET /host/admin/users', 'POST /host/tickets/:id/notes'] },
  api: { endpoints: [
    { method: 'GET', path: '/ticket/:id' }, { method: 'POST', path: '/ticket/:id/note' },
    { method: 'GET', path: '/admin' }, { method: 'GET', path: '/raw' },
  ] },
};

beforeAll(async () => {
  host = await startHostApi();
  h = await startGatewayHarness({ gateway: { hostApiBaseUrl: host.url, hostApiToken: HOST_TOKEN, hostRouteCatalog: CATALOG, rateLimitPerMinute: 10_000 } });
  const hello = await h.publish(await helloVariant({ name: 'com.acme.uiproxy-hello', version: '1.0.0', capabilities: ['cap:ui.proxy'], uiProxy: { routes: ['GET /host/tickets/:id', 'GET /host/admin/users'] } }));
  expect(hello.status).toBe(201);
  const guest = await h.publish(await bundleOf(guestManifest, await fixtureComponent(callsUiProxy)));
  expect(guest.status, await guest.clone().text()).toBe(201);
  t = await h.tenant();
  other = await h.tenant();
  helloInstall = await installOf(t.call, 'com.acme.uiproxy-hello');
  guestInstall = await installOf(t.call, 'com.acme.uiproxy-guest');
  otherInstall = await installOf(other.call, 'com.acme.uiproxy-hello');
});
afterAll(async () => {
  await h?.close();
  await host?.close();
});
beforeEach(() => host?.reset());

describe('route validation (unit)', () => {
  it('accepts concrete absolute paths with a query, refuses everything that could leave the path', () => {
    expect(parseRoute('/host/tickets/42?x=1&y=%20')).toEqual({ path: '/host/tickets/42', search: '?x=1&y=%20' });
    expect(parseRoute('/host/tickets/a%20b')).toEqual({ path: '/host/tickets/a%20b', search: '' });
    for (const bad of ['', 'host/x', 'http://evil/', '//evil/x', '/host/../admin', '/host/./x', '/host/%2e%2e/x', '/host/.%2E/x', '/host/a%2Fb', '/host/a%5cb', '/host/a\\b',
      '/host/a%00', '/host/%zz', '/host/a#frag', '/host/a b', '/host//x', '/host/\u00e9', '/host/a\tb', '/host/%0a', 'x'.repeat(3000)]) {
      expect(() => parseRoute(bad), bad).toThrow(expect.objectContaining({ code: 'E_VALIDATION' }));
    }
  });
});

describe('POST /api/internal/ext-ui-proxy/install/:installId', () => {
  it('forwards an allowed call with the host token and identity headers, and returns the host answer', async () => {
    const { token, requestId } = await mint(helloInstall);
    const res = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/42?x=1' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(200);
    expect(JSON.parse(unb64(res.body.bodyB64))).toEqual({ id: '42', title: 'Ticket 42', status: 'open', query: { x: '1' } });
    const headers = new Map<string, string>(res.body.headers);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    expect(headers.has('set-cookie')).toBe(false);

    expect(host.requests).toHaveLength(1);
    const seen = host.requests[0];
    expect(seen).toMatchObject({ method: 'GET', url: '/host/tickets/42?x=1' });
    expect(seen.headers.authorization).toBe(`Bearer ${HOST_TOKEN}`);
    expect(seen.headers['x-alga-tenant-id']).toBe(t.tenantId);
    expect(seen.headers['x-alga-install-id']).toBe(helloInstall.id);
    expect(seen.headers['x-alga-extension-id']).toBe(helloInstall.extensionId);
    expect(seen.headers['x-request-id']).toBe(requestId);
    expect(JSON.stringify(seen.headers)).not.toContain(token);
    expect(JSON.stringify(seen.headers)).not.toContain(token.split('.')[2]);
  });

  it('forwards a body with a content-type (POST notes, declared by the guest manifest)', async () => {
    const { token } = await mint(guestInstall);
    const res = await proxy(guestInstall.id, token, { method: 'POST', route: '/host/tickets/7/notes', bodyB64: b64('{"text":"hi"}') });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(201);
    expect(JSON.parse(unb64(res.body.bodyB64))).toEqual({ ticketId: '7', note: '{"text":"hi"}', contentType: 'application/json' });
    expect(host.requests[0]).toMatchObject({ method: 'POST', url: '/host/tickets/7/notes' });
    expect(host.requests[0].body.toString()).toBe('{"text":"hi"}');
  });

  it('a route in the manifest but not in the operator catalog is 403 and never reaches the host', async () => {
    const { token } = await mint(helloInstall);
    const res = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/admin/users' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('E_FORBIDDEN');
    expect(res.body.error.message).toMatch(/catalog/);
    expect(host.requests).toHaveLength(0);
  });

  it('a route in the catalog but not in the manifest is 403 (method counts too)', async () => {
    const { token } = await mint(helloInstall);
    const post = await proxy(helloInstall.id, token, { method: 'POST', route: '/host/tickets/1/notes', bodyB64: b64('{}') });
    expect(post.status).toBe(403);
    expect(post.body.error.code).toBe('E_FORBIDDEN');
    expect(post.body.error.message).toMatch(/uiProxy\.routes/);
    const wrongMethod = await proxy(helloInstall.id, token, { method: 'DELETE', route: '/host/tickets/1' });
    expect(wrongMethod.status).toBe(403);
    const deeper = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/1/secret' });
    expect(deeper.status).toBe(403);
    expect(host.requests).toHaveLength(0);
  });

  it('traversal, encoded slashes, absolute URLs and other hosts are refused before the host sees anything', async () => {
    const { token } = await mint(helloInstall);
    const attempts = [
      '/host/tickets/../admin/users', '/host/tickets/%2F..%2Fadmin', '/host/tickets/..%2Fadmin', '/host/tickets/%2e%2e',
      '/host/tickets/%2e%2e/../admin/users', `http://evil/`, '//evil/x', `${host.url}/host/tickets/1`, '\\\\evil\\x',
      '/host/tickets/1#x', '/host/tickets/a\\..\\..\\admin', '/host/tickets/1\r\nx-injected: 1', '@evil/host/tickets/1', ' /host/tickets/1',
    ];
    for (const route of attempts) {
      const res = await proxy(helloInstall.id, token, { method: 'GET', route });
      expect([400, 403], route).toContain(res.status);
      expect(['E_VALIDATION', 'E_FORBIDDEN'], route).toContain(res.body.error.code);
    }
    expect(host.requests).toHaveLength(0);
  });

  it('malformed calls are 400 E_VALIDATION', async () => {
    const { token } = await mint(helloInstall);
    for (const body of [
      { method: 'TRACE', route: '/host/tickets/1' }, { method: 'CONNECT', route: '/host/tickets/1' }, { method: 'GET' }, { route: '/host/tickets/1' },
      { method: 'GET', route: 42 }, { method: 'POST', route: '/host/tickets/1/notes', bodyB64: 'not base64!' },
      { method: 'GET', route: '/host/tickets/1', bodyB64: b64('x') }, [],
    ]) {
      const res = await proxy(helloInstall.id, token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('E_VALIDATION');
    }
    expect(host.requests).toHaveLength(0);
  });

  it('a lower-case method is normalised', async () => {
    const { token } = await mint(helloInstall);
    const res = await proxy(helloInstall.id, token, { method: 'get', route: '/host/tickets/5' });
    expect(res.body.status).toBe(200);
    expect(host.requests[0].method).toBe('GET');
  });

  it('host 404 and 500 are results (200 from the gateway), redirects are not followed', async () => {
    const { token } = await mint(helloInstall);
    const missing = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/missing' });
    expect(missing.status).toBe(200);
    expect(missing.body.status).toBe(404);
    expect(JSON.parse(unb64(missing.body.bodyB64))).toEqual({ error: 'no such ticket' });
    const boom = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/boom' });
    expect(boom.status).toBe(200);
    expect(boom.body.status).toBe(500);
    host.reset();
    const redirect = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/redirect' });
    expect(redirect.body.status).toBe(302);
    expect(new Map(redirect.body.headers).get('location')).toBe('/host/admin/users');
    expect(host.requests.map((r) => r.path)).toEqual(['/host/tickets/redirect']);
  });

  it('a host response over the cap is 502, not passed on', async () => {
    const { token } = await mint(helloInstall);
    const res = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/big' });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('E_HOST_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/exceeds/);
  });

  it('a host slower than the token expiry is 503 E_HOST_UNAVAILABLE, within the budget', async () => {
    host.behaviour.delayMs = 5000;
    const { token } = await mint(helloInstall, { deadlineMs: Date.now() + 800 });
    const started = Date.now();
    const res = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/1' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('E_HOST_UNAVAILABLE');
    // exp is rounded up to the next second.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a token for another install, or without cap:ui.proxy, is 403; an expired or missing token is 401', async () => {
    const forOther = await mint(otherInstall, { tenantId: other.tenantId });
    const a = await proxy(helloInstall.id, forOther.token, { method: 'GET', route: '/host/tickets/1' });
    expect(a.status).toBe(403);
    expect(a.body.error.code).toBe('E_FORBIDDEN');
    // The other tenant's own install works with its own token: the refusal above is about the install.
    expect((await proxy(otherInstall.id, forOther.token, { method: 'GET', route: '/host/tickets/1' })).body.status).toBe(200);
    host.reset();

    const noCap = await mint(helloInstall, { capabilities: ['cap:context.read', 'cap:log.emit'] });
    const b = await proxy(helloInstall.id, noCap.token, { method: 'GET', route: '/host/tickets/1' });
    expect(b.status).toBe(403);
    expect(b.body.error.code).toBe('E_FORBIDDEN');

    const expired = await mint(helloInstall, { deadlineMs: Date.now() - 10_000 });
    const c = await proxy(helloInstall.id, expired.token, { method: 'GET', route: '/host/tickets/1' });
    expect(c.status).toBe(401);
    expect(c.body.error.code).toBe('E_AUTH');

    expect((await proxy(helloInstall.id, undefined, { method: 'GET', route: '/host/tickets/1' })).status).toBe(401);
    expect((await proxy(helloInstall.id, t.adminKey, { method: 'GET', route: '/host/tickets/1' })).status).toBe(401);
    expect(host.requests).toHaveLength(0);
  });

  it('an install granted without cap:ui.proxy is refused even with a token that claims it', async () => {
    const t2 = await h.tenant();
    const ungranted = await installOf(t2.call, 'com.acme.uiproxy-hello', []);
    const { token } = await mint(ungranted, { tenantId: t2.tenantId });
    const res = await proxy(ungranted.id, token, { method: 'GET', route: '/host/tickets/1' });
    expect(res.status).toBe(403);
    expect(host.requests).toHaveLength(0);
  });

  it('a disabled install is refused', async () => {
    const t3 = await h.tenant();
    const inst = await installOf(t3.call, 'com.acme.uiproxy-hello');
    await t3.call('POST', `/api/v1/installs/${inst.id}/disable`);
    const { token } = await mint(inst, { tenantId: t3.tenantId });
    expect((await proxy(inst.id, token, { method: 'GET', route: '/host/tickets/1' })).status).toBe(403);
    expect(host.requests).toHaveLength(0);
  });
});

describe('a real component calling alga:extension/ui-proxy through /api/ext', () => {
  it('gets the ticket from the host, with the request id and install of the proxied request', async () => {
    const res = await t.call('GET', '/api/ext/com.acme.uiproxy-guest/ticket/42');
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe(200);
    expect(JSON.parse(res.body.body)).toMatchObject({ id: '42', title: 'Ticket 42' });
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0].headers['x-alga-install-id']).toBe(guestInstall.id);
    expect(host.requests[0].headers['x-alga-tenant-id']).toBe(t.tenantId);
    expect(host.requests[0].headers['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(host.requests[0].headers.authorization).toBe(`Bearer ${HOST_TOKEN}`);
  });

  it('a route the catalog does not allow answers denied inside the guest', async () => {
    const res = await t.call('GET', '/api/ext/com.acme.uiproxy-guest/admin');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ error: 'denied' });
    expect(host.requests).toHaveLength(0);
  });

  it('a malformed route answers bad-request; a host 404 is a result; a POST body reaches the host', async () => {
    const bad = await t.call('GET', `/api/ext/com.acme.uiproxy-guest/raw?route=${encodeURIComponent('/host/tickets/../admin/users')}`);
    expect(bad.body).toMatchObject({ error: 'bad-request' });
    expect(bad.body.message).toMatch(/\.\./);
    const missing = await t.call('GET', '/api/ext/com.acme.uiproxy-guest/ticket/missing');
    expect(missing.body).toMatchObject({ status: 404 });
    const note = await t.call('POST', '/api/ext/com.acme.uiproxy-guest/ticket/9/note', '{"text":"from guest"}', { 'content-type': 'application/json' });
    expect(note.body.status).toBe(201);
    expect(JSON.parse(note.body.body)).toMatchObject({ ticketId: '9', note: '{"text":"from guest"}' });
  });

  it('an install not granted cap:ui.proxy answers denied without a gateway call', async () => {
    const t4 = await h.tenant();
    await installOf(t4.call, 'com.acme.uiproxy-guest', []);
    const res = await t4.call('GET', '/api/ext/com.acme.uiproxy-guest/ticket/1');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ error: 'denied' });
    expect(host.requests).toHaveLength(0);
  });
});

describe('host API not configured or down', () => {
  it('without hostApiBaseUrl the internal API answers 503 E_HOST_UNAVAILABLE', async () => {
    const h2 = await startGatewayHarness({ runner: false, gateway: { hostRouteCatalog: CATALOG } });
    try {
      await h2.publish(await helloVariant({ name: 'com.acme.uiproxy-hello', version: '1.0.0', capabilities: ['cap:ui.proxy'], uiProxy: { routes: ['GET /host/tickets/:id'] } }));
      const t2 = await h2.tenant();
      const inst = await installOf(t2.call, 'com.acme.uiproxy-hello');
      const token = await h2.gateway.executionKeys.mint({ requestId: randomUUID(), tenantId: t2.tenantId, installId: inst.id, extensionId: inst.extensionId, versionId: inst.versionId, ...unbound, capabilities: ['cap:ui.proxy'] }, Date.now() + 5000);
      const res = await fetch(`${h2.url}/api/internal/ext-ui-proxy/install/${inst.id}`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', route: '/host/tickets/1' }),
      });
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe('E_HOST_UNAVAILABLE');
    } finally {
      await h2.close();
    }
  });

  it('host down: 503 E_HOST_UNAVAILABLE (runs last: it closes the host API)', async () => {
    await host.close();
    const { token } = await mint(helloInstall);
    const res = await proxy(helloInstall.id, token, { method: 'GET', route: '/host/tickets/1' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('E_HOST_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/unreachable/);
    const viaGuest = await t.call('GET', '/api/ext/com.acme.uiproxy-guest/ticket/1');
    expect(viaGuest.body).toMatchObject({ error: 'unavailable' });
  });
});
