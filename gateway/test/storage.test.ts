/**
 * Key-value storage: the internal API `POST /api/internal/ext-storage/install/:installId` over
 * real HTTP with real execution tokens, and `StorageService` directly, on the test database
 * (PGlite, or PostgreSQL with ALGA_TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlgaError, executeBodyDigest, generateExecutionSigningKey, mintExecutionToken } from '@alga-psa/extension-contracts';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';
import { StorageService, encodeCursor, type StorageScope } from '@alga-psa/extension-host/storage/storage-service';

type Tenant = { tenantId: string; adminKey: string; call: Caller };
interface Install { id: string; extensionId: string; versionId: string; contentHash: string; tenantId: string; call: Caller }
interface Answer { status: number; body: any }

const STORE = 'com.acme.store'; // storage.namespaces: cache, state
const OTHER = 'com.acme.store-any'; // no namespace list: any name

async function publish(h: GatewayHarness, name: string, storage?: { namespaces: string[] }): Promise<void> {
  const res = await h.publish(await helloVariant({ name, version: '1.0.0', capabilities: ['cap:storage.kv'], ...(storage ? { storage } : {}) }));
  expect(res.status, await res.clone().text()).toBe(201);
}

async function install(t: Tenant, extension: string): Promise<Install> {
  const res = await t.call('POST', '/api/v1/extensions/install', { extension });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, extensionId: res.body.extensionId, versionId: res.body.versionId, contentHash: res.body.contentHash, tenantId: t.tenantId, call: t.call };
}

/** A callback has no execute body of its own: the digest is that of empty install and secrets sections. */
const callbackBodyDigest = executeBodyDigest({});

function mint(h: GatewayHarness, i: Install, opts: { capabilities?: string[]; deadlineMs?: number } = {}): Promise<string> {
  return h.gateway.executionKeys.mint(
    {
      requestId: randomUUID(), tenantId: i.tenantId, installId: i.id, extensionId: i.extensionId, versionId: i.versionId, contentHash: i.contentHash,
      bodyDigest: callbackBodyDigest, capabilities: opts.capabilities ?? ['cap:context.read', 'cap:log.emit', 'cap:storage.kv'],
    },
    opts.deadlineMs ?? Date.now() + 60_000,
  );
}

