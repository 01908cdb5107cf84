/**
 * Auth for the runner's callbacks (storage, ui-proxy): the execution token minted for the
 * request, verified with the gateway's own public keys. The token must name the install in
 * the URL and carry the capability of the API, and the install must still exist and be enabled
 * for the token's tenant.
 */
import type { RequestHandler, Response } from 'express';
import type { Knex } from 'knex';
import { AlgaError, executionTokenVerifier, type CapabilityId, type ExecutionClaims, type ExecutionTokenVerifier } from '@alga-psa/extension-contracts';
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
    const install = await deps.knex('tenant_extension_install').where({ id: claims.installId, tenant_id: claims.tenantId }).first('status');
    if (!install || install.status !== 'enabled') throw new AlgaError('E_FORBIDDEN', 'the install is gone or disabled');
    res.locals.callback = claims;
    next();
  });
}
