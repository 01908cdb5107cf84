/**
 * `alga component pack [dir]`: builds (cached) and packs `dist/<name>-<version>.tar.gz` in
 * exactly the format publish accepts — manifest.json, component.wasm and ui/** — and prints
 * its sha256 (the content hash the runner addresses it by).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@alga-psa/extension-contracts';
import { packBuildOutput } from '../build/pack-output.ts';
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
  const bytes = await packBuildOutput(project.distDir);
  const bundlePath = join(project.distDir, bundleFileName(project));
  await writeFile(bundlePath, bytes);
  return { project, bundlePath, bytes, sha256: sha256Hex(bytes) };
}

export async function packCommand(dir: string | undefined, opts: { typecheck?: boolean }, out: Output): Promise<void> {
  const packed = await packProject(await loadProject(dir), opts, out);
  out.result({ bundle: packed.bundlePath, sha256: packed.sha256, bytes: packed.bytes.byteLength }, [
    `packed ${packed.bundlePath} (${(packed.bytes.byteLength / 1048576).toFixed(1)} MiB)`,
    `sha256 ${packed.sha256}`,
  ]);
}