async function post(h: GatewayHarness, installId: string, token: string | undefined, body: unknown): Promise<Answer> {
  const res = await fetch(`${h.url}/api/internal/ext-storage/install/${installId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}

/** A storage client for one install with a valid token. */
async function client(h: GatewayHarness, i: Install) {
  const token = await mint(h, i);
  const send = (body: Record<string, unknown>) => post(h, i.id, token, body);
  return {
    token,
    send,
    put: (namespace: string, key: string, value: string | Uint8Array, expectedRevision?: number | null) =>
      send({ op: 'put', namespace, key, valueB64: Buffer.from(value).toString('base64'), ...(expectedRevision !== undefined ? { expectedRevision } : {}) }),
    get: (namespace: string, key: string) => send({ op: 'get', namespace, key }),
    del: (namespace: string, key: string, expectedRevision?: number | null) => send({ op: 'delete', namespace, key, ...(expectedRevision !== undefined ? { expectedRevision } : {}) }),
    list: (namespace: string, opts: { prefix?: string; cursor?: string | null; limit?: number } = {}) => send({ op: 'list', namespace, ...opts }),
    /** Follows nextCursor to the end; returns every page's keys. */
    async pages(namespace: string, opts: { prefix?: string; limit?: number } = {}): Promise<string[][]> {
      const out: string[][] = [];
      let cursor: string | null = null;
      do {
        const res = await send({ op: 'list', namespace, ...opts, cursor });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        out.push(res.body.keys);
        cursor = res.body.nextCursor;
      } while (cursor !== null && out.length < 100);
      return out;
    },
  };
}

const text = (res: Answer) => Buffer.from(res.body.entry.valueB64, 'base64').toString('utf8');

async function rows(h: GatewayHarness, installId: string) {
  return h.db.knex('ext_storage_records').where({ install_id: installId }).orderBy(['namespace', 'key']).select('tenant_id', 'install_id', 'namespace', 'key', 'revision');
}

/** The usage row must always equal what the records add up to: every record costs its key's UTF-8 bytes plus its value's bytes. */
async function expectUsageConsistent(h: GatewayHarness, installId: string) {
  const usage = await h.db.knex('ext_storage_usage').where({ install_id: installId }).first('key_count', 'total_bytes');
  const actual = await h.db.knex('ext_storage_records').where({ install_id: installId })
    .first(h.db.knex.raw('count(*)::int as key_count'), h.db.knex.raw('coalesce(sum(octet_length(key) + octet_length(value)), 0)::bigint as total_bytes'));
  expect({ key_count: usage?.key_count ?? 0, total_bytes: usage?.total_bytes ?? 0 }).toEqual(actual);
  return actual as { key_count: number; total_bytes: number };
}

// ---------------------------------------------------------------------------------------------
// Default quotas
// ---------------------------------------------------------------------------------------------

describe('storage API (default quotas)', () => {
  let h: GatewayHarness;
  let t1: Tenant;
  let t2: Tenant;
  let a: Install; // STORE in t1
  let b: Install; // STORE in t2
  let c: Install; // OTHER in t1

  beforeAll(async () => {
    h = await startGatewayHarness({ runner: false });
    await publish(h, STORE, { namespaces: ['cache', 'state'] });
    await publish(h, OTHER);
    t1 = await h.tenant();
    t2 = await h.tenant();
    a = await install(t1, STORE);
    b = await install(t2, STORE);
    c = await install(t1, OTHER);
  });
  afterAll(() => h?.close());

  it('put / get / delete / list round trip, with binary and empty values', async () => {
    const s = await client(h, a);
    expect(await s.put('state', 'greeting', 'hello')).toEqual({ status: 200, body: { revision: 1 } });
    let got = await s.get('state', 'greeting');
    expect(got.status).toBe(200);
    expect(got.body.entry).toMatchObject({ key: 'greeting', revision: 1 });
    expect(text(got)).toBe('hello');
    expect((await s.put('state', 'greeting', 'hello again')).body).toEqual({ revision: 2 });
    got = await s.get('state', 'greeting');
    expect(got.body.entry.revision).toBe(2);
    expect(text(got)).toBe('hello again');

    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect((await s.put('state', 'bin', bytes)).body).toEqual({ revision: 1 });
    expect(Buffer.from((await s.get('state', 'bin')).body.entry.valueB64, 'base64')).toEqual(Buffer.from(bytes));
    expect((await s.put('state', 'empty', new Uint8Array(0))).body).toEqual({ revision: 1 });
    expect((await s.get('state', 'empty')).body.entry).toEqual({ key: 'empty', valueB64: '', revision: 1 });
    const emoji = 'ключ/🔑';
    expect((await s.put('state', emoji, 'unicode')).status).toBe(200);
    expect((await s.get('state', emoji)).body.entry.key).toBe(emoji);

    expect((await s.list('state')).body).toEqual({ keys: ['bin', 'empty', 'greeting', emoji], nextCursor: null });
    expect((await s.del('state', 'greeting')).body).toEqual({ deleted: true });
    expect((await s.get('state', 'greeting')).body).toEqual({ entry: null });
    expect((await s.del('state', 'greeting')).body).toEqual({ deleted: false });
    expect((await s.get('cache', 'never')).body).toEqual({ entry: null });
    // A key deleted and written again starts over.
    expect((await s.put('state', 'greeting', 'back')).body).toEqual({ revision: 1 });
    await expectUsageConsistent(h, a.id);
    const stored = await rows(h, a.id);
    expect(stored.every((r) => r.tenant_id === a.tenantId && r.install_id === a.id)).toBe(true);
  });

  it('compare-and-set: 0 means "must not exist", a stale revision is a conflict and changes nothing', async () => {
    const s = await client(h, a);
    expect((await s.put('cache', 'cas', 'one', 0)).body).toEqual({ revision: 1 });
    const again = await s.put('cache', 'cas', 'two', 0);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('E_CONFLICT');
    expect((await s.put('cache', 'cas', 'two', 1)).body).toEqual({ revision: 2 });
    const stale = await s.put('cache', 'cas', 'three', 1);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('E_CONFLICT');
    let got = await s.get('cache', 'cas');
    expect(got.body.entry.revision).toBe(2);
    expect(text(got)).toBe('two');
    // expectedRevision null = unconditional.
    expect((await s.put('cache', 'cas', 'three', null)).body).toEqual({ revision: 3 });
    // A revision the key never had, on a key that does not exist.
    expect((await s.put('cache', 'cas-missing', 'x', 7)).status).toBe(409);
    expect((await s.get('cache', 'cas-missing')).body).toEqual({ entry: null });

    // delete with a revision.
    const badDelete = await s.del('cache', 'cas', 2);
    expect(badDelete.status).toBe(409);
    expect(badDelete.body.error.code).toBe('E_CONFLICT');
    got = await s.get('cache', 'cas');
    expect(text(got)).toBe('three');
    expect((await s.del('cache', 'cas', 0)).status).toBe(409);
    expect((await s.del('cache', 'cas', 3)).body).toEqual({ deleted: true });
    expect((await s.del('cache', 'cas', 0)).body).toEqual({ deleted: false });
    expect((await s.del('cache', 'cas', 3)).status).toBe(409);
    await expectUsageConsistent(h, a.id);
  });

  it('list pages for real: 250 keys at limit 100 are 3 pages, every key exactly once, in order, filtered by prefix', async () => {
    const s = await client(h, c);
    const items = Array.from({ length: 250 }, (_, i) => `item:${String(i).padStart(3, '0')}`);
    for (const key of items) expect((await s.put('paging', key, 'v')).status).toBe(200);
    for (const key of ['other:1', 'other:2', 'itemz', 'ite']) expect((await s.put('paging', key, 'v')).status).toBe(200);

    const pages = await s.pages('paging', { prefix: 'item:', limit: 100 });
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(items);

    const all = (await s.pages('paging', { limit: 100 })).flat();
    expect(all).toEqual([...all].sort());
    expect(all).toHaveLength(254);
    expect(new Set(all).size).toBe(254);

    // Default limit is 100; a page that ends exactly at the last key says so.
    const first = await s.list('paging', { prefix: 'item:' });
    expect(first.body.keys).toHaveLength(100);
    expect(typeof first.body.nextCursor).toBe('string');
    const exact = await s.pages('paging', { prefix: 'item:', limit: 125 });
    expect(exact.map((p) => p.length)).toEqual([125, 125]);
    expect((await s.list('paging', { prefix: 'nothing-here' })).body).toEqual({ keys: [], nextCursor: null });
  });

  it('keys inserted or deleted between pages neither duplicate nor skip the others', async () => {
    const s = await client(h, c);
    const keys = Array.from({ length: 30 }, (_, i) => `mv:${String(i).padStart(2, '0')}`);
    for (const key of keys) await s.put('moving', key, 'v');
    const seen: string[] = [];
    let res = await s.list('moving', { limit: 10 });
    seen.push(...res.body.keys);
    expect(res.body.keys).toEqual(keys.slice(0, 10));
    // Before the cursor (not visited), after it (visited once), and one removed ahead.
    await s.put('moving', 'mv:05a', 'v');
    await s.put('moving', 'mv:00', 'rewritten');
    await s.put('moving', 'mv:15a', 'v');
    await s.del('moving', 'mv:20');
    while (res.body.nextCursor) {
      res = await s.list('moving', { limit: 10, cursor: res.body.nextCursor });
      expect(res.status).toBe(200);
      seen.push(...res.body.keys);
      await s.put('moving', `mv:0${seen.length}`, 'v'); // more keys behind the cursor on every page
    }
    const expected = [...keys.filter((k) => k !== 'mv:20'), 'mv:15a'].sort();
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a prefix is literal (no LIKE wildcards) and keys sort bytewise', async () => {
    const s = await client(h, c);
    for (const key of ['a%b', 'a_b', 'axb', 'a\\b', 'ab', 'B', 'a', 'é', 'Z']) await s.put('literal', key, 'v');
    expect((await s.list('literal', { prefix: 'a%' })).body.keys).toEqual(['a%b']);
    expect((await s.list('literal', { prefix: 'a_' })).body.keys).toEqual(['a_b']);
    expect((await s.list('literal', { prefix: 'a\\' })).body.keys).toEqual(['a\\b']);
    expect((await s.list('literal', { prefix: 'a' })).body.keys).toEqual(['a', 'a%b', 'a\\b', 'a_b', 'ab', 'axb']);
    expect((await s.list('literal')).body.keys).toEqual(['B', 'Z', 'a', 'a%b', 'a\\b', 'a_b', 'ab', 'axb', 'é']);
  });

  it('refuses invalid input with 400 E_VALIDATION', async () => {
    const s = await client(h, c);
    const cases: Array<Record<string, unknown>> = [
      { op: 'get', namespace: 'Upper', key: 'k' },
      { op: 'get', namespace: '', key: 'k' },
      { op: 'get', namespace: '-dash', key: 'k' },
      { op: 'get', namespace: 'x'.repeat(64), key: 'k' },
      { op: 'get', namespace: 'ok', key: '' },
      { op: 'get', namespace: 'ok' },
      { op: 'get', namespace: 'ok', key: 'x'.repeat(513) },
      { op: 'get', namespace: 'ok', key: 'nul\u0000key' },
      { op: 'get', namespace: 'ok', key: 42 },
      { op: 'put', namespace: 'ok', key: 'k', valueB64: 'not base64!' },
      { op: 'put', namespace: 'ok', key: 'k', valueB64: 'YQ' },
      { op: 'put', namespace: 'ok', key: 'k' },
      { op: 'put', namespace: 'ok', key: 'k', valueB64: 'YQ==', expectedRevision: -1 },
      { op: 'put', namespace: 'ok', key: 'k', valueB64: 'YQ==', expectedRevision: 1.5 },
      { op: 'put', namespace: 'ok', key: 'k', valueB64: 'YQ==', expectedRevision: '1' },
      { op: 'delete', namespace: 'ok', key: 'k', expectedRevision: -3 },
      { op: 'list', namespace: 'ok', limit: 0 },
      { op: 'list', namespace: 'ok', limit: 1001 },
      { op: 'list', namespace: 'ok', limit: '10' },
      { op: 'list', namespace: 'ok', cursor: '!!' },
      { op: 'list', namespace: 'ok', cursor: '' },
      { op: 'list', namespace: 'ok', cursor: Buffer.from([0xff, 0xfe]).toString('base64url') },
      { op: 'list', namespace: 'ok', prefix: 7 },
      { op: 'nope', namespace: 'ok' },
      {},
    ];
    for (const body of cases) {
      const res = await s.send(body);
      expect({ body, status: res.status, code: res.body?.error?.code }).toEqual({ body, status: 400, code: 'E_VALIDATION' });
    }
    // A lone surrogate cannot be stored faithfully: refused, not mangled. (Raw JSON: JSON.stringify would escape it anyway.)
    const lone = await post(h, c.id, s.token, '{"op":"put","namespace":"ok","key":"\\ud800","valueB64":""}');
    expect(lone.status).toBe(400);
    expect((await post(h, c.id, s.token, '[1,2]')).status).toBe(400);
    expect((await post(h, c.id, s.token, '{not json')).status).toBe(400);
    // The limits themselves are fine: 512 characters (code points), 63-character namespaces, 1000 per page.
    expect((await s.put('x'.repeat(63), '🔑'.repeat(512), 'v')).status).toBe(200);
    expect((await s.list('ok', { limit: 1000 })).status).toBe(200);
    expect((await s.get('ok', '🔑'.repeat(513))).status).toBe(400);
    expect(await rows(h, c.id)).not.toContainEqual(expect.objectContaining({ namespace: 'ok' }));
  });

  it("a namespace missing from the manifest's storage.namespaces is 403 E_FORBIDDEN; without a list any name works", async () => {
    const s = await client(h, a);
    for (const body of [
      { op: 'put', namespace: 'secret-stash', key: 'k', valueB64: 'YQ==' },
      { op: 'get', namespace: 'secret-stash', key: 'k' },
      { op: 'delete', namespace: 'secret-stash', key: 'k' },
      { op: 'list', namespace: 'secret-stash' },
    ]) {
      const res = await s.send(body);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('E_FORBIDDEN');
      expect(res.body.error.message).toContain('secret-stash');
    }
    expect(await rows(h, a.id)).not.toContainEqual(expect.objectContaining({ namespace: 'secret-stash' }));
    const any = await client(h, c);
    expect((await any.put('secret-stash', 'k', 'v')).status).toBe(200);
  });

  it('tokens: another install 403, no capability 403, expired or forged 401, none 401, disabled install 403', async () => {
    const s = await client(h, a);
    await s.put('state', 'private', 'of a');
    const probe = { op: 'get', namespace: 'state', key: 'private' };

    const otherInstallToken = await mint(h, b);
    const cross = await post(h, a.id, otherInstallToken, probe);
    expect(cross.status).toBe(403);
    expect(cross.body.error.code).toBe('E_FORBIDDEN');
    expect(JSON.stringify(cross.body)).not.toContain(Buffer.from('of a').toString('base64'));
    // Same tenant, other extension's install: also refused.
    expect((await post(h, a.id, await mint(h, c), probe)).status).toBe(403);

    const noCap = await post(h, a.id, await mint(h, a, { capabilities: ['cap:context.read', 'cap:log.emit', 'cap:http.fetch'] }), probe);
    expect(noCap.status).toBe(403);
    expect(noCap.body.error.code).toBe('E_FORBIDDEN');

    const expired = await post(h, a.id, await mint(h, a, { deadlineMs: Date.now() - 10_000 }), probe);
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('E_AUTH');

    // Signed by a key the gateway does not hold, under the gateway's own kid.
    const forger = await generateExecutionSigningKey(h.gateway.executionKeys.kid);
    const forged = await mintExecutionToken(forger, { requestId: 'r', tenantId: a.tenantId, installId: a.id, extensionId: a.extensionId, versionId: a.versionId, contentHash: a.contentHash, bodyDigest: callbackBodyDigest, capabilities: ['cap:storage.kv'] }, Date.now() + 60_000);
    const forgedRes = await post(h, a.id, forged, probe);
    expect(forgedRes.status).toBe(401);
    expect(forgedRes.body.error.code).toBe('E_AUTH');
    // A tampered payload (install swapped) fails the signature.
    const [head, , sig] = s.token.split('.');
    const payload = JSON.parse(Buffer.from(s.token.split('.')[1], 'base64url').toString());
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...payload, caps: ['cap:storage.kv', 'cap:http.fetch'] })).toString('base64url')}.${sig}`;
    expect((await post(h, a.id, tampered, probe)).status).toBe(401);
    expect((await post(h, a.id, undefined, probe)).status).toBe(401);
    expect((await post(h, a.id, h.runnerServiceToken, probe)).status).toBe(401);

    // A disabled install's token stops working.
    const other = await install(await h.tenant(), STORE);
    const os = await client(h, other);
    expect((await os.put('state', 'k', 'v')).status).toBe(200);
    await other.call('POST', `/api/v1/installs/${other.id}/disable`);
    const disabled = await os.get('state', 'k');
    expect(disabled.status).toBe(403);
    expect(disabled.body.error.code).toBe('E_FORBIDDEN');

    expect(text(await s.get('state', 'private'))).toBe('of a');
  });

  it('a token minted while cap:storage.kv was granted is refused with 403 E_FORBIDDEN once the grant is revoked', async () => {
    const i = await install(await h.tenant(), STORE);
    const s = await client(h, i); // the token claims cap:storage.kv, which the install was granted at mint time
    expect((await s.put('state', 'k', 'before revocation')).status).toBe(200);
    await h.db.knex('tenant_extension_install').where({ id: i.id })
      .update({ granted_capabilities: JSON.stringify(['cap:context.read', 'cap:log.emit']) });
    for (const res of [await s.get('state', 'k'), await s.put('state', 'k', 'after revocation'), await s.list('state'), await s.del('state', 'k')]) {
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('E_FORBIDDEN');
      expect(res.body.error.message).toContain('no longer granted cap:storage.kv');
    }
    const row = await h.db.knex('ext_storage_records').where({ install_id: i.id, key: 'k' }).first('value', 'revision');
    expect({ value: Buffer.from(row.value).toString('utf8'), revision: row.revision }).toEqual({ value: 'before revocation', revision: 1 });
  });

  it('a token minted before the install moved to another version is refused with 403 E_FORBIDDEN, and its write is not applied', async () => {
    const name = 'com.acme.store-upgraded';
    await publish(h, name, { namespaces: ['state'] });
    const i = await install(await h.tenant(), name);
    const old = await client(h, i);
    expect((await old.put('state', 'k', 'v1')).status).toBe(200);
    const next = await h.publish(await helloVariant({ name, version: '1.1.0', capabilities: ['cap:storage.kv'], storage: { namespaces: ['state'] } }));
    expect(next.status, await next.clone().text()).toBe(201);
    const upgraded = await i.call('POST', `/api/v1/installs/${i.id}/upgrade`, { version: '1.1.0' });
    expect(upgraded.status, upgraded.text).toBe(200);
    for (const res of [await old.put('state', 'k', 'from the old version'), await old.get('state', 'k'), await old.del('state', 'k')]) {
      expect(res.status).toBe(403);
      expect(res.body.error).toEqual({ code: 'E_FORBIDDEN', message: 'the install has moved to another version since this request began' });
    }
    // A token for the version it is on now works, and sees the value the old token could not replace.
    const current = await client(h, { ...i, versionId: upgraded.body.versionId, contentHash: upgraded.body.contentHash });
    const now = await current.get('state', 'k');
    expect(now.status).toBe(200);
    expect(text(now)).toBe('v1');
  });

  it('once the grant is revoked, 403 E_FORBIDDEN comes first: before a read\'s result, a write\'s conflict, a bad op, a malformed or an oversized body', async () => {
    const i = await install(await h.tenant(), STORE);
    const s = await client(h, i);
    expect((await s.put('state', 'k', 'secret-looking value')).status).toBe(200);
    await h.db.knex('tenant_extension_install').where({ id: i.id }).update({ granted_capabilities: JSON.stringify(['cap:context.read', 'cap:log.emit']) });
    const raw = async (body: string) => {
      const res = await fetch(`${h.url}/api/internal/ext-storage/install/${i.id}`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body });
      return { status: res.status, text: await res.text() };
    };
    for (const res of [
      await s.get('state', 'k'), await s.get('undeclared-ns', 'k'), await s.send({ op: 'nope' }), await s.list('state', { limit: 0 }),
      await s.put('state', 'k', 'stale', 7), await s.del('state', 'k', 7), await s.send({ op: 'put', namespace: 'state', key: 'k', valueB64: 'not base64!' }),
      await raw('{not json'), await raw(JSON.stringify({ op: 'put', namespace: 'state', key: 'k', valueB64: 'A'.repeat(2_000_000) })),
    ]) {
      expect(res.status).toBe(403);
      const body = 'text' in res ? JSON.parse(res.text as string) : res.body;
      expect(body.error.code).toBe('E_FORBIDDEN');
      expect(JSON.stringify(body)).not.toContain(Buffer.from('secret-looking value').toString('base64'));
    }
  });

  it('installs never see each other: same extension in two tenants, two extensions in one tenant', async () => {
    const sa = await client(h, a);
    const sb = await client(h, b);
    const sc = await client(h, c);
    expect((await sa.put('cache', 'shared-name', 'from a')).body.revision).toBe(1);
    expect((await sb.put('cache', 'shared-name', 'from b')).body.revision).toBe(1);
    expect((await sc.put('cache', 'shared-name', 'from c')).body.revision).toBe(1);
    expect(text(await sa.get('cache', 'shared-name'))).toBe('from a');
    expect(text(await sb.get('cache', 'shared-name'))).toBe('from b');
    expect(text(await sc.get('cache', 'shared-name'))).toBe('from c');
    await sb.put('cache', 'only-b', 'b');
    await sc.put('cache', 'only-c', 'c');
    expect((await sa.get('cache', 'only-b')).body).toEqual({ entry: null });
    expect((await sa.get('cache', 'only-c')).body).toEqual({ entry: null });
    expect((await sa.list('cache')).body.keys).not.toContain('only-b');
    expect((await sa.list('cache')).body.keys).not.toContain('only-c');
    expect((await sb.list('cache')).body.keys).toEqual(['only-b', 'shared-name']);
    // CAS and delete act on one install's key only.
    expect((await sa.put('cache', 'only-b', 'a', 0)).body).toEqual({ revision: 1 });
    expect((await sa.del('cache', 'shared-name')).body).toEqual({ deleted: true });
    expect(text(await sb.get('cache', 'shared-name'))).toBe('from b');
    expect(text(await sc.get('cache', 'shared-name'))).toBe('from c');
    for (const i of [a, b, c]) {
      expect((await rows(h, i.id)).every((r) => r.tenant_id === i.tenantId)).toBe(true);
      await expectUsageConsistent(h, i.id);
    }
  });

  it('uninstall purges records and usage; a new install starts empty', async () => {
    const t = await h.tenant();
    const i = await install(t, STORE);
    const s = await client(h, i);
    for (let n = 0; n < 5; n++) await s.put('state', `k${n}`, 'value');
    expect(await rows(h, i.id)).toHaveLength(5);
    expect(await h.db.knex('ext_storage_usage').where({ install_id: i.id }).first()).toMatchObject({ key_count: 5, total_bytes: 5 * ('k0'.length + 'value'.length) });
    const del = await t.call('DELETE', `/api/v1/installs/${i.id}`);
    expect(del.status, del.text).toBeLessThan(300);
    expect(await rows(h, i.id)).toHaveLength(0);
    expect(await h.db.knex('ext_storage_usage').where({ install_id: i.id }).first()).toBeUndefined();
    expect((await s.get('state', 'k1')).status).toBe(403);
    const again = await install(t, STORE);
    const s2 = await client(h, again);
    expect((await s2.list('state')).body).toEqual({ keys: [], nextCursor: null });
    expect((await s2.get('state', 'k1')).body).toEqual({ entry: null });
  });
});

