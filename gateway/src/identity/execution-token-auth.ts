/**
 * Auth for the runner's callbacks (storage, ui-proxy): the execution token minted for the
 * request, verified with the gateway's own public keys. The token must name the install in
 * the URL and carry the capability of the API, and the install must still exist, be enabled
 * for the token's tenant, still be on the token's version and still hold the capability: declared
 * by that version's manifest and granted (`effectiveCapabilities`, the rule the token's `caps`
 * were minted by), and not switched off by the operator.
 * A token lives until its deadline, so its `caps` alone would outlive a revocation. Every
 * callback route shares this one check; it reads the install row on each call rather than a
 * cache, so a revocation made through any replica holds from the next callback on.
 *
 * A request's token comes back on each of its callbacks: a token whose signature verified is
 * remembered (by its sha256, never the token itself) until its `exp`, so the second and later
 * callbacks skip the Ed25519 verification; the claims, the install and capability match and the
 * install read below are checked on every call as before.
 *
 * What a version's manifest declares is cached by version id: versions are immutable (DESIGN.md
 * §8), so that part can never be stale, and the per-call read is a primary-key lookup of the
 * install row instead of a join that unpacked the manifest's jsonb on every callback.
 *
 * `executionTokenAuth(deps, cap)` checks all of it before the route runs. A route may overlap
 * the install read with its own work (`{ deferGrantCheck: true }`): it must then settle
 * `grantCheck(res)` before answering (a write: before it commits), and its refusal wins over
 * the work's outcome (`afterGrantCheck`), so nothing is answered, and nothing written, for an
 * install that lost the grant.
 */
import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { AlgaError, effectiveCapabilities, executionTokenVerifier, type CapabilityId, type ExecutionClaims, type ExecutionTokenVerifier, type VerifiedExecutionClaims } from '@alga-psa/extension-contracts';
import type { ExecutionKeys } from '../proxy/execution-keys.ts';
import { route } from '../http/errors.ts';

export interface CallbackPrincipal extends ExecutionClaims {
  expiresAtMs: number;
}

export function callbackPrincipal(res: Response): CallbackPrincipal {
  const principal = res.locals.callback as CallbackPrincipal | undefined;
  if (!principal) throw new AlgaError('E_AUTH', 'execution token required');
  return principal;
}

/** The deferred install check of a `{ deferGrantCheck: true }` route. */
export function grantCheck(res: Response): Promise<void> {
  const check = res.locals.grantCheck as Promise<void> | undefined;
  if (!check) throw new AlgaError('E_AUTH', 'execution token required');
  return check;
}

/**
 * Runs `work` while the install check is in flight; the check's refusal wins over anything
 * `work` produced (a result or an error), so a read's outcome never reaches a caller whose
 * install lost the grant.
 */
