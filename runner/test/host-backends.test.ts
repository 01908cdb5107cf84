/**
 * Main-thread host backends (`RunnerOptions.hostBackends`), as a dev server or test host supplies
 * them: a REAL runner (workers, pool, execute API) running REAL components (the storage and
 * ui-proxy fixture guests, the misbehaving and notes-ui samples), with in-test backends for
 * `storage`, `ui-proxy` and `http`. The providers must enforce every capability rule before a
 * backend sees a call, the backend must learn the request from the job (never from the guest),
 * and its answers and errors must reach the guest as WIT values.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { createRunner, runnerConfigFromEnv, type HostBackend, type HostBackendCall, type Runner } from '../src/index.ts';
import { witError } from '../src/providers/provider.ts';
import { hostCallMarginMs, HostCallClient } from '../src/pool/host-call-client.ts';
import { answerHostCall } from '../src/pool/host-call-server.ts';
import type { HostCallMessage, HostResultMessage, WorkerJob } from '../src/pool/messages.ts';
import { bundleOf, callsUiProxy, fixtureComponent, storageGuest } from '../../test-setup/fixture-components.ts';
import { sampleBundle } from '../../test-setup/samples.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_HTTP_BYTES = 4096;

// ---------------------------------------------------------------------------------------------
// In-test backends: what a dev server would plug in
// ---------------------------------------------------------------------------------------------

const calls: HostBackendCall[] = [];
/** Replaces a backend for one test. */
const override: Partial<Record<'storage' | 'ui-proxy' | 'http', HostBackend>> = {};

/** A key-value store keyed by the scope the runner gives (tenant, install), with compare-and-set. */
function memoryStorage(): HostBackend {
  const rows = new Map<string, { value: Uint8Array; revision: bigint }>();
  return async ({ op, args, scope }) => {
    const base = `${scope.tenantId}|${scope.installId}|${String(args[0])}|`;
    const key = args[1] as string;
    switch (op) {
      case 'get': {
        const row = rows.get(base + key);
        return row ? { key, value: row.value, revision: row.revision } : undefined;
      }
      case 'put': {
        const [, , value, expected] = args as [string, string, Uint8Array, bigint | undefined];
        const current = rows.get(base + key)?.revision ?? 0n;
        if (expected !== undefined && expected !== current) throw witError('conflict');
        rows.set(base + key, { value, revision: current + 1n });
        return current + 1n;
      }
      case 'delete': {
        const [, , expected] = args as [string, string, bigint | undefined];
        const row = rows.get(base + key);
        if (expected !== undefined && expected !== (row?.revision ?? 0n)) throw witError('conflict');
        return rows.delete(base + key);
      }
      case 'list': {
        const [, prefix, cursor, limit] = args as [string, string | undefined, string | undefined, number];
        const keys = [...rows.keys()].filter((k) => k.startsWith(base + (prefix ?? ''))).map((k) => k.slice(base.length)).sort()
          .filter((k) => cursor === undefined || k > cursor);
        return { keys: keys.slice(0, limit), nextCursor: keys.length > limit ? keys[limit - 1] : undefined };
      }
      default:
        throw witError('invalid', `unknown op ${op}`);
    }
  };
}

const memory = memoryStorage();

const hostBackends: Record<string, HostBackend> = {
  storage: (call) => { calls.push(call); return (override.storage ?? memory)(call); },
  'ui-proxy': (call) => {
    calls.push(call);
    if (override['ui-proxy']) return override['ui-proxy'](call);
    const [, route] = call.args as [string, string];
    const id = /^\/host\/tickets\/([^/?]+)/.exec(route)?.[1];
    return Promise.resolve({ status: 200, headers: [['content-type', 'application/json']], body: enc.encode(JSON.stringify({ id, title: `Ticket ${id}` })) });
  },
  http: (call) => {
    calls.push(call);
    if (override.http) return override.http(call);
    const { url } = call.args[0] as { url: string };
    if (url.endsWith('/big')) return Promise.resolve({ status: 200, headers: [], body: new Uint8Array(MAX_HTTP_BYTES + 1) });
    return Promise.resolve({ status: 201, headers: [['X-Fixture', 'yes']], body: enc.encode(`fixture for ${url}`) });
  },
};

