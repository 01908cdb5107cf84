/**
 * Transpiles a component with jco once per (content hash, toolchain version) and keeps
 * the output on disk, so a restart or another replica on the same disk skips the ~1 s step.
 * `{ offThread: true }` runs that step in a worker thread instead (`off-thread-transpile.ts`).
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { AlgaError, installedPackageVersion } from '@alga-psa/extension-contracts';
import { asyncImportsFor, handleExport } from './async-imports.ts';
import { transpileOffThread } from './off-thread-transpile.ts';

const jcoVersion = installedPackageVersion('@bytecodealliance/jco-transpile', import.meta.url);

/** Bump when the glue rewrite, transpile options or entry format change: old cache entries are then ignored. */
const pipelineRevision = 4;
export const toolchainVersion = `jco-transpile@${jcoVersion}+alga.${pipelineRevision}`;

export interface TranspiledComponent {
  dir: string;
  glueFile: string;
  /** Core wasm file names the glue asks for, in the order it asks. */
  coreFiles: string[];
  /** WIT interfaces the component imports, as jco reports them (`alga:extension/log`). */
  imports: string[];
  exports: string[];
}

export interface CacheMeta { imports: string[]; exports: string[]; coreFiles: string[] }

/** meta.json: the component's metadata and the sha256 of every file the entry holds. */
interface CacheEntryMeta extends CacheMeta { files: Record<string, string> }

export interface TranspileOptions {
  /**
   * Transpile in a worker thread. jco's transpile is synchronous wasm: in-thread, a 12 MB
   * componentize-js component held the event loop for all of its 0.4-0.7 s; in a worker the
   * loop's longest stall was 10-17 ms, for 0.3 s more in all (worker start-up and jco's own
   * wasm compile). The gateway's publish precompute asks for it; the runner's loader keeps the
   * in-thread default.
   */
  offThread?: boolean;
}

const glueName = 'component.js';

export class TranspileCache {
  readonly root: string;
  private readonly inFlight = new Map<string, Promise<TranspiledComponent>>();

  constructor(root: string) {
    this.root = root;
  }

  dirFor(contentHash: string): string {
    const tag = createHash('sha256').update(toolchainVersion).digest('hex').slice(0, 12);
    return join(this.root, `${contentHash}-${tag}`);
  }

  /** Concurrent callers for the same hash share one transpile. */
  get(contentHash: string, component: () => Promise<Uint8Array>, options: TranspileOptions = {}): Promise<TranspiledComponent> {
    let pending = this.inFlight.get(contentHash);
    if (!pending) {
      pending = this.load(contentHash, component, options).finally(() => this.inFlight.delete(contentHash));
      this.inFlight.set(contentHash, pending);
    }
    return pending;
  }

  private async load(contentHash: string, component: () => Promise<Uint8Array>, options: TranspileOptions): Promise<TranspiledComponent> {
    const dir = this.dirFor(contentHash);
    // An entry that fails its checksums (a torn write, a bad disk, a hand edit) is rebuilt.
    const cached = await readVerifiedMeta(dir);
    if (cached) return { dir, glueFile: join(dir, glueName), ...cached };
    const bytes = await component();
    const meta = options.offThread ? await transpileOffThread(dir, bytes) : await transpileInto(dir, bytes);
    return { dir, glueFile: join(dir, glueName), ...meta };
  }
}

/** Transpile into `dir` (written under a temporary name, then renamed); the worker entry calls this too. */
export async function transpileInto(dir: string, bytes: Uint8Array): Promise<CacheMeta> {
  const result = await transpileComponent(bytes);
  const tmp = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  await mkdir(tmp, { recursive: true });
  for (const [name, data] of Object.entries(result.files)) {
    await mkdir(dirname(join(tmp, name)), { recursive: true });
    await writeFile(join(tmp, name), data);
  }
  const files = Object.fromEntries(Object.entries(result.files).map(([name, data]) => [name, sha256(data)]));
  await writeFile(join(tmp, 'meta.json'), JSON.stringify({ ...result.meta, files } satisfies CacheEntryMeta));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir).catch(async (err) => {
    // Another process won the race with an identical result: keep theirs.
    await rm(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  });
  return result.meta;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * The entry's metadata, if the entry is whole: meta.json parses, names the glue and every core
 * file, and every file it lists has the sha256 it recorded. Anything else is a miss (the caller
 * transpiles again and replaces the entry). Hashing a componentize-js entry (~12 MB) costs
 * 10-25 ms, once per component per process (the runner keeps the compiled module).
 */
async function readVerifiedMeta(dir: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Partial<CacheEntryMeta>;
    const files = meta.files;
    if (!files || typeof files !== 'object' || !Array.isArray(meta.coreFiles) || !Array.isArray(meta.imports) || !Array.isArray(meta.exports)) return undefined;
    if (!Object.hasOwn(files, glueName) || !meta.coreFiles.every((f) => Object.hasOwn(files, f))) return undefined;
    for (const [name, digest] of Object.entries(files)) {
      if (sha256(await readFile(join(dir, name))) !== digest) return undefined;
    }
    return { imports: meta.imports, exports: meta.exports, coreFiles: meta.coreFiles };
  } catch {
    return undefined;
  }
}

