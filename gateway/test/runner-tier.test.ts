/**
 * The runner tier (issue 13, first step): RUNNER_URLS with rendezvous hashing by content hash,
 * health ejection, and a retry on another runner only when the request provably did not start.
 * Unit checks of the hash order, then a real gateway with 3 in-process runners on loopback.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';
import { RunnerTier } from '../src/proxy/runner-tier.ts';
import { runLoad, summary } from './hardening/support.ts';

describe('RunnerTier order (rendezvous hashing)', () => {
  const urls = ['http://10.0.0.1:8081', 'http://10.0.0.2:8081', 'http://10.0.0.3:8081'];
  const hashes = Array.from({ length: 600 }, () => randomBytes(32).toString('hex'));

  it('spreads content hashes over the runners, the same way every time and in every gateway', () => {
    const a = new RunnerTier(urls, {}, { healthIntervalMs: 0 });
    const b = new RunnerTier([...urls].reverse(), {}, { healthIntervalMs: 0 });
    const share = new Map<string, number>();
    for (const h of hashes) {
      const first = a.order(h)[0].url;
      expect(b.order(h)[0].url).toBe(first); // another replica, listing them in another order, agrees
      share.set(first, (share.get(first) ?? 0) + 1);
    }
    for (const url of urls) expect(share.get(url)! / hashes.length).toBeGreaterThan(0.25);
    void a.close(); void b.close();
  });

  it('a runner that leaves moves only its own hashes, to the one next in their order', () => {
    const all = new RunnerTier(urls, {}, { healthIntervalMs: 0 });
    const two = new RunnerTier([urls[0], urls[2]], {}, { healthIntervalMs: 0 });
    for (const h of hashes) {
      const [first, second] = all.order(h).map((m) => m.url);
      expect(two.order(h)[0].url).toBe(first === urls[1] ? second : first);
    }
    void all.close(); void two.close();
  });
});

describe('RunnerTier retries only a request that provably did not start', () => {
  type Mode = 'ok' | 'overloaded' | 'trap' | 'reset';
  async function fakeRunner(mode: () => Mode) {
    const { createServer } = await import('node:http');
    let requests = 0;
    const server = createServer((req, res) => {
      if (req.url === '/readyz') { res.end('ok'); return; }
      requests++;
      req.resume();
      req.on('end', () => {
        const m = mode();
        if (m === 'reset') { req.socket.destroy(); return; }
        const [status, body] = m === 'ok' ? [200, { status: 200, headers: [], bodyB64: '', logs: [], metrics: { durationMs: 1, hostCalls: 0 } }]
          : m === 'overloaded' ? [503, { error: { code: 'E_OVERLOADED', message: 'at capacity' } }]
          : [502, { error: { code: 'E_GUEST_TRAP', message: 'trapped' } }];
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, get requests() { return requests; }, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
  }
  /** A content hash whose first choice is `url`. */
  const hashFor = (tier: RunnerTier, url: string) => {
    for (;;) { const h = randomBytes(32).toString('hex'); if (tier.order(h)[0].url === url) return h; }
  };

  it('503 E_OVERLOADED and a refused connection go to the next runner; a trap or a connection lost after the request was sent do not', async () => {
    let aMode: Mode = 'overloaded';
    const a = await fakeRunner(() => aMode);
    const b = await fakeRunner(() => 'ok');
    const tier = new RunnerTier([a.url, b.url], {}, { healthIntervalMs: 0 });
    try {
      const key = hashFor(tier, a.url);
      const run = () => tier.execute('token', '{}', 5_000, {}, key);
      expect((await run()).ok).toBe(true);
      expect([a.requests, b.requests]).toEqual([1, 1]);
      aMode = 'trap';
      const trapped = await run();
      expect(trapped.ok ? 'ok' : trapped.error.code).toBe('E_GUEST_TRAP');
      expect([a.requests, b.requests]).toEqual([2, 1]);
      aMode = 'reset';
      const lost = await run();
      expect(lost.ok ? 'ok' : lost.error.code).toBe('E_RUNNER_UNAVAILABLE');
      expect([a.requests, b.requests]).toEqual([3, 1]); // it may have run: never sent again
      await a.close();
      expect((await run()).ok).toBe(true); // refused: B takes it, and A is ejected
      expect(b.requests).toBe(2);
      expect(tier.order(key)[0].url).toBe(b.url);
    } finally {
      await tier.close(); await a.close().catch(() => undefined); await b.close();
    }
  });
});

