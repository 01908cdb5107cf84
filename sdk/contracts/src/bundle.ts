/**
 * The extension bundle: a gzipped tar holding `manifest.json`, `component.wasm`, an optional
 * `ui/` tree and an optional `component.js.map` (the build's source map of the bundled JS, which
 * the gateway's logs API maps guest stacks with; the runner never keeps it), addressed everywhere
 * by the sha256 of the archive bytes, which the publisher's signature covers.
 * The CLI packs it, the gateway validates and stores it, the runner reads the component.
 *
 * @example
 *   const bytes = await packBundle('/tmp/build');        // dir with manifest.json + component.wasm
 *   const { manifestJson, component } = await readBundle(bytes);
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { unpackTarGz } from './bundle-unpack.ts';
import { AlgaError } from './errors.ts';

export { isSafeArchivePath } from './bundle-unpack.ts';

export const bundleComponentPath = 'component.wasm';
export const bundleManifestPath = 'manifest.json';
export const bundleUiPrefix = 'ui/';
/** Optional: the source map of the bundled JS (`dist/component.js.map` of `alga component build`). */
export const bundleSourceMapPath = 'component.js.map';

export interface BundleLimits {
  /** Archive size (compressed). */
  maxBundleBytes: number;
  /**
   * The inflated archive (the tar stream: entries with their headers). Inflation stops as soon
   * as it is passed, so a gzip bomb costs at most this much, never its full size.
   */
  maxUnpackedBytes: number;
  /** Any one entry (`component.wasm`, a `ui/` file), refused from its tar header. */
  maxEntryBytes: number;
  /** `manifest.json`, refused with its own code, `E_MANIFEST_TOO_LARGE`. */
  maxManifestBytes: number;
  /** `component.js.map` (JSON; with `sourcesContent` ~2-3x the bundled JS). */
  maxSourceMapBytes: number;
  maxEntries: number;
}

export const defaultBundleLimits: BundleLimits = {
  maxBundleBytes: 32 * 1024 * 1024,
  maxUnpackedBytes: 96 * 1024 * 1024,
  // A componentize-js component is ~12 MB (SpiderMonkey): 64 MiB leaves 5x headroom.
  maxEntryBytes: 64 * 1024 * 1024,
  // The largest sample manifest is 1.7 KB. It is parsed and validated on the event loop and
  // stored with every version (each registry listing reads it back), so it stays small.
  maxManifestBytes: 256 * 1024,
  // An esbuild map with sources inlined: the samples' are 25-40 KB; a large project's a few MB.
  maxSourceMapBytes: 16 * 1024 * 1024,
  maxEntries: 2000,
};

export interface BundleContents {
  manifestJson: unknown;
  component: Uint8Array;
  /** Paths relative to `ui/` → bytes. */
  uiFiles: Map<string, Uint8Array>;
  /**
   * `component.js.map` as it is in the archive (`parseBundleSourceMap` checks it), when asked
   * for with `{ sourceMap: true }`; otherwise its body is inflated past, never kept.
   */
  sourceMap?: Uint8Array;
}

