/**
 * Content-addressed bundle storage shared by gateway (writes) and runner (reads).
 * The file store is the embedded default; an object store implements the same interface.
 *
 * @example
 *   const store = new FileBundleStore('./data/bundles');
 *   const hash = await store.put(bytes);   // sha256 hex of bytes
 *   const again = await store.get(hash);   // Uint8Array | undefined
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AlgaError, contentHashPattern, sha256Hex } from '@alga-psa/extension-contracts';

export interface BundleStore {
  put(bytes: Uint8Array): Promise<string>;
  get(contentHash: string): Promise<Uint8Array | undefined>;
  has(contentHash: string): Promise<boolean>;
}

export class FileBundleStore implements BundleStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  private pathOf(contentHash: string): string {
    // The hash pattern is what keeps a caller-supplied hash from naming any other file.
    if (!contentHashPattern.test(contentHash)) throw new AlgaError('E_BAD_REQUEST', 'content hash must be 64 lowercase hex characters');
    return join(this.root, contentHash.slice(0, 2), `${contentHash}.tgz`);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256Hex(bytes);
    const path = this.pathOf(hash);
    if (await this.has(hash)) return hash;
    // Write-then-rename: a reader never sees a half-written bundle, and a failed write leaves nothing behind.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(join(this.root, hash.slice(0, 2)), { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new AlgaError('E_STORE_FULL', `the bundle store (${this.root}) is out of space: nothing was stored; free or grow its volume, then publish again`);
      }
      throw err;
    }
    return hash;
  }

  async get(contentHash: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.pathOf(contentHash)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async has(contentHash: string): Promise<boolean> {
    try {
      await stat(this.pathOf(contentHash));
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A local store in front of a shared one: reads are served locally when they can be, else from
 * the shared store, verified against their content hash and kept locally for the next read;
 * writes go to the shared store first (it is what other replicas read), then locally.
 *
 * This is how a replica that never saw a publish gets the bundle: a gateway replica reads it
 * from the database (`DatabaseBundleStore`), a runner from a gateway's internal bundle API.
 *
 * @example
 *   const store = new TieredBundleStore(new FileBundleStore('./data/bundles'), shared);
 *   const bytes = await store.get(hash);   // local disk, else shared (then cached on disk)
 */
export class TieredBundleStore implements BundleStore {
  readonly local: BundleStore;
  readonly shared: BundleStore;
  private readonly onLocalWriteFailed: ((contentHash: string, err: unknown) => void) | undefined;

  constructor(local: BundleStore, shared: BundleStore, options: { onLocalWriteFailed?(contentHash: string, err: unknown): void } = {}) {
    this.local = local;
    this.shared = shared;
    this.onLocalWriteFailed = options.onLocalWriteFailed;
  }

  async put(bytes: Uint8Array): Promise<string> {
    const hash = await this.shared.put(bytes);
    await this.local.put(bytes);
    return hash;
  }

  async get(contentHash: string): Promise<Uint8Array | undefined> {
    const near = await this.local.get(contentHash);
    if (near) return near;
    const far = await this.shared.get(contentHash);
    if (!far) return undefined;
    // A shared copy that does not hash to its name is never cached (and the caller refuses it).
    if (sha256Hex(far) !== contentHash) {
      throw new AlgaError('E_BUNDLE_INVALID', `bundle ${contentHash} from the shared store does not match its content hash (corrupt or tampered)`);
    }
    // The local copy is a cache: a full disk costs the next read a fetch, not this request.
    await this.local.put(far).catch((err: unknown) => this.onLocalWriteFailed?.(contentHash, err));
    return far;
  }

  async has(contentHash: string): Promise<boolean> {
    return (await this.local.has(contentHash)) || this.shared.has(contentHash);
  }
}