describe('a gateway with 3 runners', () => {
  let h: GatewayHarness;
  const extensions: string[] = [];
  /** The runner (index into h.runnerUrls) each component's hash ranks first. */
  const expected = new Map<string, number>();
  let tenant: { adminKey: string; greeting: string };

  beforeAll(async () => {
    h = await startGatewayHarness({ extraRunners: 2, gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info', runnerHealthIntervalMs: 200 }, adminWeb: false });
    const t = await h.tenant();
    // Components (each its own content hash), all installed for one tenant, until the hash order
    // (the same function the gateway uses) gives every runner at least two: the ports, and so the
    // order, differ from run to run.
    const predictor = new RunnerTier(h.runnerUrls, {}, { healthIntervalMs: 0 });
    const perRunner = new Map<string, number>();
    for (let i = 0; i < 40 && (extensions.length < 12 || h.runnerUrls.some((u) => (perRunner.get(u) ?? 0) < 2)); i++) {
      const name = `com.acme.tier-${i}`;
      const res = await h.publish(await helloVariant({ name, version: '1.0.0', description: `tier component ${i}` }));
      expect(res.status).toBe(201);
      const { contentHash } = (await res.json()) as { contentHash: string };
      await t.call('POST', '/api/v1/extensions/install', { extension: name });
      extensions.push(name);
      const first = predictor.order(contentHash)[0].url;
      expected.set(name, h.runnerUrls.indexOf(first));
      perRunner.set(first, (perRunner.get(first) ?? 0) + 1);
    }
    await predictor.close();
    tenant = { adminKey: t.adminKey, greeting: 'Hello' };
  });
  afterAll(() => h?.close());

  /** Executions each runner counted (from its own /metrics; a closed runner's app is served once more to read it). */
  async function executions(): Promise<number[]> {
    return Promise.all(h.runners.map(async (r, i) => {
      let url = h.runnerUrls[i];
      let server: import('node:http').Server | undefined;
      const alive = await fetch(`${url}/metrics`).then((res) => res.ok, () => false);
      if (!alive) {
        server = r.app.listen(0, '127.0.0.1');
        await new Promise((resolve) => server!.once('listening', resolve));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      }
      const text = await (await fetch(`${url}/metrics`)).text();
      server?.close();
      return [...text.matchAll(/^alga_runner_executions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    }));
  }

  const send = (extension: string, marker: string) => fetch(`${h.url}/api/ext/${extension}/echo/${marker}`, {
    method: 'POST', headers: { authorization: `Bearer ${tenant.adminKey}`, 'content-type': 'text/plain' }, body: marker,
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as { path?: string } }));

  it("routes each component's requests to the runner its content hash ranks first, and the components spread over all three", async () => {
    const before = await executions();
    for (const extension of extensions) {
      const start = await executions();
      for (let i = 0; i < 3; i++) expect((await send(extension, `r${i}`)).status).toBe(200);
      const end = await executions();
      // All 3 ran on one runner: the one the hash order predicts.
      const counts = end.map((n, i) => n - start[i]);
      expect(counts, extension).toEqual(h.runnerUrls.map((_, i) => (i === expected.get(extension) ? 3 : 0)));
    }
    const after = await executions();
    const spread = after.map((n, i) => n - before[i]);
    for (const n of spread) expect(n).toBeGreaterThanOrEqual(6);
    process.stdout.write(`[runner-tier] requests per runner for ${extensions.length} components × 3: ${JSON.stringify(spread)}\n`);
  });

  it('a runner that drains and leaves under load: no request fails, none runs twice, and its components move to the others', async () => {
    const before = await executions();
    const stop = new AbortController();
    const tierLoad = runLoad({
      clients: 4, durationMs: 60_000, signal: stop.signal,
      send: async (c, s) => {
        const res = await send(extensions[(c + s) % extensions.length], `t${c}-${s}`);
        return { ok: res.status === 200 && res.body.path === `/echo/t${c}-${s}`, status: res.status };
      },
    });
    await new Promise((r) => setTimeout(r, 800));
    const leaving = 1;
    // As on SIGTERM with RUNNER_DRAIN_MS: /readyz 503 first, so the gateway (polling every 200 ms) ejects it before it closes.
    await h.runners[leaving].close({ drainMs: 600 });
    await new Promise((r) => setTimeout(r, 1_500));
    stop.abort();
    const b = await tierLoad;
    const after = await executions();
    const executed = after.reduce((n, x) => n + x, 0) - before.reduce((n, x) => n + x, 0);
    process.stdout.write(`[runner-tier] runner ${leaving} closed under load: ${JSON.stringify({ load: summary(b), executedPerRunner: after.map((n, i) => n - before[i]) })}\n`);
    expect(b.requests).toBeGreaterThan(20);
    expect(b.byStatus).toEqual({ 200: b.requests });
    // Every request ran exactly once: the runners together executed as many as were answered.
    expect(executed).toBe(b.requests);
    // The runner that left is out of every component's first place now.
    for (const extension of extensions.slice(0, 3)) expect((await send(extension, 'after')).status).toBe(200);
  });
});
