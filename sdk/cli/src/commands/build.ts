/**
 * `alga component build [dirs…] [--no-typecheck]`: type check → esbuild → componentize-js in a
 * child process, one progress line per phase with its time, cached by content in
 * `.alga/build/` (an unchanged project is a copy, well under a second). Writes
 * `dist/component.wasm`, `dist/component.js.map` and `dist/manifest.json` (+ `dist/ui/`).
 *
 * @example
 *   const built = await buildProject(await loadProject('.'), { typecheck: true }, out);
 */
import { fork } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputHash } from '../build/build-cache.ts';
import type { BuildChildEvent, BuildChildRequest } from '../build/build-child.ts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { writeEditorTypes } from '../project/editor-types.ts';
import { loadProject, type Project } from './project.ts';

const childEntry = fileURLToPath(new URL('../build/build-child.ts', import.meta.url));
/** Marks which cached build `dist/` holds, so a no-op build copies nothing. */
const buildKeyFile = '.build-key';
const keptBuilds = 3;

export interface BuiltProject {
  project: Project;
  key: string;
  fromCache: boolean;
  distDir: string;
  imports: string[];
  componentBytes: number;
  phases: Record<string, number>;
  totalMs: number;
}

export async function buildProject(project: Project, opts: { typecheck?: boolean; color?: boolean }, out: Output): Promise<BuiltProject> {
  const started = performance.now();
  await writeEditorTypes(project.dir, project.manifest);
  const key = await inputHash(project.dir);
  const cacheRoot = join(project.dir, '.alga', 'build');
  const cached = join(cacheRoot, key);
  const name = project.manifest.name;
  let fromCache = await exists(join(cached, 'component.wasm'));
  let phases: Record<string, number> = {};
  let imports: string[] = [];
  if (fromCache) {
    out.progress(`${name}: unchanged since the last build (cache ${key})`);
    imports = (JSON.parse(await readFile(join(cached, 'build.json'), 'utf8')) as { imports: string[] }).imports;
  } else {
    const staging = `${cached}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    const result = await runBuildChild({ projectDir: project.dir, outDir: staging, typecheck: opts.typecheck ?? true, color: opts.color ?? false }, name, out);
    phases = result.phases;
    imports = result.imports;
    await writeFile(join(staging, 'build.json'), JSON.stringify({ imports, phases }));
    await mkdir(cacheRoot, { recursive: true });
    await rename(staging, cached).catch(async () => { await rm(staging, { recursive: true, force: true }); fromCache = true; });
    await pruneBuilds(cacheRoot, key);
  }
  if ((await readFile(join(project.distDir, buildKeyFile), 'utf8').catch(() => '')) !== key) {
    await rm(project.distDir, { recursive: true, force: true });
    await cp(cached, project.distDir, { recursive: true, filter: (src) => !src.endsWith('build.json') });
    await writeFile(join(project.distDir, buildKeyFile), key);
  }
  const componentBytes = (await stat(join(project.distDir, 'component.wasm'))).size;
  return { project, key, fromCache, distDir: project.distDir, imports, componentBytes, phases, totalMs: performance.now() - started };
}

function runBuildChild(request: BuildChildRequest, name: string, out: Output): Promise<{ phases: Record<string, number>; imports: string[] }> {
  return new Promise((resolve, reject) => {
    const child = fork(childEntry, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
    const phases: Record<string, number> = {};
    let failure: CliError | undefined;
    let imports: string[] = [];
    // componentize-js and esbuild may print; that is progress noise, never the result.
    child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('message', (e: BuildChildEvent) => {
      if (e.event === 'phase') {
        phases[e.phase] = Math.round(e.ms);
        out.progress(`${name}: ${e.phase} ${(e.ms / 1000).toFixed(2)} s`);
      } else if (e.event === 'progress') out.progress(`${name}: ${e.message}`);
      else if (e.event === 'done') imports = e.imports;
      else failure = new CliError(e.code, e.message, hintFor(e.code));
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (failure) reject(failure);
      else if (code !== 0) reject(new CliError('E_BUILD_FAILED', `the build process exited with code ${code}`, 'run the build again; if it keeps failing, run with --no-typecheck to see whether the type check or componentize fails'));
      else resolve({ phases, imports });
    });
    child.send(request);
  });
}

function hintFor(code: string): string | undefined {
  if (code === 'E_TYPECHECK_FAILED') return 'fix the type errors above (or build with --no-typecheck to try the component anyway)';
  if (code === 'E_BUNDLE_FAILED') return 'fix the error at the file and line shown above';
  return undefined;
}

async function pruneBuilds(cacheRoot: string, keep: string): Promise<void> {
  const entries = await readdir(cacheRoot, { withFileTypes: true });
  const builds = await Promise.all(entries.filter((e) => e.isDirectory() && e.name !== keep && !e.name.endsWith('.tmp'))
    .map(async (e) => ({ name: e.name, at: (await stat(join(cacheRoot, e.name))).mtimeMs })));
  for (const old of builds.sort((a, b) => b.at - a.at).slice(keptBuilds - 1)) await rm(join(cacheRoot, old.name), { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export async function buildCommand(dirs: string[], opts: { typecheck?: boolean }, out: Output): Promise<void> {
  const results: BuiltProject[] = [];
  for (const dir of dirs.length > 0 ? dirs : ['.']) {
    const built = await buildProject(await loadProject(dir), { typecheck: opts.typecheck, color: !out.json && Boolean(process.stderr.isTTY) }, out);
    results.push(built);
  }
  out.result(
    { builds: results.map((b) => ({ name: b.project.manifest.name, version: b.project.manifest.version, distDir: b.distDir, fromCache: b.fromCache, imports: b.imports, componentBytes: b.componentBytes, phasesMs: b.phases, totalMs: Math.round(b.totalMs) })) },
    results.map((b) => `${b.project.manifest.name}@${b.project.manifest.version}: ${b.fromCache ? 'up to date' : 'built'} in ${(b.totalMs / 1000).toFixed(2)} s → ${b.distDir} (${(b.componentBytes / 1048576).toFixed(1)} MiB; imports ${b.imports.join(', ') || 'none'})`),
  );
}