// ---------------------------------------------------------------------------------------------
// Tight quotas
// ---------------------------------------------------------------------------------------------

/** One install per tenant and extension: a new tenant for each quota scenario. */
async function freshInstall(h: GatewayHarness) {
  const i = await install(await h.tenant(), OTHER);
  return { i, s: await client(h, i) };
}

function expectQuota(res: Answer, which: string): void {
  expect(res.status).toBe(507);
  expect(res.body.error.code).toBe('E_QUOTA_EXCEEDED');
  expect(res.body.error.message).toContain(which);
}

describe('storage quotas', () => {
  let h: GatewayHarness;
  const quotas = { storageMaxKeys: 5, storageMaxValueBytes: 64, storageMaxTotalBytes: 200, storageMaxNamespaces: 2 };

  beforeAll(async () => {
    h = await startGatewayHarness({ runner: false, gateway: quotas });
    await publish(h, OTHER);
  });
  afterAll(() => h?.close());

  const fresh = () => freshInstall(h);

  it('keys: the 6th key is 507, overwriting and deleting still work, and usage stays exact', async () => {
    const { i, s } = await fresh();
    for (let n = 0; n < 5; n++) expect((await s.put('ns', `k${n}`, 'v')).status).toBe(200);
    expectQuota(await s.put('ns', 'k5', 'v'), 'keys');
    expect((await s.get('ns', 'k5')).body).toEqual({ entry: null });
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 5, total_bytes: 5 * 3 }); // 2-byte key + 1-byte value
    expect((await s.put('ns', 'k0', 'rewritten')).body).toEqual({ revision: 2 });
    expect((await s.del('ns', 'k1')).body).toEqual({ deleted: true });
    expect((await s.put('ns', 'k5', 'v')).status).toBe(200);
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 5, total_bytes: 2 + 9 + 4 * 3 });
  });

  it('value bytes: a value over the limit is 507 (also when the body is far larger) and the old value stays', async () => {
    const { i, s } = await fresh();
    expect((await s.put('ns', 'v', 'x'.repeat(64))).status).toBe(200);
    expectQuota(await s.put('ns', 'v', 'y'.repeat(65)), 'value size');
    expectQuota(await s.put('ns', 'v', 'z'.repeat(1024 * 1024)), 'value size');
    const got = await s.get('ns', 'v');
    expect(text(got)).toBe('x'.repeat(64));
    expect(got.body.entry.revision).toBe(1);
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 1, total_bytes: 1 + 64 });
  });

  it('value bytes: the per-value limit is on the value alone, while its key still counts toward the total', async () => {
    const { i, s } = await fresh();
    const longKey = 'k'.repeat(100);
    expect((await s.put('ns', longKey, 'x'.repeat(64))).status).toBe(200); // a full-size value under a long key
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 1, total_bytes: 164 });
    expectQuota(await s.put('ns', 'm'.repeat(30), 'y'.repeat(7)), 'total bytes'); // 164 + 37 > 200, though the value is small
    expect((await s.get('ns', 'm'.repeat(30))).body).toEqual({ entry: null });
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 1, total_bytes: 164 });
  });

  it('total bytes: a put that would pass the install total is 507, growing a key counts only the difference', async () => {
    const { i, s } = await fresh();
    // Every record costs its 1-byte key plus its value.
    for (const key of ['a', 'b', 'c']) expect((await s.put('ns', key, 'x'.repeat(59))).status).toBe(200);
    expectQuota(await s.put('ns', 'd', 'x'.repeat(20)), 'total bytes'); // 180 + 1 + 20
    expect((await s.get('ns', 'd')).body).toEqual({ entry: null });
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 3, total_bytes: 180 });
    expect((await s.put('ns', 'd', 'x'.repeat(19))).status).toBe(200); // exactly 200
    expectQuota(await s.put('ns', 'a', 'y'.repeat(60)), 'total bytes'); // 200 - 60 + 61
    const a = await s.get('ns', 'a');
    expect(text(a)).toBe('x'.repeat(59));
    expect(a.body.entry.revision).toBe(1);
    expect((await s.put('ns', 'a', 'x'.repeat(57))).status).toBe(200); // shrinking is fine
    expect((await s.put('ns', 'e', 'x')).status).toBe(200); // back to exactly 200
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 5, total_bytes: 200 });
  });

  it('namespaces: a third namespace is 507 until one is emptied', async () => {
    const { i, s } = await fresh();
    expect((await s.put('one', 'k', 'v')).status).toBe(200);
    expect((await s.put('two', 'k', 'v')).status).toBe(200);
    expect((await s.put('two', 'k2', 'v')).status).toBe(200);
    expectQuota(await s.put('three', 'k', 'v'), 'namespaces');
    expect((await s.list('three')).body.keys).toEqual([]);
    await s.del('two', 'k');
    expectQuota(await s.put('three', 'k', 'v'), 'namespaces');
    await s.del('two', 'k2');
    expect((await s.put('three', 'k', 'v')).status).toBe(200);
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 2, total_bytes: 2 * 2 });
  });

  it('20 concurrent puts against a 5-key quota: exactly 5 land, the usage row agrees', async () => {
    const { i, s } = await fresh();
    // Keys of one length, so the usage does not depend on which five win.
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => s.put('race', `k${String(n).padStart(2, '0')}`, 'v')));
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status === 507)).toHaveLength(15);
    expect(await rows(h, i.id)).toHaveLength(5);
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 5, total_bytes: 5 * 4 });
  });

  it('20 concurrent compare-and-set creates of one key: exactly one wins', async () => {
    const { i, s } = await fresh();
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => s.put('race', 'one', `writer ${n}`, 0)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(19);
    const winner = results.findIndex((r) => r.status === 200);
    expect(text(await s.get('race', 'one'))).toBe(`writer ${winner}`);
    // Then 20 concurrent increments with CAS retries: no lost update.
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (;;) {
        const cur = await s.get('race', 'one');
        const res = await s.put('race', 'one', 'next', cur.body.entry.revision);
        if (res.status === 200) return;
        expect(res.status).toBe(409);
      }
    }));
    expect((await s.get('race', 'one')).body.entry.revision).toBe(11);
    await expectUsageConsistent(h, i.id);
  });
});

