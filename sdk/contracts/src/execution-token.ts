/**
 * Execution tokens (DESIGN.md §7): short-lived EdDSA JWTs the gateway mints per request and
 * the runner verifies; the runner forwards them on storage / ui-proxy callbacks.
 * Keys carry a `kid`; several public keys can be trusted at once so signing keys rotate.
 *
 * A token authorises exactly one execute request: besides the ids it binds the component
 * (content hash, version id) and a digest of the body's `install` and `secrets` sections, and
 * carries a random token id (`jti`) the runner accepts once.
 *
 * @example
 *   const signer = await generateExecutionSigningKey('k1');
 *   const bodyDigest = executeBodyDigest({ install: body.install, secrets: body.secrets });
 *   const token = await mintExecutionToken(signer, { requestId, tenantId, installId, extensionId, versionId, contentHash, bodyDigest, capabilities }, deadlineMs);
 *   const verify = executionTokenVerifier({ keys: [signer.publicJwk] });
 *   const claims = await verify(token); // + tokenId, expiresAtMs
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AlgaError } from './errors.ts';
import { contentHashPattern } from './bundle.ts';

export const executionTokenAudience = 'alga-runner';
export const executionTokenIssuer = 'alga-gateway';
/** Default clock skew the verifier tolerates; a replay cache must keep ids at least this long past `exp`. */
export const executionTokenClockToleranceSec = 2;

export interface ExecutionClaims {
  requestId: string;
  tenantId: string;
  installId: string;
  extensionId: string;
  /** The install's version and its component's sha256: the token runs no other code. */
  versionId: string;
  contentHash: string;
  /** `executeBodyDigest` of the execute body's install and secrets sections. */
  bodyDigest: string;
  capabilities: string[];
}

/** What the verifier returns: the claims, the token's own id (`jti`) and its expiry. */
export interface VerifiedExecutionClaims extends ExecutionClaims {
  tokenId: string;
  expiresAtMs: number;
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
    vid: claims.versionId, chash: claims.contentHash, bdg: claims.bodyDigest, jti: randomUUID(),
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

export type ExecutionTokenVerifier = (token: string) => Promise<VerifiedExecutionClaims>;

const b64url = /^[A-Za-z0-9_-]+$/;
/** A sha256 in base64url without padding. */
const digestPattern = /^[A-Za-z0-9_-]{43}$/;

/**
 * Verification runs once per execute request on the runner's main thread, so it uses
 * node:crypto's synchronous Ed25519 verify: jose's WebCrypto path hops to the libuv thread
 * pool and measured 259 µs per token against ~125 µs here (the main thread was the
 * runner's throughput bottleneck). Only compact JWS with alg EdDSA and a trusted kid pass.
 */
export function executionTokenVerifier(options: VerifierOptions): ExecutionTokenVerifier {
  const verifyJws = edDsaJwsVerifier(options);
  const invalid = () => new AlgaError('E_AUTH', 'execution token is invalid');
  return async (token) => {
    const claims = verifyJws(token, executionTokenAudience, 'execution token');
    const { sub, tid, iid, eid, caps, vid, chash, bdg, jti } = claims;
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof iid !== 'string' || typeof eid !== 'string') throw invalid();
    if (typeof vid !== 'string' || typeof chash !== 'string' || typeof bdg !== 'string' || !digestPattern.test(bdg)) throw invalid();
    // The id keys the runner's replay cache: bounded so a signed token cannot make it hold a huge string.
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw invalid();
    if (!Array.isArray(caps) || caps.some((c) => typeof c !== 'string')) throw invalid();
    return {
      requestId: sub, tenantId: tid, installId: iid, extensionId: eid, versionId: vid, contentHash: chash, bodyDigest: bdg,
      capabilities: caps as string[], tokenId: jti, expiresAtMs: (claims.exp as number) * 1000,
    };
  };
}

