/** `npm run gen:wit`: rewrite the SDK's generated guest types from wit/. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedTypesDir, renderGuestTypes } from '../build/guest-types.ts';

const root = fileURLToPath(generatedTypesDir);
await rm(root, { recursive: true, force: true });
for (const [path, text] of await renderGuestTypes()) {
  const target = `${root}${path}`;
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
