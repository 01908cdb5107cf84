import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundleSourceMapPath, defaultBundleLimits, packBundle, parseBundleSourceMap, readBundle, sha256Hex } from '../src/bundle.ts';
import { AlgaError } from '../src/errors.ts';
import { bundleOf, fixtureComponent, storageGuest } from '../../../test-setup/fixture-components.ts';
import { zeroBombTarGz } from '../../../test-setup/zero-bombs.ts';

const MiB = 1024 * 1024;
const manifest = JSON.stringify({ name: 'com.acme.bomb', publisher: 'Acme', version: '1.0.0', runtime: 'wasm-js@1', capabilities: [] });

async function refusal(promise: Promise<unknown>, code: string): Promise<AlgaError & { details: Record<string, number | string> }> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err, 'expected a refusal').toBeInstanceOf(AlgaError);
  expect((err as AlgaError).code, (err as Error).message).toBe(code);
  return err as AlgaError & { details: Record<string, number | string> };
}

/** How long `work` took, and the longest gap between 1 ms timer ticks meanwhile: how long the event loop was held. */
async function timeStalls(work: () => Promise<unknown>): Promise<{ totalMs: number; longestStallMs: number }> {
  const started = performance.now();
  let longest = 0;
  let last = started;
  const tick = setInterval(() => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; }, 1);
  try {
    await work().catch(() => undefined);
  } finally {
    clearInterval(tick);
  }
  const end = performance.now();
  return { totalMs: end - started, longestStallMs: Math.max(longest, end - last) };
}

