/**
 * componentize-js begins every build by splicing the WIT world's bindings into its 10 MB
 * StarlingMonkey engine (~0.8-1.2 s of wasm). The result depends only on the engine, the
 * enabled features, the WIT text and the world name — never on the guest's source — so it is
 * kept: in memory by a build child that serves several builds (`alga component dev`), and on
 * disk in the user cache (`splice/`), so a new project's first build skips it too.
 *
 * componentize-js calls the splicer through a plain object exported by its generated bindings
 * module; this wraps that object's `spliceBindings`. Anything unexpected (another layout in a
 * later version, a WIT directory rather than a file, a result that is not plain data, an
 * unreadable or damaged cache entry) leaves that call to the real splicer.
 *
 * @example
 *   await memoizeSplice();   // before the first componentize() call in this process
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { userCacheDir } from '../user-cache.ts';

type Splice = (engine: Uint8Array, features: string[], witWorld: string | undefined, witPath: string | undefined, worldName: string | undefined, debug: boolean) => unknown;
interface Spliced { wasm: Uint8Array; [key: string]: unknown }

/** Worlds kept in memory (each ~10 MB) and on disk. */
const keptInMemory = 2;
const keptOnDisk = 8;
let installed = false;

export async function memoizeSplice(options: { cacheDir?: string } = {}): Promise<boolean> {
  if (installed) return true;
  let splicer: { spliceBindings?: Splice } | undefined;
  try {
    // The very module instance componentize.js imports (same resolved URL); the package's
    // `exports` only name its entry, so the file is imported by path.
    const entry = fileURLToPath(import.meta.resolve('@bytecodealliance/componentize-js'));
    const bindings = join(dirname(entry), '..', 'lib', 'spidermonkey-embedding-splicer.js');
    splicer = ((await import(pathToFileURL(bindings).href)) as { splicer?: { spliceBindings?: Splice } }).splicer;
  } catch {
    return false;
  }
  const real = splicer?.spliceBindings;
  if (!splicer || typeof real !== 'function') return false;
  const cacheDir = options.cacheDir ?? userCacheDir('splice');
  const inMemory = new Map<string, Spliced>();
  const remember = (key: string, value: Spliced) => {
    inMemory.delete(key);
    inMemory.set(key, value);
    while (inMemory.size > keptInMemory) inMemory.delete(inMemory.keys().next().value!);
  };
  splicer.spliceBindings = function memoized(engine, features, witWorld, witPath, worldName, debug) {
    const key = keyFor(engine, features, witWorld, witPath, worldName, debug);
    if (key === undefined) return real.call(this, engine, features, witWorld, witPath, worldName, debug);
    const kept = inMemory.get(key) ?? readEntry(cacheDir, key);
    if (kept) {
      remember(key, kept);
      return structuredClone(kept);
    }
    const result = real.call(this, engine, features, witWorld, witPath, worldName, debug);
    if (isSpliced(result)) {
      remember(key, structuredClone(result));
      writeEntry(cacheDir, key, result);
    }
    return result;
  };
  installed = true;
  return true;
}

function keyFor(engine: Uint8Array, features: string[], witWorld: string | undefined, witPath: string | undefined, worldName: string | undefined, debug: boolean): string | undefined {
  if (!(engine instanceof Uint8Array) || !Array.isArray(features)) return undefined;
  let witText = '';
  if (witPath !== undefined) {
    try {
      if (!statSync(witPath).isFile()) return undefined;
      witText = readFileSync(witPath, 'utf8');
    } catch {
      return undefined;
    }
  }
  return createHash('sha256')
    .update(engine)
    .update(JSON.stringify([features, witWorld ?? null, witText, worldName ?? null, debug]))
    .digest('hex')
    .slice(0, 32);
}

/** The splicer's answer, if it is bytes plus plain JSON data (what the disk entry can hold exactly). */
function isSpliced(value: unknown): value is Spliced {
  if (typeof value !== 'object' || value === null || !((value as Spliced).wasm instanceof Uint8Array)) return false;
  const { wasm: _wasm, ...rest } = value as Spliced;
  return isDeepStrictEqual(JSON.parse(JSON.stringify(rest)), rest);
}

interface EntryMeta { wasmBytes: number; wasmSha256: string; rest: Record<string, unknown> }

function readEntry(dir: string, key: string): Spliced | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as EntryMeta;
    const wasm = new Uint8Array(readFileSync(join(dir, `${key}.wasm`)));
    if (wasm.byteLength !== meta.wasmBytes || createHash('sha256').update(wasm).digest('hex') !== meta.wasmSha256) return undefined;
    const now = new Date();
    utimesSync(join(dir, `${key}.json`), now, now);
    return { ...meta.rest, wasm };
  } catch {
    return undefined;
  }
}

function writeEntry(dir: string, key: string, value: Spliced): void {
  try {
    mkdirSync(dir, { recursive: true });
    const { wasm, ...rest } = value;
    const meta: EntryMeta = { wasmBytes: wasm.byteLength, wasmSha256: createHash('sha256').update(wasm).digest('hex'), rest };
    // The bytes first, the metadata last: an entry is complete once its .json exists.
    const tmp = `.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(join(dir, `${key}.wasm${tmp}`), wasm);
    renameSync(join(dir, `${key}.wasm${tmp}`), join(dir, `${key}.wasm`));
    writeFileSync(join(dir, `${key}.json${tmp}`), JSON.stringify(meta));
    renameSync(join(dir, `${key}.json${tmp}`), join(dir, `${key}.json`));
    prune(dir);
  } catch {
    // A cache that cannot be written is no cache: the next build splices again.
  }
}

/** Keeps the most recently used entries (and drops what an interrupted write left). */
function prune(dir: string): void {
  const names = readdirSync(dir);
  for (const n of names) if (n.endsWith('.tmp') && Date.now() - statSync(join(dir, n)).mtimeMs > 600_000) rmSync(join(dir, n), { force: true });
  const entries = names.filter((n) => n.endsWith('.json'))
    .map((n) => ({ key: n.slice(0, -'.json'.length), at: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const old of entries.slice(keptOnDisk)) {
    rmSync(join(dir, `${old.key}.json`), { force: true });
    rmSync(join(dir, `${old.key}.wasm`), { force: true });
  }
}
