import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlgaError } from '@alga-psa/extension-contracts';
import { TranspileCache } from '../src/component/transpile-cache.ts';
import { transpileOffThread } from '../src/component/off-thread-transpile.ts';
import { fixtureComponent, storageGuest } from '../../../test-setup/fixture-components.ts';

let root: string;
beforeAll(async () => { root = await mkdtemp(join(tmpdir(), 'alga-offthread-')); });
afterAll(() => rm(root, { recursive: true, force: true }));

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const someHash = () => randomBytes(32).toString('hex');

describe('TranspileCache.get(…, { offThread: true })', () => {
  it('writes the same glue, core modules and real imports as the in-thread transpile (JSPI component)', async () => {
    const component = await fixtureComponent(storageGuest);
    const inThread = await new TranspileCache(join(root, 'in')).get(someHash(), async () => component);
    const offThread = await new TranspileCache(join(root, 'off')).get(someHash(), async () => component, { offThread: true });
    expect(offThread.imports).toEqual(inThread.imports);
    expect(offThread.imports).toContain('alga:extension/storage');
    expect(offThread.exports).toEqual(inThread.exports);
    expect(offThread.coreFiles).toEqual(inThread.coreFiles);
    for (const file of ['component.js', ...offThread.coreFiles]) {
      expect(sha(await readFile(join(offThread.dir, file))), file).toBe(sha(await readFile(join(inThread.dir, file))));
    }
  });

  it('leaves the caller its component bytes (they are copied to the worker, not detached)', async () => {
    const component = await fixtureComponent(storageGuest);
    const before = sha(component);
    await new TranspileCache(join(root, 'keep')).get(someHash(), async () => component, { offThread: true });
    expect(component.byteLength).toBeGreaterThan(0);
    expect(sha(component)).toBe(before);
  });

  it('rejects with the AlgaError the worker raised: 422 E_BUNDLE_INVALID for bytes that are not a component', async () => {
    const err = await new TranspileCache(join(root, 'bad')).get(someHash(), async () => new TextEncoder().encode('not wasm'), { offThread: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlgaError);
    expect(err).toMatchObject({ code: 'E_BUNDLE_INVALID', status: 422, message: expect.stringMatching(/not a valid WebAssembly component/) });
  });

  it('rejects with a plain Error naming the worker when it fails for another reason (its cache directory cannot be made)', async () => {
    const component = await fixtureComponent(storageGuest);
    const err = await transpileOffThread('/dev/null/not-a-directory', component).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(AlgaError);
    expect((err as Error).message).toMatch(/transpile worker failed: .*ENOTDIR/);
  });
});
