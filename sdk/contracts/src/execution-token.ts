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
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type CryptoKey } from 'jose';
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
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function generateExecutionSigningKey(kid: string): Promise<ExecutionSigningKey & { privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
  return { kid, privateKey, publicJwk, privateJwk };
}

export async function importExecutionSigningKey(privateJwk: JWK): Promise<ExecutionSigningKey> {
  if (!privateJwk.kid) throw new Error('execution signing key needs a kid');
  const privateKey = (await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  const { d: _d, ...publicJwk } = privateJwk;
  return { kid: privateJwk.kid, privateKey, publicJwk: { ...publicJwk, alg: 'EdDSA', use: 'sig' } };
}

/** `exp` is the request deadline (rounded up to the next second, JWT's resolution). */
export async function mintExecutionToken(key: ExecutionSigningKey, claims: ExecutionClaims, deadlineMs: number): Promise<string> {
  return new SignJWT({ tid: claims.tenantId, iid: claims.installId, eid: claims.extensionId, caps: claims.capabilities })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setSubject(claims.requestId)
    .setIssuer(executionTokenIssuer)
    .setAudience(executionTokenAudience)
    .setIssuedAt()
    .setExpirationTime(Math.ceil(deadlineMs / 1000))
    .sign(key.privateKey);
}

export interface VerifierOptions {
  keys: JWK[];
  /** Tolerated clock skew in seconds. */
  clockToleranceSec?: number;
}

export type ExecutionTokenVerifier = (token: string) => Promise<ExecutionClaims & { expiresAtMs: number }>;

export function executionTokenVerifier(options: VerifierOptions): ExecutionTokenVerifier {
  if (options.keys.some((k) => !k.kid)) throw new Error('every trusted execution key needs a kid');
  const jwks = createLocalJWKSet({ keys: options.keys.map((k) => ({ ...k, alg: 'EdDSA' })) });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        audience: executionTokenAudience,
        issuer: executionTokenIssuer,
        algorithms: ['EdDSA'],
        clockTolerance: options.clockToleranceSec ?? 2,
        requiredClaims: ['exp', 'sub', 'tid', 'iid', 'eid'],
      });
      const caps = payload.caps;
      if (!Array.isArray(caps) || caps.some((c) => typeof c !== 'string')) throw new Error('caps');
      return {
        requestId: String(payload.sub),
        tenantId: String(payload.tid),
        installId: String(payload.iid),
        extensionId: String(payload.eid),
        capabilities: caps as string[],
        expiresAtMs: (payload.exp as number) * 1000,
      };
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AlgaError('E_AUTH', expired ? 'execution token has expired' : 'execution token is invalid');
    }
  };
}
