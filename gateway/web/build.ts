/**
 * Builds the tenant admin console (`gateway/web/`, React + Vite) into a content-keyed folder the
 * gateway serves at `/admin/` (DESIGN.md §9).
 *
 * The key is a sha256 over everything that can change the output: the console's own files, the
 * shared sources it imports (`sdk/contracts/src`, `sdk/extension-ui/src`, `gateway/src/identity/roles.ts`),
 * and the versions of the toolchain and of every npm package it bundles. The folder is
 * `.alga-cache/admin-web/<key>/`; an unchanged tree costs one hash of ~100 small files (a few ms).
 * A build goes to a temp folder first and is renamed into place, so concurrent builders (test
 * workers, two `npm start`s) never see half a folder: the first rename wins, the others drop theirs.
 *
 * Vite runs in a child Node process: its build sets `process.env.NODE_ENV`, which must not leak
 * into the gateway (a test process has NODE_ENV=test, and the runtime mode reads it), and a
 * cached start never loads Vite at all. A guard in that build fails it when a bundled module sits
 * outside the hashed inputs, so the cache key cannot silently go stale.
 *
 * @example
 *   const { dir, fromCache } = await buildAdminWeb();   // then createGateway(config, { ..., adminWebDir: dir })
 *
 *   node gateway/web/build.ts                            // builds (or finds) it and prints the folder
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { installedPackageVersion } from '@alga-psa/extension-contracts/package-version';

const webDir = fileURLToPath(new URL('./', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const adminWebCacheRoot = join(repoRoot, '.alga-cache', 'admin-web');

/** Source folders and files whose content is hashed; every bundled non-npm module must be inside one. */
const sourceInputs = [webDir, join(repoRoot, 'sdk/contracts/src'), join(repoRoot, 'sdk/extension-ui/src'), join(repoRoot, 'gateway/src/identity/roles.ts'),
  // The shared sources are transformed with the nearest tsconfig's options: the root one.
  join(repoRoot, 'tsconfig.json')];
/**
 * npm packages the bundle may contain, plus the toolchain: their versions are in the key. Bundling
 * another package fails the build until it is added here.
 */
const bundledPackages = ['react', 'react-dom', 'scheduler', 'zod'];
const toolchain = ['vite', 'rolldown', 'lightningcss'];
/** How many older builds to keep beside the current one (a running gateway holds its files in memory). */
const keepOlder = 3;

export interface AdminWebBuild {
  /** The built folder (index.html, assets/…). */
  dir: string;
  fromCache: boolean;
  key: string;
}

async function filesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile() && !/\.test\.tsx?$|\.md$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** The cache key: sources, the build module itself (it holds the Vite config) and package versions. */
export async function adminWebKey(): Promise<string> {
  const hash = createHash('sha256').update('alga-admin-web-v1\0');
  for (const name of [...toolchain, ...bundledPackages]) hash.update(`${name}@${installedPackageVersion(name, import.meta.url)}\0`);
  for (const root of sourceInputs) {
    for (const file of await filesUnder(root)) hash.update(relative(repoRoot, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 24);
}

let inProcess: Promise<AdminWebBuild> | undefined;

/** Builds the admin console unless this content was built before; once per process. */
export function buildAdminWeb(options: { cacheRoot?: string } = {}): Promise<AdminWebBuild> {
  if (options.cacheRoot) return buildInto(options.cacheRoot);
  inProcess ??= buildInto(adminWebCacheRoot).catch((err: unknown) => { inProcess = undefined; throw err; });
  return inProcess;
}

async function buildInto(cacheRoot: string): Promise<AdminWebBuild> {
  const key = await adminWebKey();
  const dir = join(cacheRoot, key);
  if (await stat(join(dir, 'index.html')).then(() => true, () => false)) return { dir, fromCache: true, key };
  await mkdir(cacheRoot, { recursive: true });
  const staging = join(cacheRoot, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), '--vite-build', staging], {
      cwd: repoRoot,
      env: { ...process.env, NODE_ENV: 'production' },
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stderr?: string; stdout?: string; message: string }) => {
      const output = (err.stderr || err.stdout || err.message).split('\n').filter((line) => !/^\s+at /.test(line) && !line.startsWith('node:internal')).join('\n');
      throw new Error(`the admin console (gateway/web) did not build:\n${output.trim()}`);
    });
    // Atomic: either this build lands, or another process's identical one already did.
    await rename(staging, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!(await stat(join(dir, 'index.html')).then(() => true, () => false))) throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await pruneOlder(cacheRoot, key);
  return { dir, fromCache: false, key };
}

