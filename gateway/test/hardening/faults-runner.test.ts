/**
 * Hardening: the runner process killed (SIGKILL) mid-load and started again on the same port.
 * The gateway is never restarted. While the runner is down every request must get a quick
 * 503 E_RUNNER_UNAVAILABLE (never a hang, never a dropped connection), and once it is back the
 * requests succeed again on their own, each still its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { restartableExternalRunner } from '../../../test-setup/external-runner.ts';
import { echoThrough, expectNoSecretAnywhere, knownSecrets, report, round, runLoad, summary } from './support.ts';

const FILE = 'faults-runner';
const secrets = knownSecrets(FILE);
const runner = restartableExternalRunner({ env: { LOG_LEVEL: 'info' } });
let h: GatewayHarness;
const tenants: Array<{ adminKey: string; greeting: string }> = [];

beforeAll(async () => {
  h = await startGatewayHarness({ externalRunner: runner.externalRunner, gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' } });
  await h.publishSample('hello');
  await h.publishSample('misbehaving');
  for (let i = 0; i < 2; i++) {
    const t = await h.tenant();
    const greeting = `R${i}-${Math.random().toString(36).slice(2, 8)}`;
    const hello = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body;
    await t.call('PUT', `/api/v1/installs/${hello.id}/settings`, { greeting });
    // A secret the runner decrypts on every misbehaving call: it must not surface in the crash's output either.
    const mis = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.misbehaving' })).body;
    await t.call('PUT', `/api/v1/installs/${mis.id}/secrets`, { set: { token: secrets.token } });
    expect((await t.call('GET', '/api/ext/com.alga.samples.misbehaving/leak-secret')).body).toEqual({ logged: true });
    tenants.push({ adminKey: t.adminKey, greeting });
  }
});
afterAll(() => h?.close());

describe('hardening: runner killed and restarted mid-load', () => {
  it('503 E_RUNNER_UNAVAILABLE within moments of the kill, no hang, and recovery without restarting the gateway', async () => {
    const KILL_AT = 1_500;
    let killedAt = 0;
    let restartedAt = 0;
    const chaos = (async () => {
      await new Promise((r) => setTimeout(r, KILL_AT));
      killedAt = performance.now();
      await runner.kill();
      await new Promise((r) => setTimeout(r, 1_500));
      await runner.restart(); // resolves once it listens
      restartedAt = performance.now();
    })();
    const started = performance.now();
    const result = await runLoad({
      clients: 16,
      durationMs: 7_000,
      send: (client, seq) => echoThrough(h, tenants[client % tenants.length], `c${client}-s${seq}-${Math.random().toString(36).slice(2, 8)}`, 10_000),
    });
    await chaos;
    const kill = killedAt - started;
    const back = restartedAt - started;
    const failures = result.samples.filter((s) => !s.ok);
    const firstRefusal = failures.find((s) => s.at >= kill);
    const firstOkAfter = result.samples.filter((s) => s.ok && s.at >= back).sort((a, b) => a.at - b.at)[0];
    const downSamples = result.samples.filter((s) => s.at > kill + 200 && s.at < back);
    const figures = {
      ...summary(result),
      runnerDownMs: round(back - kill),
      firstRefusalAfterKillMs: firstRefusal ? round(firstRefusal.at - kill) : null,
      refusalLatencyMaxMs: round(Math.max(0, ...failures.map((s) => s.latencyMs))),
      recoveryAfterRestartMs: firstOkAfter ? round(firstOkAfter.at - back) : null,
      failuresAfterRecovery: firstOkAfter ? result.samples.filter((s) => !s.ok && s.at > firstOkAfter.at + 500).length : null,
    };
    report(FILE, 'runner SIGKILL and restart', figures);

    // Every request was answered: by its own response, or by the documented 503.
    expect(result.lost).toBe(0);
    expect(result.misrouted).toBe(0);
    expect(Object.keys(result.byStatus).sort()).toEqual(['200', '503 E_RUNNER_UNAVAILABLE']);
    // While it was down, answers were refusals, and quick ones.
    expect(downSamples.length).toBeGreaterThan(0);
    expect(downSamples.every((s) => s.status === 503)).toBe(true);
    expect(figures.firstRefusalAfterKillMs).not.toBeNull();
    expect(figures.firstRefusalAfterKillMs!).toBeLessThan(1_000);
    expect(figures.refusalLatencyMaxMs).toBeLessThan(2_000);
    // Back on its own, and it stays back.
    expect(figures.recoveryAfterRestartMs).not.toBeNull();
    expect(figures.recoveryAfterRestartMs!).toBeLessThan(3_000);
    expect(figures.failuresAfterRecovery).toBe(0);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
  });

  it('no known secret value appears in any log line (the killed runner\'s included), audit row or metric', async () => {
    await new Promise((r) => setTimeout(r, 300));
    report(FILE, 'secret hygiene', await expectNoSecretAnywhere(h, secrets.all));
  });
});