// ---------------------------------------------------------------------------------------------
// Key bytes count toward the quotas
// ---------------------------------------------------------------------------------------------

describe('storage quotas count key bytes', () => {
  let h: GatewayHarness;
  // Keys are not the limit here (100): only bytes are.
  const quotas = { storageMaxKeys: 100, storageMaxValueBytes: 1024, storageMaxTotalBytes: 2048, storageMaxNamespaces: 2 };

  beforeAll(async () => {
    h = await startGatewayHarness({ runner: false, gateway: quotas });
    await publish(h, OTHER);
  });
  afterAll(() => h?.close());

  const fresh = () => freshInstall(h);

  it('empty values under 512-character keys are not free: the 5th such key passes maxTotalBytes and is 507 E_QUOTA_EXCEEDED, changing nothing', async () => {
    const { i, s } = await fresh();
    const longKey = (n: number) => `${n}`.padEnd(512, 'x'); // 512 bytes each
    for (let n = 0; n < 4; n++) expect((await s.put('ns', longKey(n), '')).status).toBe(200); // 4 × 512 = 2048, the limit
    const refused = await s.put('ns', longKey(4), '');
    expect(refused.status).toBe(507);
    expect(refused.body.error.code).toBe('E_QUOTA_EXCEEDED');
    expect(refused.body.error.message).toContain('total bytes');
    expect((await s.get('ns', longKey(4))).body).toEqual({ entry: null });
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 4, total_bytes: 2048 });
    // Multi-byte keys count in UTF-8 bytes, not characters: 1 character of '🔑' is 4 bytes.
    expect((await s.del('ns', longKey(3))).body).toEqual({ deleted: true });
    expect((await s.put('ns', '🔑'.repeat(128), '')).status).toBe(200); // 512 bytes: fits exactly
    expectQuota(await s.put('ns', '🔑', ''), 'total bytes');
    expect(await expectUsageConsistent(h, i.id)).toEqual({ key_count: 4, total_bytes: 2048 });
  });

  it('usage after put, overwrite and delete equals key bytes + value bytes', async () => {
    const { i, s } = await fresh();
    const usage = async () => h.db.knex('ext_storage_usage').where({ install_id: i.id }).first('key_count', 'total_bytes');
    expect((await s.put('ns', 'ключ', 'abc')).status).toBe(200); // 8-byte key + 3
    expect(await usage()).toEqual({ key_count: 1, total_bytes: 11 });
    expect((await s.put('ns', 'ключ', 'abcdef')).status).toBe(200); // overwrite: the key is counted once
    expect(await usage()).toEqual({ key_count: 1, total_bytes: 14 });
    expect((await s.put('ns', 'k2', '')).status).toBe(200);
    expect(await usage()).toEqual({ key_count: 2, total_bytes: 16 });
    expect((await s.del('ns', 'ключ')).body).toEqual({ deleted: true });
    expect(await usage()).toEqual({ key_count: 1, total_bytes: 2 });
    expect((await s.del('ns', 'k2')).body).toEqual({ deleted: true });
    expect(await usage()).toEqual({ key_count: 0, total_bytes: 0 });
    await expectUsageConsistent(h, i.id);
  });
});

