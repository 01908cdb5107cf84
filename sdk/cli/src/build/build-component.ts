/**
 * `alga component build`: TypeScript → esbuild bundle → componentize-js against the
 * narrowed world, with every WASI feature disabled so the component imports only
 * `alga:extension/*`. Writes `dist/component.wasm` and `dist/manifest.json`.
 *
 * @example
 *   const result = await buildComponent({ projectDir: 'samples/hello', onProgress: console.log });
 *   result.componentPath  // samples/hello/dist/component.wasm
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, cp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { assertManifest, type Manifest } from '@alga-psa/extension-contracts/manifest';
import { buildWorldName, hostModuleSource, narrowedWit } from './world.ts';
import { openBuildPreopens } from './preopens.ts';
import { guestSdkEntry, uiSdkAliases } from '../project/editor-types.ts';

export interface BuildOptions {
  projectDir: string;
  /** Defaults to `<projectDir>/dist`. */
  outDir?: string;
  /** Entry module; defaults to `src/index.ts`. */
  entry?: string;
  onProgress?(message: string): void;
  /** Colour in esbuild's error frames (a TTY). */
  color?: boolean;
}

/** A build error with the user's file:line:col and a code frame in `message`. */
export class BuildFailure extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BuildFailure';
    this.code = code;
  }
}

async function bundleGuest(options: esbuild.BuildOptions, color: boolean): Promise<void> {
  try {
    await esbuild.build(options);
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors;
    if (!errors?.length) throw err;
    const frames = await esbuild.formatMessages(errors, { kind: 'error', color });
    throw new BuildFailure('E_BUNDLE_FAILED', frames.join('').trimEnd());
  }
}

export interface BuildResult {
  manifest: Manifest;
  outDir: string;
  componentPath: string;
  /** Imports the component really has: `alga:extension/log@0.1.0`, … */
  imports: string[];
  durations: { bundleMs: number; componentizeMs: number };
}

/** Everything a StarlingMonkey guest could reach outside `alga:extension/*` (DESIGN.md §3). */
const disabledWasiFeatures = ['stdio', 'random', 'clocks', 'http', 'fetch-event'] as const;


export async function buildComponent(options: BuildOptions): Promise<BuildResult> {
  const projectDir = resolve(options.projectDir);
  const outDir = resolve(options.outDir ?? join(projectDir, 'dist'));
  const progress = options.onProgress ?? (() => {});
  const manifestJson = JSON.parse(await readFile(join(projectDir, 'manifest.json'), 'utf8')) as unknown;
  const manifest = assertManifest(manifestJson);
  const entry = resolve(projectDir, options.entry ?? 'src/index.ts');
  const work = await mkdtemp(join(tmpdir(), 'alga-build-'));
  try {
    progress(`bundling ${entry}`);
    let t = performance.now();
    // The guest's stacks name this file (`fn@guest.js:283:11`): keep it equal to `guestScriptName`
    // of @alga-psa/extension-host/component/stack-map, which maps those frames.
    const bundlePath = join(work, 'guest.js');
    await bundleGuest({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      outfile: bundlePath,
      // External, not inline: the map stays out of the component (StarlingMonkey would carry it
      // in the guest's memory), and dev and the logs API map stacks with it on the host.
      sourcemap: 'external',
      sourcesContent: true,
      logLevel: 'silent',
      absWorkingDir: projectDir,
      // The CLI's own SDK, so a project needs no npm install (and cannot pick up a stale copy).
      alias: { '@alga-psa/extension-runtime': guestSdkEntry },
      external: ['alga:extension/*'],
      plugins: [{
        name: 'alga-host',
        setup(build) {
          build.onResolve({ filter: /^alga:host$/ }, () => ({ path: 'alga:host', namespace: 'alga-host' }));
          build.onLoad({ filter: /.*/, namespace: 'alga-host' }, () => ({ contents: hostModuleSource(manifest.capabilities), loader: 'js' }));
        },
      }],
    }, options.color ?? false);
    const bundleMs = performance.now() - t;
    const witPath = join(work, 'world.wit');
    await writeFile(witPath, await narrowedWit(manifest.capabilities));
    progress(`componentizing against world "${buildWorldName}" (capabilities: ${manifest.capabilities.join(', ') || 'none'}); this takes a few seconds`);
    t = performance.now();
    await openBuildPreopens();
    const { componentize } = await import('@bytecodealliance/componentize-js');
    const { component, imports } = await componentize({
      sourcePath: bundlePath,
      witPath,
      worldName: buildWorldName,
      disableFeatures: [...disabledWasiFeatures],
    });
    const componentizeMs = performance.now() - t;
    await mkdir(outDir, { recursive: true });
    const componentPath = join(outDir, 'component.wasm');
    await writeFile(componentPath, component);
    await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifestJson, null, 2) + '\n');
    await writeFile(join(outDir, sourceMapFileName), projectRelativeSourceMap(await readFile(`${bundlePath}.map`, 'utf8'), work, projectDir));
    await copyUi(projectDir, outDir, manifest, options.color ?? false);
    // componentize-js types `imports` as string[], but at run time it lists [interface, function] pairs.
    const importNames = [...new Set((imports as unknown as Array<[string, string]>).map(([iface]) => iface))];
    progress(`built ${componentPath} (${(component.byteLength / 1048576).toFixed(1)} MiB, imports: ${importNames.join(', ')})`);
    return { manifest, outDir, componentPath, imports: importNames, durations: { bundleMs, componentizeMs } };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const sourceMapFileName = 'component.js.map';