async function pruneOlder(cacheRoot: string, current: string): Promise<void> {
  const entries = await readdir(cacheRoot, { withFileTypes: true }).catch(() => []);
  // Staging folders of builds that died (a live one is minutes old at most).
  for (const e of entries.filter((e) => e.name.startsWith('.tmp-'))) {
    const age = Date.now() - (await stat(join(cacheRoot, e.name)).then((s) => s.mtimeMs, () => Date.now()));
    if (age > 3_600_000) await rm(join(cacheRoot, e.name), { recursive: true, force: true });
  }
  const builds = await Promise.all(entries.filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== current)
    .map(async (e) => ({ name: e.name, mtime: (await stat(join(cacheRoot, e.name))).mtimeMs })));
  builds.sort((a, b) => b.mtime - a.mtime);
  for (const old of builds.slice(keepOlder)) await rm(join(cacheRoot, old.name), { recursive: true, force: true });
}

/** The child process: one Vite build into `outDir`, with the key's completeness guard. */
async function viteBuild(outDir: string): Promise<void> {
  const { build } = await import('vite');
  const inHashedSources = (file: string) => sourceInputs.some((root) => file === root || file.startsWith(root.endsWith(sep) ? root : `${root}${sep}`));
  const packageOf = (file: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file.slice(file.lastIndexOf('node_modules/')))?.[1];
  await build({
    root: webDir,
    base: '/admin/',
    configFile: false,
    envDir: false,
    publicDir: false,
    logLevel: 'warn',
    mode: 'production',
    clearScreen: false,
    // No React plugin: Oxc's automatic JSX runtime is all this app needs (no fast refresh; Vite 8 replaced esbuild by Oxc).
    oxc: { jsx: { runtime: 'automatic' } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The CSP has no 'unsafe-inline': no inline polyfill script, no data: assets in scripts or styles.
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      cssCodeSplit: false,
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1024,
    },
    plugins: [{
      name: 'alga-admin-web-cache-key-guard',
      generateBundle() {
        const problems: string[] = [];
        for (const id of this.getModuleIds()) {
          if (id.startsWith('\0') || !id.startsWith('/')) continue;
          const file = id.split('?')[0];
          if (file.includes(`${sep}node_modules${sep}`)) {
            const pkg = packageOf(file);
            if (pkg && !bundledPackages.includes(pkg) && !toolchain.includes(pkg)) problems.push(`${pkg} (npm package): add it to bundledPackages in gateway/web/build.ts`);
          } else if (!inHashedSources(file)) {
            problems.push(`${relative(repoRoot, file)}: add its folder to sourceInputs in gateway/web/build.ts`);
          }
        }
        if (problems.length > 0) this.error(`the admin bundle includes modules outside its cache key:\n  ${[...new Set(problems)].join('\n  ')}`);
      },
    }],
  });
}

if (import.meta.main) {
  const at = process.argv.indexOf('--vite-build');
  if (at !== -1) {
    await viteBuild(process.argv[at + 1]);
  } else {
    const started = Date.now();
    const built = await buildAdminWeb();
    process.stdout.write(`${built.dir}\n${built.fromCache ? 'cached' : `built in ${Date.now() - started} ms`}\n`);
  }
}
