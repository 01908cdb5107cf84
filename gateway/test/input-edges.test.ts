/**
 * Bad input gets a clear 4xx and never a 500 (issue 8): NUL bytes and broken percent-encoding
 * in ids, oversized proxied bodies (413 E_BODY_TOO_LARGE), a rate limiter that never resets
 * everyone at once, and knex's own warnings routed through the structured logger.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { RateLimiter } from '../src/proxy/rate-limiter.ts';
import { openDatabase, type DatabaseLogger } from '../src/db/database.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

beforeAll(async () => {
  h = await startGatewayHarness();
  await h.publishSample('hello');
  t = await h.tenant();
  installId = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
});
afterAll(() => h?.close());

const unhandled = () => h.logs.filter((l) => l.includes('unhandled error'));

describe('NUL bytes and broken percent-encoding in ids', () => {
  it('answer 400 E_BAD_REQUEST on every route, the public ext-ui one included, and log no SQL', async () => {
    const before = unhandled().length;
    for (const path of [
      '/api/ext/com.alga.samples.hello%00/hello',
      '/api/ext/%00/hello',
      '/api/v1/registry/extensions/a%00b',
      `/ext-ui/a%00b/${'0'.repeat(64)}/index.html`,
      `/api/v1/installs/${installId}%00`,
    ]) {
      const res = await t.call('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code).toBe('E_BAD_REQUEST');
      expect(res.body.error.message).toContain('NUL');
    }
    for (const path of ['/api/ext/%C0%AF/hello', '/api/ext/%ZZ/hello', '/api/v1/registry/extensions/%E0%A4%A']) {
      const res = await t.call('GET', path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.message).toMatch(/percent-encoding/);
      expect(res.body.error.message).not.toMatch(/JSON/);
    }
    expect(unhandled().length).toBe(before);
  });

  it('a NUL byte inside a JSON value the database cannot store is 400, not 500', async () => {
    const res = await t.call('PUT', `/api/v1/installs/${installId}/settings`, { greeting: 'a\u0000b' });
    expect(res.status).toBe(400);
    expect(['E_BAD_REQUEST', 'E_VALIDATION']).toContain(res.body.error.code);
    expect((await t.call('GET', `/api/v1/installs/${installId}/settings`)).body.config.greeting).not.toContain('\u0000');
  });

  it('a malformed id where a uuid is stored is a clear 4xx, not 500', async () => {
    const res = await t.call('DELETE', '/api/v1/api-keys/not-a-uuid');
    expect([400, 404]).toContain(res.status);
    expect(unhandled()).toHaveLength(0);
  });
});

describe('oversized bodies', () => {
  it('a proxied body over the limit is 413 E_BODY_TOO_LARGE', async () => {
    const res = await t.call('POST', '/api/ext/com.alga.samples.hello/echo/x', new Uint8Array(10 * 1024 * 1024 + 1), { 'content-type': 'application/octet-stream' });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('E_BODY_TOO_LARGE');
    expect(res.body.error.message).toContain('10485760');
  });

  it('so is a JSON body over its route limit', async () => {
    const res = await t.call('PUT', `/api/v1/installs/${installId}/settings`, { greeting: 'x'.repeat(2 * 1024 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('E_BODY_TOO_LARGE');
  });

  it('a body that is not JSON on a JSON route still says so', async () => {
    const res = await t.call('PUT', `/api/v1/installs/${installId}/settings`, '{nope', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/must be a JSON object or array/);
  });
});

describe('rate limiter', () => {
  it("filling it with keys never resets another install's spent budget", () => {
    const limiter = new RateLimiter(2, { maxBuckets: 1000 });
    const now = Date.now();
    expect(limiter.take('busy', now)).toBe(0);
    expect(limiter.take('busy', now)).toBe(0);
    expect(limiter.take('busy', now)).toBeGreaterThan(0);
    for (let i = 0; i < 5000; i++) {
      limiter.take(`other-${i}`, now);
      if (i % 500 === 0) limiter.take('busy', now); // still in use: stays in the LRU
    }
    expect(limiter.size).toBeLessThanOrEqual(1000);
    expect(limiter.take('busy', now)).toBeGreaterThan(0);
  });
});

describe("knex's own warnings", () => {
  it('go to the structured logger, each repeated message once per window with a count, never to the console', async () => {
    const lines: Array<{ obj: object; msg: string }> = [];
    const logger: DatabaseLogger = { warn: (obj, msg) => lines.push({ obj, msg }), error: (obj, msg) => lines.push({ obj, msg }) };
    const consoleWarn = vi.spyOn(console, 'warn');
    const db = await openDatabase({ url: 'postgres://alga:alga@127.0.0.1:1/none', logger });
    try {
      const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => db.knex.raw('select 1')));
      expect(attempts.every((a) => a.status === 'rejected')).toBe(true);
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines[0].msg).toMatch(/Acquire connection error/);
      expect(lines[0].msg).not.toContain('\n');
      expect(lines[0].obj).toMatchObject({ component: 'knex' });
      expect(consoleWarn).not.toHaveBeenCalled();
    } finally {
      consoleWarn.mockRestore();
      await db.close();
    }
  });
});
