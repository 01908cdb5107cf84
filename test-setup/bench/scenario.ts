/**
 * What a bench scenario reports, and the two ways it is run: `measureArms` drives one or more
 * arms (ours and a baseline) through every concurrency level, rounds interleaved so a noisy
 * neighbour hits both alike; `runStep` runs a step that may produce several scenarios and turns
 * a throw or a hang into "failed" results, so the other steps still run.
 */
import { loadavg } from 'node:os';
import { closedLoop, closedLoopSync, summarise, type LevelSummary, type RawRun } from './measure.ts';
import type { UsageProbe } from './process-usage.ts';

export type ScenarioGroup = 'runner' | 'engine' | 'gateway' | 'baseline';

export interface LevelResult extends LevelSummary {
  /** user + system CPU ms per answered request, of the process(es) in `ScenarioResult.cpuCovers`. */
  cpuMsPerRequest?: number;
  rssMb?: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  group: ScenarioGroup;
  /** `errors`: it ran, but some requests failed (count and first message per level). */
  status: 'ok' | 'errors' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  /** Whose CPU and RSS the levels report. */
  cpuCovers?: string;
  /** 1-minute load average when it started: the machine is shared. */
  loadAvg1?: number;
  seconds?: number;
  levels: LevelResult[];
  /** Scenario-specific figures (cold-start samples, RSS per instance, gateway overhead…). */
  facts?: Record<string, number | string | number[]>;
  notes?: string[];
}

export interface BenchSettings {
  quick: boolean;
  /** Measured time per arm per concurrency level. */
  levelMs: number;
  /** Unmeasured time per arm before each level (connections, instance pools). */
  warmupMs: number;
  /** Before an arm's first level instead: a process just started is still compiling its hot paths (JIT, PGlite). */
  firstWarmupMs: number;
  concurrencies: number[];
}

export interface Arm {
  id: string;
  /** One request; rejects on a failed answer. */
  call?: (i: number) => Promise<void>;
  /** Or synchronous work in this thread (measured at c=1 only). */
  callSync?: () => void;
  probe?: UsageProbe;
  /** Before each level, with the requests it may take (e.g. mint that many execution tokens). */
  prepare?: (expectedRequests: number) => Promise<void>;
  /** Levels this arm runs (default: all). */
  concurrencies?: number[];
}

interface Accumulated { runs: RawRun[]; cpuMs: number; hasCpu: boolean; rssMb?: number }

/**
 * Every arm at every level: per level, a warm-up per arm, then `rounds` rounds of
 * levelMs / rounds per arm, alternating arms, merged into one result per arm and level.
 */
export async function measureArms(arms: Arm[], settings: BenchSettings, options: { rounds?: number; expectedRps?: number } = {}): Promise<Map<string, LevelResult[]>> {
  const rounds = options.rounds ?? 2;
  const results = new Map<string, LevelResult[]>(arms.map((a) => [a.id, []]));
  const lastRps = new Map<string, number>();
  const warmed = new Set<string>();
  for (const concurrency of settings.concurrencies) {
    const active = arms.filter((a) => (a.concurrencies ?? (a.callSync ? [1] : settings.concurrencies)).includes(concurrency));
    if (active.length === 0) continue;
    for (const arm of active) {
      const warmupMs = warmed.has(arm.id) ? settings.warmupMs : settings.firstWarmupMs;
      warmed.add(arm.id);
      const seconds = (settings.levelMs + warmupMs) / 1000;
      await arm.prepare?.(Math.ceil((lastRps.get(arm.id) ?? options.expectedRps ?? 2000) * 1.6 * seconds) + 200);
      if (warmupMs > 0) await runOnce(arm, concurrency, warmupMs);
    }
    const acc = new Map<string, Accumulated>(active.map((a) => [a.id, { runs: [], cpuMs: 0, hasCpu: false }]));
    for (let r = 0; r < rounds; r++) {
      for (const arm of active) {
        const a = acc.get(arm.id)!;
        const cpuBefore = await arm.probe?.cpuMs();
        a.runs.push(await runOnce(arm, concurrency, settings.levelMs / rounds));
        if (arm.probe && cpuBefore !== undefined) { a.cpuMs += (await arm.probe.cpuMs()) - cpuBefore; a.hasCpu = true; }
      }
    }
    for (const arm of active) {
      const a = acc.get(arm.id)!;
      const level: LevelResult = summarise(concurrency, a.runs);
      if (a.hasCpu && level.requests > 0) level.cpuMsPerRequest = Math.round((a.cpuMs / level.requests) * 1000) / 1000;
      if (arm.probe) level.rssMb = arm.probe.rssMb();
      lastRps.set(arm.id, Math.max(level.rps, lastRps.get(arm.id) ?? 0));
      results.get(arm.id)!.push(level);
    }
  }
  return results;
}

function runOnce(arm: Arm, concurrency: number, durationMs: number): Promise<RawRun> {
  if (arm.callSync) return Promise.resolve(closedLoopSync(durationMs, arm.callSync));
  return closedLoop(concurrency, durationMs, arm.call!);
}

/** ok, or `errors` when any level had failed requests. */
export function statusOf(levels: LevelResult[]): 'ok' | 'errors' {
  return levels.some((l) => l.errors > 0) ? 'errors' : 'ok';
}

export interface StepContext {
  settings: BenchSettings;
  log(line: string): void;
}

export interface Step {
  name: string;
  /** The scenarios it produces, so a throw still reports each of them as failed. */
  scenarios: Array<Pick<ScenarioResult, 'id' | 'title' | 'group'>>;
  timeoutMs: number;
  /**
   * Unmeasured set-up, run for every step before the first is measured (all at once); `run`
   * awaits it again, so a set-up that failed fails the step's scenarios with its reason.
   */
  prepare?(): Promise<void>;
  run(ctx: StepContext): Promise<ScenarioResult[]>;
}

function loadAvg1(): number {
  return Number(loadavg()[0].toFixed(2));
}

/**
 * A step that throws, or outlives its timeout, becomes `failed` results for the scenarios it
 * had not reported; the bench goes on with the next step (a hung step's resources are its own
 * to release when it ends; the process exits at the end of the bench anyway).
 */
export async function runStep(step: Step, ctx: StepContext): Promise<ScenarioResult[]> {
  const started = performance.now();
  const load = loadAvg1();
  ctx.log(`▸ ${step.name} (load ${load})`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${step.timeoutMs / 1000} s`)), step.timeoutMs); });
    const results = await Promise.race([step.run(ctx), timeout]);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    for (const r of results) { r.loadAvg1 ??= load; r.seconds ??= seconds; }
    for (const r of results) if (r.status === 'errors') ctx.log(`  ${r.id}: requests failed: ${r.levels.filter((l) => l.errors).map((l) => `c=${l.concurrency}: ${l.errors} (${l.firstError})`).join('; ')}`);
    const missing = step.scenarios.filter((s) => !results.some((r) => r.id === s.id));
    return [...results, ...missing.map((s) => ({ ...s, status: 'failed' as const, reason: 'the step did not report it', levels: [] }))];
  } catch (err) {
    const reason = (err as Error).message ?? String(err);
    ctx.log(`  ✗ ${step.name} failed: ${reason}`);
    return step.scenarios.map((s) => ({ ...s, status: 'failed' as const, reason, levels: [], loadAvg1: load }));
  } finally {
    clearTimeout(timer);
  }
}