/**
 * The guest SDK's package root: its files are named `node_modules/@alga-psa/extension-runtime/src/…`
 * in the map, as a dependency's files are (a bare `@alga-psa/…` would read `handle@@alga-psa/…`
 * in a SpiderMonkey frame).
 */
const guestSdkRoot = resolve(dirname(guestSdkEntry), '..');

/**
 * esbuild names sources relative to the temp bundle; rename them relative to the project
 * (`src/index.ts`), the CLI's own guest SDK by its package name and the generated host module
 * `alga:host`, so the map (packed into the bundle) is the same wherever it was built: no temp
 * directory, no path of the developer's machine.
 */
function projectRelativeSourceMap(mapText: string, bundleDir: string, projectDir: string): string {
  const map = JSON.parse(mapText) as { sources: string[]; file?: string };
  map.sources = map.sources.map((s) => {
    if (s.startsWith('alga-host:')) return 'alga:host';
    const abs = resolve(bundleDir, s);
    const inSdk = relative(guestSdkRoot, abs);
    if (!inSdk.startsWith('..') && !isAbsolute(inSdk)) return `node_modules/@alga-psa/extension-runtime/${inSdk}`;
    return relative(projectDir, abs);
  });
  map.file = 'component.js';
  return JSON.stringify(map);
}

/**
 * The iframe UI: TypeScript files directly under `ui/` are entry points, bundled for the
 * browser (`ui/main.ts` → `dist/ui/main.js`, the CLI's own @alga-psa/extension-ui); every other
 * file is copied as it is. Type declarations and nested .ts modules are inputs, not assets.
 */
async function copyUi(projectDir: string, outDir: string, manifest: Manifest, color: boolean): Promise<void> {
  if (!manifest.ui) return;
  const uiDir = join(projectDir, 'ui');
  const exists = await stat(uiDir).then((s) => s.isDirectory(), () => false);
  if (!exists) throw new Error(`manifest.ui.entry is ${manifest.ui.entry} but ${uiDir} does not exist`);
  const target = join(outDir, 'ui');
  await rm(target, { recursive: true, force: true });
  await cp(uiDir, target, { recursive: true, filter: (src) => !/\.tsx?$/.test(src) });
  const entries = (await readdir(uiDir, { withFileTypes: true })).filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts'));
  if (entries.length === 0) return;
  await bundleGuest({
    entryPoints: entries.map((e) => join(uiDir, e.name)),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outdir: target,
    absWorkingDir: projectDir,
    logLevel: 'silent',
    alias: uiSdkAliases,
  }, color);
}
