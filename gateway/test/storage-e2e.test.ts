/**
 * Storage end to end: a real component importing `alga:extension/storage`, published and
 * installed on a real gateway, called through the proxy route; the runner's storage provider
 * calls back into the gateway's internal storage API with the execution token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { bundleOf, fixtureComponent, storageGuest } from '../../test-setup/fixture-components.ts';

const NAME = 'com.acme.storage-guest';
const manifest = {
  name: NAME,
  publisher: 'Alga Samples',
  version: '1.0.0',
  runtime: 'wasm-js@1',
  capabilities: ['cap:storage.kv'],
  storage: { namespaces: ['state', 'cache'] },
  api: {
    endpoints: [
      { method: 'GET', path: '/kv/:key' },
      { method: 'PUT', path: '/kv/:key' },
      { method: 'DELETE', path: '/kv/:key' },
      { method: 'GET', path: '/list' },
      { method: 'POST', path: '/scenario' },
    ],
  },
};

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { storageMaxKeys: 20 } });
  const res = await h.publish(await bundleOf(manifest, await fixtureComponent(storageGuest)));
  expect(res.status, await res.clone().text()).toBe(201);
  t = await h.tenant();
  const inst = await t.call('POST', '/api/v1/extensions/install', { extension: NAME });
  expect(inst.status, inst.text).toBe(201);
  installId = inst.body.id;
});
afterAll(() => h?.close());

const ext = (method: string, path: string, body?: string) => t.call(method, `/api/ext/${NAME}${path}`, body);

describe('a component using storage through the proxy', () => {
  it('writes in one request, reads in the next; values land in ext_storage_records for this install', async () => {
    const put = await ext('PUT', '/kv/greeting?expect=0', 'hello from the guest');
    expect(put.status, put.text).toBe(200);
    expect(put.body).toEqual({ revision: '1' });

    const got = await ext('GET', '/kv/greeting');
    expect(got.status, got.text).toBe(200);
    expect(got.body).toEqual({ found: true, key: 'greeting', value: 'hello from the guest', revision: '1' });

    const row = await h.db.knex('ext_storage_records').where({ install_id: installId, namespace: 'state', key: 'greeting' }).first();
    expect(row).toMatchObject({ tenant_id: t.tenantId, revision: 1 });
    expect(Buffer.from(row.value).toString('utf8')).toBe('hello from the guest');

    // CAS through the guest: stale revision → the guest sees the WIT error `conflict`.
    expect((await ext('PUT', '/kv/greeting?expect=0', 'again')).body).toMatchObject({ error: 'conflict' });
    expect((await ext('PUT', '/kv/greeting?expect=1', 'second')).body).toEqual({ revision: '2' });
    expect((await ext('GET', '/kv/greeting')).body).toMatchObject({ value: 'second', revision: '2' });
    expect((await ext('GET', '/kv/missing')).body).toEqual({ found: false });
  });

  it('runs a compare-and-set sequence inside one request, with list, delete and error variants', async () => {
    const res = await ext('POST', '/scenario?id=s1');
    expect(res.status, res.text).toBe(200);
    const [create, createAgain, update, stale, read, listed, deleteStale, deleted, gone, undeclared, badKey] = res.body.steps;
    expect(create).toEqual({ create: '1' });
    expect(createAgain).toMatchObject({ error: 'conflict' });
    expect(update).toEqual({ update: '2' });
    expect(stale).toMatchObject({ error: 'conflict' });
    expect(read).toEqual({ found: true, key: 'scenario:s1', value: 'two', revision: '2' });
    expect(listed).toEqual({ keys: ['scenario:s1'] });
    expect(deleteStale).toMatchObject({ error: 'conflict' });
    expect(deleted).toEqual({ deleted: true });
    expect(gone).toEqual({ found: false });
    expect(undeclared).toMatchObject({ error: 'denied' });
    expect(badKey.error).toBe('invalid');
    expect(badKey.message).toMatch(/key/);
    expect(await h.db.knex('ext_storage_records').where({ install_id: installId, key: 'scenario:s1' }).first()).toBeUndefined();
  });

  it('lists with paging and reports quota-exceeded to the guest', async () => {
    for (let i = 0; i < 5; i++) expect((await ext('PUT', `/kv/page-${i}?ns=cache`, `v${i}`)).body).toEqual({ revision: '1' });
    const first = await ext('GET', '/list?ns=cache&prefix=page-&limit=2');
    expect(first.body).toEqual({ keys: ['page-0', 'page-1'], nextCursor: expect.any(String) });
    const second = await ext('GET', `/list?ns=cache&prefix=page-&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.keys).toEqual(['page-2', 'page-3']);
    const third = await ext('GET', `/list?ns=cache&prefix=page-&limit=2&cursor=${encodeURIComponent(second.body.nextCursor)}`);
    expect(third.body).toEqual({ keys: ['page-4'], nextCursor: null });

    const have = await h.db.knex('ext_storage_records').where({ install_id: installId }).count({ n: '*' }).first();
    for (let i = Number(have!.n); i < 20; i++) expect((await ext('PUT', `/kv/fill-${i}?ns=cache`, 'x')).status).toBe(200);
    const over = await ext('PUT', '/kv/one-too-many?ns=cache', 'x');
    expect(over.status).toBe(200);
    expect(over.body.error).toBe('quota-exceeded');
    expect(over.body.message).toMatch(/keys/);
    expect(await h.db.knex('ext_storage_records').where({ install_id: installId }).count({ n: '*' }).first()).toEqual({ n: 20 });
    expect((await ext('DELETE', '/kv/page-0?ns=cache')).body).toEqual({ deleted: true });
    expect((await ext('PUT', '/kv/one-too-many?ns=cache', 'x')).body).toEqual({ revision: '1' });
  });
});
