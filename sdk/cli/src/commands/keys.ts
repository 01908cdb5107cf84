/**
 * `alga keys generate [--out DIR] [--force]`: a publisher signing key pair (Ed25519). The
 * private key is PKCS#8 PEM with mode 0600; the public key is what an operator registers:
 * the base64 of the raw 32-byte key, as `POST /api/v1/registry/publishers/:id/keys` takes it.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generatePublisherKey } from '@alga-psa/extension-contracts';
import { CliError } from '../cli-error.ts';
import type { Output } from '../output.ts';

export const privateKeyFileName = 'alga-publisher.key';
export const publicKeyFileName = 'alga-publisher.pub';

export async function keysGenerate(opts: { out?: string; force?: boolean }, out: Output): Promise<void> {
  const dir = resolve(opts.out ?? '.');
  const privatePath = join(dir, privateKeyFileName);
  const publicPath = join(dir, publicKeyFileName);
  if (!opts.force && (await stat(privatePath).then(() => true, () => false))) {
    throw new CliError('E_EXISTS', `${privatePath} already exists`, 'keep it (it may be registered already), or pass --force to replace it');
  }
  const { privateKeyPem, publicKeyB64 } = generatePublisherKey();
  await mkdir(dir, { recursive: true });
  await writeFile(privatePath, privateKeyPem, { mode: 0o600 });
  await chmod(privatePath, 0o600);
  await writeFile(publicPath, `${publicKeyB64}\n`);
  out.result({ privateKeyFile: privatePath, publicKeyFile: publicPath, publicKey: publicKeyB64 }, [
    `private key: ${privatePath} (mode 0600; keep it secret, never commit it)`,
    `public key:  ${publicPath}`,
    '',
    'Ask your gateway operator to register the public key under a key id, e.g.:',
    `  curl -X POST $GATEWAY/api/v1/registry/publishers/<publisher id>/keys -H "authorization: Bearer $OPERATOR_TOKEN" \\`,
    `    -H 'content-type: application/json' -d '{"kid":"<key id>","publicKey":"${publicKeyB64}"}'`,
  ]);
}
