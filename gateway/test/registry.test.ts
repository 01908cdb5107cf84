import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePublisherKey, signBundle } from '@alga-psa/extension-contracts';
import { startGatewayHarness, operatorCaller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant, rawTarGz } from '../../test-setup/bundles.ts';
import { bundleOf, fixtureComponent, importsStorage } from '../../test-setup/fixture-components.ts';

let h: GatewayHarness;
beforeAll(async () => { h = await startGatewayHarness({ runner: false, gateway: { maxBundleBytes: 8 * 1024 * 1024 } }); });
afterAll(() => h?.close());

async function expectPublishError(res: Response, status: number, code: string) {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  return body.error;
}

describe('POST /api/v1/registry/publish', () => {
  it('publishes a signed bundle, stores it by content hash and precomputes the transpile', async () => {
    const bytes = await helloVariant({ name: 'com.acme.reg-ok', version: '1.0.0' });
    const res = await h.publish(bytes);
    const body = await res.json();
    expect(res.status).toBe(201);
    expect(body).toMatchObject({ name: 'com.acme.reg-ok', version: '1.0.0', imports: ['alga:extension/context', 'alga:extension/log'] });
    expect(await h.gateway.registry['bundleStore'].has(body.contentHash)).toBe(true);
    const t = await h.tenant();
    const list = await t.call('GET', '/api/v1/registry/extensions');
    expect(list.body.extensions.map((e: { name: string }) => e.name)).toContain('com.acme.reg-ok');
    const one = await t.call('GET', '/api/v1/registry/extensions/com.acme.reg-ok');
    expect(one.body.versions[0]).toMatchObject({ version: '1.0.0', contentHash: body.contentHash });
  });

  it('refuses a second publish of the same (name, version) with 409 E_VERSION_EXISTS', async () => {
    const bytes = await helloVariant({ name: 'com.acme.reg-dup', version: '1.0.0' });
    expect((await h.publish(bytes)).status).toBe(201);
    const changed = await helloVariant({ name: 'com.acme.reg-dup', version: '1.0.0', description: 'different bytes' });
    await expectPublishError(await h.publish(changed), 409, 'E_VERSION_EXISTS');
  });

  it('refuses a wrong signature (422 E_SIGNATURE_INVALID), a missing one and an unknown key (401 E_AUTH)', async () => {
    const bytes = await helloVariant({ name: 'com.acme.reg-sig', version: '1.0.0' });
    const other = generatePublisherKey();
    await expectPublishError(await h.publish(bytes, { signature: signBundle(bytes, other.privateKeyPem) }), 422, 'E_SIGNATURE_INVALID');
    await expectPublishError(await h.publish(bytes, { signature: null }), 401, 'E_AUTH');
    await expectPublishError(await h.publish(bytes, { keyId: 'nobody' }), 401, 'E_AUTH');
    // A signature over different bytes does not carry over.
    const otherBytes = await helloVariant({ name: 'com.acme.reg-sig', version: '1.0.1' });
    await expectPublishError(await h.publish(bytes, { signature: signBundle(otherBytes, h.publisherKeyPem) }), 422, 'E_SIGNATURE_INVALID');
  });

  it('refuses a revoked publisher key', async () => {
    const op = operatorCaller(h);
    const pub = (await op('POST', '/api/v1/registry/publishers', { name: 'Revoked Co' })).body;
    const key = generatePublisherKey();
    expect((await op('POST', `/api/v1/registry/publishers/${pub.id}/keys`, { kid: 'revoked-1', publicKey: key.publicKeyB64 })).status).toBe(201);
    expect((await op('DELETE', '/api/v1/registry/keys/revoked-1')).status).toBe(204);
    const bytes = await helloVariant({ name: 'com.revoked.thing', version: '1.0.0' });
    await expectPublishError(await h.publish(bytes, { keyId: 'revoked-1', signature: signBundle(bytes, key.privateKeyPem) }), 401, 'E_AUTH');
  });

  it('refuses an invalid manifest with 422 E_MANIFEST_INVALID and the JSON path of each issue', async () => {
    const bytes = await helloVariant({ name: 'Not-Reverse-DNS', version: 'one', surprise: true });
    const error = await expectPublishError(await h.publish(bytes), 422, 'E_MANIFEST_INVALID');
    const paths = error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['$.name', '$.version', '$.surprise']));
  });

  it('refuses a component whose imports exceed its declared capabilities (422 E_UNDECLARED_IMPORT)', async () => {
    const bytes = await bundleOf({ name: 'com.acme.sneaky', publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1', capabilities: [] }, await fixtureComponent(importsStorage));
    const error = await expectPublishError(await h.publish(bytes), 422, 'E_UNDECLARED_IMPORT');
    expect(error.message).toMatch(/storage/);
  });

  it('refuses a component.wasm that is not a WebAssembly component with 422 E_BUNDLE_INVALID, raised in the transpile worker', async () => {
    const notWasm = new TextEncoder().encode('definitely not a component');
    const bytes = await bundleOf({ name: 'com.acme.not-wasm', publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1', capabilities: [] }, notWasm);
    const error = await expectPublishError(await h.publish(bytes), 422, 'E_BUNDLE_INVALID');
    expect(error.message).toMatch(/component\.wasm is not a valid WebAssembly component/);
  });

  it('refuses a bundle over the size limit with 413 E_BUNDLE_TOO_LARGE', async () => {
    const big = new Uint8Array(9 * 1024 * 1024);
    const res = await h.publish(big, { signature: 'x' });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('E_BUNDLE_TOO_LARGE');
  });

  it('refuses path traversal, absolute paths and links inside the archive (422 E_BUNDLE_INVALID)', async () => {
    for (const evil of [
      [{ path: 'manifest.json', data: '{}' }, { path: '../evil.txt', data: 'x' }],
      [{ path: 'manifest.json', data: '{}' }, { path: '/etc/evil', data: 'x' }],
      [{ path: 'manifest.json', data: '{}' }, { path: 'ui/link', data: '', type: 'SymbolicLink' as const, linkpath: '/etc/passwd' }],
    ]) {
      const bytes = rawTarGz(evil);
      const error = await expectPublishError(await h.publish(bytes), 422, 'E_BUNDLE_INVALID');
      expect(error.message).toMatch(/escapes the bundle root|only regular files/);
    }
  });

  it('refuses a version of a name that belongs to another publisher (403 E_FORBIDDEN)', async () => {
    expect((await h.publish(await helloVariant({ name: 'com.acme.owned', version: '1.0.0' }))).status).toBe(201);
    const op = operatorCaller(h);
    const pub = (await op('POST', '/api/v1/registry/publishers', { name: 'Squatter Inc' })).body;
    const key = generatePublisherKey();
    await op('POST', `/api/v1/registry/publishers/${pub.id}/keys`, { kid: 'squatter-1', publicKey: key.publicKeyB64 });
    const bytes = await helloVariant({ name: 'com.acme.owned', version: '2.0.0', publisher: 'Squatter Inc' });
    await expectPublishError(await h.publish(bytes, { keyId: 'squatter-1', signature: signBundle(bytes, key.privateKeyPem) }), 403, 'E_FORBIDDEN');
  });

  it('publisher registration needs the operator token', async () => {
    const res = await fetch(`${h.url}/api/v1/registry/publishers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x y"}' });
    expect(res.status).toBe(401);
    const t = await h.tenant();
    expect((await t.call('POST', '/api/v1/registry/publishers', { name: 'Tenant Admin Co' })).status).toBe(401);
  });
});
