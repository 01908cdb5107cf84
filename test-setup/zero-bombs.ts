/**
 * Gzip bombs for the bundle-limit tests: gzipped tars whose entries are long runs of zeros,
 * deflated as a stream (about 1000:1, so 1 GiB comes out near 1 MB) without ever holding
 * the uncompressed bytes.
 */
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import * as tar from 'tar';

export interface BombEntry {
  path: string;
  /** The entry's bytes; without them, `size` zeros. */
  data?: string | Uint8Array;
  size?: number;
}

const zeroChunk = Buffer.alloc(1024 * 1024);

function* zeros(count: number): Generator<Buffer> {
  for (let left = count; left > 0; left -= zeroChunk.length) yield left >= zeroChunk.length ? zeroChunk : zeroChunk.subarray(0, left);
}

function* tarStream(entries: BombEntry[], trailingZeros: number): Generator<Buffer> {
  for (const e of entries) {
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const size = data?.length ?? e.size ?? 0;
    const header = new tar.Header({ path: e.path, type: 'File', size, mode: 0o644, mtime: new Date(0) });
    header.encode();
    yield header.block!;
    if (data) yield data; else yield* zeros(size);
    yield* zeros((512 - (size % 512)) % 512);
  }
  yield Buffer.alloc(1024);
  yield* zeros(trailingZeros);
}

/** A gzipped tar of `entries`, then `trailingZeros` more zero bytes after the end-of-archive blocks. */
export async function zeroBombTarGz(entries: BombEntry[], options: { trailingZeros?: number } = {}): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(tarStream(entries, options.trailingZeros ?? 0)).pipe(createGzip({ level: 9 }))) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}
