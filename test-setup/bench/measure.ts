/**
 * Measurement primitives for the benches: latency percentiles, sequential and closed-loop
 * runs, merging of interleaved rounds, and child processes to measure.
 * `runner/bench/bench-lib.ts` re-exports this (sdk/cli/bench imports it from there).
 *
 * @example
 *   const raw = await closedLoop(8, 2000, () => pool.request(...));
 *   const level = summarise(8, [raw]);   // rps, p50/p90/p99, errors
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LatencyStats { n: number; p50: number; p90: number; p99: number; mean: number; max: number }

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Nearest-rank quantile of sorted samples. */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function stats(samples: number[]): LatencyStats {
  if (samples.length === 0) return { n: 0, p50: NaN, p90: NaN, p99: NaN, mean: NaN, max: NaN };
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: round3(quantile(s, 0.5)), p90: round3(quantile(s, 0.9)), p99: round3(quantile(s, 0.99)), mean: round3(s.reduce((a, b) => a + b, 0) / s.length), max: round3(s[s.length - 1]) };
}

/** Percentiles the report draws as a latency distribution: dense in the tail, where the differences are. */
export const curvePercentiles = [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 100];

/** [percentile, ms] pairs over `curvePercentiles` (small enough to keep in the JSON). */
export function percentileCurve(samples: number[]): Array<[number, number]> {
  if (samples.length === 0) return [];
  const s = [...samples].sort((a, b) => a - b);
  return curvePercentiles.map((p) => [p, round3(p === 100 ? s[s.length - 1] : quantile(s, p / 100))]);
}

/** Sequential latency: one request at a time, `n` times, after `warmup` unmeasured ones. */
export async function sequential(n: number, warmup: number, call: (i: number) => Promise<void>): Promise<LatencyStats> {
  for (let i = 0; i < warmup; i++) await call(i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(warmup + i);
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

/** One closed-loop run before summarising: kept raw so interleaved rounds can be merged. */
export interface RawRun {
  samples: number[];
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

/**
 * Closed loop: `concurrency` callers, each issuing its next call when the last answered, for
 * `durationMs` (calls in flight at the end are awaited and counted). Failed calls count as
 * errors, not as latency samples, and the first failure's message is kept for the report.
 */
export async function closedLoop(concurrency: number, durationMs: number, call: (i: number) => Promise<void>): Promise<RawRun> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await call(next++);
        samples.push(performance.now() - t);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message?.slice(0, 300) ?? String(err);
      }
    }
  }));
  return { samples, errors, firstError, elapsedMs: performance.now() - started };
}

/** Synchronous work in this thread (a direct call, an isolate): a closed loop of one, without promise overhead. */
export function closedLoopSync(durationMs: number, call: () => void): RawRun {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = started + durationMs;
  while (performance.now() < end) {
    const t = performance.now();
    try {
      call();
      samples.push(performance.now() - t);
    } catch (err) {
      errors++;
      firstError ??= (err as Error).message?.slice(0, 300) ?? String(err);
    }
  }
  return { samples, errors, firstError, elapsedMs: performance.now() - started };
}

export interface LevelSummary {
  concurrency: number;
  /** Answered requests per second (errors excluded). */
  rps: number;
  requests: number;
  errors: number;
  firstError?: string;
  latency: LatencyStats;
  curve: Array<[number, number]>;
}

/** Rounds of the same level (interleaved with a baseline's) as one result. */
export function summarise(concurrency: number, runs: RawRun[]): LevelSummary {
  const samples = runs.flatMap((r) => r.samples);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const elapsedS = runs.reduce((n, r) => n + r.elapsedMs, 0) / 1000;
  const firstError = runs.find((r) => r.firstError)?.firstError;
  return {
    concurrency, rps: elapsedS > 0 ? Math.round(samples.length / elapsedS) : 0, requests: samples.length, errors,
    ...(firstError ? { firstError } : {}), latency: stats(samples), curve: percentileCurve(samples),
  };
}

/** The old single-call form (rps, latency, errors), kept for callers outside the suite. */
export async function throughput(concurrency: number, durationMs: number, call: (i: number) => Promise<void>): Promise<{ rps: number; latency: LatencyStats; errors: number }> {
  const level = summarise(concurrency, [await closedLoop(concurrency, durationMs, call)]);
  return { rps: level.rps, latency: level.latency, errors: level.errors };
}

export interface StartedProcess {
  child: ChildProcess;
  match: RegExpMatchArray;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it exited. */
  stop(): Promise<void>;
}

export interface StartProcessOptions {
  cwd?: string;
  /** Start from an empty environment (PATH only) instead of this process's: nothing leaks in. */
  cleanEnv?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a Node script (on this Node) until its stdout matches `readyPattern`. Output after
 * that is read and dropped (a child writing per request must neither block on a full pipe
 * nor grow a buffer here); stderr goes to ours.
 */
export function startProcess(script: string, env: Record<string, string>, readyPattern: RegExp, options: StartProcessOptions = {}): Promise<StartedProcess> {
  return new Promise((resolve, reject) => {
    const base = options.cleanEnv ? { PATH: process.env.PATH ?? '' } : process.env;
    const child = spawn(process.execPath, [script], { cwd: options.cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const exited = new Promise<void>((r) => child.once('exit', () => { process.off('exit', killOnExit); r(); }));
    let out = '';
    let ready = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} did not become ready: ${out.slice(-2000)}`)); }, options.timeoutMs ?? 90_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (ready) return;
      out += chunk.toString();
      const match = readyPattern.exec(out);
      if (!match) return;
      ready = true;
      out = '';
      clearTimeout(timer);
      resolve({
        child, match,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
    child.once('exit', (code, signal) => { if (!ready) { clearTimeout(timer); reject(new Error(`${script} exited with ${code ?? signal}: ${out.slice(-2000)}`)); } });
  });
}
