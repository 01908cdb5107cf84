/**
 * A transpile-cache entry that is not whole (a flipped byte, a truncated or missing file, a
 * meta.json that does not parse or predates checksums) is detected on read and rebuilt, and the
 * rebuilt entry is whole again. A good entry is served without transpiling.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TranspileCache } from '../src/component/transpile-cache.ts';
import { fixtureComponent, storageGuest } from '../../../test-setup/fixture-components.ts';

let root: string;
let component: Uint8Array;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'alga-transpile-integrity-'));
  component = await fixtureComponent(storageGuest);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A cache and a counter of how often it had to transpile. */
function counted() {
  let transpiles = 0;
  const cache = new TranspileCache(root);
  return { get: (hash: string) => cache.get(hash, async () => { transpiles++; return component; }), get transpiles() { return transpiles; } };
}

describe('transpile cache integrity', () => {
  it('serves a whole entry without transpiling, and rebuilds every kind of damaged one', async () => {
    const hash = randomBytes(32).toString('hex');
    const first = await counted().get(hash);
    const good = Object.fromEntries(await Promise.all(['component.js', ...first.coreFiles].map(async (f) => [f, sha(await readFile(join(first.dir, f)))] as const)));

    const again = counted();
    await again.get(hash);
    expect(again.transpiles).toBe(0);

    const core = join(first.dir, first.coreFiles[0]);
    const damage: Array<[string, () => Promise<void>]> = [
      ['a flipped byte in a core module', async () => { const b = await readFile(core); b[b.length >> 1] ^= 0xff; await writeFile(core, b); }],
      ['a truncated glue module', () => truncate(join(first.dir, 'component.js'), 100)],
      ['a missing core module', () => unlink(core)],
      ['a meta.json that does not parse', () => writeFile(join(first.dir, 'meta.json'), '{"imports":')],
      ['a meta.json without checksums (an older entry)', async () => {
        const meta = JSON.parse(await readFile(join(first.dir, 'meta.json'), 'utf8'));
        delete meta.files;
        await writeFile(join(first.dir, 'meta.json'), JSON.stringify(meta));
      }],
    ];
    for (const [what, harm] of damage) {
      await harm();
      const cache = counted();
      const rebuilt = await cache.get(hash);
      expect(cache.transpiles, what).toBe(1);
      expect(rebuilt.dir).toBe(first.dir);
      for (const [file, digest] of Object.entries(good)) expect(sha(await readFile(join(rebuilt.dir, file))), `${what}: ${file}`).toBe(digest);
      const next = counted();
      await next.get(hash);
      expect(next.transpiles, `${what}: the rebuilt entry is whole`).toBe(0);
    }
  });
});
