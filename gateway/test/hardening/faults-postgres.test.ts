/**
 * Hardening: PostgreSQL restarted mid-load. The database is a cluster of this file's own
 * (`initdb` in a temp dir, another port: test-setup/postgres-cluster.ts), never the server the
 * rest of the suite shares. While it is down, requests get 503 E_DATABASE_UNAVAILABLE rather
 * than hang; once it is back they recover on their own. Settings writes made meanwhile are
 * either fully applied or not at all, and configVersion counts exactly the writes that succeeded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { postgresBinDir, startPostgresCluster, type PostgresCluster } from '../../../test-setup/postgres-cluster.ts';
import { echoThrough, expectNoSecretAnywhere, knownSecrets, report, round, runLoad, summary } from './support.ts';

const FILE = 'faults-postgres';
const secrets = knownSecrets(FILE);
const available = (await postgresBinDir()) !== undefined;

let pg: PostgresCluster;
let h: GatewayHarness;
let t: { adminKey: string; call: Caller; greeting: string };
let helloId: string;
const responses: string[] = [];

beforeAll(async () => {
  if (!available) return;
  pg = await startPostgresCluster();
  h = await startGatewayHarness({ databaseUrl: pg.url, gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info', installConfigCacheTtlMs: 0 } });
  await h.publishSample('hello');
  await h.publishSample('misbehaving');
  const tenant = await h.tenant();
  helloId = (await tenant.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body.id;
  const mis = (await tenant.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body;
  await tenant.call('PUT', `/api/v1/installs/${mis.id}/secrets`, { set: { token: secrets.token } });
  expect((await tenant.call('GET', '/api/ext/com.alga.samples.misbehaving/leak-secret')).body).toEqual({ logged: true });
  t = { ...tenant, greeting: 'Hello' };
});
afterAll(async () => { await h?.close().catch(() => undefined); await pg?.close(); });

describe.runIf(available)('hardening: PostgreSQL restarted mid-load (a cluster of its own)', () => {
  it('requests get 503 while it is down and recover by themselves; settings writes meanwhile are all-or-nothing and configVersion counts exactly the successes', async () => {
    const before = (await t.call('GET', `/api/v1/installs/${helloId}/settings`)).body;
    let stoppedAt = 0;
    let startedAt = 0;
    const started = performance.now();
    const chaos = (async () => {
      await new Promise((r) => setTimeout(r, 1_200));
      stoppedAt = performance.now();
      await pg.stop();
      await new Promise((r) => setTimeout(r, 1_500));
      await pg.start();
      startedAt = performance.now();
    })();
    // One writer, one write at a time, so "the last write that succeeded" is well defined.
    const writes: Array<{ greeting: string; status: number; code?: string }> = [];
    const writer = (async () => {
      for (let i = 0; performance.now() - started < 6_500; i++) {
        const greeting = `W${i}`;
        const res = await t.call('PUT', `/api/v1/installs/${helloId}/settings`, { greeting });
        writes.push({ greeting, status: res.status, code: res.body?.error?.code });
        if (responses.length < 200) responses.push(res.text);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    // Readers: the proxy path (tenant, install, audit) while the config cache is off (TTL 0), so every request needs the database.
    const result = await runLoad({
      clients: 8,
      durationMs: 7_000,
      send: async (client, seq) => {
        const settings = (await t.call('GET', `/api/v1/installs/${helloId}/settings`)).body;
        const greeting = String(settings?.config?.greeting ?? '');
        const outcome = await echoThrough(h, { adminKey: t.adminKey, greeting }, `c${client}-s${seq}`, 10_000);
        // A write may land between the two reads: the answer is still its own if it echoes the path and body.
        return outcome.misrouted ? { ...outcome, ok: true, misrouted: false } : outcome;
      },
    });
    await Promise.all([chaos, writer]);
    const stop = stoppedAt - started;
    const up = startedAt - started;
    const firstOkAfter = result.samples.filter((s) => s.ok && s.at >= up).sort((a, b) => a.at - b.at)[0];
    const applied = writes.filter((w) => w.status === 200);
    const after = (await t.call('GET', `/api/v1/installs/${helloId}/settings`)).body;
    const figures = {
      ...summary(result),
      databaseDownMs: round(up - stop),
      recoveryAfterStartMs: firstOkAfter ? round(firstOkAfter.at - up) : null,
      writes: writes.length,
      writesApplied: applied.length,
      writesRefused: Object.fromEntries(Object.entries(Object.groupBy(writes.filter((w) => w.status !== 200), (w) => `${w.status} ${w.code ?? ''}`.trim())).map(([k, v]) => [k, v!.length])),
      configVersionDelta: after.configVersion - before.configVersion,
    };
    report(FILE, 'PostgreSQL stop and start', figures);

    expect(result.lost).toBe(0);
    expect(result.misrouted).toBe(0);
    // Refusals say the database is unreachable; nothing else went wrong.
    for (const key of Object.keys(result.byStatus)) expect(['200', '503 E_DATABASE_UNAVAILABLE']).toContain(key);
    expect(result.byStatus['503 E_DATABASE_UNAVAILABLE'] ?? 0).toBeGreaterThan(0);
    expect(figures.recoveryAfterStartMs).not.toBeNull();
    expect(figures.recoveryAfterStartMs!).toBeLessThan(3_000);
    // All or nothing: configVersion moved once per write that answered 200, and the config is the last of them.
    expect(writes.some((w) => w.status !== 200)).toBe(true);
    for (const w of writes) if (w.status !== 200) expect(w.code).toBe('E_DATABASE_UNAVAILABLE');
    expect(figures.configVersionDelta).toBe(applied.length);
    expect(after.config.greeting).toBe(applied.at(-1)!.greeting);
  });

  it("no known secret value appears in any log line, response, audit row, metric, or the PostgreSQL server's own log", async () => {
    await new Promise((r) => setTimeout(r, 300));
    const serverLog = await pg.serverLog();
    expect(serverLog).toContain('database system is ready to accept connections');
    report(FILE, 'secret hygiene', await expectNoSecretAnywhere(h, secrets.all, { responses, other: { 'PostgreSQL server log': serverLog } }));
  });
});
