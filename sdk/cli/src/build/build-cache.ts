/**
 * Content-keyed build cache: a project is rebuilt only when its sources, the SDK, the WIT
 * or the toolchain changed. Tests, the benchmark and `npm start` share it (`.alga-cache/`).
 *
 * @example
 *   const { bundlePath, contentHash } = await buildCached('samples/hello');
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPackageVersion, sha256Hex } from '@alga-psa/extension-contracts';
import { packBuildOutput } from './pack-output.ts';
import { buildComponent } from './build-component.ts';
import { witFile } from './world.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const defaultCacheRoot = join(repoRoot, '.alga-cache', 'builds');

export interface CachedBuild {
  name: string;
  bundlePath: string;
  contentHash: string;
  bytes: Uint8Array;
  manifest: Record<string, unknown>;
  fromCache: boolean;
}

async function filesUnder(dir: string, skip: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (skip.has(entry.name)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full, skip)));
    else if (entry.isFile() && !entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

export async function inputHash(projectDir: string): Promise<string> {
  const versions = ['@bytecodealliance/componentize-js', 'esbuild'].map((n) => installedPackageVersion(n, import.meta.url)).join(',');
  const hash = createHash('sha256').update(versions);
  // Tests are not built into the component: editing one must not cost a rebuild.
  const skip = new Set(['node_modules', 'dist', '.alga', '.git', 'test']);
  const inputs = [
    ...(await filesUnder(projectDir, skip)),
    ...(await filesUnder(join(repoRoot, 'sdk/extension-runtime/src'), skip)),
    ...(await filesUnder(join(repoRoot, 'sdk/extension-ui/src'), skip)),
    ...(await filesUnder(join(repoRoot, 'sdk/cli/src/build'), skip)),
    witFile,
  ];
  for (const file of inputs) hash.update(relative(repoRoot, file)).update('\0').update(await readFile(file)).update('\0');
  return hash.digest('hex').slice(0, 24);
}

export async function buildCached(projectDir: string, options: { cacheRoot?: string; onProgress?(m: string): void } = {}): Promise<CachedBuild> {
  const dir = resolve(projectDir);
  const name = dir.split('/').pop()!;
  const key = await inputHash(dir);
  const target = join(options.cacheRoot ?? defaultCacheRoot, `${name}-${key}`);
  const bundlePath = join(target, 'bundle.tgz');
  const fromCache = await stat(bundlePath).then(() => true, () => false);
  if (!fromCache) {
    const staging = `${target}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    await buildComponent({ projectDir: dir, outDir: join(staging, 'dist'), onProgress: options.onProgress });
    await writeFile(join(staging, 'bundle.tgz'), await packBuildOutput(join(staging, 'dist')));
    await mkdir(options.cacheRoot ?? defaultCacheRoot, { recursive: true });
    await rename(staging, target).catch(async () => rm(staging, { recursive: true, force: true }));
  }
  const bytes = new Uint8Array(await readFile(bundlePath));
  const manifest = JSON.parse(await readFile(join(target, 'dist', 'manifest.json'), 'utf8')) as Record<string, unknown>;
  return { name, bundlePath, contentHash: sha256Hex(bytes), bytes, manifest, fromCache };
}
