/**
 * Builds every sample with real componentize-js once per test run (content-keyed cache in
 * .alga-cache/, so unchanged samples cost nothing on the next run), and the admin console.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildCached } from '../sdk/cli/src/build/build-cache.ts';
import { buildAdminWeb } from '../gateway/web/build.ts';
import { allFixtures, fixtureComponent } from './fixture-components.ts';

export const samplesDir = fileURLToPath(new URL('../samples/', import.meta.url));

export default async function setup(): Promise<void> {
  const names = (await readdir(samplesDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const name of names) {
    const started = Date.now();
    const build = await buildCached(`${samplesDir}${name}`);
    if (!build.fromCache) console.log(`[global-setup] built sample ${name} in ${Date.now() - started} ms`);
  }
  for (const spec of allFixtures) await fixtureComponent(spec);
  // The admin console (gateway/web) once, so every gateway harness finds it cached.
  const started = Date.now();
  const admin = await buildAdminWeb();
  if (!admin.fromCache) console.log(`[global-setup] built the admin console in ${Date.now() - started} ms`);
}