/**
 * Checks a compact JWS signed by one of the trusted keys (EdDSA only), its issuer, audience and
 * times, and returns its claims. The audience is what keeps token kinds apart: an execution
 * token is never a prepare token and the other way round.
 */
function edDsaJwsVerifier(options: VerifierOptions): (token: string, audience: string, what: string) => Record<string, unknown> {
  if (options.keys.some((k) => !k.kid)) throw new Error('every trusted execution key needs a kid');
  const keys = new Map<string, KeyObject>();
  for (const jwk of options.keys) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error(`trusted execution key ${jwk.kid} is not an Ed25519 public key`);
    keys.set(jwk.kid!, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
  }
  const toleranceMs = (options.clockToleranceSec ?? executionTokenClockToleranceSec) * 1000;
  return (token, audience, what) => {
    const invalid = () => new AlgaError('E_AUTH', `${what} is invalid`);
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
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) throw invalid();
    if (claims.iss !== executionTokenIssuer) throw invalid();
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') throw invalid();
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 > now + toleranceMs) throw invalid();
    if (claims.exp * 1000 <= now - toleranceMs) throw new AlgaError('E_AUTH', `${what} has expired`);
    return claims;
  };
}

/**
 * Prepare tokens: the gateway asks a runner to compile a newly published component and make
 * instances ready before its first request (`POST /v1/prepare`). Signed with the execution keys
 * for another audience; they authorise only that, for one content hash, for a minute. Preparing
 * is idempotent and runs no install's data, so a replay within that minute costs nothing.
 */
export const prepareTokenAudience = 'alga-runner/prepare';
const prepareTokenTtlSec = 60;

export function mintPrepareToken(key: ExecutionSigningKey, contentHash: string): string {
  const header = { alg: 'EdDSA', kid: key.kid, typ: 'JWT' };
  const iat = Math.floor(Date.now() / 1000);
  const payload = { chash: contentHash, iss: executionTokenIssuer, aud: prepareTokenAudience, iat, exp: iat + prepareTokenTtlSec };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${cryptoSign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** Returns the content hash the prepare token names; throws E_AUTH otherwise. */
export function prepareTokenVerifier(options: VerifierOptions): (token: string) => string {
  const verifyJws = edDsaJwsVerifier(options);
  return (token) => {
    const claims = verifyJws(token, prepareTokenAudience, 'prepare token');
    if (typeof claims.chash !== 'string' || !contentHashPattern.test(claims.chash)) throw new AlgaError('E_AUTH', 'prepare token is invalid');
    return claims.chash;
  };
}

/**
 * The `bdg` claim: sha256 (base64url) of the canonical JSON of an execute body's `install` and
 * `secrets` sections. Both sides hash the sections as they travel on the wire: the gateway over
 * the objects it serialises, the runner over the sections as parsed from the JSON it received,
 * before its schema fills in defaults. So the gateway needs no copy of the runner's schema (a
 * runner with newer defaults still agrees), and the digest covers every byte the runner's
 * parsing could act on (the parsed values are a function of the raw ones).
 */
export function executeBodyDigest(sections: { install?: unknown; secrets?: unknown }): string {
  return createHash('sha256').update(canonicalJson({ install: sections.install, secrets: sections.secrets }) ?? 'null').digest('base64url');
}

/**
 * JSON with object keys sorted recursively; otherwise exactly JSON.stringify's rules (toJSON,
 * undefined / functions / symbols dropped from objects and null in arrays, non-finite numbers
 * null), so a value and its JSON round trip give the same text.
 */
export function canonicalJson(value: unknown): string | undefined {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  switch (typeof v) {
    case 'string': return JSON.stringify(v);
    case 'number': return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': throw new AlgaError('E_INTERNAL', 'a bigint cannot be part of an execute body');
    case 'object': break;
    default: return undefined;
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map((item) => canonicalJson(item) ?? 'null').join(',')}]`;
  const record = v as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = canonicalJson(record[key]);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}

function parseSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