// ---------------------------------------------------------------------------------------------
// A real runner with those backends
// ---------------------------------------------------------------------------------------------

let runner: Runner;
let url: string;
let dir: string;
let signer: ExecutionSigningKey;
const hashes: Record<'storage' | 'uiProxy' | 'misbehaving' | 'notes', string> = { storage: '', uiProxy: '', misbehaving: '', notes: '' };

const storageManifest = {
  name: 'com.acme.host-storage', publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1',
  capabilities: ['cap:storage.kv'], storage: { namespaces: ['state', 'cache'] },
  api: { endpoints: [{ method: 'GET', path: '/kv/:key' }, { method: 'PUT', path: '/kv/:key' }, { method: 'DELETE', path: '/kv/:key' }, { method: 'GET', path: '/list' }, { method: 'POST', path: '/scenario' }] },
};
const uiProxyManifest = {
  name: 'com.acme.host-uiproxy', publisher: 'Alga Samples', version: '1.0.0', runtime: 'wasm-js@1',
  capabilities: ['cap:ui.proxy'], uiProxy: { routes: ['GET /host/tickets/:id', 'GET /host/admin/users'] },
  api: { endpoints: [{ method: 'GET', path: '/ticket/:id' }, { method: 'GET', path: '/admin' }, { method: 'GET', path: '/raw' }] },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-host-backends-'));
  signer = await generateExecutionSigningKey(`test-${randomUUID().slice(0, 8)}`);
  const config = runnerConfigFromEnv({}, {
    bundleDir: join(dir, 'bundles'), cacheDir: join(process.cwd(), '.alga-cache', 'transpile'),
    workers: 2, trustedKeys: [signer.publicJwk], logLevel: 'silent', httpMaxResponseBytes: MAX_HTTP_BYTES,
  } as never);
  const store = new FileBundleStore(config.bundleDir);
  runner = await createRunner(config, { bundleStore: store, logger: pino({ level: 'silent' }), hostBackends });
  url = (await runner.listen(0, '127.0.0.1')).url;
  hashes.storage = await store.put(await bundleOf(storageManifest, await fixtureComponent(storageGuest)));
  hashes.uiProxy = await store.put(await bundleOf(uiProxyManifest, await fixtureComponent(callsUiProxy)));
  hashes.misbehaving = await store.put((await sampleBundle('misbehaving')).bytes);
  hashes.notes = await store.put((await sampleBundle('notes-ui')).bytes);
  // Transpile and compile now: on a loaded machine a first transpile can outlast a request's deadline.
  await Promise.all(Object.values(hashes).map((h) => runner.loader.load(h)));
});
afterAll(async () => {
  await runner?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  calls.length = 0;
  for (const k of Object.keys(override) as Array<keyof typeof override>) delete override[k];
});

interface Run {
  contentHash: string;
  path: string;
  method?: string;
  query?: Array<[string, string]>;
  body?: string;
  tenantId?: string;
  installId?: string;
  timeoutMs?: number;
  granted: string[];
  storageNamespaces?: string[] | null;
  uiProxyRoutes?: string[];
  httpAllowedHosts?: string[];
}

