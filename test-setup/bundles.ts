/** Bundle variants for gateway tests, made from real sample components. */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { readBundle } from '@alga-psa/extension-contracts';
import { bundleOf } from './fixture-components.ts';
import { sampleBundle } from './samples.ts';

/** A sample's real component under a changed manifest (name, version, capabilities, hosts…). */
export async function sampleVariant(sample: string, manifest: Record<string, unknown>, ui?: Record<string, string>): Promise<Uint8Array> {
  const build = await sampleBundle(sample);
  const { component } = await readBundle(build.bytes);
  return bundleOf({ ...(build.manifest as Record<string, unknown>), ...manifest }, component, ui);
}

/** The hello component under another manifest. */
export function helloVariant(manifest: Record<string, unknown>, ui?: Record<string, string>): Promise<Uint8Array> {
  return sampleVariant('hello', manifest, ui);
}

/** A gzipped tar with arbitrary entry paths (e.g. `../evil`), built with tar's own header encoder. */
export function rawTarGz(entries: Array<{ path: string; data: string | Uint8Array; type?: 'File' | 'SymbolicLink' | 'Link'; linkpath?: string }>): Uint8Array {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data);
    const isLink = e.type === 'SymbolicLink' || e.type === 'Link';
    const header = new tar.Header({ path: e.path, type: e.type ?? 'File', size: isLink ? 0 : data.length, mode: 0o644, mtime: new Date(0), linkpath: e.linkpath });
    header.encode();
    blocks.push(header.block!);
    if (!isLink) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return new Uint8Array(gzipSync(Buffer.concat(blocks)));
}
