/** `npm run gen:wit`: rewrite the SDK's generated guest types and the CLI's WIT copy from wit/. */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTypesDir, renderGuestTypes } from '../build/guest-types.ts';
import { sourceWitFile, witDir, witFile } from '../build/world.ts';

await mkdir(witDir, { recursive: true });
await copyFile(sourceWitFile, witFile);
console.log(`wrote ${witFile}`);

const root = fileURLToPath(generatedTypesDir);
await rm(root, { recursive: true, force: true });
for (const [path, text] of await renderGuestTypes()) {
  const target = `${root}${path}`;
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
