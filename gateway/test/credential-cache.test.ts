/**
 * Verified API keys and sessions are remembered for a bounded time (issue 11) on a real
 * database: a second ApiKeys / Sessions over the same database stands for another gateway
 * replica. A revocation or logout through a replica holds on its very next request; on another
 * replica within the cache TTL; an expiry holds at its time whatever is cached.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../src/db/test-database.ts';
import type { Database } from '../src/db/database.ts';
import { ApiKeys } from '../src/identity/api-keys.ts';
import { Sessions } from '../src/identity/sessions.ts';
import { createTenant } from '../src/identity/tenants.ts';

let db: Database;
let tenantId: string;
const ttlMs = 400;
beforeAll(async () => {
  db = await openTestDatabase();
  ({ tenantId } = await createTenant(db.knex, new ApiKeys(db.knex, 90), 'Cache Tenant'));
});
afterAll(() => db?.close());

/** Statements sent while `fn` runs. */
async function queries(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const onQuery = () => { n++; };
  db.knex.on('query', onQuery);
  try { await fn(); } finally { db.knex.off('query', onQuery); }
  return n;
}
const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (err: { code?: string; message?: string }) => `${err.code}: ${err.message}`);

describe('API key verification cache', () => {
  it('a verified key costs no database round trip until the TTL, and a revocation through the same ApiKeys holds at once', async () => {
    const keys = new ApiKeys(db.knex, 90, { cacheTtlMs: 60_000 });
    const { key, record } = await keys.create({ tenantId, name: 'ci', roles: ['extension:read'] });
    expect(await queries(() => keys.verify(key))).toBe(1);
    expect(await queries(() => keys.verify(key))).toBe(0);
    expect((await keys.verify(key)).apiKeyId).toBe(record.id);
    await keys.revoke(tenantId, record.id);
    expect(await refusal(keys.verify(key))).toBe('E_AUTH: API key has been revoked');
  });

  it('a revocation through another replica takes effect within the TTL', async () => {
    const here = new ApiKeys(db.knex, 90, { cacheTtlMs: ttlMs });
    const there = new ApiKeys(db.knex, 90, { cacheTtlMs: ttlMs });
    const { key, record } = await here.create({ tenantId, name: 'replicas', roles: ['extension:read'] });
    await here.verify(key);
    await there.revoke(tenantId, record.id);
    expect(await refusal(there.verify(key))).toBe('E_AUTH: API key has been revoked');
    const revokedAt = Date.now();
    await expect.poll(() => refusal(here.verify(key)), { timeout: ttlMs + 1000, interval: 25 }).toBe('E_AUTH: API key has been revoked');
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(ttlMs + 300);
  });

  it('a cached key stops at its expiry', async () => {
    const keys = new ApiKeys(db.knex, 90, { cacheTtlMs: 60_000 });
    const { key, record } = await keys.create({ tenantId, name: 'expiring', roles: ['extension:read'] });
    await db.knex('api_key').where({ id: record.id }).update({ expires_at: new Date(Date.now() + 300) });
    await keys.verify(key);
    expect(await queries(() => keys.verify(key))).toBe(0);
    await new Promise((r) => setTimeout(r, 350));
    expect(await refusal(keys.verify(key))).toBe('E_AUTH: API key has expired');
  });

  it('failures are never cached, and the cache holds no plaintext key', async () => {
    const keys = new ApiKeys(db.knex, 90, { cacheTtlMs: 60_000 });
    const { key } = await keys.create({ tenantId, name: 'probe', roles: ['extension:admin'] });
    const forged = `${key.slice(0, -4)}AAAA`;
    expect(await queries(() => refusal(keys.verify(forged)))).toBe(1);
    expect(await queries(() => refusal(keys.verify(forged)))).toBe(1);
    await keys.verify(key);
    const secretPart = key.slice('alga_'.length + 13);
    expect(inspect((keys as unknown as { verified: unknown }).verified, { depth: 6 })).not.toContain(secretPart);
  });

  it('cacheTtlMs 0 asks the database every time', async () => {
    const keys = new ApiKeys(db.knex, 90, { cacheTtlMs: 0 });
    const { key } = await keys.create({ tenantId, name: 'uncached', roles: ['extension:read'] });
    await keys.verify(key);
    expect(await queries(() => keys.verify(key))).toBe(1);
  });
});

describe('session verification cache', () => {
  it('logout holds at once on its replica and within the TTL on another; the key\'s revocation ends its sessions at once', async () => {
    const keys = new ApiKeys(db.knex, 90, { cacheTtlMs: ttlMs });
    const here = new Sessions(db.knex, 60, { cacheTtlMs: ttlMs });
    const there = new Sessions(db.knex, 60, { cacheTtlMs: ttlMs });
    keys.onRevoked((id) => here.forgetApiKey(id));
    const { key } = await keys.create({ tenantId, name: 'browser', roles: ['extension:admin'] });
    const principal = await keys.verify(key);

    const a = await here.issue(principal);
    await here.verify(a.token);
    expect(await queries(() => here.verify(a.token))).toBe(0);
    await there.verify(a.token);
    await here.revoke(a.token);
    expect(await refusal(here.verify(a.token))).toMatch(/^E_AUTH: session is invalid or has ended/);
    await expect.poll(() => refusal(there.verify(a.token)), { timeout: ttlMs + 1000, interval: 25 }).toMatch(/^E_AUTH/);

    const b = await here.issue(principal);
    await here.verify(b.token);
    await keys.revoke(tenantId, principal.apiKeyId);
    expect(await refusal(here.verify(b.token))).toBe('E_AUTH: the API key behind this session was revoked or expired');
  });

  it('a cached session stops at its own expiry', async () => {
    const keys = new ApiKeys(db.knex, 90);
    const sessions = new Sessions(db.knex, 60, { cacheTtlMs: 60_000 });
    const principal = await keys.verify((await keys.create({ tenantId, name: 'short-session', roles: ['extension:read'] })).key);
    const s = await sessions.issue(principal);
    await db.knex('api_session').where({ api_key_id: principal.apiKeyId }).update({ expires_at: new Date(Date.now() + 300) });
    await sessions.verify(s.token);
    expect(await queries(() => sessions.verify(s.token))).toBe(0);
    await new Promise((r) => setTimeout(r, 350));
    expect(await refusal(sessions.verify(s.token))).toMatch(/^E_AUTH: session is invalid or has ended/);
  });
});
