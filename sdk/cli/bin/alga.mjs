#!/usr/bin/env node
// The `alga` command. Plain JavaScript so that any Node can start it: the CLI itself is
// TypeScript and needs Node >= 24 (type stripping, JSPI), so an older node (the machine's
// default Node 20) re-runs it on the Node the repo pins as a devDependency.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(pathToFileURL(entry).href);
} else {
  let pinned;
  try {
    pinned = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin', 'node');
  } catch { /* not installed */ }
  if (!pinned || !existsSync(pinned)) {
    process.stderr.write(`alga needs Node 24 or newer (this is ${process.version}); run \`npm install\` in the alga repository, which installs the pinned Node.\n`);
    process.exit(1);
  }
  const run = spawnSync(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
