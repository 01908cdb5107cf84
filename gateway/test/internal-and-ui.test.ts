import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;
let contentHash: string;

beforeAll(async () => {
  h = await startGatewayHarness({ runner: false, gateway: { installConfigCacheTtlMs: 60_000 } });
  const bytes = await helloVariant(
    { name: 'com.acme.withui', version: '1.0.0', capabilities: ['cap:secrets.get'], ui: { type: 'iframe', entry: 'ui/index.html' }, settings: [{ key: 'greeting', label: 'G', type: 'text', default: 'Hello' }, { key: 'token', label: 'T', type: 'secret' }] },
    { 'index.html': '<!doctype html><script src="app.js"></script>', 'app.js': 'console.log(1)', 'css/site.css': 'body{}' },
  );
  const res = await h.publish(bytes);
  contentHash = (await res.json()).contentHash;
  t = await h.tenant();
  installId = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.withui' })).body.id;
});
afterAll(() => h?.close());

async function installConfig() {
  const res = await fetch(`${h.url}/api/internal/ext-runner/install-config`, {
    method: 'POST', headers: { authorization: `Bearer ${h.runnerServiceToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId: t.tenantId, extensionId: 'com.acme.withui' }),
  });
  return { status: res.status, body: await res.json() };
}

describe('POST /api/internal/ext-runner/install-config', () => {
  it('returns the DESIGN §6 shape to the runner service', async () => {
    const { status, body } = await installConfig();
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(['config', 'configVersion', 'contentHash', 'extensionId', 'grantedCapabilities', 'httpAllowedHosts', 'installId', 'secretEnvelope', 'secretsVersion', 'storageNamespaces', 'tenantId', 'uiProxyRoutes', 'updatedAt', 'versionId'].sort());
    expect(body).toMatchObject({ tenantId: t.tenantId, installId, contentHash, config: { greeting: 'Hello' }, configVersion: 1, secretsVersion: 0, secretEnvelope: {} });
  });

  it('is invalidated by every write to the install, despite a long TTL', async () => {
    await installConfig();
    await t.call('PUT', `/api/v1/installs/${installId}/settings`, { greeting: 'Changed' });
    let body = (await installConfig()).body;
    expect(body).toMatchObject({ config: { greeting: 'Changed' }, configVersion: 2 });
    await t.call('PUT', `/api/v1/installs/${installId}/secrets`, { set: { token: 'env-123456' } });
    body = (await installConfig()).body;
    expect(body.secretsVersion).toBe(1);
    expect(body.secretEnvelope.token).toMatch(/^local:v1:/);
    expect(JSON.stringify(body)).not.toContain('env-123456');
    await t.call('POST', `/api/v1/installs/${installId}/reset`);
    body = (await installConfig()).body;
    expect(body).toMatchObject({ config: { greeting: 'Hello' }, secretsVersion: 2, secretEnvelope: {} });
  });

  it('refuses a wrong service token and a tenant key', async () => {
    for (const authorization of ['Bearer wrong-token-wrong-token', `Bearer ${t.adminKey}`]) {
      const res = await fetch(`${h.url}/api/internal/ext-runner/install-config`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(401);
    }
  });
});

describe('GET /ext-ui/:extensionId/:contentHash/*', () => {
  const base = () => `${h.url}/ext-ui/com.acme.withui/${contentHash}`;

  it('serves the bundle UI with a strict CSP, nosniff, the right content type and an ETag', async () => {
    const res = await fetch(`${base()}/index.html`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<script src="app.js">');
    const js = await fetch(`${base()}/app.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('etag')).not.toBe(res.headers.get('etag'));
    expect((await fetch(`${base()}/css/site.css`)).status).toBe(200);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await fetch(`${base()}/app.js`);
    const again = await fetch(`${base()}/app.js`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('never serves outside the bundle ui/ tree: traversal, manifest, component, unknown hash or extension', async () => {
    for (const path of ['/..%2Fmanifest.json', '/../manifest.json', '/%2e%2e/component.wasm', '/css/..%2F..%2Fmanifest.json', '/nope.js']) {
      const res = await fetch(`${base()}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('"runtime"');
    }
    expect((await fetch(`${h.url}/ext-ui/com.acme.withui/${'0'.repeat(64)}/index.html`)).status).toBe(404);
    expect((await fetch(`${h.url}/ext-ui/com.acme.other/${contentHash}/index.html`)).status).toBe(404);
  });
});
