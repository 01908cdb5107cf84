/**
 * Worker-thread entry for `off-thread-transpile.ts`: transpiles one component into its cache
 * directory and answers with the cache metadata (the real imports and exports jco reported),
 * so the files never cross threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AlgaError } from '@alga-psa/extension-contracts';
import { transpileInto } from './transpile-cache.ts';
import type { TranspileAnswer, TranspileJob } from './off-thread-transpile.ts';

const job = workerData as TranspileJob;
let answer: TranspileAnswer;
try {
  answer = { ok: true, meta: await transpileInto(job.dir, job.bytes) };
} catch (err) {
  answer = err instanceof AlgaError
    ? { ok: false, code: err.code, message: err.message }
    : { ok: false, message: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(answer);
