/**
 * `alga component test [dir] [--filter TEXT…] [--no-typecheck]`: builds (cached), then runs the
 * project's tests (`test/**` and `src/**` `*.test.ts`) with the CLI's own vitest against the
 * BUILT component, through the test host `@alga-psa/extension-runtime/testing` (the real runner,
 * production's capability checks). The project needs no `npm install`: `vitest` and the test
 * host resolve to the CLI's copies.
 *
 * @example
 *   alga component test                 # every test
 *   alga component test --filter visits # files whose path contains "visits"
 */
import { CliError } from '../cli-error.ts';
import { testingRuntimeEntry, vitestDir } from '../project/editor-types.ts';
import type { Output } from '../output.ts';
import { buildProject } from './build.ts';
import { loadProject } from './project.ts';

export const testInclude = ['test/**/*.test.ts', 'src/**/*.test.ts'];

interface TaskLike { type: string; mode?: string; result?: { state?: string }; tasks?: TaskLike[] }

function countTests(tasks: readonly TaskLike[], into = { passed: 0, failed: 0, skipped: 0 }) {
  for (const t of tasks) {
    if (t.type === 'test') {
      const state = t.result?.state;
      if (state === 'pass') into.passed++;
      else if (state === 'fail') into.failed++;
      else into.skipped++;
    }
    if (t.tasks) countTests(t.tasks, into);
  }
  return into;
}

export async function testCommand(dir: string | undefined, filters: string[], opts: { typecheck?: boolean }, out: Output): Promise<void> {
  const project = await loadProject(dir);
  const built = await buildProject(project, { typecheck: opts.typecheck, color: !out.json && Boolean(process.stderr.isTTY) }, out);
  out.progress(`${project.manifest.name}: testing the built component (${built.fromCache ? 'unchanged' : 'just built'})`);
  const { startVitest } = await import('vitest/node');
  const started = performance.now();
  process.env.ALGA_PROJECT_DIR = project.dir;
  const vitest = await startVitest('test', filters, {
    root: project.dir,
    include: testInclude,
    watch: false,
    // Each test file loads its own runner: a few at a time keeps a laptop responsive.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    passWithNoTests: false,
    // In --json mode stdout carries one document only: vitest's report goes to stderr.
    reporters: out.json ? [['default', { summary: false }]] : ['default'],
  }, {
    resolve: {
      alias: [
        { find: /^@alga-psa\/extension-runtime\/testing$/, replacement: testingRuntimeEntry },
        { find: /^vitest$/, replacement: `${vitestDir}/dist/index.js` },
      ],
    },
    // Writes of .alga/ (the runner's caches) must not re-run anything.
    server: { watch: null },
  }, out.json ? { stdout: process.stderr, stderr: process.stderr } : {});
  if (!vitest) throw new CliError('E_TEST_FAILED', 'vitest did not start', 'run again; if it keeps failing, report it with the command you ran');
  const files = vitest.state.getFiles() as unknown as TaskLike[];
  const counts = countTests(files);
  const failedFiles = files.filter((f) => f.result?.state === 'fail').length;
  await vitest.close();
  const totalMs = Math.round(performance.now() - started);
  if (files.length === 0) throw new CliError('E_NO_TESTS', `no test files in ${project.dir} (looked for ${testInclude.join(', ')})`, 'add a test, e.g. test/index.test.ts (the templates ship one)');
  if (counts.failed > 0 || failedFiles > 0) {
    throw new CliError('E_TEST_FAILED', `${counts.failed} of ${counts.passed + counts.failed} tests failed${failedFiles > 0 && counts.failed === 0 ? ` (${failedFiles} file${failedFiles === 1 ? '' : 's'} could not run)` : ''}`,
      'see the failures above; the component under test is dist/ as built now', { ...counts, files: files.length });
  }
  out.result({ files: files.length, ...counts, totalMs }, `${counts.passed} tests passed in ${files.length} file${files.length === 1 ? '' : 's'} (${(totalMs / 1000).toFixed(1)} s)`);
}
