/**
 * Issue 7 over HTTP (the browser cases are in browser-security.test.ts): sessions that end,
 * CSRF and origin checks, proxied responses as sandboxed data, headers a caller cannot forge,
 * verified publishers and reserved names, consent for every permission that grows, and
 * secrets an upgrade drops.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCaller, startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant, sampleVariant } from '../../test-setup/bundles.ts';
import { login } from '../../test-setup/sessions.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 10_000 } });
  await h.publishSample('hello');
  await h.publishSample('misbehaving');
  t = await h.tenant();
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
  await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' });
});
afterAll(() => h?.close());

const apiKeyCount = async () => (await t.call('GET', '/api/v1/api-keys')).body.apiKeys.length as number;

describe('sessions end on the server', () => {
  it('after logout the old cookie no longer authenticates (401 E_AUTH)', async () => {
    const s = await login(h.url, t.adminKey);
    expect((await fetch(`${h.url}/api/v1/auth/me`, { headers: { cookie: s.cookie } })).status).toBe(200);
    const out = await fetch(`${h.url}/api/v1/auth/logout`, { method: 'POST', headers: s.headers });
    expect(out.status).toBe(204);
    const after = await fetch(`${h.url}/api/v1/auth/me`, { headers: { cookie: s.cookie } });
    expect(after.status).toBe(401);
    expect((await after.json()).error.code).toBe('E_AUTH');
  });

  it('the session row stores only a hash of the cookie value', async () => {
    const s = await login(h.url, t.adminKey);
    const value = s.cookie.split('=')[1];
    const rows = await h.db.knex('api_session').select('token_hash');
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(value);
  });

  it('a malformed session cookie is no cookie: 401 E_AUTH, never 500', async () => {
    const res = await fetch(`${h.url}/api/v1/auth/me`, { headers: { cookie: 'alga_session=%E0%A4%A' } });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('E_AUTH');
    const proxied = await fetch(`${h.url}/api/ext-proxy/com.alga.samples.hello/hello`, { headers: { cookie: 'alga_session=%E0%A4%A' } });
    expect(proxied.status).toBe(401);
  });

  it('GET /auth/me hands the platform page its CSRF token, and only for a session', async () => {
    const s = await login(h.url, t.adminKey);
    expect((await (await fetch(`${h.url}/api/v1/auth/me`, { headers: { cookie: s.cookie } })).json()).csrfToken).toBe(s.csrfToken);
    expect((await t.call('GET', '/api/v1/auth/me')).body.csrfToken).toBeUndefined();
  });
});

describe('session requests must come from the platform page (403 E_CSRF)', () => {
  const mint = (headers: Record<string, string>) => fetch(`${h.url}/api/v1/api-keys`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'stolen', roles: ['extension:admin'] }),
  });

  it('the reproduced takeover — a same-site script minting an admin API key with the cookie alone — is refused', async () => {
    const s = await login(h.url, t.adminKey);
    const before = await apiKeyCount();
    const attempts: Array<Record<string, string>> = [
      { cookie: s.cookie },
      { cookie: s.cookie, origin: new URL(h.url).origin },
      { cookie: s.cookie, 'sec-fetch-site': 'same-origin' },
      { cookie: s.cookie, origin: 'null', 'x-alga-csrf': s.csrfToken },
      { cookie: s.cookie, origin: 'https://attacker.example', 'x-alga-csrf': s.csrfToken },
      { cookie: s.cookie, 'sec-fetch-site': 'cross-site', 'x-alga-csrf': s.csrfToken },
      { cookie: s.cookie, 'sec-fetch-site': 'same-site', origin: new URL(h.url).origin, 'x-alga-csrf': s.csrfToken },
      { cookie: s.cookie, 'x-alga-csrf': s.csrfToken },
      { ...s.headers, 'x-alga-csrf': `${s.csrfToken.slice(0, -2)}AA` },
    ];
    for (const headers of attempts) {
      const res = await mint(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect((await res.json()).error.code).toBe('E_CSRF');
    }
    expect(await apiKeyCount()).toBe(before);
  });

  it("another session's CSRF token does not fit", async () => {
    const [mine, other] = [await login(h.url, t.adminKey), await login(h.url, t.adminKey)];
    const res = await mint({ ...mine.headers, 'x-alga-csrf': other.csrfToken });
    expect((await res.json()).error.code).toBe('E_CSRF');
  });

  it('with Origin (or Sec-Fetch-Site: same-origin) and the CSRF token the platform page may act', async () => {
    const s = await login(h.url, t.adminKey);
    expect((await mint(s.headers)).status).toBe(201);
    const { origin: _origin, ...rest } = s.headers;
    expect((await mint({ ...rest, 'sec-fetch-site': 'same-origin' })).status).toBe(201);
  });

  it('reads with the cookie need no token; an API key needs neither', async () => {
    const s = await login(h.url, t.adminKey);
    expect((await fetch(`${h.url}/api/v1/installs`, { headers: { cookie: s.cookie } })).status).toBe(200);
    expect((await t.call('POST', '/api/v1/api-keys', { name: 'ci', roles: ['extension:read'] })).status).toBe(201);
  });

  it('a browser cannot log in from another origin or a sandboxed frame, so no session can be planted', async () => {
    const attempts: Array<Record<string, string>> = [{ origin: 'https://attacker.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of attempts) {
      const res = await fetch(`${h.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ apiKey: t.adminKey }) });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
  });

  it('the iframe proxy route needs the token for every method, GET included', async () => {
    const s = await login(h.url, t.adminKey);
    const bare = await fetch(`${h.url}/api/ext-proxy/com.alga.samples.hello/hello`, { headers: { cookie: s.cookie } });
    expect(bare.status).toBe(403);
    expect((await bare.json()).error.code).toBe('E_CSRF');
    const bridged = await fetch(`${h.url}/api/ext-proxy/com.alga.samples.hello/hello`, { headers: s.headers });
    expect(bridged.status).toBe(200);
  });
});

describe('proxied extension responses are sandboxed data', () => {
  it('only allowlisted headers survive; cookies, redirects, refresh, SW scope, CORS, auth challenges and site-data clearing do not', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/page');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<script>');
    for (const name of ['set-cookie', 'service-worker-allowed', 'refresh', 'location', 'clear-site-data', 'www-authenticate',
      'access-control-allow-origin', 'access-control-allow-credentials', 'x-frame-options', 'x-evil']) {
      expect(res.headers.get(name), name).toBeNull();
    }
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-extension-trace')).toBe('kept');
    expect(res.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('errors on the proxy routes are sandboxed too', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/not-declared');
    expect(res.body.error.code).toBe('E_ENDPOINT_NOT_DECLARED');
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox;/);
  });

  it('a service-worker script fetch of an extension response is refused (403 E_FORBIDDEN)', async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/sw.js', undefined, { 'service-worker': 'script' });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('E_FORBIDDEN');
  });

  it("the guest never sees a caller's x-request-id, x-forwarded-*, forwarded, x-real-ip, x-alga-* or x-ext-* headers", async () => {
    const res = await t.call('GET', '/api/ext/com.alga.samples.misbehaving/headers', undefined, {
      'x-request-id': 'forged-request-id', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-host': 'admin.example', forwarded: 'for=10.0.0.1',
      'x-real-ip': '10.0.0.1', 'x-alga-tenant-id': 'other-tenant', 'x-ext-config-version': '999', 'x-custom': 'passes',
    });
    expect(res.status).toBe(200);
    expect(res.body['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(res.body['x-ext-config-version']).toBe(res.headers.get('x-ext-config-version'));
    expect(res.body['x-custom']).toBe('passes');
    for (const name of ['x-forwarded-for', 'x-forwarded-host', 'forwarded', 'x-real-ip', 'x-alga-tenant-id', 'authorization']) expect(res.body[name], name).toBeUndefined();
  });
});

describe('publishers are verified and names can be reserved', () => {
  const operator = () => operatorCaller(h);

  it('a manifest naming another publisher than the signing key is refused (403 E_PUBLISHER_MISMATCH)', async () => {
    const res = await h.publish(await helloVariant({ name: 'com.acme.impostor', publisher: 'Microsoft Corporation' }));
    expect(res.status).toBe(403);
    const body = await res.json();
    expect(body.error.code).toBe('E_PUBLISHER_MISMATCH');
    expect(body.error.message).toContain('Alga Samples');
  });

  it('a reserved prefix is only for its publisher (403 E_NAME_RESERVED), and the install shows the verified publisher', async () => {
    const owner = await h.addPublisher('Reserved Owner');
    const intruder = await h.addPublisher('Intruder Inc');
    expect((await operator()('POST', `/api/v1/registry/publishers/${owner.id}/name-prefixes`, { prefix: 'com.reserved' })).status).toBe(201);
    for (const name of ['com.reserved', 'com.reserved.tools', 'com.reserved.deep.name']) {
      const res = await intruder.publish(await helloVariant({ name, publisher: 'Intruder Inc' }));
      expect(res.status, name).toBe(403);
      expect((await res.json()).error.code).toBe('E_NAME_RESERVED');
    }
    expect((await intruder.publish(await helloVariant({ name: 'com.reservedx.tools', publisher: 'Intruder Inc' }))).status).toBe(201);
    expect((await owner.publish(await helloVariant({ name: 'com.reserved.tools', publisher: 'Reserved Owner' }))).status).toBe(201);
    const install = await t.call('POST', '/api/v1/extensions/install', { extension: 'com.reserved.tools' });
    expect(install.body.publisher).toBe('Reserved Owner');
    const listed = (await t.call('GET', '/api/v1/registry/extensions')).body.extensions.find((e: { name: string }) => e.name === 'com.reserved.tools');
    expect(listed.publisher).toBe('Reserved Owner');
  });

  it('a prefix cannot be reserved over names another publisher already owns (409 E_CONFLICT), and can be released', async () => {
    const early = await h.addPublisher('Early Bird');
    const late = await h.addPublisher('Late Comer');
    expect((await early.publish(await helloVariant({ name: 'org.contested.app', publisher: 'Early Bird' }))).status).toBe(201);
    const refused = await operator()('POST', `/api/v1/registry/publishers/${late.id}/name-prefixes`, { prefix: 'org.contested' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.names).toEqual(['org.contested.app']);
    expect((await operator()('POST', `/api/v1/registry/publishers/${early.id}/name-prefixes`, { prefix: 'org.contested' })).status).toBe(201);
    expect((await late.publish(await helloVariant({ name: 'org.contested.two', publisher: 'Late Comer' }))).status).toBe(403);
    expect((await operator()('DELETE', '/api/v1/registry/name-prefixes/org.contested')).status).toBe(204);
    expect((await late.publish(await helloVariant({ name: 'org.contested.two', publisher: 'Late Comer' }))).status).toBe(201);
  });

  it('reserving needs the operator token and a reverse-DNS prefix', async () => {
    const p = await h.addPublisher('Prefix Checker');
    expect((await t.call('POST', `/api/v1/registry/publishers/${p.id}/name-prefixes`, { prefix: 'com.checker' })).status).toBe(401);
    expect((await operator()('POST', `/api/v1/registry/publishers/${p.id}/name-prefixes`, { prefix: 'COM' })).body.error.code).toBe('E_VALIDATION');
  });
});

describe('upgrades: every permission that grows needs consent', () => {
  const base = { name: 'com.acme.grows', capabilities: ['cap:storage.kv', 'cap:ui.proxy'], storage: { namespaces: ['a'] }, uiProxy: { routes: ['GET /host/tickets/:id'] } };
  let installId: string;

  beforeAll(async () => {
    for (const [version, extra] of [
      ['1.0.0', {}],
      ['1.1.0', { uiProxy: { routes: ['GET /host/tickets/:id', 'POST /host/tickets/:id/comments'] } }],
      ['1.2.0', { uiProxy: { routes: ['GET /host/tickets/:id', 'POST /host/tickets/:id/comments'] }, storage: { namespaces: ['a', 'b'] } }],
      ['1.3.0', { uiProxy: { routes: ['GET /host/tickets/:id', 'POST /host/tickets/:id/comments'] }, storage: {} }],
    ] as const) {
      const res = await h.publish(await helloVariant({ ...base, version, ...extra }));
      expect(res.status, version).toBe(201);
    }
    installId = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.grows', version: '1.0.0' })).body.id;
  });

  it('a new ui-proxy route needs consent (409 E_CONSENT_REQUIRED lists it)', async () => {
    const res = await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.1.0' });
    expect(res.status).toBe(409);
    expect(res.body.error.details).toMatchObject({ addedUiProxyRoutes: ['POST /host/tickets/:id/comments'], addedCapabilities: [], addedHosts: [], addedStorageNamespaces: [] });
    expect((await t.call('GET', `/api/v1/installs/${installId}`)).body.version).toBe('1.0.0');
    expect((await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.1.0', consent: true })).body.version).toBe('1.1.0');
  });

  it('a new storage namespace needs consent, and so does widening to any namespace', async () => {
    const more = await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.2.0' });
    expect(more.body.error.details).toMatchObject({ addedStorageNamespaces: ['b'], addedUiProxyRoutes: [] });
    expect((await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.2.0', consent: true })).status).toBe(200);
    const any = await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.3.0' });
    expect(any.status).toBe(409);
    expect(any.body.error.details.addedStorageNamespaces).toEqual(['*']);
  });
});

describe('an upgrade that drops a secret key', () => {
  it('bumps secretsVersion in the same transaction, so the runner stops serving the removed secret at once', async () => {
    const secretSetting = (key: string) => ({ key, label: key, type: 'secret' });
    const v1 = await sampleVariant('misbehaving', { name: 'com.acme.secrets-drop', version: '1.0.0', ui: undefined, settings: [secretSetting('apiToken'), secretSetting('b')] });
    const v2 = await sampleVariant('misbehaving', { name: 'com.acme.secrets-drop', version: '1.1.0', ui: undefined, settings: [secretSetting('apiToken')] });
    expect((await h.publish(v1)).status).toBe(201);
    expect((await h.publish(v2)).status).toBe(201);
    const { id } = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.secrets-drop', version: '1.0.0' })).body;
    const set = await t.call('PUT', `/api/v1/installs/${id}/secrets`, { set: { apiToken: 'tok-1', b: 'dropped-secret-b' } });
    const status = () => t.call('GET', '/api/ext/com.acme.secrets-drop/secret-keys');
    expect([...(await status()).body.keys].sort()).toEqual(['apiToken', 'b']);
    const upgraded = await t.call('POST', `/api/v1/installs/${id}/upgrade`, { version: '1.1.0' });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.secretsVersion).toBe(set.body.secretsVersion + 1);
    expect((await status()).body.keys).toEqual(['apiToken']);
  });
});

describe('GET /ext-ui: extension UIs get an opaque origin', () => {
  const uiPath = async () => (await t.call('GET', '/api/v1/installs')).body.installs.find((i: { extensionName: string }) => i.extensionName === 'com.alga.samples.misbehaving').uiUrl as string;

  it('every response carries CSP sandbox (scripts and forms, never same-origin) and no network access', async () => {
    const path = await uiPath();
    expect(path).toMatch(/^\/ext-ui\/[0-9a-f-]{36}\/[0-9a-f]{64}\/index\.html$/);
    for (const asset of [path, path.replace('index.html', 'attack.js'), path.replace('index.html', 'missing.js')]) {
      const res = await fetch(`${h.url}${asset}`);
      const csp = res.headers.get('content-security-policy')!;
      expect(csp, asset).toMatch(/^sandbox allow-scripts allow-forms;/);
      expect(csp).not.toContain('allow-same-origin');
      expect(csp).toContain("connect-src 'none'");
      // Module scripts of an opaque-origin document are CORS requests.
      expect(res.headers.get('access-control-allow-origin'), asset).toBe('*');
    }
  });

  it('a service-worker script fetch of a UI asset is refused (403 E_FORBIDDEN)', async () => {
    const res = await fetch(`${h.url}${(await uiPath()).replace('index.html', 'attack.js')}`, { headers: { 'service-worker': 'script' } });
    expect(res.status).toBe(403);
  });
});

describe('ALGA_EXT_UI_ORIGIN: extension UIs on a separate cookieless origin', () => {
  let g: GatewayHarness;
  let platform: string;
  let extUi: string;

  beforeAll(async () => {
    g = await startGatewayHarness({ gateway: (url) => ({ publicOrigin: url, extUiOrigin: url.replace('127.0.0.1', 'localhost') }) });
    platform = g.url;
    extUi = g.url.replace('127.0.0.1', 'localhost');
    await g.publishSample('misbehaving');
  });
  afterAll(() => g?.close());

  /** A request addressed to `host` (localhost resolves to ::1 on some machines, so always connect to 127.0.0.1). */
  const get = (origin: string, path: string) => new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const port = new URL(platform).port;
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: new URL(origin).host } }, (res) => { res.resume(); resolve({ status: res.statusCode!, headers: res.headers }); });
    req.on('error', reject);
    req.end();
  });

  it('installs name the UI on the extension origin; the platform origin only redirects there', async () => {
    const tenant = await g.tenant();
    const install = (await tenant.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body;
    expect(install.uiUrl.startsWith(`${extUi}/ext-ui/`)).toBe(true);
    const path = new URL(install.uiUrl).pathname;
    const onPlatform = await get(platform, path);
    expect(onPlatform.status).toBe(308);
    expect(onPlatform.headers.location).toBe(install.uiUrl);
    const onExt = await get(extUi, path);
    expect(onExt.status).toBe(200);
    expect(String(onExt.headers['content-security-policy'])).toContain(`frame-ancestors ${platform}`);
  });

  it('the extension origin serves nothing else: no login, no API, no proxy (404)', async () => {
    for (const path of ['/api/v1/auth/login', '/api/v1/installs', '/api/ext-proxy/com.alga.samples.misbehaving/page', '/metrics']) {
      expect((await get(extUi, path)).status, path).toBe(404);
    }
    expect((await get(platform, '/api/v1/installs')).status).toBe(401);
  });

  it('ALGA_EXT_UI_ORIGIN without ALGA_PUBLIC_ORIGIN, or equal to it, stops start-up', async () => {
    const { gatewayConfigFromEnv } = await import('../src/config.ts');
    expect(() => gatewayConfigFromEnv({ ALGA_EXT_UI_ORIGIN: 'https://ext.example' })).toThrow(/needs ALGA_PUBLIC_ORIGIN/);
    expect(() => gatewayConfigFromEnv({ ALGA_EXT_UI_ORIGIN: 'https://a.example', ALGA_PUBLIC_ORIGIN: 'https://a.example/' })).toThrow(/must differ/);
  });
});
