import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';

let h: GatewayHarness;
let a: { tenantId: string; adminKey: string; call: Caller };
let b: { tenantId: string; adminKey: string; call: Caller };
let installA: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  await h.publish(await helloVariant({ name: 'com.acme.identity', version: '1.0.0', capabilities: ['cap:secrets.get'], settings: [{ key: 'token', label: 'Token', type: 'secret' }, { key: 'greeting', label: 'G', type: 'text', default: 'Hello' }] }));
  a = await h.tenant('Tenant A');
  b = await h.tenant('Tenant B');
  installA = (await a.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.identity' })).body.id;
});
afterAll(() => h?.close());

/** Every (method, path) express knows, nested routers included. */
function routesOf(app: any): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) out.push({ method: method === '_all' ? 'get' : method, path: layer.route.path });
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(app.router.stack);
  return out;
}

// Static assets: extension UIs and the admin console (which signs in through the API like any client).
const publicRoutes = new Set(['GET /healthz', 'GET /readyz', 'POST /api/v1/auth/login', 'GET /ext-ui/:extensionId/:contentHash/{*asset}', 'GET /admin{/*asset}']);

describe('every route requires auth', () => {
  it('walking the router: each route without credentials answers 401 E_AUTH, except health, login and static assets', async () => {
    const routes = routesOf(h.gateway.app);
    expect(routes.length).toBeGreaterThan(25);
    const concrete = (path: string) => path.replace(/:[A-Za-z]+/g, randomUUID()).replace(/\{\*\w+\}/g, 'x/y');
    const unprotected: string[] = [];
    for (const { method, path } of routes) {
      const name = `${method.toUpperCase()} ${path}`;
      if (publicRoutes.has(name)) continue;
      const res = await fetch(`${h.url}${concrete(path)}`, { method: method.toUpperCase(), headers: { 'content-type': 'application/json' }, body: ['get', 'head'].includes(method) ? undefined : '{}' });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 401 || body.error?.code !== 'E_AUTH') unprotected.push(`${name} -> ${res.status}`);
    }
    expect(unprotected).toEqual([]);
    expect(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`)).toEqual(expect.arrayContaining([...publicRoutes]));
  });

  it('a tenant API key never opens operator or internal routes', async () => {
    expect((await a.call('POST', '/api/v1/tenants', { name: 'x' })).status).toBe(401);
    expect((await a.call('GET', '/metrics')).status).toBe(401);
    expect((await a.call('POST', '/api/internal/ext-runner/install-config', { tenantId: a.tenantId, extensionId: 'com.acme.identity' })).status).toBe(401);
  });
});

describe('API keys', () => {
  it('are stored hashed, expire and can be revoked: a revocation through this gateway holds on the very next request', async () => {
    const created = await a.call('POST', '/api/v1/api-keys', { name: 'short', roles: ['extension:read'], ttlDays: 1 });
    expect(created.status).toBe(201);
    const { key, apiKey } = created.body;
    const row = await h.db.knex('api_key').where({ id: apiKey.id }).first();
    const secretPart = key.slice('alga_'.length + 12 + 1);
    expect(secretPart).toHaveLength(43);
    expect(row.key_hash).not.toContain(secretPart);
    expect(JSON.stringify(row)).not.toContain(key);
    const auth = { authorization: `Bearer ${key}` };
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: auth })).status).toBe(200);
    expect((await a.call('DELETE', `/api/v1/api-keys/${apiKey.id}`)).status).toBe(204);
    const revoked = await fetch(`${h.url}/api/v1/installs`, { headers: auth });
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error.message).toMatch(/revoked/);
  });

  it('a key stops at its expiry, even one verified (and remembered) just before', async () => {
    const { key, apiKey } = (await a.call('POST', '/api/v1/api-keys', { name: 'expiring', roles: ['extension:read'] })).body;
    await h.db.knex('api_key').where({ id: apiKey.id }).update({ expires_at: new Date(Date.now() + 1500) });
    const auth = { authorization: `Bearer ${key}` };
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: auth })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await fetch(`${h.url}/api/v1/installs`, { headers: auth });
    expect(expired.status).toBe(401);
    expect((await expired.json()).error.message).toMatch(/expired/);
  });

  it('a forged key with a real prefix is refused', async () => {
    const { key } = (await a.call('POST', '/api/v1/api-keys', { name: 'victim', roles: ['extension:admin'] })).body;
    const forged = `${key.slice(0, -4)}AAAA`;
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
  });

  it('revoking a key ends the sessions made from it', async () => {
    const { key, apiKey } = (await a.call('POST', '/api/v1/api-keys', { name: 'session', roles: ['extension:admin'] })).body;
    const login = await fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { cookie } })).status).toBe(200);
    await a.call('DELETE', `/api/v1/api-keys/${apiKey.id}`);
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { cookie } })).status).toBe(401);
  });

  it('a read-only key cannot change settings, secrets or installs, nor see secret metadata (403 E_FORBIDDEN); it can read the config', async () => {
    const { key } = (await a.call('POST', '/api/v1/api-keys', { name: 'reader', roles: ['extension:read'] })).body;
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    for (const [method, path, body] of [
      ['PUT', `/api/v1/installs/${installA}/settings`, { greeting: 'x' }],
      ['PUT', `/api/v1/installs/${installA}/secrets`, { set: { token: 'x' } }],
      ['GET', `/api/v1/installs/${installA}/secrets`, undefined],
      ['DELETE', `/api/v1/installs/${installA}`, undefined],
    ] as const) {
      const res = await fetch(`${h.url}${path}`, { method, headers: auth, body: body ? JSON.stringify(body) : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    // The config (never a secret) is readable: the settings page's read-only view.
    const settings = await fetch(`${h.url}/api/v1/installs/${installA}/settings`, { headers: auth });
    expect(settings.status).toBe(200);
    expect(await settings.json()).toMatchObject({ configVersion: expect.any(Number), settings: expect.any(Array) });
  });
});

describe('tenant isolation', () => {
  it("tenant B cannot see or touch tenant A's install, settings or secrets: every route answers 404", async () => {
    await a.call('PUT', `/api/v1/installs/${installA}/secrets`, { set: { token: 'tenant-a-SECRET-value' } });
    for (const [method, path, body] of [
      ['GET', `/api/v1/installs/${installA}`, undefined],
      ['GET', `/api/v1/installs/${installA}/settings`, undefined],
      ['PUT', `/api/v1/installs/${installA}/settings`, { greeting: 'hijack' }],
      ['GET', `/api/v1/installs/${installA}/secrets`, undefined],
      ['PUT', `/api/v1/installs/${installA}/secrets`, { set: { token: 'hijack' } }],
      ['POST', `/api/v1/installs/${installA}/disable`, undefined],
      ['POST', `/api/v1/installs/${installA}/reset`, undefined],
      ['POST', `/api/v1/installs/${installA}/upgrade`, { version: '1.0.0' }],
      ['DELETE', `/api/v1/installs/${installA}`, undefined],
    ] as const) {
      const res = await b.call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.text).not.toContain('SECRET');
    }
    expect((await b.call('GET', '/api/v1/installs')).body.installs).toEqual([]);
    const still = (await a.call('GET', `/api/v1/installs/${installA}/settings`)).body;
    expect(still.config.greeting).toBe('Hello');
    expect((await a.call('GET', `/api/v1/installs/${installA}`)).body.status).toBe('enabled');
  });

  it("tenant B cannot call tenant A's extension through the proxy", async () => {
    const res = await b.call('GET', '/api/ext/com.acme.identity/hello');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_INSTALL_DISABLED');
  });

  it("tenant B cannot revoke tenant A's API keys", async () => {
    const { apiKey } = (await a.call('POST', '/api/v1/api-keys', { name: 'keep', roles: ['extension:read'] })).body;
    expect((await b.call('DELETE', `/api/v1/api-keys/${apiKey.id}`)).status).toBe(404);
    expect((await h.db.knex('api_key').where({ id: apiKey.id }).first()).revoked_at).toBeNull();
  });
});
