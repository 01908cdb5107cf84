/**
 * The write-behind table (gateway/src/audit/write-behind.ts) on a real database (PGlite, or
 * PostgreSQL with ALGA_TEST_DATABASE_URL): rows are written as one multi-row INSERT per flush,
 * promptly and on close; a row the database refuses is isolated, counted and logged without its
 * values; a failing table loses only what it refused and writes again once it recovers; a full
 * queue writes through; an unreachable database keeps the rows and writes them when it is back.
 */
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../src/db/test-database.ts';
import { openDatabase, type Database } from '../src/db/database.ts';
import { WriteBehindTable, type WriteBehindOptions } from '../src/audit/write-behind.ts';
import { createGatewayMetrics } from '../src/metrics.ts';

let db: Database;
beforeAll(async () => { db = await openTestDatabase(); });
afterAll(() => db?.close());

const tenantId = randomUUID();
let lines: Array<Record<string, unknown>>;
let metrics: ReturnType<typeof createGatewayMetrics>;
beforeEach(() => {
  lines = [];
  metrics = createGatewayMetrics();
});
const logger = { warn: (obj: object, msg: string) => { lines.push({ ...obj, msg }); } };

function auditTable(options: Partial<WriteBehindOptions> = {}) {
  return new WriteBehindTable({ knex: db.knex, table: 'extension_execution_log', logger, metrics: metrics.writeBehind, ...options });
}
const row = (route: string, installId: string) => ({ tenant_id: tenantId, install_id: installId, request_id: randomUUID(), method: 'GET', route, status: 200, duration_ms: 1, error_code: null, created_at: new Date() });
const rowsOf = async (installId: string) => (await db.knex('extension_execution_log').where({ install_id: installId }).orderBy('id')).map((r) => r.route as string);
async function counted(result: 'written' | 'dropped', table = 'extension_execution_log'): Promise<number> {
  return (await metrics.writeBehind.rows.get()).values.find((v) => v.labels.table === table && v.labels.result === result)?.value ?? 0;
}
/** INSERT statements knex sends into `table` while `fn` runs. */
async function inserts(table: string, fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const onQuery = (q: { sql: string }) => { if (q.sql.startsWith(`insert into "${table}"`)) n++; };
  db.knex.on('query', onQuery);
  try { await fn(); } finally { db.knex.off('query', onQuery); }
  return n;
}

