/**
 * The installed version of a package, found by walking up from `fromFile` through
 * node_modules folders as Node's resolver would. Reads package.json directly because
 * several toolchain packages (jco-transpile, componentize-js) do not export it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function installedPackageVersion(name: string, fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      return pkg.version;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new Error(`package ${name} is not installed (looked upwards from ${fromUrl})`);
      dir = parent;
    }
  }
}
