/**
 * `alga component pack [dir]`: builds (cached) and packs `dist/<name>-<version>.tar.gz` in
 * exactly the format publish accepts — manifest.json, component.wasm and ui/** — and prints
 * its sha256 (the content hash the runner addresses it by).
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleComponentPath, bundleManifestPath, packBundle, sha256Hex } from '@alga-psa/extension-contracts';
import type { Output } from '../output.ts';
import { buildProject } from './build.ts';
import { loadProject, type Project } from './project.ts';

export interface PackedBundle {
  project: Project;
  bundlePath: string;
  bytes: Uint8Array;
  sha256: string;
}

export const bundleFileName = (project: Project) => `${project.manifest.name}-${project.manifest.version}.tar.gz`;

export async function packProject(project: Project, opts: { typecheck?: boolean }, out: Output): Promise<PackedBundle> {
  await buildProject(project, opts, out);
  const staging = await mkdtemp(join(tmpdir(), 'alga-pack-'));
  try {
    for (const file of [bundleManifestPath, bundleComponentPath]) await cp(join(project.distDir, file), join(staging, file));
    if (project.manifest.ui) await cp(join(project.distDir, 'ui'), join(staging, 'ui'), { recursive: true });
    const bytes = await packBundle(staging);
    const bundlePath = join(project.distDir, bundleFileName(project));
    await writeFile(bundlePath, bytes);
    return { project, bundlePath, bytes, sha256: sha256Hex(bytes) };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function packCommand(dir: string | undefined, opts: { typecheck?: boolean }, out: Output): Promise<void> {
  const packed = await packProject(await loadProject(dir), opts, out);
  out.result({ bundle: packed.bundlePath, sha256: packed.sha256, bytes: packed.bytes.byteLength }, [
    `packed ${packed.bundlePath} (${(packed.bytes.byteLength / 1048576).toFixed(1)} MiB)`,
    `sha256 ${packed.sha256}`,
  ]);
}
