import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken, sha256Hex, type ExecutionClaims } from '@alga-psa/extension-contracts';
import { startRunnerHarness, type RunnerHarness } from '../../test-setup/runner-harness.ts';
import { bundleOf, fixtureComponent, foreignWorld, importsStorage, importsWasi } from '../../test-setup/fixture-components.ts';
import { sampleBundle } from '../../test-setup/samples.ts';

let h: RunnerHarness;
let hello: string;
const helloManifest = { name: 'com.acme.fixture', publisher: 'Acme', version: '1.0.0', runtime: 'wasm-js@1', capabilities: [] };

beforeAll(async () => {
  h = await startRunnerHarness();
  hello = await h.addSample('hello');
});
afterAll(() => h?.close());

/** Claims for tokens built by hand (forged, expired, foreign): well-formed, bound to nothing real. */
const claimsFor = (over: Partial<ExecutionClaims> = {}): ExecutionClaims => ({
  requestId: 'r', tenantId: 'tenant-a', installId: 'install-1', extensionId: 'ext-1', versionId: 'v1', contentHash: hello,
  bodyDigest: executeBodyDigest({}), capabilities: [], ...over,
});

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(0);
}

describe('bundle errors', () => {
  it('an unknown content hash gets 404 E_BUNDLE_NOT_FOUND', async () => {
    expectError(await h.execute({ contentHash: 'a'.repeat(64), path: '/hello' }), 404, 'E_BUNDLE_NOT_FOUND');
  });

  it('a stored bundle whose bytes no longer match its hash gets 422 E_BUNDLE_INVALID (hash mismatch)', async () => {
    const bytes = (await sampleBundle('hello')).bytes;
    const claimed = sha256Hex(randomBytes(32));
    await mkdir(join(h.store.root, claimed.slice(0, 2)), { recursive: true });
    await writeFile(join(h.store.root, claimed.slice(0, 2), `${claimed}.tgz`), bytes);
    const res = await h.execute({ contentHash: claimed, path: '/hello' });
    expectError(res, 422, 'E_BUNDLE_INVALID');
    expect(res.body.error.message).toMatch(/does not match its content hash/);
  });

  it('a corrupt bundle (not a gzipped tar) gets 422 E_BUNDLE_INVALID', async () => {
    const hash = await h.store.put(randomBytes(4096));
    const res = await h.execute({ contentHash: hash, path: '/hello' });
    expectError(res, 422, 'E_BUNDLE_INVALID');
    expect(res.body.error.message).toMatch(/not a gzipped tar/);
  });

  it('a bundle whose component.wasm is not a component gets 422 E_BUNDLE_INVALID', async () => {
    const hash = await h.store.put(await bundleOf(helloManifest, new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])));
    expectError(await h.execute({ contentHash: hash, path: '/hello' }), 422, 'E_BUNDLE_INVALID');
  });

  it('a component of a foreign world gets 422 E_BUNDLE_INVALID naming the missing handler export', async () => {
    const hash = await h.store.put(await bundleOf(helloManifest, await fixtureComponent(foreignWorld)));
    const res = await h.execute({ contentHash: hash, path: '/hello' });
    expectError(res, 422, 'E_BUNDLE_INVALID');
    expect(res.body.error.message).toMatch(/does not export alga:extension\/handler/);
  });

  it('a component importing WASI is refused with E_BUNDLE_INVALID: guests get no filesystem, env, stdio or clocks', async () => {
    const hash = await h.store.put(await bundleOf(helloManifest, await fixtureComponent(importsWasi)));
    const res = await h.execute({ contentHash: hash, path: '/hello' });
    expectError(res, 422, 'E_BUNDLE_INVALID');
    expect(res.body.error.message).toMatch(/imports wasi:/);
  });

  it('a component importing an interface its manifest does not declare gets 403 E_CAPABILITY_DENIED', async () => {
    const hash = await h.store.put(await bundleOf(helloManifest, await fixtureComponent(importsStorage)));
    const res = await h.execute({ contentHash: hash, path: '/hello', grantedCapabilities: ['cap:storage.kv'] });
    expectError(res, 403, 'E_CAPABILITY_DENIED');
    expect(res.body.error.message).toMatch(/storage/);
  });

  it('a bundle with an invalid manifest gets 422 E_BUNDLE_INVALID with the JSON path', async () => {
    const hash = await h.store.put(await bundleOf({ ...helloManifest, name: 'NoDots' }, await fixtureComponent(foreignWorld)));
    const res = await h.execute({ contentHash: hash, path: '/hello' });
    expectError(res, 422, 'E_BUNDLE_INVALID');
    expect(res.body.error.message).toMatch(/\$\.name/);
  });
});

