/**
 * `npm run bench` (part): the developer loop through the real `alga` process, per template —
 * `component new`, the first build (nothing cached), an unchanged rebuild, a rebuild after an
 * edit, and the component's size. Writes bench-results/cli.json. Whole-process wall times on a
 * shared machine: read them beside each other, not as absolutes.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/alga.mjs', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../../bench-results/', import.meta.url));

function alga(args: string[], cwd: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`alga ${args.join(' ')} failed: ${stderr}`));
      else resolve(performance.now() - started);
    });
  });
}

const work = await mkdtemp(join(tmpdir(), 'alga-cli-bench-'));
const rows: Array<Record<string, number | string>> = [];
try {
  for (const template of ['component-basic', 'component-with-ui']) {
    const dir = join(work, template);
    const newMs = await alga(['component', 'new', dir, '--template', template], work);
    const firstBuildMs = await alga(['component', 'build'], dir);
    const noopMs = await alga(['component', 'build'], dir);
    const source = join(dir, 'src/index.ts');
    await writeFile(source, `${await readFile(source, 'utf8')}\n// edited by the benchmark\n`);
    const editMs = await alga(['component', 'build'], dir);
    const componentBytes = (await stat(join(dir, 'dist/component.wasm'))).size;
    rows.push({ template, newMs: Math.round(newMs), firstBuildMs: Math.round(firstBuildMs), noopRebuildMs: Math.round(noopMs), editRebuildMs: Math.round(editMs), componentMiB: Number((componentBytes / 1048576).toFixed(1)) });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

console.log('\nalga developer loop (whole processes, wall time)');
console.log('template            new      first build  no-op rebuild  edit rebuild  component');
for (const r of rows) {
  console.log(`${String(r.template).padEnd(18)}  ${`${r.newMs} ms`.padEnd(8)} ${`${r.firstBuildMs} ms`.padEnd(12)} ${`${r.noopRebuildMs} ms`.padEnd(14)} ${`${r.editRebuildMs} ms`.padEnd(13)} ${r.componentMiB} MiB`);
}
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, 'cli.json'), `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
console.log(`wrote ${join(resultsDir, 'cli.json')}`);
