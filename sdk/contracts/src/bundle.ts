/**
 * The extension bundle: a gzipped tar holding `manifest.json`, `component.wasm` and an
 * optional `ui/` tree, addressed everywhere by the sha256 of the archive bytes.
 * The CLI packs it, the gateway validates and stores it, the runner reads the component.
 *
 * @example
 *   const bytes = await packBundle('/tmp/build');        // dir with manifest.json + component.wasm
 *   const { manifestJson, component } = await readBundle(bytes);
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar';
import { AlgaError } from './errors.ts';

export const bundleComponentPath = 'component.wasm';
export const bundleManifestPath = 'manifest.json';
export const bundleUiPrefix = 'ui/';

export interface BundleLimits {
  /** Archive size (compressed). */
  maxBundleBytes: number;
  /** Sum of all unpacked entries: a gzip bomb stops here, not in memory. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const defaultBundleLimits: BundleLimits = {
  maxBundleBytes: 32 * 1024 * 1024,
  maxUnpackedBytes: 96 * 1024 * 1024,
  maxEntries: 2000,
};

export interface BundleContents {
  manifestJson: unknown;
  component: Uint8Array;
  /** Paths relative to `ui/` → bytes. */
  uiFiles: Map<string, Uint8Array>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export const contentHashPattern = /^[0-9a-f]{64}$/;

/** Pack a staging directory deterministically (sorted entries, fixed mtime) so equal inputs hash equally. */
export async function packBundle(dir: string): Promise<Uint8Array> {
  const entries = (await listFiles(dir)).sort();
  if (!entries.includes(bundleManifestPath) || !entries.includes(bundleComponentPath)) {
    throw new AlgaError('E_BUNDLE_INVALID', `${dir} must contain ${bundleManifestPath} and ${bundleComponentPath}`);
  }
  const chunks: Buffer[] = [];
  const stream = tar.create({ gzip: { level: 9 }, cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true }, entries);
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

/** A safe relative archive path: no absolute paths, no `..`, no backslashes, no NUL. */
export function isSafeArchivePath(path: string): boolean {
  if (!path || path.includes('\0') || path.includes('\\') || path.startsWith('/')) return false;
  const normalized = posix.normalize(path);
  return normalized === path.replace(/^\.\//, '') && !normalized.split('/').includes('..');
}

/** Read a bundle in memory, enforcing limits and rejecting traversal, links and duplicate entries. */
export async function readBundle(bytes: Uint8Array, limits: BundleLimits = defaultBundleLimits): Promise<BundleContents> {
  if (bytes.byteLength > limits.maxBundleBytes) {
    throw new AlgaError('E_BUNDLE_TOO_LARGE', `bundle is ${bytes.byteLength} bytes; the limit is ${limits.maxBundleBytes}`);
  }
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(bytes, { maxOutputLength: limits.maxUnpackedBytes + 1024 * 1024 });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw tooBig
      ? new AlgaError('E_BUNDLE_TOO_LARGE', `bundle unpacks to more than ${limits.maxUnpackedBytes} bytes`)
      : new AlgaError('E_BUNDLE_INVALID', 'bundle is not a gzipped tar archive');
  }
  const files = new Map<string, Uint8Array>();
  let problem: AlgaError | undefined;
  let total = 0;
  const parser = new tar.Parser({ strict: true });
  parser.on('entry', (entry: tar.ReadEntry) => {
    const path = entry.path.replace(/^\.\//, '');
    const fail = (e: AlgaError) => { problem ??= e; entry.resume(); };
    if (entry.type === 'Directory') return entry.resume();
    if (entry.type !== 'File' && entry.type !== 'OldFile') return fail(new AlgaError('E_BUNDLE_INVALID', `bundle entry ${JSON.stringify(path)} is a ${entry.type}; only regular files are allowed`));
    if (!isSafeArchivePath(path)) return fail(new AlgaError('E_BUNDLE_INVALID', `bundle entry ${JSON.stringify(path)} escapes the bundle root`));
    if (files.has(path)) return fail(new AlgaError('E_BUNDLE_INVALID', `bundle entry ${JSON.stringify(path)} appears twice`));
    if (files.size >= limits.maxEntries) return fail(new AlgaError('E_BUNDLE_TOO_LARGE', `bundle has more than ${limits.maxEntries} entries`));
    const chunks: Buffer[] = [];
    entry.on('data', (c: Buffer) => { total += c.length; chunks.push(c); });
    entry.on('end', () => files.set(path, new Uint8Array(Buffer.concat(chunks))));
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('error', reject);
    parser.on('warn', (_code: string, message: string) => { problem ??= new AlgaError('E_BUNDLE_INVALID', `bundle archive is malformed: ${message}`); });
    parser.on('end', resolve);
    parser.end(tarBytes);
  }).catch(() => { problem ??= new AlgaError('E_BUNDLE_INVALID', 'bundle archive is malformed'); });
  if (problem) throw problem;
  if (total > limits.maxUnpackedBytes) throw new AlgaError('E_BUNDLE_TOO_LARGE', `bundle unpacks to more than ${limits.maxUnpackedBytes} bytes`);

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
    else if (path !== bundleManifestPath && path !== bundleComponentPath) {
      throw new AlgaError('E_BUNDLE_INVALID', `bundle entry ${JSON.stringify(path)} is not allowed (only ${bundleManifestPath}, ${bundleComponentPath} and ${bundleUiPrefix}**)`);
    }
  }
  return { manifestJson, component, uiFiles };
}
