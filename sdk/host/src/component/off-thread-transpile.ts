/**
 * Runs a jco transpile in a fresh worker thread, so the calling event loop keeps serving
 * requests: in-thread, a 12 MB component held it ~0.7 s. One worker per transpile, ended
 * after it answers, so jco's wasm memory is returned at once instead of kept by an idle worker.
 *
 * @example
 *   const meta = await transpileOffThread(cache.dirFor(hash), componentBytes);
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AlgaError, type ErrorCode } from '@alga-psa/extension-contracts';
import type { CacheMeta } from './transpile-cache.ts';

export interface TranspileJob { dir: string; bytes: Uint8Array }
export type TranspileAnswer =
  | { ok: true; meta: CacheMeta }
  | { ok: false; code?: ErrorCode; message: string };

const workerUrl = new URL('./transpile-worker.ts', import.meta.url);

/**
 * Transpiles of different components running at once. Each takes a core and its own jco
 * heap, so a burst of publishes queues here rather than starving the event loop's core.
 */
const maxConcurrent = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: Array<() => void> = [];

export async function transpileOffThread(dir: string, bytes: Uint8Array): Promise<CacheMeta> {
  if (running >= maxConcurrent) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await runWorker({ dir, bytes });
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runWorker(job: TranspileJob): Promise<CacheMeta> {
  // A copy of just these bytes, transferred rather than cloned: the caller keeps its own.
  const bytes = job.bytes.slice();
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl, { workerData: { dir: job.dir, bytes } satisfies TranspileJob, transferList: [bytes.buffer] });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.once('message', (answer: TranspileAnswer) => settle(() => {
      if (answer.ok) resolve(answer.meta);
      else reject(answer.code ? new AlgaError(answer.code, answer.message) : new Error(`transpile worker failed: ${answer.message}`));
    }));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`transpile worker exited with code ${code} before answering`))));
  });
}
