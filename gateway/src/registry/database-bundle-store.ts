/**
 * Bundle bytes in the database: the store every gateway replica shares, so a bundle published
 * through one replica can be served by any other (its UI assets, its bytes to a runner that
 * lacks it). The gateway reads it through a TieredBundleStore with its own disk in front, so a
 * bundle crosses the database once per replica.
 *
 * @example
 *   const store = new TieredBundleStore(new FileBundleStore(dir), new DatabaseBundleStore(knex));
 */
import type { Knex } from 'knex';
import { AlgaError, contentHashPattern, sha256Hex } from '@alga-psa/extension-contracts';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';

export class DatabaseBundleStore implements BundleStore {
  private readonly knex: Knex;

  constructor(knex: Knex) {
    this.knex = knex;
  }

  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256Hex(bytes);
    // Content addressed: a second put of the same bytes changes nothing.
    await this.knex('extension_bundle_blob').insert({ content_hash: hash, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }).onConflict('content_hash').ignore();
    return hash;
  }

  async get(contentHash: string): Promise<Uint8Array | undefined> {
    checkHash(contentHash);
    const row = await this.knex('extension_bundle_blob').where({ content_hash: contentHash }).first('bytes') as { bytes: Uint8Array } | undefined;
    return row ? new Uint8Array(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength) : undefined;
  }

  async has(contentHash: string): Promise<boolean> {
    checkHash(contentHash);
    return (await this.knex('extension_bundle_blob').where({ content_hash: contentHash }).first('content_hash')) !== undefined;
  }
}

function checkHash(contentHash: string): void {
  if (!contentHashPattern.test(contentHash)) throw new AlgaError('E_BAD_REQUEST', 'content hash must be 64 lowercase hex characters');
}