// ---------------------------------------------------------------------------------------------
// StorageService without HTTP
// ---------------------------------------------------------------------------------------------

describe('StorageService', () => {
  let h: GatewayHarness;
  let scope: StorageScope;
  let service: StorageService;
  const quotas = { maxKeys: 3, maxValueBytes: 16, maxTotalBytes: 64, maxNamespaces: 2 };

  beforeAll(async () => {
    h = await startGatewayHarness({ runner: false });
    await publish(h, OTHER);
    const i = await install(await h.tenant(), OTHER);
    scope = { tenantId: i.tenantId, installId: i.id, namespaces: null };
    service = new StorageService({ knex: h.db.knex, quotas });
  });
  afterAll(() => h?.close());

  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'ok';
    } catch (e) {
      return e instanceof AlgaError ? e.code : String(e);
    }
  };

  it('round trip with Buffers and numeric revisions', async () => {
    expect(await service.put(scope, 'svc', 'k', Buffer.from('v1'))).toBe(1);
    expect(await service.put(scope, 'svc', 'k', new Uint8Array([1, 2, 3]), 1)).toBe(2);
    expect(await service.get(scope, 'svc', 'k')).toEqual({ key: 'k', value: Buffer.from([1, 2, 3]), revision: 2 });
    expect(await service.list(scope, 'svc')).toEqual({ keys: ['k'], nextCursor: null });
    expect(await code(service.put(scope, 'svc', 'k', Buffer.from('x'), 1))).toBe('E_CONFLICT');
    expect(await service.delete(scope, 'svc', 'k', 2)).toBe(true);
    expect(await service.get(scope, 'svc', 'k')).toBeNull();
  });

  it('a write whose beforeCommit rejects is rolled back: the record and the usage stay as they were, and the rejection is what the caller gets', async () => {
    const ns = 'commit-hook';
    expect(await service.put(scope, ns, 'kept', Buffer.from('v1'))).toBe(1);
    const usageBefore = await h.db.knex('ext_storage_usage').where({ install_id: scope.installId }).first('key_count', 'total_bytes');
    const refusal = new AlgaError('E_FORBIDDEN', 'the install is no longer granted cap:storage.kv');
    let calls = 0;
    const refuse = async () => { calls += 1; throw refusal; };
    await expect(service.put(scope, ns, 'kept', Buffer.from('v2'), undefined, { beforeCommit: refuse })).rejects.toBe(refusal);
    await expect(service.put(scope, ns, 'new', Buffer.from('n'), undefined, { beforeCommit: refuse })).rejects.toBe(refusal);
    await expect(service.delete(scope, ns, 'kept', undefined, { beforeCommit: refuse })).rejects.toBe(refusal);
    expect(calls).toBe(3);
    expect(await service.get(scope, ns, 'kept')).toEqual({ key: 'kept', value: Buffer.from('v1'), revision: 1 });
    expect(await service.get(scope, ns, 'new')).toBeNull();
    expect(await h.db.knex('ext_storage_usage').where({ install_id: scope.installId }).first('key_count', 'total_bytes')).toEqual(usageBefore);
    // A hook that passes lets the write commit. (No read from inside the hook: PGlite has one connection.)
    let passed = 0;
    expect(await service.put(scope, ns, 'kept', Buffer.from('v3'), 1, { beforeCommit: async () => { passed += 1; } })).toBe(2);
    expect(passed).toBe(1);
    expect(await service.get(scope, ns, 'kept')).toEqual({ key: 'kept', value: Buffer.from('v3'), revision: 2 });
    expect(await service.delete(scope, ns, 'kept', 2)).toBe(true);
  });

  it('checks the manifest namespace list it is given', async () => {
    const limited = { ...scope, namespaces: ['allowed'] };
    expect(await code(service.get(limited, 'elsewhere', 'k'))).toBe('E_FORBIDDEN');
    expect(await code(service.get(limited, 'BAD', 'k'))).toBe('E_VALIDATION');
    expect(await code(service.get(limited, 'allowed', 'k'))).toBe('ok');
  });

  it('expired rows are absent for get, list, CAS and delete, and their quota is reclaimed when needed', async () => {
    const knex = h.db.knex;
    await knex('ext_storage_records').where({ install_id: scope.installId }).delete();
    await knex('ext_storage_usage').where({ install_id: scope.installId }).delete();
    await service.put(scope, 'ttl', 'live', Buffer.from('1234567890'));
    await service.put(scope, 'ttl', 'old', Buffer.from('1234567890'));
    await service.put(scope, 'ttl', 'older', Buffer.from('1234567890'));
    await knex('ext_storage_records').where({ install_id: scope.installId }).whereIn('key', ['old', 'older']).update({ expires_at: new Date(Date.now() - 1000), revision: 9 });
    expect(await service.get(scope, 'ttl', 'old')).toBeNull();
    expect((await service.list(scope, 'ttl')).keys).toEqual(['live']);
    expect(await code(service.delete(scope, 'ttl', 'old', 9))).toBe('E_CONFLICT');
    expect(await service.delete(scope, 'ttl', 'old')).toBe(false);
    // "older" is expired: CAS 0 succeeds and the revision starts over.
    expect(await service.put(scope, 'ttl', 'older', Buffer.from('x'), 0)).toBe(1);
    expect(await service.get(scope, 'ttl', 'older')).toMatchObject({ revision: 1, value: Buffer.from('x') });
    // Fill to the key quota with an expired row in the way: it is purged rather than refusing.
    await service.put(scope, 'ttl', 'third', Buffer.from('x'));
    await knex('ext_storage_records').where({ install_id: scope.installId, key: 'third' }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await service.put(scope, 'ttl', 'fourth', Buffer.from('x'))).toBe(1);
    expect(await code(service.put(scope, 'ttl', 'fifth', Buffer.from('x')))).toBe('E_QUOTA_EXCEEDED');
    expect(await knex('ext_storage_records').where({ install_id: scope.installId }).orderBy('key').pluck('key')).toEqual(['fourth', 'live', 'older']);
    // fourth (6 + 1), live (4 + 10), older (5 + 1): keys count, and the purge gave back the key bytes of old and third too.
    expect(await knex('ext_storage_usage').where({ install_id: scope.installId }).first('key_count', 'total_bytes')).toEqual({ key_count: 3, total_bytes: 27 });
  });

  it('the expiry purge reclaims key bytes: a put refused on total bytes only because of an expired long key succeeds, and usage stays exact', async () => {
    const knex = h.db.knex;
    await knex('ext_storage_records').where({ install_id: scope.installId }).delete();
    await knex('ext_storage_usage').where({ install_id: scope.installId }).delete();
    // Only the total can refuse here: plenty of keys, and a per-value limit as large as the total.
    const bytesOnly = new StorageService({ knex, quotas: { maxKeys: 10, maxValueBytes: 64, maxTotalBytes: 64, maxNamespaces: 2 } });
    const stale = 's'.repeat(40);
    await bytesOnly.put(scope, 'ttl', stale, new Uint8Array(0)); // 40 bytes of the 64
    await knex('ext_storage_records').where({ install_id: scope.installId, key: stale }).update({ expires_at: new Date(Date.now() - 1000) });
    expect(await bytesOnly.put(scope, 'ttl', 'n'.repeat(30), new Uint8Array(0))).toBe(1); // 40 + 30 > 64: purge, then 30
    expect(await knex('ext_storage_records').where({ install_id: scope.installId }).pluck('key')).toEqual(['n'.repeat(30)]);
    expect(await knex('ext_storage_usage').where({ install_id: scope.installId }).first('key_count', 'total_bytes')).toEqual({ key_count: 1, total_bytes: 30 });
  });

  it('validates keys as Unicode text: code points, no NUL, no lone surrogates', async () => {
    expect(await code(service.get(scope, 'v', '\ud800'))).toBe('E_VALIDATION');
    expect(await code(service.get(scope, 'v', 'a\u0000b'))).toBe('E_VALIDATION');
    expect(await code(service.get(scope, 'v', '😀'.repeat(512)))).toBe('ok');
    expect(await code(service.get(scope, 'v', '😀'.repeat(513)))).toBe('E_VALIDATION');
    expect(await code(service.list(scope, 'v', { cursor: encodeCursor('x').slice(0, -1) + '!' }))).toBe('E_VALIDATION');
    expect(await code(service.list(scope, 'v', { cursor: encodeCursor('fine') }))).toBe('ok');
    expect(await code(service.put(scope, 'v', 'k', new Uint8Array(17)))).toBe('E_QUOTA_EXCEEDED');
  });
});