export async function afterGrantCheck<T>(res: Response, work: () => Promise<T>): Promise<T> {
  // `work` is called inside a promise, so an error it throws synchronously (a body it cannot
  // decode) also waits for the check.
  const [check, result] = await Promise.allSettled([grantCheck(res), Promise.resolve().then(work)]);
  if (check.status === 'rejected') throw check.reason;
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

export interface ExecutionTokenAuthOptions {
  /** The route settles `grantCheck(res)` itself (see above). */
  deferGrantCheck?: boolean;
}

export function executionTokenAuth(deps: { knex: Knex; executionKeys: ExecutionKeys }, capability: CapabilityId, options: ExecutionTokenAuthOptions = {}): RequestHandler {
  let verify: ExecutionTokenVerifier | undefined;
  let generation = -1;
  const declared = declaredCapabilities(deps.knex);
  return route(async (req, res, next) => {
    // Built again after a key rotation (ExecutionKeys.reload): tokens of a retired key stop verifying.
    if (generation !== deps.executionKeys.generation) {
      verify = rememberingVerifier(executionTokenVerifier({ keys: deps.executionKeys.publicJwks() }));
      generation = deps.executionKeys.generation;
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new AlgaError('E_AUTH', 'execution token required');
    const claims = await verify!(m[1]);
    if (claims.installId !== req.params.installId) throw new AlgaError('E_FORBIDDEN', 'the execution token was issued for another install');
    if (!claims.capabilities.includes(capability)) throw new AlgaError('E_FORBIDDEN', `the install was not granted ${capability}`);
    const check = checkInstall(deps.knex, declared, claims, capability);
    res.locals.callback = claims;
    res.locals.grantCheck = check;
    if (options.deferGrantCheck) {
      // Settled by the route; a rejection it has not reached yet is not "unhandled".
      check.catch(() => undefined);
    } else {
      await check;
    }
    next();
  });
}

/**
 * Both of the check's reads start at once, when the middleware runs: a write route awaits the
 * check inside its transaction, and on PGlite (one connection) a read the check issued only after
 * the transaction had taken the connection would wait for it for ever. The declared list read is
 * that of the token's version, so nothing depends on the install row's answer: an install that
 * has moved to another version since the token was minted is refused (the request is running
 * code the install no longer has, and must not write to its data).
 */
async function checkInstall(knex: Knex, declared: (versionId: string) => Promise<string[]>, claims: ExecutionClaims, capability: CapabilityId): Promise<void> {
  const [install, declaredByVersion] = await Promise.all([
    knex('tenant_extension_install as i')
      .where({ 'i.id': claims.installId, 'i.tenant_id': claims.tenantId })
      // The operator's switch, in the same statement: one round trip per callback.
      .first('i.status', 'i.granted_capabilities', 'i.version_id', knex.raw(
        `exists(select 1 from operator_disabled_capability d where d.capability = ? and (d.tenant_id is null or d.tenant_id = i.tenant_id)) as switched_off`,
        [capability],
      )) as Promise<{ status: string; granted_capabilities: unknown; version_id: string; switched_off: boolean } | undefined>,
    declared(claims.versionId),
  ]);
  if (!install || install.status !== 'enabled') throw new AlgaError('E_FORBIDDEN', 'the install is gone or disabled');
  if (install.version_id !== claims.versionId) throw new AlgaError('E_FORBIDDEN', 'the install has moved to another version since this request began');
  if (install.switched_off) throw new AlgaError('E_FORBIDDEN', `the operator has switched off ${capability} for this tenant`);
  if (!effectiveCapabilities(declaredByVersion, stringList(install.granted_capabilities)).has(capability)) {
    throw new AlgaError('E_FORBIDDEN', `the install is no longer granted ${capability}`);
  }
}

/** `verify`, skipped for a token it accepted before and whose `exp` has not passed. */
function rememberingVerifier(verify: ExecutionTokenVerifier): ExecutionTokenVerifier {
  const accepted = new LRUCache<string, VerifiedExecutionClaims>({ max: 10_000, ttlAutopurge: false });
  return async (token) => {
    const digest = createHash('sha256').update(token).digest('base64url');
    const known = accepted.get(digest);
    if (known && known.expiresAtMs > Date.now()) return known;
    // Frozen: every callback of the request gets this same object.
    const claims = Object.freeze({ ...(await verify(token)) });
    Object.freeze(claims.capabilities);
    const left = claims.expiresAtMs - Date.now();
    if (left > 0) accepted.set(digest, claims, { ttl: left });
    return claims;
  };
}

/** The capabilities a version's manifest declares, by version id (immutable rows: cached without expiry). */
function declaredCapabilities(knex: Knex): (versionId: string) => Promise<string[]> {
  const cache = new LRUCache<string, string[]>({
    max: 10_000,
    fetchMethod: async (versionId) => {
      const row = (await knex('extension_version').where({ id: versionId }).first(knex.raw(`manifest -> 'capabilities' as declared`))) as { declared: unknown } | undefined;
      return stringList(row?.declared);
    },
  });
  return async (versionId) => (await cache.fetch(versionId)) ?? [];
}

/** A jsonb list as stored; anything else grants nothing (fail closed). */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
