/**
 * samples/hello through POST /v1/execute on the stand-alone runner process (tokens minted
 * ahead): pooled isolation with the express baseline (same HTTP path, no guest) interleaved
 * level by level, fresh isolation, and 100 installs called round robin on one runner.
 */
import { join } from 'node:path';
import type { Pool } from 'undici';
import { startProcess } from '../../test-setup/bench/measure.ts';
import { benchPool, request } from '../../test-setup/bench/http-client.ts';
import { childUsage } from '../../test-setup/bench/process-usage.ts';
import { measureArms, statusOf, type Arm, type Step } from '../../test-setup/bench/scenario.ts';
import { repoRoot } from '../../test-setup/bench/paths.ts';
import { createRunnerFixture, startRunnerProcess, type RunnerFixture, type RunnerProcess } from './runner-fixture.ts';
import { executeCall, executeRequest, TokenSupply } from './execute-requests.ts';

function tokenArm(id: string, pool: Pool, supply: TokenSupply, probe: Arm['probe']): Arm {
  return { id, call: executeCall(pool, supply), probe, prepare: (n) => supply.ensure(n) };
}

async function withRunner<T>(env: Record<string, string>, body: (fixture: RunnerFixture, runner: RunnerProcess, pool: Pool) => Promise<T>): Promise<T> {
  const fixture = await createRunnerFixture();
  try {
    const runner = await startRunnerProcess(fixture, env);
    const pool = benchPool(runner.url);
    try {
      return await body(fixture, runner, pool);
    } finally {
      await pool.close();
      await runner.stop();
    }
  } finally {
    await fixture.close();
  }
}

