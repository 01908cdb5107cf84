/**
 * The build's child processes (`alga component build` forks them; `alga component dev` keeps
 * them running between builds): `node build-child.ts componentize` bundles and componentizes,
 * `node build-child.ts typecheck` type-checks, each on its own core, so the type check costs
 * no time beside componentize. componentize-js needs ~800 MB of wasm memory and V8's wasm page
 * ceiling is process-wide, so the build never runs inside a process that also runs guests (the
 * dev server's runner sets a low ceiling); it cannot run in a worker thread either (it hands
 * `process.stdout` to `spawnSync`, which a worker's stdout cannot be).
 *
 * Jobs come over the IPC channel as `{ id, job }` and run one at a time; every event answers
 * with the job's `id`: `{ event: 'progress' | 'phase' | 'typechecked' | 'done' | 'error', … }`,
 * the last one `done`, `typechecked` or `error` — or `transpiled`, after `done`, when the build
 * asked for the runner's transpile too (dev). A child serves until its parent disconnects.
 */
import { readFileSync, statSync } from 'node:fs';
import type { TypecheckCache } from './typecheck.ts';

export type BuildChildRole = 'componentize' | 'typecheck';

export interface BuildChildRequest {
  projectDir: string;
  outDir: string;
  color: boolean;
  /**
   * After `done`: transpile the component for the runner into this directory (a transpile
   * cache entry, written whole or not at all) and answer `transpiled`. Dev asks for it, so the
   * transpile runs here, warm, while dev packs the bundle.
   */
  transpileInto?: string;
}

export interface TypecheckRequest {
  projectDir: string;
  color: boolean;
}

export type BuildChildEvent =
  | { event: 'phase'; phase: 'bundle' | 'componentize'; ms: number }
  | { event: 'progress'; message: string }
  | { event: 'done'; imports: string[]; componentBytes: number }
  | { event: 'typechecked'; ms: number; errors: number; formatted: string }
  | { event: 'transpiled'; ok: boolean; message?: string }
  | { event: 'error'; code: string; message: string };

/** A job, or word that the answer to job `cancel` is no longer wanted (its remaining steps are skipped). */
export type BuildChildMessage<T = BuildChildRequest | TypecheckRequest> = { id: number; job: T } | { cancel: number };

const role = process.argv[2] as BuildChildRole;
const send = (id: number, e: BuildChildEvent) => new Promise<void>((resolve) => {
  if (!process.connected) return resolve();
  process.send!({ id, ...e }, () => resolve());
});

async function componentize(id: number, request: BuildChildRequest): Promise<void> {
  const { buildComponent } = await import('./build-component.ts');
  const result = await buildComponent({
    projectDir: request.projectDir, outDir: request.outDir, color: request.color,
    // buildComponent's last line names the staging path; the parent reports where dist/ is.
    onProgress: (message) => { if (!message.startsWith('built ')) void send(id, { event: 'progress', message }); },
  });
  await send(id, { event: 'phase', phase: 'bundle', ms: result.durations.bundleMs });
  await send(id, { event: 'phase', phase: 'componentize', ms: result.durations.componentizeMs });
  // Read before `done`: the parent then moves outDir into its build cache.
  const component = request.transpileInto ? new Uint8Array(readFileSync(result.componentPath)) : undefined;
  await send(id, { event: 'done', imports: result.imports, componentBytes: statSync(result.componentPath).size });
  if (request.transpileInto && component && cancelled.has(id)) {
    await send(id, { event: 'transpiled', ok: false, message: 'cancelled' });
  } else if (request.transpileInto && component) {
    try {
      const { transpileInto } = await import('@alga-psa/extension-host/component/transpile-cache');
      await transpileInto(request.transpileInto, component);
      await send(id, { event: 'transpiled', ok: true });
    } catch (err) {
      // The runner transpiles it itself then, and reports what is wrong with it.
      await send(id, { event: 'transpiled', ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** Parsed library and source files kept between a serving child's type checks (unchanged text → the same file). */
const typecheckCache: TypecheckCache = { files: new Map() };

async function typecheck(id: number, request: TypecheckRequest): Promise<void> {
  const { typecheckProject } = await import('./typecheck.ts');
  const t = performance.now();
  const { problems, formatted } = typecheckProject(request.projectDir, request.color, typecheckCache);
  await send(id, { event: 'typechecked', ms: performance.now() - t, errors: problems.length, formatted });
}

const cancelled = new Set<number>();

async function run({ id, job }: { id: number; job: BuildChildRequest | TypecheckRequest }): Promise<void> {
  try {
    if (cancelled.has(id)) {
      await send(id, { event: 'error', code: 'E_CANCELLED', message: 'cancelled' });
      return;
    }
    if (role === 'typecheck') await typecheck(id, job as TypecheckRequest);
    else await componentize(id, job as BuildChildRequest);
  } catch (err) {
    const { BuildFailure } = await import('./build-component.ts');
    const code = err instanceof BuildFailure ? err.code : 'E_BUILD_FAILED';
    await send(id, { event: 'error', code, message: err instanceof Error ? err.message : String(err) });
  }
}

if (role !== 'componentize' && role !== 'typecheck') throw new Error(`build-child: unknown role ${role}`);
// Loaded while the first job is on its way: the modules each role needs.
const warm = role === 'typecheck'
  ? import('./typecheck.ts')
  : import('./build-component.ts').then(async () => {
    const { openBuildPreopens } = await import('./preopens.ts');
    await openBuildPreopens();
    await import('@bytecodealliance/componentize-js');
    // Each world's bindings are spliced once (per machine).
    const { memoizeSplice } = await import('./splice-memo.ts');
    await memoizeSplice();
  });
let queue: Promise<unknown> = warm.catch(() => undefined);
process.on('message', (message: BuildChildMessage) => {
  if ('cancel' in message) cancelled.add(message.cancel);
  else queue = queue.then(() => run(message));
});
process.on('disconnect', () => { void queue.finally(() => process.exit(0)); });