/** One POST /v1/execute, signed like the gateway does; returns the runner's answer and the guest's JSON. */
async function run(r: Run) {
  const requestId = randomUUID();
  const tenantId = r.tenantId ?? 'tenant-a';
  const installId = r.installId ?? 'install-1';
  const deadlineMs = Date.now() + (r.timeoutMs ?? 5000);
  const install = {
    config: {}, configVersion: 1, grantedCapabilities: r.granted, httpAllowedHosts: r.httpAllowedHosts ?? [],
    storageNamespaces: r.storageNamespaces === undefined ? null : r.storageNamespaces, uiProxyRoutes: r.uiProxyRoutes ?? [],
  };
  const secrets = { secretsVersion: 0, envelope: {} };
  const body = {
    context: { requestId, tenantId, extensionId: 'ext-1', installId, versionId: 'v1', contentHash: r.contentHash },
    request: { method: r.method ?? 'GET', path: r.path, query: r.query ?? [], headers: [['content-type', 'application/json']], bodyB64: r.body === undefined ? undefined : Buffer.from(r.body).toString('base64') },
    install, secrets, limits: { deadlineMs },
  };
  const token = await mintExecutionToken(signer, {
    requestId, tenantId, installId, extensionId: 'ext-1', versionId: 'v1', contentHash: r.contentHash,
    bodyDigest: executeBodyDigest({ install, secrets }), capabilities: r.granted,
  }, deadlineMs);
  const started = performance.now();
  const res = await fetch(`${url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const answer = await res.json() as { bodyB64?: string; error?: { code: string } };
  const guest = answer.bodyB64 ? JSON.parse(Buffer.from(answer.bodyB64, 'base64').toString('utf8')) : undefined;
  return { status: res.status, answer, guest, requestId, deadlineMs, ms: performance.now() - started };
}

const kv = (r: Omit<Run, 'contentHash' | 'granted'>) => run({ contentHash: hashes.storage, granted: ['cap:storage.kv'], storageNamespaces: ['state', 'cache'], ...r });
const ui = (r: Omit<Run, 'contentHash' | 'granted'>) => run({ contentHash: hashes.uiProxy, granted: ['cap:ui.proxy'], uiProxyRoutes: uiProxyManifest.uiProxy.routes, ...r });
const fetchVia = (target: string) => run({ contentHash: hashes.misbehaving, granted: ['cap:http.fetch'], httpAllowedHosts: ['https://allowed.example'], path: '/fetch', query: [['url', target]] });

// ---------------------------------------------------------------------------------------------

describe('storage through a main-thread backend', () => {
  it('round trip put/get/list/delete reaches the backend with the scope of the execute body', async () => {
    const put = await kv({ method: 'PUT', path: '/kv/greeting', query: [['ns', 'state'], ['expect', '0']], body: 'hello', tenantId: 'tenant-rt', installId: 'install-rt' });
    expect(put.status).toBe(200);
    expect(put.guest).toEqual({ revision: '1' });
    const call = calls[0];
    expect(call).toMatchObject({ iface: 'storage', op: 'put' });
    expect(call.args[0]).toBe('state');
    expect(call.args[1]).toBe('greeting');
    expect(call.args[2]).toBeInstanceOf(Uint8Array);
    expect(dec.decode(call.args[2] as Uint8Array)).toBe('hello');
    expect(call.args[3]).toBe(0n);
    expect(call.scope).toMatchObject({ requestId: put.requestId, tenantId: 'tenant-rt', extensionId: 'ext-1', installId: 'install-rt', versionId: 'v1' });
    expect(call.scope.install).toMatchObject({ tenantId: 'tenant-rt', installId: 'install-rt', storageNamespaces: ['state', 'cache'], contentHash: hashes.storage });
    expect(call.scope.deadlineMs).toBeLessThanOrEqual(put.deadlineMs);

    const get = await kv({ path: '/kv/greeting', query: [['ns', 'state']], tenantId: 'tenant-rt', installId: 'install-rt' });
    expect(get.guest).toEqual({ found: true, key: 'greeting', value: 'hello', revision: '1' });
    expect((await kv({ method: 'PUT', path: '/kv/other', query: [['ns', 'state']], body: 'x', tenantId: 'tenant-rt', installId: 'install-rt' })).guest).toEqual({ revision: '1' });
    const list = await kv({ path: '/list', query: [['ns', 'state'], ['limit', '1']], tenantId: 'tenant-rt', installId: 'install-rt' });
    expect(list.guest).toEqual({ keys: ['greeting'], nextCursor: 'greeting' });
    expect(calls.at(-1)!.args).toEqual(['state', undefined, undefined, 1]);

    // The backend keys by the scope the runner gave it: another install of the tenant sees nothing.
    expect((await kv({ path: '/kv/greeting', query: [['ns', 'state']], tenantId: 'tenant-rt', installId: 'install-other' })).guest).toEqual({ found: false });

    const del = await kv({ method: 'DELETE', path: '/kv/greeting', query: [['ns', 'state'], ['expect', '1']], tenantId: 'tenant-rt', installId: 'install-rt' });
    expect(del.guest).toEqual({ deleted: true });
    expect((await kv({ path: '/kv/greeting', query: [['ns', 'state']], tenantId: 'tenant-rt', installId: 'install-rt' })).guest).toEqual({ found: false });
  });

  it('a WIT error thrown by the backend reaches the guest as that error', async () => {
    await kv({ method: 'PUT', path: '/kv/cas', query: [['ns', 'cache'], ['expect', '0']], body: 'a', installId: 'install-err' });
    expect((await kv({ method: 'PUT', path: '/kv/cas', query: [['ns', 'cache'], ['expect', '0']], body: 'b', installId: 'install-err' })).guest).toEqual({ error: 'conflict', message: null });

    override.storage = async () => { throw witError('quota-exceeded', 'storage quota exceeded: keys (at most 3 per install)'); };
    expect((await kv({ method: 'PUT', path: '/kv/more', query: [['ns', 'cache']], body: 'c' })).guest)
      .toEqual({ error: 'quota-exceeded', message: 'storage quota exceeded: keys (at most 3 per install)' });
    // A payload of the wrong shape is made to fit the WIT case, never handed to the guest as it is.
    override.storage = async () => { throw { tag: 'quota-exceeded', val: 42 }; };
    expect((await kv({ method: 'PUT', path: '/kv/more', query: [['ns', 'cache']], body: 'c' })).guest).toEqual({ error: 'quota-exceeded', message: 'storage quota exceeded' });
  });

  it('any other throw, or an answer of the wrong shape, is unavailable (never a trap)', async () => {
    override.storage = async () => { throw new Error('the dev database is locked\n    at Object.<anonymous> (/secret/path.ts:1:1)'); };
    const thrown = await kv({ path: '/kv/x', query: [['ns', 'state']] });
    expect(thrown.status).toBe(200);
    expect(thrown.guest).toEqual({ error: 'unavailable', message: 'the dev database is locked' });

    override.storage = async () => ({ key: 'x', value: 'not bytes', revision: 1n });
    expect((await kv({ path: '/kv/x', query: [['ns', 'state']] })).guest).toMatchObject({ error: 'unavailable' });
    override.storage = async () => { throw { tag: 'no-such-case' }; };
    expect((await kv({ path: '/kv/x', query: [['ns', 'state']] })).guest).toMatchObject({ error: 'unavailable' });
  });

  it('the provider refuses before the backend: undeclared namespace → denied, bad namespace, key or limit → invalid', async () => {
    expect((await kv({ path: '/kv/x', query: [['ns', 'undeclared']] })).guest).toEqual({ error: 'denied', message: null });
    expect((await kv({ method: 'PUT', path: '/kv/x', query: [['ns', 'Not-Valid']], body: 'v' })).guest).toMatchObject({ error: 'invalid', message: expect.stringMatching(/namespace/) });
    expect((await kv({ path: '/kv/x', query: [['ns', 'undeclared']], storageNamespaces: null })).guest).toEqual({ found: false });
    expect(calls).toHaveLength(1); // only the last: with no namespace list, any valid name goes through
    calls.length = 0;
    expect((await kv({ path: `/kv/${'k'.repeat(513)}`, query: [['ns', 'state']] })).guest).toMatchObject({ error: 'invalid', message: expect.stringMatching(/512/) });
    expect((await kv({ path: '/kv/a%00b', query: [['ns', 'state']] })).guest).toMatchObject({ error: 'invalid', message: expect.stringMatching(/NUL/) });
    expect((await kv({ path: '/list', query: [['ns', 'state'], ['limit', '0']] })).guest).toMatchObject({ error: 'invalid', message: expect.stringMatching(/limit/) });
    expect((await kv({ path: '/list', query: [['ns', 'state'], ['limit', '1001']] })).guest).toMatchObject({ error: 'invalid' });
    expect(calls).toHaveLength(0);
  });

  it('a backend that never answers: the guest gets unavailable before the deadline and the runner answers', async () => {
    override.storage = () => new Promise(() => {});
    const hung = await kv({ path: '/kv/x', query: [['ns', 'state']], timeoutMs: 1500 });
    expect(hung.status).toBe(200);
    expect(hung.guest).toEqual({ error: 'unavailable', message: 'the request deadline has passed' });
    // Rejected a quarter of the budget before the deadline (the call starts a little after the request).
    expect(hung.ms).toBeGreaterThan(1500 - hostCallMarginMs(1500) - 200);
    expect(hung.ms).toBeLessThan(3000);
    delete override.storage;
    // The worker was not stopped for it and keeps serving.
    expect((await kv({ path: '/kv/x', query: [['ns', 'state']] })).status).toBe(200);
  });
});

describe('ui-proxy through a main-thread backend', () => {
  it('a declared route reaches the backend and its answer reaches the guest', async () => {
    const res = await ui({ path: '/ticket/7' });
    expect(res.guest).toMatchObject({ status: 200, body: JSON.stringify({ id: '7', title: 'Ticket 7' }), headers: [['content-type', 'application/json']] });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ iface: 'ui-proxy', op: 'callRoute', args: ['GET', '/host/tickets/7', undefined] });
    expect(calls[0].scope).toMatchObject({ requestId: res.requestId, tenantId: 'tenant-a', installId: 'install-1' });
  });

  it('a route outside install.uiProxyRoutes is denied, a dot-segment route is bad-request, without a backend call', async () => {
    // Another install: providers configure once per (install, config version), as the gateway bumps it on every change.
    expect((await ui({ path: '/admin', installId: 'install-narrow', uiProxyRoutes: ['GET /host/tickets/:id'] })).guest).toEqual({ error: 'denied', message: null });
    const dots = await ui({ path: '/raw', query: [['route', '/host/tickets/../admin/users']] });
    expect(dots.guest).toMatchObject({ error: 'bad-request', message: expect.stringMatching(/\.\./) });
    expect((await ui({ path: '/raw', query: [['route', '/host/tickets/%2e%2e']] })).guest).toMatchObject({ error: 'bad-request' });
    expect((await ui({ path: '/raw', query: [['route', 'http://evil.example/host/tickets/1']] })).guest).toMatchObject({ error: 'bad-request' });
    expect(calls).toHaveLength(0);
  });

  it('the backend\'s proxy-errors reach the guest; anything else is unavailable', async () => {
    override['ui-proxy'] = async () => { throw witError('not-found'); };
    expect((await ui({ path: '/ticket/1' })).guest).toEqual({ error: 'not-found', message: null });
    override['ui-proxy'] = async () => ({ status: 99, headers: [], body: undefined });
    expect((await ui({ path: '/ticket/1' })).guest).toMatchObject({ error: 'unavailable' });
  });
});

describe('http through a main-thread backend', () => {
  it('fixtures answer for allowlisted URLs; a URL outside httpAllowedHosts is denied without calling the backend', async () => {
    const ok = await fetchVia('https://allowed.example/enrich/1');
    expect(ok.guest).toEqual({ status: 201, body: 'fixture for https://allowed.example/enrich/1' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ iface: 'http', op: 'fetch' });
    const req = calls[0].args[0] as { method: string; url: string; headers: unknown; timeoutMs: number };
    expect(req).toMatchObject({ method: 'GET', url: 'https://allowed.example/enrich/1' });
    expect(Array.isArray(req.headers)).toBe(true);
    expect(req.timeoutMs).toBeGreaterThan(0);
    expect(req.timeoutMs).toBeLessThanOrEqual(2000);

    calls.length = 0;
    expect((await fetchVia('https://evil.example/steal')).guest).toMatchObject({ error: 'denied', detail: expect.stringMatching(/evil\.example/) });
    expect((await fetchVia('file:///etc/passwd')).guest).toMatchObject({ error: 'invalid-request' });
    expect(calls).toHaveLength(0);
  });

  it('the response cap applies to what the backend returns; its failures are http-errors', async () => {
    expect((await fetchVia('https://allowed.example/big')).guest).toMatchObject({ error: 'too-large' });
    override.http = async () => { throw new Error('no fixture for this URL'); };
    expect((await fetchVia('https://allowed.example/x')).guest).toMatchObject({ error: 'transport', detail: 'no fixture for this URL' });
    override.http = () => new Promise(() => {});
    // The guest's own timeoutMs (2000 ms) bounds a backend that never answers.
    const slow = await fetchVia('https://allowed.example/slow');
    expect(slow.guest).toMatchObject({ error: 'timeout' });
    expect(slow.ms).toBeGreaterThan(1800);
  });
});

describe('a sample against main-thread backends (what `alga component dev` does)', () => {
  it('notes-ui: adds a note in storage and reads it back with the ticket title from ui-proxy', async () => {
    const notes = (r: Partial<Run>) => run({
      contentHash: hashes.notes, granted: ['cap:storage.kv', 'cap:ui.proxy'], storageNamespaces: ['notes'], uiProxyRoutes: ['GET /host/tickets/:id'],
      installId: 'install-notes', path: '/tickets/42/notes', ...r,
    });
    const added = await notes({ method: 'POST', body: JSON.stringify({ text: 'call the customer' }) });
    expect(added.status).toBe(200);
    expect(added.guest).toMatchObject({ count: 1, note: { text: 'call the customer' } });
    const listed = await notes({});
    expect(listed.guest).toMatchObject({ ticketId: '42', title: 'Ticket 42', notes: [{ text: 'call the customer' }] });
    expect(calls.map((c) => `${c.iface}.${c.op}`)).toEqual(['storage.get', 'storage.put', 'storage.get', 'ui-proxy.callRoute']);
    expect(calls.every((c) => c.scope.installId === 'install-notes')).toBe(true);
  });
});

describe('createRunner', () => {
  it('refuses a host backend for an interface no provider implements', async () => {
    const config = runnerConfigFromEnv({}, { bundleDir: join(dir, 'b2'), cacheDir: join(dir, 'c2'), workers: 1, trustedKeys: [signer.publicJwk], logLevel: 'silent' } as never);
    await expect(createRunner(config, { hostBackends: { 'key-value': async () => undefined } })).rejects.toThrow(/key-value/);
  });
});

// ---------------------------------------------------------------------------------------------
// The channel's two ends, directly
// ---------------------------------------------------------------------------------------------

describe('host-call channel', () => {
  it('worker end: a result for an unknown call id is ignored; calls end at the deadline or with their request', async () => {
    const posted: HostCallMessage[] = [];
    const client = new HostCallClient((m) => posted.push(m));
    const first = client.call(1, Date.now() + 5000, 'storage', 'get', ['state', 'k']);
    expect(posted).toEqual([{ type: 'host-call', id: 1, callId: 1, iface: 'storage', op: 'get', args: ['state', 'k'] }]);
    client.settle({ type: 'host-result', callId: 999, ok: true, value: 'stray' });
    client.settle({ type: 'host-result', callId: 1, ok: true, value: 'answer' });
    expect(await first).toBe('answer');
    client.settle({ type: 'host-result', callId: 1, ok: true, value: 'twice' }); // already settled: ignored

    const t0 = Date.now();
    // Rejected a margin before the deadline, so the guest can still answer before the pool stops it.
    // 400 ms left: rejected after about 300 (a quarter kept back); 4 s left: 500 ms kept back at most.
    expect(hostCallMarginMs(400)).toBe(100);
    expect(hostCallMarginMs(4000)).toBe(500);
    await expect(client.call(2, Date.now() + 400, 'storage', 'get', [])).rejects.toEqual({ tag: 'unavailable', val: 'the request deadline has passed' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(client.call(2, Date.now() - 1, 'storage', 'get', [])).rejects.toEqual({ tag: 'unavailable', val: 'the request deadline has passed' });

    const dropped = client.call(3, Date.now() + 5000, 'storage', 'get', []);
    const other = client.call(4, Date.now() + 5000, 'storage', 'get', []);
    client.dropRequest(3);
    await expect(dropped).rejects.toEqual({ tag: 'unavailable', val: 'the request has ended' });
    client.settle({ type: 'host-result', callId: posted.at(-1)!.callId, ok: false, error: { tag: 'conflict' } });
    await expect(other).rejects.toEqual({ tag: 'conflict' });
  });

  it('main end: scope from the job, relayed errors, no backend call for a gone request or an ungranted interface, nothing posted to a dead worker', async () => {
    const job = {
      requestId: 'req-1', deadlineMs: Date.now() + 5000, effectiveCapabilities: ['cap:storage.kv'],
      install: { tenantId: 't', extensionId: 'e', installId: 'i', versionId: 'v', storageNamespaces: null },
    } as unknown as WorkerJob;
    const seen: HostBackendCall[] = [];
    const backends: Record<string, HostBackend> = {
      storage: async (c) => { seen.push(c); if (c.op === 'boom') throw new TypeError('line one\nline two'); if (c.op === 'wit') throw witError('conflict'); return 7n; },
      http: async (c) => { seen.push(c); return 'never'; },
    };
    const answer = (j: WorkerJob | undefined, m: Partial<HostCallMessage>, alive = true) => new Promise<HostResultMessage | 'none'>((resolve) => {
      answerHostCall(backends, j, { type: 'host-call', id: 1, callId: 5, iface: 'storage', op: 'get', args: ['a'], ...m }, resolve, () => alive);
      setTimeout(() => resolve('none'), 100);
    });
    expect(await answer(job, {})).toEqual({ type: 'host-result', callId: 5, ok: true, value: 7n });
    expect(seen[0]).toEqual({ iface: 'storage', op: 'get', args: ['a'], scope: { requestId: 'req-1', tenantId: 't', extensionId: 'e', installId: 'i', versionId: 'v', install: job.install, deadlineMs: job.deadlineMs } });
    expect(await answer(job, { op: 'boom' })).toMatchObject({ ok: false, error: { tag: 'unavailable', val: 'line one' } });
    expect(await answer(job, { op: 'wit' })).toMatchObject({ ok: false, error: { tag: 'conflict' } });
    seen.length = 0;
    expect(await answer(undefined, {})).toMatchObject({ ok: false, error: { tag: 'unavailable' } });
    expect(await answer(job, { iface: 'http' })).toMatchObject({ ok: false, error: { tag: 'denied' } });
    expect(await answer(job, { iface: 'ui-proxy' })).toMatchObject({ ok: false, error: { tag: 'unavailable', val: 'no host backend for ui-proxy' } });
    expect(seen).toHaveLength(0);
    expect(await answer(job, {}, false)).toBe('none');
  });
});
