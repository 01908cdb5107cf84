/** Sample bundles for tests (already built by global setup; this only reads the cache). */
import { fileURLToPath } from 'node:url';
import { buildCached, type CachedBuild } from '../sdk/cli/src/build/build-cache.ts';

const samplesDir = fileURLToPath(new URL('../samples/', import.meta.url));
const memo = new Map<string, Promise<CachedBuild>>();

export function sampleBundle(name: string): Promise<CachedBuild> {
  let build = memo.get(name);
  if (!build) { build = buildCached(`${samplesDir}${name}`); memo.set(name, build); }
  return build;
}
