/**
 * Packs a build's `dist/` as a bundle: exactly manifest.json, component.wasm and ui/** (what
 * publish accepts), leaving out the source map, the build marker and earlier packed bundles.
 */
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleComponentPath, bundleManifestPath, packBundle } from '@alga-psa/extension-contracts';

export async function packBuildOutput(distDir: string): Promise<Uint8Array> {
  const staging = await mkdtemp(join(tmpdir(), 'alga-pack-'));
  try {
    for (const file of [bundleManifestPath, bundleComponentPath]) await cp(join(distDir, file), join(staging, file));
    if (await stat(join(distDir, 'ui')).then((s) => s.isDirectory(), () => false)) await cp(join(distDir, 'ui'), join(staging, 'ui'), { recursive: true });
    return await packBundle(staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
