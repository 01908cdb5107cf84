/**
 * Publish has the runner prepare the new component (POST /v1/prepare) before it answers: the
 * first request after publish finds it compiled, warmed up and an instance ready. A runner that
 * cannot prepare does not fail the publish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';

let h: GatewayHarness;

beforeAll(async () => {
  h = await startGatewayHarness({ adminWeb: false });
});
afterAll(() => h?.close());

async function runnerMetric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${h.runnerUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('publish prepares the runner', () => {
  it('when publish answers, the runner holds the component and ready instances; the first request instantiates nothing', async () => {
    expect(h.runner!.loader).toBeDefined();
    const published = await h.publishSample('hello');
    expect(h.runner!.pool.instancesLive).toBeGreaterThanOrEqual(2);
    const t = await h.tenant();
    expect((await t.call('POST', '/api/v1/extensions/install', { extension: published.name })).status).toBe(201);
    const misses = await runnerMetric('alga_runner_instance_cache_total', 'result="miss"');
    const compiles = await runnerMetric('alga_runner_component_cache_total', 'result="miss"');
    const res = await t.call('GET', `/api/ext/${published.name}/hello`);
    expect(res.status).toBe(200);
    expect(await runnerMetric('alga_runner_instance_cache_total', 'result="miss"')).toBe(misses);
    expect(await runnerMetric('alga_runner_component_cache_total', 'result="miss"')).toBe(compiles);
  });

  it('a runner that is down does not fail the publish; the gateway logs why, without the token', async () => {
    const down = await startGatewayHarness({ adminWeb: false, runner: false });
    try {
      const published = await down.publishSample('misbehaving');
      expect(published.contentHash).toMatch(/^[0-9a-f]{64}$/);
      const line = down.logs.find((l) => l.includes('could not prepare the published component'));
      expect(line).toBeDefined();
      expect(line).toContain(published.contentHash);
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    } finally {
      await down.close();
    }
  });
});