/** Transpile bytes into the runner's glue + core modules; throws E_BUNDLE_INVALID for a non-component. */
export async function transpileComponent(bytes: Uint8Array): Promise<{ files: Record<string, Uint8Array>; meta: CacheMeta }> {
  // JSPI is chosen only when an imported interface has async host functions (a sync-only
  // component measured ~12% faster per call without it). Which interfaces it imports is read
  // from the component's own import section, so one jco pass (~0.4 s for a componentize-js
  // component) does; what that pass reports is checked, and a wrong guess pays the second pass
  // the answer asks for, so the output is always what the imports jco reports call for.
  const guessed = asyncImportsFor(componentImportNames(bytes) ?? []);
  let out = guessed.length === 0 ? await runTranspile(bytes, { asyncMode: 'sync' }) : await runTranspile(bytes, jspi(guessed));
  // Every I/O import must be listed: an async host function on a sync import hands a
  // Promise to synchronous glue and fails with a TypeError (DESIGN.md §11).
  const asyncImports = asyncImportsFor(out.imports);
  if (!sameList(asyncImports, guessed)) out = asyncImports.length === 0 ? await runTranspile(bytes, { asyncMode: 'sync' }) : await runTranspile(bytes, jspi(asyncImports));
  const files: Record<string, Uint8Array> = {};
  const coreFiles: string[] = [];
  for (const [name, data] of Object.entries(out.files)) {
    if (name === 'component.js') files[glueName] = rewriteGlue(new TextDecoder().decode(data));
    else if (name.endsWith('.wasm')) { files[name] = data; coreFiles.push(name); }
  }
  if (!files[glueName]) throw new AlgaError('E_BUNDLE_INVALID', 'transpile produced no glue module');
  return { files, meta: { imports: out.imports, exports: out.exports.map(([name]) => name), coreFiles } };
}

const jspi = (asyncImports: string[]) => ({ asyncMode: 'jspi' as const, asyncImports, asyncExports: [handleExport] });
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The names a WebAssembly component imports (`alga:extension/log@0.1.0`, …), read from its
 * top-level import sections without decoding anything else; undefined for bytes that are not
 * a component this reader understands (jco then says what is wrong with them).
 */
export function componentImportNames(bytes: Uint8Array): string[] | undefined {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  if (bytes.byteLength < header.length || header.some((b, i) => bytes[i] !== b)) return undefined;
  let at = header.length;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= bytes.byteLength) throw new RangeError('truncated');
      const byte = bytes[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new RangeError('LEB128 too long');
  };
  const text = (): string => {
    const length = u32();
    if (at + length > bytes.byteLength) throw new RangeError('truncated');
    const value = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + length));
    at += length;
    return value;
  };
  const names: string[] = [];
  try {
    while (at < bytes.byteLength) {
      const id = bytes[at++];
      const size = u32();
      const end = at + size;
      if (end > bytes.byteLength) return undefined;
      if (id === 10) {
        for (let count = u32(); count > 0; count--) {
          const form = bytes[at++];
          if (form !== 0x00 && form !== 0x01) return undefined;
          names.push(text());
          if (form === 0x01) text(); // a version suffix
          // externdesc: a sort (core module: 0x00 0x11), then one index, value type or bound.
          const sort = bytes[at++];
          if (sort === 0x00) { if (bytes[at++] !== 0x11) return undefined; u32(); }
          else if (sort === 0x02 || sort === 0x03) { const bound = bytes[at++]; if (!(sort === 0x03 && bound === 0x01)) u32(); }
          else if (sort === 0x01 || sort === 0x04 || sort === 0x05) u32();
          else return undefined;
        }
        if (at !== end) return undefined;
      }
      at = end;
    }
  } catch {
    return undefined;
  }
  return names;
}

async function runTranspile(bytes: Uint8Array, mode: { asyncMode: 'sync' | 'jspi'; asyncImports?: string[]; asyncExports?: string[] }) {
  try {
    return await transpileBytes(bytes, { name: 'component', instantiation: 'async', emitTypescriptDeclarations: false, noComponentErrorWrapping: true, ...mode });
  } catch (err) {
    throw new AlgaError('E_BUNDLE_INVALID', `component.wasm is not a valid WebAssembly component: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0].slice(0, 200);
}

/**
 * The glue checks `process.env.JCO_DEBUG` on every internal debug call; a constant cut
 * warm-call time ~30% (DESIGN.md §11). The runner never enables jco debugging.
 */
function rewriteGlue(source: string): Uint8Array {
  return new TextEncoder().encode(source.replaceAll('globalThis?.process?.env?.JCO_DEBUG', 'false'));
}

export async function listCachedHashes(root: string): Promise<string[]> {
  try {
    return (await readdir(root)).filter((n) => !n.endsWith('.tmp')).map((n) => n.split('-')[0]);
  } catch {
    return [];
  }
}
