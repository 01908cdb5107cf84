/**
 * The audit trail through a real gateway and runner (issue 11): one row per request past the
 * rate limit, with its outcome, written behind the answer in multi-row INSERTs; none for requests
 * refused before it; visible to the activity API right after the answer; flushed when the
 * gateway closes; and when the table refuses rows, requests still answer while the loss is
 * counted in /metrics and logged without secrets, and rows are written again once it recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 1000 }, adminWeb: false });
  await h.publishSample('hello');
  t = await h.tenant();
  installId = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
});
afterAll(() => h?.close());

const executions = async (query = '') => (await t.call('GET', `/api/v1/installs/${installId}/executions?limit=500${query}`)).body.executions as Array<{ id: number; requestId: string; route: string; status: number; errorCode: string | null; durationMs: number; at: string }>;

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${h.operatorToken}` } })).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('audit rows of proxied requests', () => {
  it('one row per request, with its outcome and arrival time, readable through the activity API right after the answer', async () => {
    const before = Date.now();
    const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id')!;
    // No polling: the activity API flushes what is queued before it reads.
    const rows = (await executions()).filter((e) => e.requestId === requestId);
    expect(rows).toEqual([expect.objectContaining({ route: 'GET /hello', status: 200, errorCode: null })]);
    expect(new Date(rows[0].at).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(rows[0].at).getTime()).toBeLessThanOrEqual(Date.now());
    expect(rows[0].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('requests refused before the audit point leave no row; a runner error leaves exactly one, with its code', async () => {
    const count = (await executions()).length;
    const { key } = (await t.call('POST', '/api/v1/api-keys', { name: 'ro', roles: ['extension:read'] })).body;
    expect((await t.call('GET', '/api/ext/com.alga.samples.hello/not-declared')).body.error.code).toBe('E_ENDPOINT_NOT_DECLARED');
    expect((await fetch(`${h.url}/api/ext/com.alga.samples.hello/echo/x`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: 'x' })).status).toBe(403);
    expect((await t.call('GET', '/api/ext/com.nobody.nothing/hello')).body.error.code).toBe('E_INSTALL_DISABLED');
    expect((await executions()).length).toBe(count);
    expect((await t.call('POST', '/api/ext/com.alga.samples.hello/echo/x', 'x')).status).toBe(200);
    expect((await executions()).length).toBe(count + 1);
  });

  it('concurrent requests: every one has its row, written in fewer INSERTs than requests', async () => {
    let inserts = 0;
    const onQuery = (q: { sql: string }) => { if (q.sql.startsWith('insert into "extension_execution_log"')) inserts++; };
    h.gateway.knex.on('query', onQuery);
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, () => t.call('GET', '/api/ext/com.alga.samples.hello/hello')));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      const ids = new Set((await executions()).map((e) => e.requestId));
      for (const a of answers) expect(ids.has(a.headers.get('x-request-id')!)).toBe(true);
    } finally {
      h.gateway.knex.off('query', onQuery);
    }
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(40);
  });

  it('a table that refuses rows: requests still answer, the loss is counted and logged once without secrets, and rows come back with the table', async () => {
    const dropped = await metric('alga_gateway_write_behind_rows_total', { table: 'extension_execution_log', result: 'dropped' });
    const logged = h.logs.length;
    await h.gateway.auditLog.flush();
    await h.db.knex.schema.renameTable('extension_execution_log', 'extension_execution_log_away');
    let lost: string;
    try {
      const res = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
      expect(res.status).toBe(200);
      lost = res.headers.get('x-request-id')!;
      await h.gateway.auditLog.flush();
    } finally {
      await h.db.knex.schema.renameTable('extension_execution_log_away', 'extension_execution_log');
    }
    expect(await metric('alga_gateway_write_behind_rows_total', { table: 'extension_execution_log', result: 'dropped' })).toBe(dropped + 1);
    const lines = h.logs.slice(logged).filter((l) => l.includes('extension_execution_log'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"code":"42P01"');
    for (const line of lines) {
      expect(line).not.toContain(t.adminKey);
      expect(line).not.toContain(lost);
    }
    const after = await t.call('GET', '/api/ext/com.alga.samples.hello/hello');
    const rows = await executions();
    expect(rows.map((e) => e.requestId)).toContain(after.headers.get('x-request-id'));
    expect(rows.map((e) => e.requestId)).not.toContain(lost);
  });

  it('closing the gateway writes the rows of the requests it answered', async () => {
    const g = await startGatewayHarness({ adminWeb: false });
    try {
      await g.publishSample('hello');
      const tenant = await g.tenant();
      await tenant.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
      const res = await tenant.call('GET', '/api/ext/com.alga.samples.hello/hello');
      await g.gateway.close();
      expect(await g.db.knex('extension_execution_log').where({ request_id: res.headers.get('x-request-id') }).first('status')).toEqual({ status: 200 });
    } finally {
      await g.close();
    }
  });
});
