/**
 * Isolation between installs (issue 8): one install's runaway guests must not make another
 * install's requests fail. Real runner on loopback, the real `misbehaving` and `hello` samples.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunnerHarness, type ExecuteAnswer, type RunnerHarness } from '../../test-setup/runner-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('10 runaway /loop requests of one install beside 100 hellos of another (2 workers, 100 ms CPU budget)', () => {
  // Small, so ten runaways served one after another finish well within their own deadline even
  // when the machine is loaded (a loop gets a fraction of a core: 100 ms of CPU took up to 1 s of
  // wall time at load average 11).
  const BUDGET_MS = 100;
  let h: RunnerHarness;
  let loops: Array<ExecuteAnswer & { doneAt: number }>;
  let hellos: ExecuteAnswer[];
  let hellosDoneAt: number;

  beforeAll(async () => {
    h = await startRunnerHarness({ workers: 2, defaultCpuMs: BUDGET_MS });
    const bad = await h.addSample('misbehaving');
    const hello = await h.addSample('hello');
    await Promise.all([h.execute({ contentHash: hello, path: '/hello', installId: 'bystander' }), h.execute({ contentHash: bad, path: '/ok', installId: 'runaway' })]);

    const started = performance.now();
    // Their own deadline is long: only the CPU budget stops them.
    const inFlight = Array.from({ length: 10 }, () => h.execute({ contentHash: bad, path: '/loop', installId: 'runaway', timeoutMs: 30_000 })
      .then((r) => ({ ...r, doneAt: performance.now() - started })));
    await sleep(100);
    // 5 clients, 20 hellos each, paced so they keep arriving while the loops run.
    hellos = (await Promise.all(Array.from({ length: 5 }, async () => {
      const answers: ExecuteAnswer[] = [];
      for (let i = 0; i < 20; i++) {
        answers.push(await h.execute({ contentHash: hello, path: '/hello', installId: 'bystander' }));
        await sleep(20);
      }
      return answers;
    }))).flat();
    hellosDoneAt = performance.now() - started;
    loops = await Promise.all(inFlight);
    const ms = hellos.map((r) => r.ms);
    console.log(`[isolation] hellos p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms, done at ${hellosDoneAt.toFixed(0)} ms; ` +
      `loops ${JSON.stringify(loops.map((l) => l.body.error?.code ?? l.status))} done at ${loops.map((l) => l.doneAt.toFixed(0)).join(', ')} ms, ` +
      `CPU used ${loops.map((l) => /used (\d+) ms/.exec(l.body.error?.message ?? '')?.[1]).join(', ')} ms`);
  }, 90_000);
  afterAll(() => h?.close());

  it('all 100 hellos answer 200 and their p99 stays under 1.5 s', () => {
    // Meaningful only if the hellos ran while loops were still in flight.
    expect(hellosDoneAt).toBeLessThan(Math.max(...loops.map((l) => l.doneAt)));
    expect(hellos.filter((r) => r.status !== 200).map((r) => r.body.error?.code ?? r.status)).toEqual([]);
    expect(percentile(hellos.map((r) => r.ms), 99)).toBeLessThan(1500);
  });

  it('every loop gets 508 E_CPU_LIMIT (not 504 E_DEADLINE) at its 100 ms budget', () => {
    expect(loops.map((l) => `${l.status} ${l.body.error?.code}`)).toEqual(Array(10).fill('508 E_CPU_LIMIT'));
    for (const l of loops) {
      expect(l.body.error.message).toMatch(/over its budget of 100 ms/);
      // Measured 100-108 ms: checked by a main-thread timer, in 4 ms clock steps.
      const used = Number(/used (\d+) ms/.exec(l.body.error.message)![1]);
      expect(used).toBeGreaterThanOrEqual(BUDGET_MS);
      expect(used).toBeLessThan(2 * BUDGET_MS);
    }
  });
});

describe('queueing across installs (1 worker)', () => {
  let h: RunnerHarness;
  let bad: string;
  let hello: string;

  beforeAll(async () => {
    // CPU budgets out of the way: these runaways are stopped by their deadlines.
    h = await startRunnerHarness({ workers: 1, concurrencyPerWorker: 8, maxQueue: 16, maxQueuePerInstall: 6, defaultCpuMs: 60_000, maxCpuMs: 60_000 });
    bad = await h.addSample('misbehaving');
    hello = await h.addSample('hello');
    // Warm instances for both installs: the runaways start looping as soon as they arrive.
    await Promise.all([h.execute({ contentHash: hello, path: '/hello', installId: 'bystander' }), h.execute({ contentHash: bad, path: '/ok', installId: 'runaway' })]);
  });
  afterAll(() => h?.close());

  it('requests queued behind 4 runaways of another install are re-dispatched when the first one\'s worker is replaced and all answer 200, not 504 E_DEADLINE (README promise)', async () => {
    // Deadlines 1, 2, 3, 4 s: served one after another, the later runaways would outlast the hellos' 2.5 s.
    const runaways = [1000, 2000, 3000, 4000].map((timeoutMs) => h.execute({ contentHash: bad, path: '/loop', installId: 'runaway', timeoutMs }));
    await sleep(50);
    const queued = await Promise.all(Array.from({ length: 6 }, () => h.execute({ contentHash: hello, path: '/hello', installId: 'bystander', timeoutMs: 2500 })));
    expect(queued.map((r) => r.body.error?.code ?? r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await Promise.all(runaways)).map((r) => r.body.error?.code)).toEqual(['E_DEADLINE', 'E_DEADLINE', 'E_DEADLINE', 'E_DEADLINE']);
  });

  it('a flood from one install does not push another install\'s request behind it (fair queueing across installs)', async () => {
    const order: string[] = [];
    const blocker = h.execute({ contentHash: bad, path: '/loop', installId: 'blocker', timeoutMs: 500 });
    await sleep(50);
    const flood = Array.from({ length: 3 }, () => h.execute({ contentHash: bad, path: '/ok', installId: 'flood', timeoutMs: 5000 }).then((r) => { order.push('flood'); return r; }));
    await sleep(50);
    const other = h.execute({ contentHash: hello, path: '/hello', installId: 'bystander', timeoutMs: 5000 }).then((r) => { order.push('bystander'); return r; });
    expect([...(await Promise.all(flood)), await other].map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await blocker).body.error?.code).toBe('E_DEADLINE');
    // The bystander waited for at most one flood request, not all three.
    expect(order.indexOf('bystander')).toBeLessThanOrEqual(1);
  });

  it('an install past its queue share (6) gets 503 E_OVERLOADED while another install still queues and is served', async () => {
    const blocker = h.execute({ contentHash: bad, path: '/loop', installId: 'blocker', timeoutMs: 600 });
    await sleep(50);
    const flood = Array.from({ length: 8 }, () => h.execute({ contentHash: bad, path: '/ok', installId: 'flood', timeoutMs: 5000 }));
    await sleep(50);
    const other = h.execute({ contentHash: hello, path: '/hello', installId: 'bystander', timeoutMs: 5000 });
    const codes = (await Promise.all(flood)).map((r) => r.body.error?.code ?? r.status).sort();
    expect(codes).toEqual([200, 200, 200, 200, 200, 200, 'E_OVERLOADED', 'E_OVERLOADED']);
    expect((await other).status).toBe(200);
    expect((await blocker).body.error?.code).toBe('E_DEADLINE');
  });
});

describe('requests already running on a worker stopped for another request', () => {
  let h: RunnerHarness;
  let slow: Server;
  let slowOrigin: string;

  beforeAll(async () => {
    h = await startRunnerHarness({ workers: 1, defaultCpuMs: 250, httpAllowedPrivateCidrs: ['127.0.0.1/32'] });
    slow = createServer((_req, res) => { setTimeout(() => res.end('late'), 1500); });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowOrigin = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await h?.close();
    slow?.close();
  });

  it('a guest suspended on I/O beside a runaway gets 503 E_OVERLOADED saying another request exceeded its CPU budget; the runaway gets 508', async () => {
    const bad = await h.addSample('misbehaving');
    const waiting = h.execute({
      contentHash: bad, path: '/fetch', query: [['url', `${slowOrigin}/slow`]], installId: 'waiting', timeoutMs: 10_000,
      grantedCapabilities: ['cap:http.fetch'], httpAllowedHosts: [slowOrigin],
    });
    await sleep(200);
    const loop = await h.execute({ contentHash: bad, path: '/loop', installId: 'runaway', timeoutMs: 10_000 });
    expect(loop.body.error?.code).toBe('E_CPU_LIMIT');
    const res = await waiting;
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('E_OVERLOADED');
    expect(res.body.error.message).toMatch(/another request on its worker exceeded its CPU budget/);
    expect(res.body.error.message).toMatch(/had already run extension code/);
  });
});
