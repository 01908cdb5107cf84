/**
 * Bundle signatures: Ed25519 over `alga-bundle-v1:<sha256 hex of the bundle>`. Publishers
 * register the raw 32-byte public key (base64) under a key id; `alga component sign` and
 * the gateway's publish share this module.
 *
 * @example
 *   const { publicKeyB64, privateKeyPem } = generatePublisherKey();
 *   const signature = signBundle(bytes, privateKeyPem);
 *   verifyBundleSignature(bytes, publicKeyB64, signature);   // true
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { sha256Hex } from './bundle.ts';

export const bundleSignatureContext = 'alga-bundle-v1';

function message(bytes: Uint8Array): Buffer {
  return Buffer.from(`${bundleSignatureContext}:${sha256Hex(bytes)}`);
}

export function generatePublisherKey(): { publicKeyB64: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!;
  return { publicKeyB64: Buffer.from(raw, 'base64url').toString('base64'), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

export function publicKeyOfPem(privateKeyPem: string): string {
  const jwk = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

export function signBundle(bytes: Uint8Array, privateKeyPem: string): string {
  return sign(null, message(bytes), createPrivateKey(privateKeyPem)).toString('base64');
}

export function verifyBundleSignature(bytes: Uint8Array, publicKeyB64: string, signatureB64: string): boolean {
  try {
    const raw = Buffer.from(publicKeyB64, 'base64');
    const signature = Buffer.from(signatureB64, 'base64');
    if (raw.length !== 32 || signature.length !== 64) return false;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    return verify(null, message(bytes), key, signature);
  } catch {
    return false;
  }
}
