/**
 * Hardening: hostile input, property-based (fast-check). Manifests, bundles, settings values,
 * storage keys and namespaces, proxy paths and raw HTTP headers, and execution tokens, each
 * generated to be hostile, each ending in its documented 4xx code with the platform's error
 * shape: never a 500, never a hang, nothing half-applied. Meanwhile another tenant's requests
 * run the whole time and must all succeed.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken } from '@alga-psa/extension-contracts';
import { parseManifest } from '@alga-psa/extension-contracts/manifest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { helloVariant, rawTarGz } from '../../../test-setup/bundles.ts';
import { zeroBombTarGz } from '../../../test-setup/zero-bombs.ts';
import { echoThrough, report, runLoad, summary, type LoadResult } from './support.ts';

const FILE = 'hostile-input';
let h: GatewayHarness;
let victim: { tenantId: string; adminKey: string; call: Caller };
let bystander: { adminKey: string; greeting: string };
let store: { id: string; extensionId: string; versionId: string; contentHash: string };
let helloInstall: string;
let background: Promise<LoadResult>;
const stopBackground = new AbortController();
/** Per area: how many hostile cases were tried, and the answers seen. */
const seen: Record<string, { cases: number; answers: Record<string, number> }> = {};

function record(area: string, status: number, code: string | undefined): void {
  const entry = (seen[area] ??= { cases: 0, answers: {} });
  entry.cases++;
  const key = `${status}${code ? ` ${code}` : ''}`;
  entry.answers[key] = (entry.answers[key] ?? 0) + 1;
}

async function answer(res: Response): Promise<{ status: number; code: string | undefined; body: any }> {
  const text = await res.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, code: body?.error?.code, body };
}

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' }, adminWeb: false });
  await h.publishSample('hello');
  expect((await h.publish(await helloVariant({ name: 'com.acme.hostile-store', capabilities: ['cap:storage.kv'] }))).status).toBe(201);
  victim = await h.tenant();
  helloInstall = (await victim.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
  store = (await victim.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.hostile-store' })).body;
  const other = await h.tenant();
  const id = (await other.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
  await other.call('PUT', `/api/v1/installs/${id}/settings`, { greeting: 'Bystander' });
  bystander = { adminKey: other.adminKey, greeting: 'Bystander' };
  // Another tenant's requests, for as long as this file runs.
  background = runLoad({ clients: 2, durationMs: 600_000, signal: stopBackground.signal, send: async (c, s) => {
    await new Promise((r) => setTimeout(r, 20));
    return echoThrough(h, bystander, `b${c}-${s}`);
  } });
});
afterAll(async () => { stopBackground.abort(); await background?.catch(() => undefined); await h?.close(); });

const validManifest = () => ({
  name: `com.acme.hostile-m-${randomUUID().slice(0, 8)}`, publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1',
  capabilities: [] as unknown[], api: { endpoints: [{ method: 'GET', path: '/hello' }] },
});
const tinyComponent = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);

