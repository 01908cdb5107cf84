import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBody, startRunnerHarness, type RunnerHarness } from '../../test-setup/runner-harness.ts';

let h: RunnerHarness;
let hello: string;

beforeAll(async () => {
  h = await startRunnerHarness();
  hello = await h.addSample('hello');
});
afterAll(() => h?.close());

describe('POST /v1/execute with samples/hello', () => {
  it('answers with the handler response, the install config and the guest logs', async () => {
    const res = await h.execute({ contentHash: hello, path: '/hello', config: { greeting: 'Hi', excited: true }, tenantId: 'tenant-x' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe(200);
    expect(res.body.headers).toContainEqual(['content-type', 'application/json']);
    const payload = decodeBody(res.body);
    expect(payload).toMatchObject({ greeting: 'Hi!', tenantId: 'tenant-x' });
    expect(res.body.logs).toEqual([expect.objectContaining({ level: 'info', message: 'greeted', fields: { tenant: 'tenant-x' } })]);
    expect(res.body.metrics.hostCalls).toBeGreaterThan(0);
  });

  it('echoes method, path, query-free body and config for POST', async () => {
    const res = await h.execute({ contentHash: hello, method: 'POST', path: '/echo/a/b', body: '{"x":1}', config: { greeting: 'Yo' } });
    expect(res.status).toBe(200);
    expect(decodeBody(res.body)).toEqual({ method: 'POST', path: '/echo/a/b', query: {}, body: '{"x":1}', config: { greeting: 'Yo' } });
  });

  it('keeps the config of each install apart even on the same pooled worker', async () => {
    const [a, b] = await Promise.all([
      h.execute({ contentHash: hello, path: '/hello', installId: 'inst-a', config: { greeting: 'A' } }),
      h.execute({ contentHash: hello, path: '/hello', installId: 'inst-b', config: { greeting: 'B' } }),
    ]);
    expect(decodeBody(a.body).greeting).toBe('A');
    expect(decodeBody(b.body).greeting).toBe('B');
  });

  it('reuses warm instances: the metrics report instance cache hits after the first request', async () => {
    for (let i = 0; i < 5; i++) expect((await h.execute({ contentHash: hello, path: '/hello' })).status).toBe(200);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/alga_runner_instance_cache_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/alga_runner_executions_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/alga_runner_instances_live [1-9]/);
  });

  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', workers: 2 });
  });
});