describe('malformed requests', () => {
  it('a body that is not JSON gets 400 E_BAD_REQUEST', async () => {
    expectError(await h.execute({ contentHash: hello, path: '/hello', rawBody: '{not json' }), 400, 'E_BAD_REQUEST');
  });

  it('a body missing fields gets 400 E_BAD_REQUEST naming the JSON path', async () => {
    const res = await h.execute({ contentHash: hello, path: '/hello', rawBody: { context: {} } });
    // The token is minted for a different request id, but validation comes first for a useful message.
    expectError(res, 400, 'E_BAD_REQUEST');
    expect(res.body.error.message).toMatch(/\$\.context\.\w+/);
    expect(res.body.error.details.issues.length).toBeGreaterThan(1);
  });

  it('a content hash that is not sha256 hex gets 400 E_BAD_REQUEST', async () => {
    expectError(await h.execute({ contentHash: '../../etc/passwd', path: '/hello' }), 400, 'E_BAD_REQUEST');
  });

  it('a body that is not application/json gets 400 E_BAD_REQUEST, and the runner keeps serving', async () => {
    const res = await fetch(`${h.url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expectError({ status: res.status, body: await res.json() }, 400, 'E_BAD_REQUEST');
    expect((await h.execute({ contentHash: hello, path: '/hello' })).status).toBe(200);
  });

  it('a compressed body gets 400 E_BAD_REQUEST (the runner accepts identity only)', async () => {
    const res = await fetch(`${h.url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{}' });
    expectError({ status: res.status, body: await res.json() }, 400, 'E_BAD_REQUEST');
  });

  it('a body over 24 MiB gets 413 E_BODY_TOO_LARGE, declared or streamed without a length', async () => {
    const big = `{"pad":"${'x'.repeat(24 * 1024 * 1024)}"}`;
    const declared = await fetch(`${h.url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expectError({ status: declared.status, body: await declared.json() }, 413, 'E_BODY_TOO_LARGE');
    const chunks = new ReadableStream({ start(c) { for (let i = 0; i < 25; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1024 * 1024))); c.close(); } });
    const streamed = await fetch(`${h.url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit);
    expectError({ status: streamed.status, body: await streamed.json() }, 413, 'E_BODY_TOO_LARGE');
    expect((await h.execute({ contentHash: hello, path: '/hello' })).status).toBe(200);
  });

  it('GET /v1/execute gets 404 E_NOT_FOUND (execute is POST only)', async () => {
    const res = await fetch(`${h.url}/v1/execute`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('E_NOT_FOUND');
  });

  it('an unknown route gets 404 with the JSON error shape', async () => {
    const res = await fetch(`${h.url}/v2/nothing`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('E_NOT_FOUND');
  });
});

describe('execution token', () => {
  it('no token gets 401 E_AUTH', async () => {
    expectError(await h.execute({ contentHash: hello, path: '/hello', token: null }), 401, 'E_AUTH');
  });

  it('a garbage token gets 401 E_AUTH', async () => {
    expectError(await h.execute({ contentHash: hello, path: '/hello', token: 'abc.def.ghi' }), 401, 'E_AUTH');
  });

  it('a token signed by an untrusted key with a trusted kid (forged) gets 401 E_AUTH', async () => {
    const forger = await generateExecutionSigningKey(h.signer.kid);
    const token = await mintExecutionToken(forger, claimsFor(), Date.now() + 5000);
    expectError(await h.execute({ contentHash: hello, path: '/hello', token }), 401, 'E_AUTH');
  });

  it('an expired token gets 401 E_AUTH saying it expired', async () => {
    const token = await mintExecutionToken(h.signer, claimsFor(), Date.now() - 60_000);
    const res = await h.execute({ contentHash: hello, path: '/hello', token });
    expectError(res, 401, 'E_AUTH');
    expect(res.body.error.message).toMatch(/expired/);
  });

  it('a valid token for another install cannot be replayed onto this one (401 E_AUTH)', async () => {
    const token = await mintExecutionToken(h.signer, claimsFor({ installId: 'install-OTHER' }), Date.now() + 5000);
    const res = await h.execute({ contentHash: hello, path: '/hello', token });
    expectError(res, 401, 'E_AUTH');
  });

  it('a runner configured with two keys (rotation) accepts tokens signed by either, and no other', async () => {
    const oldKey = await generateExecutionSigningKey('old');
    const newKey = await generateExecutionSigningKey('new');
    const h2 = await startRunnerHarness({ trustedKeys: [oldKey.publicJwk, newKey.publicJwk], workers: 1 });
    try {
      const hash = await h2.addSample('hello');
      expect((await h2.execute({ contentHash: hash, path: '/hello', signer: oldKey })).status).toBe(200);
      expect((await h2.execute({ contentHash: hash, path: '/hello', signer: newKey })).status).toBe(200);
      expectError(await h2.execute({ contentHash: hash, path: '/hello' }), 401, 'E_AUTH');
    } finally {
      await h2.close();
    }
  });
});