export interface ReadBundleOptions {
  /** Keep (and check) `component.js.map`. Default false: the runner has no use for it. */
  sourceMap?: boolean;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export const contentHashPattern = /^[0-9a-f]{64}$/;

/**
 * Pack a staging directory deterministically (sorted entries, fixed mtime) so equal inputs hash
 * equally. gzip level 6 by default: on an 11 MiB component it is as small as level 9 (3.79 vs
 * 3.78 MiB) in less than half the time; local hosts pass 1 (4.3 MiB, 5x faster than 9), since
 * their bundles never leave the machine.
 */
export async function packBundle(dir: string, options: { gzipLevel?: number } = {}): Promise<Uint8Array> {
  const entries = (await listFiles(dir)).sort();
  if (!entries.includes(bundleManifestPath) || !entries.includes(bundleComponentPath)) {
    throw new AlgaError('E_BUNDLE_INVALID', `${dir} must contain ${bundleManifestPath} and ${bundleComponentPath}`);
  }
  const chunks: Buffer[] = [];
  const stream = tar.create({ gzip: { level: options.gzipLevel ?? 6 }, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, entries);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/**
 * Read a bundle in memory, enforcing limits and rejecting traversal, links and duplicate entries.
 * The archive is inflated as a stream and refused at the first cap it passes (`bundle-unpack.ts`).
 */
export async function readBundle(bytes: Uint8Array, limits: Partial<BundleLimits> = {}, options: ReadBundleOptions = {}): Promise<BundleContents> {
  const caps: BundleLimits = { ...defaultBundleLimits, ...limits };
  if (bytes.byteLength > caps.maxBundleBytes) {
    throw new AlgaError('E_BUNDLE_TOO_LARGE', `bundle is ${bytes.byteLength} bytes; the limit is ${caps.maxBundleBytes}`);
  }
  const files = await unpackTarGz(bytes, {
    maxInflatedBytes: caps.maxUnpackedBytes,
    maxEntries: caps.maxEntries,
    entryCap: (path) => path === bundleManifestPath
      ? { maxBytes: caps.maxManifestBytes, code: 'E_MANIFEST_TOO_LARGE' }
      : path === bundleSourceMapPath
        ? { maxBytes: Math.min(caps.maxSourceMapBytes, caps.maxEntryBytes), code: 'E_BUNDLE_TOO_LARGE' }
        : { maxBytes: caps.maxEntryBytes, code: 'E_BUNDLE_TOO_LARGE' },
    refusePath: (path) => path === bundleManifestPath || path === bundleComponentPath || path === bundleSourceMapPath || path.startsWith(bundleUiPrefix) ? undefined
      : `bundle entry ${JSON.stringify(path)} is not allowed (only ${bundleManifestPath}, ${bundleComponentPath}, ${bundleSourceMapPath} and ${bundleUiPrefix}**)`,
    discard: (path) => path === bundleSourceMapPath && !options.sourceMap,
  });

  const manifestBytes = files.get(bundleManifestPath);
  const component = files.get(bundleComponentPath);
  if (!manifestBytes) throw new AlgaError('E_BUNDLE_INVALID', `bundle has no ${bundleManifestPath}`);
  if (!component) throw new AlgaError('E_BUNDLE_INVALID', `bundle has no ${bundleComponentPath}`);
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes));
  } catch {
    throw new AlgaError('E_BUNDLE_INVALID', `${bundleManifestPath} is not valid UTF-8 JSON`);
  }
  const uiFiles = new Map<string, Uint8Array>();
  for (const [path, data] of files) {
    if (path.startsWith(bundleUiPrefix)) uiFiles.set(path.slice(bundleUiPrefix.length), data);
  }
  const sourceMap = files.get(bundleSourceMapPath);
  return { manifestJson, component, uiFiles, ...(sourceMap ? { sourceMap } : {}) };
}

/**
 * `component.js.map` as the JSON object it must be (a version 3 source map), or
 * `E_BUNDLE_INVALID`: publish refuses a bundle whose map is not one. Which positions it maps
 * is the publisher's business: a wrong map only makes their own mapped stacks wrong.
 */
export function parseBundleSourceMap(bytes: Uint8Array): Record<string, unknown> {
  let map: unknown;
  try {
    map = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new AlgaError('E_BUNDLE_INVALID', `${bundleSourceMapPath} is not valid UTF-8 JSON`);
  }
  const m = map as { version?: unknown; mappings?: unknown; sections?: unknown };
  if (!m || typeof m !== 'object' || Array.isArray(m) || m.version !== 3 || (typeof m.mappings !== 'string' && !Array.isArray(m.sections))) {
    throw new AlgaError('E_BUNDLE_INVALID', `${bundleSourceMapPath} is not a version 3 source map`);
  }
  return map as Record<string, unknown>;
}
