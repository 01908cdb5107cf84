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
