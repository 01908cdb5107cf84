/**
 * Packs a build's `dist/` as a bundle: exactly manifest.json, component.wasm, ui/** and, when
 * the build wrote one, component.js.map (what publish accepts; the gateway maps guest stack
 * traces with the map, and the bundle signature covers it like every other entry), leaving out
 * the build marker and earlier packed bundles. `local` packs fast for a bundle that stays on
 * this machine (dev, tests): a lower gzip level, same contents.
 */
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleComponentPath, bundleManifestPath, bundleSourceMapPath, packBundle } from '@alga-psa/extension-contracts';

export async function packBuildOutput(distDir: string, options: { local?: boolean } = {}): Promise<Uint8Array> {
  const staging = await mkdtemp(join(tmpdir(), 'alga-pack-'));
  try {
    for (const file of [bundleManifestPath, bundleComponentPath]) await cp(join(distDir, file), join(staging, file));
    if (await isFile(join(distDir, bundleSourceMapPath))) await cp(join(distDir, bundleSourceMapPath), join(staging, bundleSourceMapPath));
    if (await stat(join(distDir, 'ui')).then((s) => s.isDirectory(), () => false)) await cp(join(distDir, 'ui'), join(staging, 'ui'), { recursive: true });
    return await packBundle(staging, { gzipLevel: options.local ? 1 : 6 });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}