describe('write-behind rows', () => {
  it('are written as one multi-row INSERT per batch, within the flush interval, without anyone asking', async () => {
    const installId = randomUUID();
    const table = auditTable({ flushIntervalMs: 50, maxBatchRows: 100 });
    const n = await inserts('extension_execution_log', async () => {
      for (let i = 0; i < 250; i++) expect(table.add(row(`GET /r${i}`, installId))).toBeUndefined();
      await expect.poll(() => rowsOf(installId), { timeout: 2000, interval: 20 }).toHaveLength(250);
    });
    expect(n).toBe(3);
    expect(await rowsOf(installId)).toEqual(Array.from({ length: 250 }, (_, i) => `GET /r${i}`));
    expect(await counted('written')).toBe(250);
    expect(table.queued).toBe(0);
  });

  it('flush() makes every row queued before it visible at once (readers flush first)', async () => {
    const installId = randomUUID();
    const table = auditTable({ flushIntervalMs: 60_000 });
    table.add(row('GET /a', installId), row('GET /b', installId));
    expect(await rowsOf(installId)).toEqual([]);
    await table.flush();
    expect(await rowsOf(installId)).toEqual(['GET /a', 'GET /b']);
  });

  it('close() writes what is queued, and any row after it goes straight in', async () => {
    const installId = randomUUID();
    const table = auditTable({ flushIntervalMs: 60_000 });
    table.add(row('GET /queued', installId));
    await table.close();
    expect(await rowsOf(installId)).toEqual(['GET /queued']);
    await table.add(row('GET /late', installId));
    expect(await rowsOf(installId)).toEqual(['GET /queued', 'GET /late']);
  });

  it('a row the database refuses (a NUL byte) is dropped alone: the others of its batch are written, the drop is counted and logged once, without its values', async () => {
    const installId = randomUUID();
    const table = auditTable({ flushIntervalMs: 60_000, maxBatchRows: 64 });
    for (let i = 0; i < 40; i++) table.add(row(i === 17 ? 'GET /bad\u0000secret-looking-value' : `GET /ok${i}`, installId));
    await table.flush();
    const routes = await rowsOf(installId);
    expect(routes).toHaveLength(39);
    expect(routes).not.toContain(expect.stringContaining('bad'));
    expect(await counted('dropped')).toBe(1);
    expect(await counted('written')).toBe(39);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ table: 'extension_execution_log', rows: 1, code: expect.stringMatching(/^22/) });
    expect(JSON.stringify(lines)).not.toContain('secret-looking-value');
    expect(JSON.stringify(lines)).not.toContain(installId);
  });

  it('a table that fails drops (counts, logs) what it refused, and writes the rows that come after it recovers', async () => {
    const installId = randomUUID();
    const table = new WriteBehindTable({ knex: db.knex, table: 'extension_log', logger, metrics: metrics.writeBehind, flushIntervalMs: 60_000 });
    const line = (message: string) => ({ tenant_id: tenantId, install_id: installId, request_id: randomUUID(), level: 'info', message, fields: JSON.stringify({ token: 'not-in-logs' }), created_at: new Date() });
    await db.knex.schema.renameTable('extension_log', 'extension_log_away');
    try {
      table.add(line('lost 1'), line('lost 2'));
      await table.flush();
    } finally {
      await db.knex.schema.renameTable('extension_log_away', 'extension_log');
    }
    expect(await counted('dropped', 'extension_log')).toBe(2);
    expect(lines).toEqual([expect.objectContaining({ table: 'extension_log', rows: 2, code: '42P01' })]);
    expect(JSON.stringify(lines)).not.toContain('not-in-logs');
    table.add(line('after recovery'));
    await table.flush();
    expect((await db.knex('extension_log').where({ install_id: installId })).map((r) => r.message)).toEqual(['after recovery']);
    expect(await counted('written', 'extension_log')).toBe(1);
  });

  it('a full queue writes through: add() returns the write, which the caller awaits', async () => {
    const installId = randomUUID();
    const table = auditTable({ flushIntervalMs: 60_000, maxBatchRows: 10, maxQueueRows: 10 });
    for (let i = 0; i < 10; i++) expect(table.add(row(`GET /q${i}`, installId))).toBeUndefined();
    const through = table.add(row('GET /through', installId));
    expect(through).toBeInstanceOf(Promise);
    await through;
    expect(await rowsOf(installId)).toContain('GET /through');
    await table.flush();
    expect(await rowsOf(installId)).toHaveLength(11);
  });
});

/** A TCP hop in front of PostgreSQL that can be cut and restored: the database "goes away". */
async function cuttableProxy(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => s.destroy()); }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1', () => { port = (server!.address() as { port: number }).port; resolve(); });
  });
  const cut = async () => {
    await new Promise<void>((resolve) => { server!.close(() => resolve()); for (const s of sockets) s.destroy(); });
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe.runIf(Boolean(process.env.ALGA_TEST_DATABASE_URL))('write-behind rows while PostgreSQL is unreachable', () => {
  it('are kept and retried, the table refuses more once its queue is full, and everything kept is written when the database is back', async () => {
    const url = new URL(process.env.ALGA_TEST_DATABASE_URL!);
    const schema = (await db.knex.raw('select current_schema() as s')).rows[0].s as string;
    const proxy = await cuttableProxy(url);
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const remote = await openDatabase({ url: viaProxy.toString(), schema, logger: { warn: () => {}, error: () => {} } });
    try {
      const installId = randomUUID();
      const table = new WriteBehindTable({ knex: remote.knex, table: 'extension_execution_log', logger, metrics: metrics.writeBehind, flushIntervalMs: 20, maxBatchRows: 5, maxQueueRows: 5, retryDelayMs: 100 });
      table.add(row('GET /before', installId));
      await table.flush();
      await proxy.cut();
      for (let i = 0; i < 5; i++) table.add(row(`GET /kept${i}`, installId));
      await table.flush();
      expect(table.queued).toBe(5);
      expect(table.refusesWrites).toBe(true);
      expect(lines).toEqual([expect.objectContaining({ table: 'extension_execution_log', rows: 5, msg: expect.stringMatching(/unreachable/) })]);
      expect(await counted('dropped')).toBe(0);
      await proxy.restore();
      // The retry timer writes them; nobody flushes.
      await expect.poll(() => rowsOf(installId), { timeout: 10_000, interval: 50 }).toEqual(['GET /before', 'GET /kept0', 'GET /kept1', 'GET /kept2', 'GET /kept3', 'GET /kept4']);
      expect(table.refusesWrites).toBe(false);
      expect(await counted('written')).toBe(6);
    } finally {
      await remote.close();
      await proxy.close();
    }
  });
});
