/**
 * `alga component sign [bundle] --key FILE`: Ed25519 over `alga-bundle-v1:<sha256>`, written
 * beside the bundle as `<bundle>.sig` (base64: the `x-alga-signature` header publish takes).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { publicKeyOfPem, sha256Hex, signBundle } from '@alga-psa/extension-contracts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';
import { bundleFileName } from './pack.ts';
import { loadProject } from './project.ts';

export async function readPrivateKey(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(resolve(path), 'utf8');
  } catch {
    throw new CliError('E_KEY_NOT_FOUND', `cannot read the signing key ${path}`, 'pass --key with the private key file from `alga keys generate`');
  }
  try {
    publicKeyOfPem(pem);
  } catch {
    throw new CliError('E_KEY_INVALID', `${path} is not an Ed25519 private key (PKCS#8 PEM)`, 'use the alga-publisher.key file `alga keys generate` wrote');
  }
  return pem;
}

export async function signCommand(bundleArg: string | undefined, opts: { key?: string }, out: Output): Promise<void> {
  if (!opts.key) throw new CliError('E_USAGE', 'sign needs --key <private key file>', 'create one with `alga keys generate`');
  const bundlePath = resolve(bundleArg ?? `dist/${bundleFileName(await loadProject('.'))}`);
  const bytes = await readFile(bundlePath).catch(() => {
    throw new CliError('E_BUNDLE_NOT_FOUND', `no bundle at ${bundlePath}`, 'run `alga component pack` first, or pass the bundle path');
  });
  const signature = signBundle(new Uint8Array(bytes), await readPrivateKey(opts.key));
  await writeFile(`${bundlePath}.sig`, `${signature}\n`);
  out.result({ bundle: bundlePath, sha256: sha256Hex(new Uint8Array(bytes)), signature, signatureFile: `${bundlePath}.sig` }, [`signed ${bundlePath}`, `signature ${bundlePath}.sig`]);
}