describe('hardening: hostile input', () => {
  it('manifests (wrong types, unknown fields, __proto__, huge strings, deep nesting): 422 E_MANIFEST_INVALID or 413 E_MANIFEST_TOO_LARGE, nothing registered, nothing polluted', async () => {
    const hostileValue = fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }), fc.boolean());
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('type' as const), field: fc.constantFrom('name', 'publisher', 'version', 'runtime', 'capabilities', 'api', 'settings', 'http', 'limits'), value: hostileValue }),
      fc.record({ kind: fc.constant('unknown' as const), field: fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !['name', 'publisher', 'version', 'runtime', 'capabilities', 'api', 'settings', 'http', 'limits', 'description', 'storage', 'uiProxy', 'ui', '__proto__'].includes(k)), value: hostileValue }),
      fc.record({ kind: fc.constant('proto' as const), field: fc.constantFrom('__proto__', 'constructor', 'prototype'), value: fc.constant({ polluted: true, capabilities: ['cap:http.fetch'] }) }),
      fc.record({ kind: fc.constant('huge' as const), field: fc.constantFrom('description', 'name', 'publisher'), value: fc.integer({ min: 300_000, max: 400_000 }) }),
      fc.record({ kind: fc.constant('deep' as const), field: fc.constant('limits'), value: fc.integer({ min: 50, max: 5_000 }) }),
      fc.record({ kind: fc.constant('capability' as const), field: fc.constant('capabilities'), value: fc.string({ maxLength: 30 }).filter((c) => !c.startsWith('cap:')) }),
    );
    await fc.assert(fc.asyncProperty(mutation, async (m) => {
      const manifest = validManifest();
      let text: string;
      if (m.kind === 'proto') {
        // As JSON text: JSON.parse makes "__proto__" an own key, the attack shape.
        text = JSON.stringify(manifest).replace(/^\{/, `{${JSON.stringify(m.field)}:${JSON.stringify(m.value)},`);
      } else if (m.kind === 'huge') {
        text = JSON.stringify({ ...manifest, [m.field]: 'x'.repeat(m.value as number) });
      } else if (m.kind === 'deep') {
        let nested: unknown = 1;
        for (let i = 0; i < (m.value as number); i++) nested = { a: nested };
        text = JSON.stringify({ ...manifest, limits: nested });
      } else if (m.kind === 'capability') {
        text = JSON.stringify({ ...manifest, capabilities: [m.value] });
      } else {
        text = JSON.stringify({ ...manifest, [m.field]: m.value });
      }
      const res = await answer(await h.publish(rawTarGz([{ path: 'manifest.json', data: text }, { path: 'component.wasm', data: tinyComponent }])));
      record('manifests', res.status, res.code);
      // The oracle is the one manifest schema: a mutation it still accepts (`limits: {}`) reaches
      // the component check, which refuses these 8 bytes.
      const expected = text.length > 256 * 1024 ? ['413 E_MANIFEST_TOO_LARGE']
        : parseManifest(JSON.parse(text)).ok ? ['422 E_BUNDLE_INVALID'] : ['422 E_MANIFEST_INVALID'];
      expect(expected, `${m.kind} ${m.field}: ${JSON.stringify(res.body)}`).toContain(`${res.status} ${res.code}`);
      expect(typeof res.body.error.message).toBe('string');
      expect(await h.db.knex('extension_registry').where({ name: manifest.name }).first()).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }), { numRuns: 60 });
  });

  it('bundles (traversal, absolute paths, symlinks, hardlinks, duplicates, gzip bombs, huge entry counts): 422 E_BUNDLE_INVALID or 413, nothing stored', async () => {
    const manifestText = () => JSON.stringify(validManifest());
    const evilPath = fc.constantFrom('../evil', '../../etc/passwd', '/etc/passwd', 'ui/../../x', 'a/./../../b', 'C:\\evil', '\\\\host\\share', 'ui/\u0000x', 'ui//../../x', './../x');
    const shape = fc.oneof(
      fc.record({ kind: fc.constant('path' as const), path: evilPath }),
      fc.record({ kind: fc.constant('symlink' as const), path: fc.constantFrom('ui/index.html', 'manifest.json', 'x'), target: fc.constantFrom('/etc/passwd', '../../secret', 'component.wasm') }),
      fc.record({ kind: fc.constant('hardlink' as const), path: fc.constantFrom('ui/index.html', 'x'), target: fc.constantFrom('/etc/passwd', 'manifest.json', '../x') }),
      fc.record({ kind: fc.constant('duplicate' as const), path: fc.constantFrom('manifest.json', 'component.wasm') }),
      fc.record({ kind: fc.constant('entries' as const), count: fc.integer({ min: 2_100, max: 4_000 }) }),
      fc.record({ kind: fc.constant('bomb' as const), mb: fc.integer({ min: 200, max: 600 }) }),
    );
    await fc.assert(fc.asyncProperty(shape, async (s) => {
      const base = [{ path: 'manifest.json', data: manifestText() }, { path: 'component.wasm', data: tinyComponent }];
      let bytes: Uint8Array;
      if (s.kind === 'path') bytes = rawTarGz([...base, { path: s.path, data: 'x' }]);
      else if (s.kind === 'symlink') bytes = rawTarGz([...base.filter((e) => e.path !== s.path), { path: s.path, data: '', type: 'SymbolicLink', linkpath: s.target }]);
      else if (s.kind === 'hardlink') bytes = rawTarGz([...base, { path: s.path, data: '', type: 'Link', linkpath: s.target }]);
      else if (s.kind === 'duplicate') bytes = rawTarGz([...base, { path: s.path, data: s.path === 'manifest.json' ? manifestText() : tinyComponent }]);
      else if (s.kind === 'entries') bytes = rawTarGz([...base, ...Array.from({ length: s.count }, (_, i) => ({ path: `ui/f${i}.txt`, data: 'x' }))]);
      else bytes = await zeroBombTarGz([{ path: 'manifest.json', data: manifestText() }, { path: 'component.wasm', size: s.mb * 1024 * 1024 }]);
      const res = await answer(await h.publish(bytes));
      record('bundles', res.status, res.code);
      expect(['422 E_BUNDLE_INVALID', '413 E_BUNDLE_TOO_LARGE'], `${JSON.stringify(s)}: ${JSON.stringify(res.body)}`).toContain(`${res.status} ${res.code}`);
    }), { numRuns: 40 });
    expect(await h.db.knex('extension_registry').where('name', 'like', 'com.acme.hostile-m-%').first()).toBeUndefined();
  });

  it('settings values (any JSON): 200 when valid, else 400 E_VALIDATION (E_BAD_REQUEST for a bare JSON scalar) with the previous config intact', async () => {
    const value = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary', maxLength: 50 }), fc.constant('a'.repeat(20_000)), fc.constant('\u0000\r\n'));
    const body = fc.oneof(
      fc.record({ greeting: value }, { requiredKeys: [] }),
      fc.record({ greeting: value, excited: value }),
      fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 4 }),
      fc.jsonValue(),
    );
    await fc.assert(fc.asyncProperty(body, async (b) => {
      const before = (await victim.call('GET', `/api/v1/installs/${helloInstall}/settings`)).body;
      // Always as JSON text (the harness would send a bare string raw).
      const res = await victim.call('PUT', `/api/v1/installs/${helloInstall}/settings`, JSON.stringify(b), { 'content-type': 'application/json' });
      record('settings values', res.status, res.body?.error?.code);
      expect([200, 400], JSON.stringify(b).slice(0, 200)).toContain(res.status);
      const after = (await victim.call('GET', `/api/v1/installs/${helloInstall}/settings`)).body;
      if (res.status === 400) {
        // A top level that is not an object or array is malformed (E_BAD_REQUEST); anything else is judged against the settings.
        expect(res.body.error.code, res.text).toBe(b !== null && typeof b === 'object' ? 'E_VALIDATION' : 'E_BAD_REQUEST');
        expect(after.configVersion).toBe(before.configVersion);
        expect(after.config).toEqual(before.config);
      } else {
        expect(after.configVersion).toBe(before.configVersion + 1);
      }
    }), { numRuns: 120 });
  });

  it('storage keys and namespaces (any string): a put is 200 and reads back exactly, or 400 E_VALIDATION, or 507 E_QUOTA_EXCEEDED past the namespace quota, and stores nothing', async () => {
    const token = await h.gateway.executionKeys.mint({
      requestId: randomUUID(), tenantId: victim.tenantId, installId: store.id, extensionId: store.extensionId, versionId: store.versionId,
      contentHash: store.contentHash, bodyDigest: executeBodyDigest({}), capabilities: ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'],
    }, Date.now() + 600_000);
    const call = async (body: unknown) => answer(await fetch(`${h.url}/api/internal/ext-storage/install/${store.id}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    }));
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 600 }), fc.constantFrom('', '\u0000', '\ud800', 'a/../b', '%00', '__proto__', 'constructor'));
    // Half hostile, half plausible, so the round trip is exercised too.
    const namespaces = fc.oneof(text, fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,20}$/));
    const keys = fc.oneof(text, fc.string({ minLength: 1, maxLength: 100 }));
    await fc.assert(fc.asyncProperty(namespaces, keys, fc.uint8Array({ maxLength: 64 }), async (namespace, key, value) => {
      const put = await call({ op: 'put', namespace, key, valueB64: Buffer.from(value).toString('base64') });
      record('storage keys and namespaces', put.status, put.code);
      if (put.status === 200) {
        const got = await call({ op: 'get', namespace, key });
        expect(got.status).toBe(200);
        expect(got.body.entry).toMatchObject({ key, valueB64: Buffer.from(value).toString('base64') });
      } else if (put.status === 507) {
        // Only the namespace quota (32 per install) can refuse these tiny values: and then nothing was stored.
        expect(put.body.error.message).toMatch(/namespaces/);
        expect((await call({ op: 'get', namespace, key })).body.entry).toBeNull();
      } else {
        expect(`${put.status} ${put.code}`, JSON.stringify({ namespace, key })).toBe('400 E_VALIDATION');
      }
    }), { numRuns: 150 });
  });

  it('proxy paths and raw HTTP headers (CR, LF, NUL, huge headers, many parameters): each a documented 4xx in the JSON error shape', async () => {
    const { port } = new URL(h.url);
    const raw = (request: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let data = '';
      socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error('no answer within 10 s')); });
      socket.on('data', (d) => { data += d.toString('latin1'); });
      // The server may answer and close while the request is still being written (a 431 for a
      // huge header): the write then fails with EPIPE or ECONNRESET, and what it said still counts.
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
        const bodyText = data.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        let body: any;
        try { body = JSON.parse(bodyText); } catch { body = bodyText; }
        resolve({ status, body });
      });
      // write, not end: a half-closed socket lets the server drop the connection before it answers.
      socket.write(request, 'latin1');
    });
    const auth = `Authorization: Bearer ${victim.adminKey}\r\n`;
    const base = (path: string, headers = '') => `GET /api/ext/com.alga.samples.hello${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}${headers}Connection: close\r\n\r\n`;
    const hostile = fc.oneof(
      fc.record({ kind: fc.constant('header-ctl' as const), ch: fc.constantFrom('\u0000', '\r', '\n', '\u0001', '\u007f'), at: fc.nat(10) }),
      fc.record({ kind: fc.constant('huge-header' as const), kb: fc.integer({ min: 20, max: 200 }) }),
      fc.record({ kind: fc.constant('many-headers' as const), n: fc.integer({ min: 2_100, max: 5_000 }) }),
      fc.record({ kind: fc.constant('path' as const), path: fc.constantFrom('/%00', '/..%2f..%2fetc', '/echo/%ZZ', '/\u00ff', '/echo/\r\nX-Injected: 1', '/nope', '//double', '/echo/%2e%2e/%2e%2e') }),
      fc.record({ kind: fc.constant('params' as const), n: fc.integer({ min: 1_000, max: 20_000 }) }),
    );
    await fc.assert(fc.asyncProperty(hostile, async (x) => {
      let req: string;
      let expected: string[];
      if (x.kind === 'header-ctl') {
        const value = `abc${'d'.repeat(x.at)}${x.ch}def`;
        req = base('/hello', `X-Evil: ${value}\r\n`);
        // LF alone ends the header line: what follows is a header line of its own ("def"), malformed.
        expected = ['400 E_BAD_REQUEST'];
      } else if (x.kind === 'huge-header') {
        req = base('/hello', `X-Big: ${'a'.repeat(x.kb * 1024)}\r\n`);
        expected = ['431 E_HEADERS_TOO_LARGE'];
      } else if (x.kind === 'many-headers') {
        req = base('/hello', Array.from({ length: x.n }, (_, i) => `X-H${i}: v\r\n`).join(''));
        expected = ['431 E_HEADERS_TOO_LARGE', '400 E_BAD_REQUEST'];
      } else if (x.kind === 'path') {
        req = base(x.path);
        expected = ['400 E_BAD_REQUEST', '404 E_ENDPOINT_NOT_DECLARED', '404 E_NOT_FOUND', '200 undefined'];
      } else {
        req = base(`/echo/p?${Array.from({ length: x.n }, (_, i) => `k${i}=v`).join('&')}`);
        expected = ['200 undefined', '414 undefined', '431 E_HEADERS_TOO_LARGE', '400 E_BAD_REQUEST'];
      }
      const res = await raw(req);
      const code = typeof res.body === 'object' ? res.body?.error?.code : undefined;
      record(`raw HTTP: ${x.kind}`, res.status, code);
      expect(expected, `${x.kind}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).toContain(`${res.status} ${code}`);
      if (res.status >= 400) expect(typeof res.body.error.message).toBe('string');
    }), { numRuns: 60 });
  });

  it('execution tokens (forged, re-signed, expired, another install\'s, another tenant\'s): 401 E_AUTH or 403 E_FORBIDDEN on the callbacks and on the runner', async () => {
    const other = await h.tenant();
    const otherStore = (await other.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.hostile-store' })).body;
    const forger = await generateExecutionSigningKey('forger');
    const claims = (o: Partial<{ tenantId: string; installId: string }> = {}) => ({
      requestId: randomUUID(), tenantId: o.tenantId ?? victim.tenantId, installId: o.installId ?? store.id, extensionId: store.extensionId, versionId: store.versionId,
      contentHash: store.contentHash, bodyDigest: executeBodyDigest({}), capabilities: ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'],
    });
    const kinds = fc.constantFrom('garbage', 'forged', 'resigned', 'expired', 'other-install', 'other-tenant', 'none', 'alg-none');
    await fc.assert(fc.asyncProperty(kinds, fc.string({ maxLength: 200 }), async (kind, junk) => {
      let token: string | undefined;
      let expected: string;
      if (kind === 'garbage') { token = junk.replace(/[^\x21-\x7e]/g, '') || 'x'; expected = '401 E_AUTH'; }
      else if (kind === 'forged') { token = await mintExecutionToken(forger, claims(), Date.now() + 60_000); expected = '401 E_AUTH'; }
      else if (kind === 'resigned') {
        const good = await h.gateway.executionKeys.mint(claims(), Date.now() + 60_000);
        const [head, , sig] = good.split('.');
        token = `${head}.${Buffer.from(JSON.stringify({ ...claims(), tid: other.tenantId })).toString('base64url')}.${sig}`;
        expected = '401 E_AUTH';
      } else if (kind === 'expired') { token = await h.gateway.executionKeys.mint(claims(), Date.now() - 120_000); expected = '401 E_AUTH'; }
      else if (kind === 'other-install') { token = await h.gateway.executionKeys.mint(claims({ installId: otherStore.id }), Date.now() + 60_000); expected = '403 E_FORBIDDEN'; }
      else if (kind === 'other-tenant') { token = await h.gateway.executionKeys.mint(claims({ tenantId: other.tenantId }), Date.now() + 60_000); expected = '403 E_FORBIDDEN'; }
      else if (kind === 'alg-none') {
        token = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`;
        expected = '401 E_AUTH';
      } else { token = undefined; expected = '401 E_AUTH'; }
      const res = await answer(await fetch(`${h.url}/api/internal/ext-storage/install/${store.id}`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ op: 'get', namespace: 'n', key: 'k' }),
      }));
      record('execution tokens (storage callback)', res.status, res.code);
      expect(`${res.status} ${res.code}`, kind).toBe(expected);
      // The runner refuses every one of them too (none was minted for an execute body).
      const run = await answer(await fetch(`${h.runnerUrl}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: '{}' }));
      record('execution tokens (runner /v1/execute)', run.status, run.code);
      expect([401, 400], kind).toContain(run.status);
      expect(['E_AUTH', 'E_BAD_REQUEST']).toContain(run.code);
    }), { numRuns: 60 });
  });

  it('another tenant was served the whole time: every one of its requests succeeded', async () => {
    stopBackground.abort();
    const result = await background;
    const load = summary(result);
    report(FILE, 'hostile cases tried and answers seen', seen);
    report(FILE, 'bystander tenant meanwhile', load);
    expect(result.requests).toBeGreaterThan(20);
    expect(result.ok).toBe(result.requests);
    expect(result.misrouted).toBe(0);
  });
});