export function runnerPooledStep(): Step {
  const scenarios = [
    { id: 'runner-pooled', title: 'hello via runner process, pooled', group: 'runner' as const },
    { id: 'baseline-express', title: 'express, no guest (the runner\'s HTTP path)', group: 'baseline' as const },
  ];
  return {
    name: 'runner pooled, with the express baseline interleaved',
    scenarios,
    timeoutMs: 150_000,
    run: (ctx) => withRunner({ RUNNER_ISOLATION: 'pooled' }, async (fixture, runner, pool) => {
      const express = await startProcess(join(repoRoot, 'runner/bench/express-baseline.ts'), {}, /"url":"(http:\/\/[^"]+)"/, { cleanEnv: true, cwd: repoRoot });
      const expressPool = benchPool(express.match[1]);
      try {
        const supply = new TokenSupply(fixture.signer, [fixture.helloTarget()]);
        // The baseline checks no token: one request serves every call.
        const fixed = await executeRequest(fixture.signer, fixture.helloTarget());
        const arms: Arm[] = [
          tokenArm('runner-pooled', pool, supply, runner.usage),
          {
            id: 'baseline-express', probe: childUsage([express.child.pid!], 'express process'),
            call: () => request(expressPool, { path: '/v1/execute', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${fixed.token}` }, body: fixed.body }, { contains: '"status":200' }).then(() => undefined),
          },
        ];
        const levels = await measureArms(arms, ctx.settings, { rounds: 2, expectedRps: 4000 });
        return [
          { ...scenarios[0], status: statusOf(levels.get('runner-pooled')!), cpuCovers: runner.usage.covers, levels: levels.get('runner-pooled')!, ...(supply.mintedOnDemand ? { notes: [`${supply.mintedOnDemand} tokens minted during measurement`] } : {}) },
          { ...scenarios[1], status: statusOf(levels.get('baseline-express')!), cpuCovers: 'express process', levels: levels.get('baseline-express')! },
        ];
      } finally {
        await expressPool.close();
        await express.stop();
      }
    }),
  };
}

export function runnerFreshStep(): Step {
  const scenario = { id: 'runner-fresh', title: 'hello via runner process, fresh isolation', group: 'runner' as const };
  return {
    name: 'runner fresh isolation',
    scenarios: [scenario],
    timeoutMs: 120_000,
    run: (ctx) => withRunner({ RUNNER_ISOLATION: 'fresh' }, async (fixture, runner, pool) => {
      const supply = new TokenSupply(fixture.signer, [fixture.helloTarget()]);
      const levels = (await measureArms([tokenArm(scenario.id, pool, supply, runner.usage)], ctx.settings, { rounds: 1, expectedRps: 800 })).get(scenario.id)!;
      return [{ ...scenario, status: statusOf(levels), cpuCovers: runner.usage.covers, levels, ...(supply.mintedOnDemand ? { notes: [`${supply.mintedOnDemand} tokens minted during measurement`] } : {}) }];
    }),
  };
}

const installCount = 100;

/** The runner's own count of live instances (its /metrics gauge) and workers (/readyz). */
async function runnerGauges(pool: Pool): Promise<{ instancesLive: number; workers: number }> {
  const metrics = await request(pool, { path: '/metrics', method: 'GET' });
  const ready = JSON.parse(await request(pool, { path: '/readyz', method: 'GET' })) as { workers: number };
  return { instancesLive: Number(/^alga_runner_instances_live (\d+)/m.exec(metrics)?.[1] ?? NaN), workers: ready.workers };
}

export function hundredInstallsStep(): Step {
  const scenario = { id: 'installs-100', title: `${installCount} installs of hello round robin, one runner process (pooled)`, group: 'runner' as const };
  return {
    name: `${installCount} installs round robin`,
    scenarios: [scenario],
    timeoutMs: 180_000,
    run: (ctx) => withRunner({ RUNNER_ISOLATION: 'pooled' }, async (fixture, runner, pool) => {
      const targets = Array.from({ length: installCount }, (_, i) => fixture.helloTarget(`bench-install-${String(i).padStart(3, '0')}`));
      const rssStartMb = runner.usage.rssMb();
      // One first call per install, in order: the first loads the component, each later one makes its install's instance.
      const firstCallMs: number[] = [];
      let afterFirst = { rssMb: 0, instancesLive: 0 };
      for (const [i, target] of targets.entries()) {
        const { token, body } = await executeRequest(fixture.signer, target);
        const t = performance.now();
        await request(pool, { path: '/v1/execute', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body }, { contains: '"status":200' });
        firstCallMs.push(Math.round((performance.now() - t) * 100) / 100);
        if (i === 0) afterFirst = { rssMb: runner.usage.rssMb(), instancesLive: (await runnerGauges(pool)).instancesLive };
      }
      const supply = new TokenSupply(fixture.signer, targets);
      const levels = (await measureArms([tokenArm(scenario.id, pool, supply, runner.usage)], ctx.settings, { rounds: 1, expectedRps: 3000 })).get(scenario.id)!;
      // After every install was served at every level: the warm steady state the targets are about.
      const warm = await runnerGauges(pool);
      const rssWarmMb = runner.usage.rssMb();
      const extraInstances = warm.instancesLive - afterFirst.instancesLive;
      const sortedFirst = firstCallMs.slice(1).sort((a, b) => a - b);
      return [{
        ...scenario, status: statusOf(levels), cpuCovers: runner.usage.covers, levels,
        facts: {
          installs: installCount, workers: warm.workers, instancesLive: warm.instancesLive,
          rssStartMb, rssAfterFirstInstallMb: afterFirst.rssMb, instancesAfterFirstInstall: afterFirst.instancesLive, rssWarmMb,
          rssPerWarmInstanceMb: extraInstances > 0 ? Math.round(((rssWarmMb - afterFirst.rssMb) / extraInstances) * 100) / 100 : NaN,
          firstCallOfFirstInstallMs: firstCallMs[0],
          firstCallOfOtherInstallsP50Ms: sortedFirst[Math.floor(sortedFirst.length / 2)],
        },
        notes: [
          'RSS per warm instance = (RSS after all levels − RSS after the first install) ÷ (instances live then − instances after the first install); instances from /metrics alga_runner_instances_live',
          ...(supply.mintedOnDemand ? [`${supply.mintedOnDemand} tokens minted during measurement`] : []),
        ],
      }];
    }),
  };
}
