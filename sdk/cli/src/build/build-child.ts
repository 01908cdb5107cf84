/**
 * The build's child process (`alga component build` forks it): componentize-js needs ~800 MB
 * of wasm memory and V8's wasm page ceiling is process-wide, so the build never runs inside a
 * process that also runs guests (the dev server's runner sets a low ceiling). It reports over
 * the IPC channel: `{ event: 'phase' | 'progress' | 'done' | 'error', … }`.
 */
import { buildComponent, BuildFailure } from './build-component.ts';
import { typecheckProject } from './typecheck.ts';

export interface BuildChildRequest {
  projectDir: string;
  outDir: string;
  typecheck: boolean;
  color: boolean;
}

export type BuildChildEvent =
  | { event: 'phase'; phase: 'typecheck' | 'bundle' | 'componentize'; ms: number }
  | { event: 'progress'; message: string }
  | { event: 'done'; imports: string[]; componentBytes: number }
  | { event: 'error'; code: string; message: string };

const send = (e: BuildChildEvent) => new Promise<void>((resolve) => process.send!(e, () => resolve()));

async function main(request: BuildChildRequest): Promise<void> {
  if (request.typecheck) {
    const t = performance.now();
    const { problems, formatted } = typecheckProject(request.projectDir, request.color);
    if (problems.length > 0) throw new BuildFailure('E_TYPECHECK_FAILED', `${problems.length} type error${problems.length === 1 ? '' : 's'}:\n${formatted.trimEnd()}`);
    await send({ event: 'phase', phase: 'typecheck', ms: performance.now() - t });
  }
  const result = await buildComponent({
    projectDir: request.projectDir, outDir: request.outDir, color: request.color,
    // buildComponent's last line names the staging path; the parent reports where dist/ is.
    onProgress: (message) => { if (!message.startsWith('built ')) void send({ event: 'progress', message }); },
  });
  await send({ event: 'phase', phase: 'bundle', ms: result.durations.bundleMs });
  await send({ event: 'phase', phase: 'componentize', ms: result.durations.componentizeMs });
  const { statSync } = await import('node:fs');
  await send({ event: 'done', imports: result.imports, componentBytes: statSync(result.componentPath).size });
}

process.once('message', (request: BuildChildRequest) => {
  main(request).then(() => process.exit(0), async (err: unknown) => {
    const code = err instanceof BuildFailure ? err.code : 'E_BUILD_FAILED';
    await send({ event: 'error', code, message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
});
