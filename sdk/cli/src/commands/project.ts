/** The project a command works on: its directory and its validated manifest. */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseManifest, type Manifest } from '@alga-psa/extension-contracts/manifest';
import { CliError } from '../cli-error.ts';

export interface Project {
  dir: string;
  manifest: Manifest;
  /** `dist/` under the project. */
  distDir: string;
}

export async function loadProject(dirArg: string | undefined): Promise<Project> {
  const dir = resolve(dirArg ?? '.');
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new CliError('E_NO_MANIFEST', `no manifest.json in ${dir}`, 'run this inside an extension project, or create one with `alga component new <dir>`');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError('E_MANIFEST_INVALID', `${join(dir, 'manifest.json')} is not valid JSON: ${(err as Error).message}`, 'fix the JSON syntax');
  }
  const parsed = parseManifest(json);
  if (!parsed.ok) {
    const lines = parsed.issues.map((i) => `${i.path}: ${i.message}`);
    throw new CliError('E_MANIFEST_INVALID', `manifest.json is invalid:\n  ${lines.join('\n  ')}`, 'fix the fields named above (schema: DESIGN.md §4)', { issues: parsed.issues });
  }
  return { dir, manifest: parsed.manifest, distDir: join(dir, 'dist') };
}
