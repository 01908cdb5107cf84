/**
 * Execution tokens (DESIGN.md §7): short-lived EdDSA JWTs the gateway mints per request and
 * the runner verifies; the runner forwards them on storage / ui-proxy callbacks.
 * Keys carry a `kid`; several public keys can be trusted at once so signing keys rotate.
 *
 * @example
 *   const signer = await generateExecutionSigningKey('k1');
 *   const token = await mintExecutionToken(signer, { requestId, tenantId, installId, extensionId, capabilities }, deadlineMs);
 *   const verify = executionTokenVerifier({ keys: [signer.publicJwk] });
 *   const claims = await verify(token);
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AlgaError } from './errors.ts';

export const executionTokenAudience = 'alga-runner';
export const executionTokenIssuer = 'alga-gateway';

export interface ExecutionClaims {
  requestId: string;
  tenantId: string;
  installId: string;
  extensionId: string;
  capabilities: string[];
}

export interface ExecutionSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export async function generateExecutionSigningKey(kid: string): Promise<ExecutionSigningKey & { privateJwk: JWK }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicJwk: JWK = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA', use: 'sig' };
  const privateJwk: JWK = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg: 'EdDSA' };
  return { kid, privateKey, publicJwk, privateJwk };
}

export async function importExecutionSigningKey(privateJwk: JWK): Promise<ExecutionSigningKey> {
  if (!privateJwk.kid) throw new Error('execution signing key needs a kid');
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || typeof privateJwk.d !== 'string' || typeof privateJwk.x !== 'string') {
    throw new Error(`execution signing key ${privateJwk.kid} is not an Ed25519 private JWK`);
  }
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x, d: privateJwk.d }, format: 'jwk' });
  const { d: _d, ...publicJwk } = privateJwk;
  return { kid: privateJwk.kid, privateKey, publicJwk: { ...publicJwk, alg: 'EdDSA', use: 'sig' } };
}

/**
 * `exp` is the request deadline (rounded up to the next second, JWT's resolution).
 * Signed with node:crypto synchronously: one token per proxied request, and jose's WebCrypto
 * path hops to the libuv thread pool (see the verifier below). A test checks jose accepts it.
 */
export async function mintExecutionToken(key: ExecutionSigningKey, claims: ExecutionClaims, deadlineMs: number): Promise<string> {
  const header = { alg: 'EdDSA', kid: key.kid, typ: 'JWT' };
  const payload = {
    tid: claims.tenantId, iid: claims.installId, eid: claims.extensionId, caps: claims.capabilities,
    sub: claims.requestId, iss: executionTokenIssuer, aud: executionTokenAudience,
    iat: Math.floor(Date.now() / 1000), exp: Math.ceil(deadlineMs / 1000),
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

export interface VerifierOptions {
  keys: JWK[];
  /** Tolerated clock skew in seconds. */
  clockToleranceSec?: number;
}

export type ExecutionTokenVerifier = (token: string) => Promise<ExecutionClaims & { expiresAtMs: number }>;

const b64url = /^[A-Za-z0-9_-]+$/;

/**
 * Verification runs once per execute request on the runner's main thread, so it uses
 * node:crypto's synchronous Ed25519 verify: jose's WebCrypto path hops to the libuv thread
 * pool and measured 259 µs per token against ~125 µs here (the main thread was the
 * runner's throughput bottleneck). Only compact JWS with alg EdDSA and a trusted kid pass.
 */
export function executionTokenVerifier(options: VerifierOptions): ExecutionTokenVerifier {
  if (options.keys.some((k) => !k.kid)) throw new Error('every trusted execution key needs a kid');
  const keys = new Map<string, KeyObject>();
  for (const jwk of options.keys) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error(`trusted execution key ${jwk.kid} is not an Ed25519 public key`);
    keys.set(jwk.kid!, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
  }
  const toleranceMs = (options.clockToleranceSec ?? 2) * 1000;
  const invalid = () => new AlgaError('E_AUTH', 'execution token is invalid');
  return async (token) => {
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => b64url.test(p))) throw invalid();
    const header = parseSegment(parts[0]);
    if (!header || header.alg !== 'EdDSA' || 'crit' in header || (header.typ !== undefined && header.typ !== 'JWT')) throw invalid();
    const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
    const signature = Buffer.from(parts[2], 'base64url');
    if (!key || signature.length !== 64) throw invalid();
    if (!cryptoVerify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key, signature)) throw invalid();
    const claims = parseSegment(parts[1]);
    if (!claims) throw invalid();
    const now = Date.now();
    const aud = claims.aud;
    if (!(aud === executionTokenAudience || (Array.isArray(aud) && aud.includes(executionTokenAudience)))) throw invalid();
    if (claims.iss !== executionTokenIssuer) throw invalid();
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') throw invalid();
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now + toleranceMs) throw invalid();
    if (claims.exp * 1000 <= now - toleranceMs) throw new AlgaError('E_AUTH', 'execution token has expired');
    const { sub, tid, iid, eid, caps } = claims;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof iid !== 'string' || typeof eid !== 'string') throw invalid();
    if (!Array.isArray(caps) || caps.some((c) => typeof c !== 'string')) throw invalid();
    return { requestId: sub, tenantId: tid, installId: iid, extensionId: eid, capabilities: caps as string[], expiresAtMs: claims.exp * 1000 };
  };
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