describe('readBundle', () => {
  it('reads a bundle of a real componentize-js component byte for byte', async () => {
    const component = await fixtureComponent(storageGuest);
    const bundle = await readBundle(await bundleOf(JSON.parse(manifest), component));
    expect(bundle.manifestJson).toEqual(JSON.parse(manifest));
    expect(bundle.component.byteLength).toBeGreaterThan(MiB);
    expect(sha256Hex(bundle.component)).toBe(sha256Hex(component));
  });

  it('reads ui/ files beside the manifest and component', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alga-bundle-test-'));
    try {
      await writeFile(join(dir, 'manifest.json'), manifest);
      await writeFile(join(dir, 'component.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d]));
      await mkdir(join(dir, 'ui', 'js'), { recursive: true });
      await writeFile(join(dir, 'ui', 'index.html'), '<p>hi</p>');
      await writeFile(join(dir, 'ui', 'js', 'app.js'), 'void 0;');
      const bundle = await readBundle(await packBundle(dir));
      expect([...bundle.uiFiles.keys()].sort()).toEqual(['index.html', 'js/app.js']);
      expect(new TextDecoder().decode(bundle.uiFiles.get('index.html'))).toBe('<p>hi</p>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a gzip bomb (1 GiB of zeros in component.wasm, ~1 MB compressed) from its tar header: 413 E_BUNDLE_TOO_LARGE after inflating under 1 MiB', async () => {
    const bomb = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 * MiB }]);
    expect(bomb.byteLength).toBeLessThan(2 * MiB);
    const err = await refusal(readBundle(bomb), 'E_BUNDLE_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/component\.wasm.*1073741824 bytes uncompressed; the limit is 67108864/);
    expect(err.details).toMatchObject({ entry: 'component.wasm', limitBytes: defaultBundleLimits.maxEntryBytes });
    expect(err.details.inflatedBytes).toBeLessThan(MiB);
  });

  it('stops inflating within one chunk of the uncompressed cap when zeros follow the end of the archive (413 E_BUNDLE_TOO_LARGE)', async () => {
    const bomb = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 }], { trailingZeros: 64 * MiB });
    const err = await refusal(readBundle(bomb, { maxUnpackedBytes: 8 * MiB }), 'E_BUNDLE_TOO_LARGE');
    expect(err.message).toMatch(/inflates to more than 8388608 bytes, the limit on its uncompressed size/);
    expect(err.details.limitBytes).toBe(8 * MiB);
    expect(err.details.inflatedBytes).toBeGreaterThan(8 * MiB);
    expect(err.details.inflatedBytes).toBeLessThanOrEqual(8 * MiB + 64 * 1024);
  });

  it('refuses entries that add up past the uncompressed cap at the header of the one that passes it (413 E_BUNDLE_TOO_LARGE)', async () => {
    const bomb = await zeroBombTarGz([
      { path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 4 * MiB },
      { path: 'ui/a.bin', size: 4 * MiB }, { path: 'ui/b.bin', size: 4 * MiB },
    ]);
    const err = await refusal(readBundle(bomb, { maxUnpackedBytes: 10 * MiB }), 'E_BUNDLE_TOO_LARGE');
    expect(err.details.atLeastBytes).toBeGreaterThan(10 * MiB);
    // The third 4 MiB body is never inflated: only the first two and a chunk of read-ahead.
    expect(err.details.inflatedBytes).toBeLessThanOrEqual(8 * MiB + 128 * 1024);
  });

  it('refuses a 5 MB whitespace-padded manifest.json with 413 E_MANIFEST_TOO_LARGE before inflating it', async () => {
    const padded = manifest.replace('{', `{${' '.repeat(5 * 1000 * 1000)}`);
    const bytes = await zeroBombTarGz([{ path: 'manifest.json', data: padded }, { path: 'component.wasm', size: 1024 }]);
    const err = await refusal(readBundle(bytes), 'E_MANIFEST_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/manifest\.json.*the limit is 262144/);
    expect(err.details.inflatedBytes).toBeLessThan(256 * 1024);
  });

  it('accepts a manifest.json of exactly the 256 KiB cap', async () => {
    const padded = manifest.replace('{', `{${' '.repeat(256 * 1024 - manifest.length)}`);
    expect(padded.length).toBe(defaultBundleLimits.maxManifestBytes);
    const bundle = await readBundle(await zeroBombTarGz([{ path: 'manifest.json', data: padded }, { path: 'component.wasm', size: 1024 }]));
    expect(bundle.manifestJson).toMatchObject({ name: 'com.acme.bomb' });
  });

  it('refuses an entry outside manifest.json, component.wasm and ui/ from its header (422 E_BUNDLE_INVALID), even a 200 MiB one', async () => {
    const bytes = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'junk.bin', size: 200 * MiB }]);
    const err = await refusal(readBundle(bytes), 'E_BUNDLE_INVALID');
    expect(err.message).toMatch(/"junk\.bin" is not allowed/);
  });

  it('allows an optional component.js.map: kept only when asked for (the runner never holds it), capped at 16 MiB, refused twice', async () => {
    const map = JSON.stringify({ version: 3, file: 'component.js', sources: ['src/index.ts'], names: [], mappings: 'AAAA' });
    const bytes = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 }, { path: bundleSourceMapPath, data: map }]);
    expect((await readBundle(bytes)).sourceMap).toBeUndefined();
    const kept = await readBundle(bytes, {}, { sourceMap: true });
    expect(new TextDecoder().decode(kept.sourceMap)).toBe(map);
    expect(parseBundleSourceMap(kept.sourceMap!)).toMatchObject({ version: 3, mappings: 'AAAA' });
    expect((await readBundle(await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 }]), {}, { sourceMap: true })).sourceMap).toBeUndefined();

    expect(defaultBundleLimits.maxSourceMapBytes).toBe(16 * MiB);
    const big = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 }, { path: bundleSourceMapPath, size: 16 * MiB + 1 }]);
    for (const options of [{}, { sourceMap: true }]) {
      const err = await refusal(readBundle(big, {}, options), 'E_BUNDLE_TOO_LARGE');
      expect(err.message).toMatch(/component\.js\.map.*16777217 bytes uncompressed; the limit is 16777216/);
      expect(err.details.inflatedBytes).toBeLessThan(MiB);
    }
    const twice = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: bundleSourceMapPath, data: map }, { path: 'component.wasm', size: 1024 }, { path: bundleSourceMapPath, data: map }]);
    for (const options of [{}, { sourceMap: true }]) expect((await refusal(readBundle(twice, {}, options), 'E_BUNDLE_INVALID')).message).toMatch(/component\.js\.map" appears twice/);
  });

  it('parseBundleSourceMap refuses what is not a version 3 source map (422 E_BUNDLE_INVALID)', () => {
    const enc = (text: string) => new TextEncoder().encode(text);
    for (const bad of ['not json', '[]', 'null', '{"version":3}', '{"version":2,"mappings":""}', '{"version":3,"mappings":7}']) {
      expect(() => parseBundleSourceMap(enc(bad)), bad).toThrow(AlgaError);
    }
    expect(() => parseBundleSourceMap(new Uint8Array([0xff, 0xfe, 0x7b]))).toThrow(/not valid UTF-8 JSON/);
    expect(parseBundleSourceMap(enc('{"version":3,"sections":[]}'))).toEqual({ version: 3, sections: [] });
  });

  it('refuses a tar gzipped twice (422 E_BUNDLE_INVALID) rather than inflating the inner stream in-thread', async () => {
    const inner = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 1024 }]);
    const err = await refusal(readBundle(gzipSync(inner)), 'E_BUNDLE_INVALID');
    expect(err.message).toMatch(/gzipped twice/);
  });

  it('refuses bytes that are not gzip, and a truncated archive, with 422 E_BUNDLE_INVALID', async () => {
    await refusal(readBundle(new TextEncoder().encode('not a bundle at all')), 'E_BUNDLE_INVALID');
    const whole = await zeroBombTarGz([{ path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: MiB }]);
    await refusal(readBundle(whole.subarray(0, whole.byteLength - 40)), 'E_BUNDLE_INVALID');
  });

  it('keeps the event loop free while inflating 90 MiB: no gap over 50 ms or a quarter of the read, best of three (gunzipSync held it all ~300-540 ms)', async () => {
    const big = await zeroBombTarGz([
      { path: 'manifest.json', data: manifest }, { path: 'component.wasm', size: 60 * MiB }, { path: 'ui/blob.bin', size: 30 * MiB },
    ]);
    // Streamed: gaps of 7-11 ms in a 140-260 ms read on a quiet machine. The old read was one
    // synchronous block, all of it a stall, every time. On a loaded 2-core machine an OS
    // deschedule or a GC can still make one streamed read miss (83 ms seen), so the best of
    // three reads is judged.
    const overBound: number[] = [];
    for (let i = 0; i < 3; i++) {
      let read: Awaited<ReturnType<typeof readBundle>> | undefined;
      const { totalMs, longestStallMs } = await timeStalls(async () => { read = await readBundle(big); });
      expect(read?.component.byteLength).toBe(60 * MiB);
      expect(read?.uiFiles.get('blob.bin')?.byteLength).toBe(30 * MiB);
      overBound.push(longestStallMs - Math.max(50, totalMs / 4));
    }
    expect(Math.min(...overBound)).toBeLessThan(0);
  });
});
