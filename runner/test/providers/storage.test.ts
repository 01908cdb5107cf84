/**
 * The `storage` provider against a REAL gateway (test harness, no runner): the bound host
 * functions are called the way jco's glue calls them (bigint revisions, Uint8Array values,
 * `undefined` for absent options) and every failure must be a storage-error variant.
 */
import { randomUUID } from 'node:crypto';
import { executeBodyDigest } from '@alga-psa/extension-contracts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storageProvider } from '../../src/providers/storage.ts';
import { closeGatewayCallbackPools } from '../../src/providers/gateway-callback.ts';
import { providerForInterface } from '../../src/providers/index.ts';
import type { HostFunctions, RequestScope } from '../../src/providers/provider.ts';
import type { InstallSpec } from '@alga-psa/extension-contracts';
import { startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../../test-setup/bundles.ts';

let h: GatewayHarness;
let install: { id: string; extensionId: string; tenantId: string; versionId: string };
const MAX_VALUE = 256;

beforeAll(async () => {
  h = await startGatewayHarness({ runner: false, gateway: { storageMaxValueBytes: MAX_VALUE, storageMaxKeys: 100 } });
  const res = await h.publish(await helloVariant({ name: 'com.acme.runner-store', version: '1.0.0', capabilities: ['cap:storage.kv'], storage: { namespaces: ['cache', 'state'] } }));
  expect(res.status, await res.clone().text()).toBe(201);
  const t = await h.tenant();
  const body = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.acme.runner-store' })).body;
  install = { id: body.id, extensionId: body.extensionId, tenantId: t.tenantId, versionId: body.versionId };
});
afterAll(async () => {
  await closeGatewayCallbackPools();
  await h?.close();
});

interface ScopeOptions { gatewayUrl?: string | undefined; deadlineMs?: number; capabilities?: string[]; tokenDeadlineMs?: number }

async function bound(o: ScopeOptions = {}): Promise<HostFunctions> {
  const deadlineMs = o.deadlineMs ?? Date.now() + 10_000;
  const token = await h.gateway.executionKeys.mint(
    { requestId: randomUUID(), tenantId: install.tenantId, installId: install.id, extensionId: install.extensionId, versionId: install.versionId, contentHash: 'a'.repeat(64), bodyDigest: executeBodyDigest({}), capabilities: o.capabilities ?? ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'] },
    o.tokenDeadlineMs ?? Date.now() + 10_000,
  );
  const spec: InstallSpec = {
    config: {}, configVersion: 1, grantedCapabilities: ['cap:storage.kv'], httpAllowedHosts: [], storageNamespaces: ['cache', 'state'], uiProxyRoutes: [],
    tenantId: install.tenantId, extensionId: install.extensionId, installId: install.id, versionId: install.versionId, contentHash: 'a'.repeat(64),
  };
  const scope: RequestScope = {
    requestId: randomUUID(), tenantId: install.tenantId, extensionId: install.extensionId, installId: install.id, versionId: install.versionId,
    deadlineMs, install: spec, executionToken: token, prepared: undefined,
    operator: { httpAllowedPrivateCidrs: [], httpMaxResponseBytes: 1024 * 1024, httpMaxRedirects: 5, gatewayUrl: 'gatewayUrl' in o ? o.gatewayUrl : h.url },
    log: () => {}, markSensitive: () => {},
  };
  return storageProvider.bind(scope, storageProvider.configure(spec));
}

/** The value a host function rejected with; fails if it resolved. Only plain `{ tag, val? }` objects are acceptable. */
async function rejection(p: unknown): Promise<{ tag: string; val?: unknown }> {
  try {
    await p;
  } catch (e) {
    expect(e).not.toBeInstanceOf(Error);
    expect(typeof (e as { tag?: unknown }).tag).toBe('string');
    return e as { tag: string; val?: unknown };
  }
  throw new Error('expected the host function to fail');
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('storage provider', () => {
  it('is registered for the storage interface with async get/put/delete/list', () => {
    expect(providerForInterface('storage')).toBe(storageProvider);
    expect(storageProvider.capability).toBe('cap:storage.kv');
    expect([...storageProvider.asyncFunctions].sort()).toEqual(['delete', 'get', 'list', 'put']);
  });

  it('round trip: bigint revisions, Uint8Array values, undefined for absent', async () => {
    const s = await bound();
    expect(await s.get('state', 'rt')).toBeUndefined();
    const rev = await s.put('state', 'rt', bytes('hello'), undefined);
    expect(rev).toBe(1n);
    const value = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(await s.put('state', 'rt', value, 1n)).toBe(2n);
    const entry = (await s.get('state', 'rt')) as { key: string; value: Uint8Array; revision: bigint };
    expect(entry.key).toBe('rt');
    expect(entry.revision).toBe(2n);
    expect(entry.value).toBeInstanceOf(Uint8Array);
    expect([...entry.value]).toEqual([...value]);
    // A view into a larger buffer sends only its own bytes.
    const big = bytes('xxABCxx');
    expect(await s.put('state', 'view', big.subarray(2, 5), 0n)).toBe(1n);
    expect(new TextDecoder().decode(((await s.get('state', 'view')) as { value: Uint8Array }).value)).toBe('ABC');

    expect(await s.list('state', undefined, undefined, 100)).toEqual({ keys: ['rt', 'view'], nextCursor: undefined });
    const first = (await s.list('state', undefined, undefined, 1)) as { keys: string[]; nextCursor: string | undefined };
    expect(first.keys).toEqual(['rt']);
    expect(typeof first.nextCursor).toBe('string');
    expect(await s.list('state', undefined, first.nextCursor, 1)).toEqual({ keys: ['view'], nextCursor: undefined });
    expect(await s.list('state', 'vi', undefined, 10)).toEqual({ keys: ['view'], nextCursor: undefined });

    expect(await s.delete('state', 'rt', undefined)).toBe(true);
    expect(await s.delete('state', 'rt', undefined)).toBe(false);
    expect(await s.get('state', 'rt')).toBeUndefined();
  });

  it('maps 409 to conflict, 507 to quota-exceeded(message), 400 to invalid(message), 403 to denied', async () => {
    const s = await bound();
    expect(await s.put('cache', 'cas', bytes('a'), 0n)).toBe(1n);
    expect(await rejection(s.put('cache', 'cas', bytes('b'), 0n))).toEqual({ tag: 'conflict' });
    expect(await rejection(s.delete('cache', 'cas', 5n))).toEqual({ tag: 'conflict' });

    const quota = await rejection(s.put('cache', 'big', new Uint8Array(MAX_VALUE + 1), undefined));
    expect(quota.tag).toBe('quota-exceeded');
    expect(quota.val).toMatch(/value size/);

    for (const p of [s.get('cache', ''), s.put('Bad NS', 'k', bytes('v'), undefined), s.list('cache', undefined, undefined, 0), s.list('cache', undefined, 'not a cursor', 10)]) {
      const e = await rejection(p);
      expect(e.tag).toBe('invalid');
      expect(typeof e.val).toBe('string');
      expect((e.val as string).length).toBeGreaterThan(0);
    }
    expect((await rejection(s.put('cache', 'k', bytes('v'), 2n ** 60n))).tag).toBe('invalid');

    // Not in the manifest's storage.namespaces → the gateway says 403.
    expect(await rejection(s.put('elsewhere', 'k', bytes('v'), undefined))).toEqual({ tag: 'denied' });
    // A token without cap:storage.kv.
    const noCap = await bound({ capabilities: ['cap:context.read', 'cap:log.emit'] });
    expect(await rejection(noCap.get('cache', 'cas'))).toEqual({ tag: 'denied' });
    // The value is untouched by all of the above.
    expect(await s.get('cache', 'cas')).toMatchObject({ revision: 1n });
  });

  it('denied(): every function answers denied without a call', async () => {
    const fns = storageProvider.denied();
    expect(await rejection(fns.get('cache', 'k'))).toEqual({ tag: 'denied' });
    expect(await rejection(fns.put('cache', 'k', bytes('v'), undefined))).toEqual({ tag: 'denied' });
    expect(await rejection(fns.delete('cache', 'k', undefined))).toEqual({ tag: 'denied' });
    expect(await rejection(fns.list('cache', undefined, undefined, 10))).toEqual({ tag: 'denied' });
  });

  it('unavailable: gateway down (fast), no gateway configured, expired token', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const down = await bound({ gatewayUrl: `http://127.0.0.1:${port}` });
    const started = Date.now();
    for (const p of [down.get('cache', 'k'), down.put('cache', 'k', bytes('v'), undefined), down.delete('cache', 'k', undefined), down.list('cache', undefined, undefined, 10)]) {
      const e = await rejection(p);
      expect(e.tag).toBe('unavailable');
      expect(typeof e.val).toBe('string');
    }
    expect(Date.now() - started).toBeLessThan(2_000);

    const none = await bound({ gatewayUrl: undefined });
    expect((await rejection(none.get('cache', 'k'))).tag).toBe('unavailable');
    const bad = await bound({ gatewayUrl: 'not a url' });
    expect((await rejection(bad.get('cache', 'k'))).tag).toBe('unavailable');

    const expired = await bound({ tokenDeadlineMs: Date.now() - 10_000 });
    const e = await rejection(expired.get('cache', 'k'));
    expect(e.tag).toBe('unavailable');
    expect(e.val).toMatch(/401/);
  });

  it('unavailable when the deadline has passed, and a gateway that never answers is cut off at the deadline', async () => {
    const past = await bound({ deadlineMs: Date.now() - 1 });
    const t0 = Date.now();
    expect((await rejection(past.put('cache', 'k', bytes('v'), undefined))).tag).toBe('unavailable');
    expect(Date.now() - t0).toBeLessThan(100);

    let requests = 0;
    const hang: Server = createServer(() => { requests++; /* never answers */ });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const slow = await bound({ gatewayUrl: `http://127.0.0.1:${(hang.address() as AddressInfo).port}`, deadlineMs: Date.now() + 300 });
      const t1 = Date.now();
      const e = await rejection(slow.get('cache', 'k'));
      const took = Date.now() - t1;
      expect(e.tag).toBe('unavailable');
      expect(e.val).toMatch(/deadline/);
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(1_500);
      expect(requests).toBe(1);
    } finally {
      hang.closeAllConnections();
      await new Promise<void>((r) => hang.close(() => r()));
    }
  });

  it('a gateway answering garbage or 5xx is unavailable, never a trap', async () => {
    const answers = [
      (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('not json'),
      (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"entry":{"key":1}}'),
      (res: import('node:http').ServerResponse) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"E_INTERNAL","message":"boom"}}'),
      (res: import('node:http').ServerResponse) => res.writeHead(503).end(),
    ];
    let n = 0;
    const odd: Server = createServer((_req, res) => { answers[n++ % answers.length](res); });
    await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
    try {
      const s = await bound({ gatewayUrl: `http://127.0.0.1:${(odd.address() as AddressInfo).port}/` });
      for (let i = 0; i < answers.length; i++) expect((await rejection(s.get('cache', 'k'))).tag).toBe('unavailable');
    } finally {
      odd.closeAllConnections();
      await new Promise<void>((r) => odd.close(() => r()));
    }
  });
});
