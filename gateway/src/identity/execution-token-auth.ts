/**
 * Auth for the runner's callbacks (storage, ui-proxy): the execution token minted for the
 * request, verified with the gateway's own public keys. The token must name the install in
 * the URL and carry the capability of the API, and the install must still exist, be enabled
 * for the token's tenant and still hold the capability: declared by the manifest of the version
 * it is on and granted (`effectiveCapabilities`, the rule the token's `caps` were minted by).
 * A token lives until its deadline, so its `caps` alone would outlive a revocation. Every
 * callback route shares this one check; it reads the database on each call rather than a
 * cache, so a revocation made through any replica holds from the next callback on.
 */
import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { AlgaError, effectiveCapabilities, executionTokenVerifier, type CapabilityId, type ExecutionClaims, type ExecutionTokenVerifier } from '@alga-psa/extension-contracts';
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

export function executionTokenAuth(deps: { knex: Knex; executionKeys: ExecutionKeys }, capability: CapabilityId): RequestHandler {
  let verifier: ExecutionTokenVerifier | undefined;
  return route(async (req, res, next) => {
    verifier ??= executionTokenVerifier({ keys: deps.executionKeys.publicJwks() });
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new AlgaError('E_AUTH', 'execution token required');
    const claims = await verifier(m[1]);
    if (claims.installId !== req.params.installId) throw new AlgaError('E_FORBIDDEN', 'the execution token was issued for another install');
    if (!claims.capabilities.includes(capability)) throw new AlgaError('E_FORBIDDEN', `the install was not granted ${capability}`);
    const install = (await deps.knex('tenant_extension_install as i')
      .join('extension_version as v', 'v.id', 'i.version_id')
      .where({ 'i.id': claims.installId, 'i.tenant_id': claims.tenantId })
      .first('i.status', 'i.granted_capabilities', deps.knex.raw(`v.manifest -> 'capabilities' as declared`))) as
      { status: string; granted_capabilities: unknown; declared: unknown } | undefined;
    if (!install || install.status !== 'enabled') throw new AlgaError('E_FORBIDDEN', 'the install is gone or disabled');
    if (!effectiveCapabilities(stringList(install.declared), stringList(install.granted_capabilities)).has(capability)) {
      throw new AlgaError('E_FORBIDDEN', `the install is no longer granted ${capability}`);
    }
    res.locals.callback = claims;
    next();
  });
}

/** A jsonb list as stored; anything else grants nothing (fail closed). */
function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
