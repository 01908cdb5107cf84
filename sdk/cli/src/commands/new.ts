/**
 * `alga component new <dir> [--template component-basic|component-with-ui] [--name com.acme.thing] [--publisher NAME]`:
 * a project from `templates/`, ready to build, test and run in `dev` with no `npm install`
 * (the CLI supplies the SDK; `.alga/` gives the editor its types).
 */
import { cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_NAME_RE } from '@alga-psa/extension-contracts/manifest';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { writeEditorTypes } from '../project/editor-types.ts';
import { loadProject } from './project.ts';

export const templatesDir = fileURLToPath(new URL('../../../../templates/', import.meta.url));
export const templateNames = ['component-basic', 'component-with-ui'] as const;
const textFile = /\.(json|ts|tsx|md|html|css|js|txt)$|^\.gitignore$/;

export interface NewOptions {
  template?: string;
  name?: string;
  publisher?: string;
}

/** `my-thing` → `com.example.my-thing`. */
function defaultName(dir: string): string {
  const slug = basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'extension';
  return `com.example.${slug}`;
}

export async function newCommand(dirArg: string, opts: NewOptions, out: Output): Promise<void> {
  const dir = resolve(dirArg);
  const template = opts.template ?? 'component-basic';
  if (!(templateNames as readonly string[]).includes(template)) {
    throw new CliError('E_USAGE', `unknown template ${template}`, `choose one of: ${templateNames.join(', ')}`);
  }
  const name = opts.name ?? defaultName(dir);
  if (!MANIFEST_NAME_RE.test(name)) throw new CliError('E_USAGE', `--name ${name} is not a reverse-DNS name`, 'use lower case, at least 2 dot-separated segments, e.g. com.acme.ticket-tools');
  const existing = await readdir(dir).catch(() => undefined);
  if (existing && existing.length > 0) throw new CliError('E_EXISTS', `${dir} exists and is not empty`, 'choose a new directory name');
  const publisher = opts.publisher ?? 'Example Publisher';
  const title = basename(dir);
  await cp(join(templatesDir, template), dir, { recursive: true, filter: (src) => !/[/\\](dist|\.alga|node_modules)([/\\]|$)/.test(src.slice(templatesDir.length)) });
  for (const file of await filesUnder(dir)) {
    if (!textFile.test(basename(file))) continue;
    const text = await readFile(file, 'utf8');
    const filled = text.replaceAll('{{name}}', name).replaceAll('{{publisher}}', publisher).replaceAll('{{title}}', title);
    if (filled !== text) await writeFile(file, filled);
  }
  const project = await loadProject(dir);
  await writeEditorTypes(dir, project.manifest);
  out.result({ dir, name, template }, [
    `created ${name} in ${dir} (template ${template})`,
    '',
    'Next:',
    `  cd ${dirArg}`,
    '  alga component build      # type check, bundle, componentize → dist/',
    '  alga component publish --gateway <url> --key-id <id> --key <file>   # see alga component publish --help',
  ]);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(full)));
    else if ((await stat(full)).isFile()) out.push(full);
  }
  return out;
}
