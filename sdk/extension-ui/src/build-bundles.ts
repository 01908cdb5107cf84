/**
 * Browser bundles of the iframe SDK (esbuild, platform browser): the client for a plain
 * `<script src>` (IIFE, global `AlgaExtensionUi`) or `import` (ESM), and the host bridge likewise
 * (global `AlgaExtensionHost`). Written into a content-addressed folder under the cache, so a dev
 * shell can serve them as immutable files; an extension's own esbuild build can instead import
 * `@alga-psa/extension-ui/client` directly.
 *
 * @example
 *   const bundles = await buildExtensionUiBundles();
 *   bundles.clientIife.code;   // '(()=>{…})()' — put it in ui/alga-extension-ui.js
 *   bundles.hostEsm.path;      // '<repo>/.alga-cache/extension-ui/<hash>/alga-extension-host.mjs'
 *   // from a shell: node sdk/extension-ui/src/build-bundles.ts [outDir]   → prints the paths
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export interface BuiltBundle {
  path: string;
  code: string;
}

export interface ExtensionUiBundles {
  dir: string;
  clientIife: BuiltBundle;
  clientEsm: BuiltBundle;
  hostIife: BuiltBundle;
  hostEsm: BuiltBundle;
}

export const defaultBundleDir = fileURLToPath(new URL('../../../.alga-cache/extension-ui/', import.meta.url));

const entries = {
  clientIife: { entry: 'client.ts', file: 'alga-extension-ui.js', format: 'iife', globalName: 'AlgaExtensionUi' },
  clientEsm: { entry: 'client.ts', file: 'alga-extension-ui.mjs', format: 'esm' },
  hostIife: { entry: 'host.ts', file: 'alga-extension-host.js', format: 'iife', globalName: 'AlgaExtensionHost' },
  hostEsm: { entry: 'host.ts', file: 'alga-extension-host.mjs', format: 'esm' },
} as const satisfies Record<string, { entry: string; file: string; format: esbuild.Format; globalName?: string }>;

export async function buildExtensionUiBundles(options: { outDir?: string; minify?: boolean } = {}): Promise<ExtensionUiBundles> {
  const built = await Promise.all(Object.entries(entries).map(async ([key, spec]) => {
    const result = await esbuild.build({
      entryPoints: [fileURLToPath(new URL(spec.entry, import.meta.url))],
      bundle: true,
      write: false,
      platform: 'browser',
      format: spec.format,
      ...('globalName' in spec ? { globalName: spec.globalName } : {}),
      // Browsers that support MessagePort transfer, AbortSignal.any and private fields alike.
      target: 'es2022',
      minify: options.minify ?? true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    return [key, spec.file, result.outputFiles[0].text] as const;
  }));
  const hash = createHash('sha256');
  for (const [, file, code] of built) hash.update(`${file}\0${code}\0`);
  const dir = join(options.outDir ?? defaultBundleDir, hash.digest('hex').slice(0, 16));
  // Same content, same folder: concurrent test workers write identical bytes, each through a rename.
  await mkdir(dir, { recursive: true });
  const out: Partial<ExtensionUiBundles> = { dir };
  for (const [key, file, code] of built) {
    const path = join(dir, file);
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, code);
    await rename(temp, path);
    (out as Record<string, unknown>)[key] = { path, code };
  }
  return out as ExtensionUiBundles;
}

if (import.meta.main) {
  const bundles = await buildExtensionUiBundles({ ...(process.argv[2] ? { outDir: process.argv[2] } : {}) });
  console.log(JSON.stringify({ dir: bundles.dir, files: [bundles.clientIife, bundles.clientEsm, bundles.hostIife, bundles.hostEsm].map((b) => b.path) }, null, 2));
}
