/** Small measurement helpers for `npm run bench` (latency percentiles, throughput, child processes). */
import { spawn, type ChildProcess } from 'node:child_process';

export interface LatencyStats { n: number; p50: number; p90: number; p99: number; mean: number; max: number }

export function stats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.length, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length), max: round(s[s.length - 1]) };
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

/** Closed-loop throughput: `concurrency` callers for `durationMs`; returns requests/s and latency. */
export async function throughput(concurrency: number, durationMs: number, call: (i: number) => Promise<void>): Promise<{ rps: number; latency: LatencyStats; errors: number }> {
  const samples: number[] = [];
  let errors = 0;
  let next = 0;
  const end = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try { await call(next++); } catch { errors++; }
      samples.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { rps: Math.round(samples.length / elapsed), latency: stats(samples), errors };
}

export function startProcess(script: string, env: Record<string, string>, readyPattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not become ready: ${out.slice(-2000)}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = readyPattern.exec(out);
      if (match) { clearTimeout(timer); resolve({ child, match }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`)); });
  });
}
