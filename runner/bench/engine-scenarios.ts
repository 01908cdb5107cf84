/**
 * Engine level, in this process and without HTTP: the component call through the worker pool
 * (`runner.pool.execute`: dispatch to a worker thread, instance, guest call, answer), and the
 * same behind ExecuteService (token verification, body schema, replay check: everything the
 * runner's HTTP handler does except HTTP and JSON). Set beside scenario 1 (the runner over HTTP),
 * the report shows what each layer costs. The in-process baselines (a direct Node call of the
 * same handler; isolated-vm) are measured in the same rounds at c=1, interleaved with the engine.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { effectiveCapabilities, executionTokenClockToleranceSec, executionTokenVerifier } from '@alga-psa/extension-contracts';
import { createRunner, operatorSettings, runnerConfigFromEnv } from '../src/index.ts';
import { ExecuteService } from '../src/api/execute-service.ts';
import { ReplayCache } from '../src/api/replay-cache.ts';
import { createRunnerMetrics } from '../src/metrics.ts';
import { measureArms, statusOf, type Arm, type ScenarioResult, type Step } from '../../test-setup/bench/scenario.ts';
import { selfUsage } from '../../test-setup/bench/process-usage.ts';
import type { IsolatedVmLoad } from '../../test-setup/bench/isolated-vm-cache.ts';
import { repoRoot } from '../../test-setup/bench/paths.ts';
import { createRunnerFixture } from './runner-fixture.ts';
import { TokenSupply } from './execute-requests.ts';
import { directCallArm } from './baselines/direct-call.ts';
import { bundleAsScript } from './baselines/hello-handler-bundle.ts';
import { isolatedVmArms, isolatedVmScenarios } from './baselines/isolated-vm-baseline.ts';

const engineScenarios = [
  { id: 'engine-pool', title: 'engine: runner.pool.execute in-process (no HTTP, no token)', group: 'engine' as const },
  { id: 'engine-service', title: 'engine + token + schema: ExecuteService in-process (no HTTP)', group: 'engine' as const },
  { id: 'baseline-direct', title: 'direct Node call of the same handler', group: 'baseline' as const },
  ...isolatedVmScenarios.map((s) => ({ ...s, group: 'baseline' as const })),
];

/** `ivm` loads (building once if needed) isolated-vm, or says why it cannot (`--no-ivm` included). */
export function engineStep(ivm: () => Promise<IsolatedVmLoad>): Step {
  return {
    name: 'engine level in-process, with the direct-call and isolated-vm baselines',
    scenarios: engineScenarios,
    timeoutMs: 180_000,
    async run(ctx) {
      const fixture = await createRunnerFixture();
      const config = runnerConfigFromEnv({}, {
        bundleDir: fixture.bundleDir, cacheDir: join(repoRoot, '.alga-cache', 'transpile'), workers: availableParallelism(),
        trustedKeys: [fixture.signer.publicJwk], logLevel: 'silent',
      });
      const logger = pino({ level: 'silent' });
      const runner = await createRunner(config, { bundleStore: fixture.bundleStore, logger });
      let ivmClose: (() => void) | undefined;
      try {
        const component = await runner.loader.load(fixture.helloHash);
        const target = fixture.helloTarget();
        const install = { config: target.config, configVersion: 1, grantedCapabilities: [], httpAllowedHosts: [], storageNamespaces: null, uiProxyRoutes: [],
          tenantId: target.tenantId, extensionId: target.extensionId, installId: target.installId, versionId: target.versionId, contentHash: target.contentHash };
        // What ExecuteService computes: the always-granted interfaces (context, log) and nothing more for hello.
        const effective = [...effectiveCapabilities([...component.declaredCapabilities], [])];
        const usage = selfUsage('bench process (worker threads and the caller included)');
        const poolArm: Arm = {
          id: 'engine-pool', probe: usage,
          call: async () => {
            const outcome = await runner.pool.execute(component, {
              contentHash: component.contentHash, install, request: { method: 'GET', path: '/hello', query: [], headers: [], body: undefined },
              requestId: randomUUID(), deadlineMs: Date.now() + 30_000, memoryLimitBytes: 128 * 1024 * 1024, executionToken: 'unused', effectiveCapabilities: effective, prepared: {},
            }, { cpuMs: 1000 });
            if (!outcome.ok || outcome.status !== 200) throw new Error(`pool.execute: ${outcome.ok ? `status ${outcome.status}` : `${outcome.code} ${outcome.message}`}`);
          },
        };
        // The service runner.app wraps, wired as createRunner wires it (its own replay cache and metrics).
        const service = new ExecuteService({
          config, loader: runner.loader, pool: runner.pool, metrics: createRunnerMetrics(), logger, operator: operatorSettings(config), services: { secretCache: undefined },
          verifyToken: executionTokenVerifier({ keys: config.trustedKeys, clockToleranceSec: executionTokenClockToleranceSec }),
          replayCache: new ReplayCache({ max: config.replayCacheMax, clockToleranceMs: executionTokenClockToleranceSec * 1000 }),
        });
        const supply = new TokenSupply(fixture.signer, [target]);
        const serviceArm: Arm = {
          id: 'engine-service', probe: usage, prepare: (n) => supply.ensure(n),
          call: async () => {
            const r = await supply.next();
            const outcome = await service.execute(`Bearer ${r.token}`, r.parsed);
            if (!('body' in outcome) || outcome.body.status !== 200) throw new Error(`ExecuteService: ${'error' in outcome ? `${outcome.error.code} ${outcome.error.message}` : `status ${outcome.body.status}`}`);
          },
        };
        const direct = { ...(await directCallArm(join(fixture.dir, 'hello-direct.mjs'))), probe: usage };
        const results: ScenarioResult[] = [];
        const arms: Arm[] = [poolArm, serviceArm, direct];

        const loaded = await ivm();
        if (loaded.ok) {
          try {
            const ivmArms = isolatedVmArms(loaded.ivm, await bundleAsScript());
            ivmClose = ivmArms.close;
            arms.push(...ivmArms.arms.map((a) => ({ ...a, probe: usage })));
          } catch (err) {
            for (const s of isolatedVmScenarios) results.push({ ...s, group: 'baseline', status: 'failed', reason: `isolated-vm baseline unavailable: ${(err as Error).message}`, levels: [] });
          }
        } else {
          for (const s of isolatedVmScenarios) results.push({ ...s, group: 'baseline', status: 'skipped', reason: `isolated-vm baseline unavailable: ${loaded.reason}`, levels: [] });
        }

        // More rounds at c=1: six arms share the level, so each round is short and the noise spreads evenly.
        const levels = await measureArms(arms, ctx.settings, { rounds: 4, expectedRps: 4000 });
        const cpuCovers = usage.covers;
        for (const arm of arms) {
          const meta = engineScenarios.find((s) => s.id === arm.id)!;
          const lv = levels.get(arm.id)!;
          results.push({ ...meta, status: statusOf(lv), cpuCovers, levels: lv, ...(arm.id === 'engine-service' && supply.mintedOnDemand ? { notes: [`${supply.mintedOnDemand} tokens minted during measurement`] } : {}) });
        }
        const ivmLoad = loaded.ok ? loaded : undefined;
        const firstIvm = results.find((r) => r.id.startsWith('baseline-ivm') && r.levels.length > 0);
        if (ivmLoad?.built && firstIvm) firstIvm.notes = [`isolated-vm was installed into the user cache for this run (${Math.round((ivmLoad.buildMs ?? 0) / 1000)} s)`];
        return results;
      } finally {
        ivmClose?.();
        await runner.close();
        await fixture.close();
      }
    },
  };
}
