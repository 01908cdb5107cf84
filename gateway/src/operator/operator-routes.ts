/**
 * Operator API (operator token, like the registry's publisher routes): capability switches and key rotation.
 *
 *   GET /api/v1/operator/capabilities[?tenantId=…]           → { capabilities: CapabilitySwitch[] }
 *   PUT /api/v1/operator/capabilities/:capability            { enabled, tenantId? } → { capabilities }
 *   POST /api/v1/operator/keys/reload                        → { executionKeys: { active, kids }, secrets: { writer } }
 *   POST /api/v1/operator/secrets/reencrypt                  → ReencryptReport
 *
 * @example
 *   curl -X PUT $GW/api/v1/operator/capabilities/cap:http.fetch -H "authorization: Bearer $ALGA_OPERATOR_TOKEN" \
 *     -H 'content-type: application/json' -d '{"enabled":false,"tenantId":"…"}'
 */
import express, { type Router } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import { requireServiceToken } from '../identity/authenticate.ts';
import { route } from '../http/errors.ts';
import type { CapabilityPolicy } from './capability-policy.ts';

export interface OperatorRoutesDeps {
  operatorToken: string | undefined;
  capabilityPolicy: CapabilityPolicy;
  /** Re-reads the execution-token keys and the keyring file (what SIGHUP does). */
  reloadKeys(): Promise<unknown>;
  reencryptSecrets(): Promise<unknown>;
}

export function operatorRoutes(deps: OperatorRoutesDeps): Router {
  const r = express.Router();
  const operator = requireServiceToken(deps.operatorToken, 'operator');
  r.get('/api/v1/operator/capabilities', operator, route(async (req, res) => {
    const tenantId = req.query.tenantId;
    if (tenantId !== undefined && typeof tenantId !== 'string') throw new AlgaError('E_VALIDATION', 'tenantId must be one tenant id');
    res.json({ capabilities: await deps.capabilityPolicy.view(tenantId) });
  }));
  r.put('/api/v1/operator/capabilities/:capability', operator, express.json(), route(async (req, res) => {
    const body = (req.body ?? {}) as { enabled?: unknown; tenantId?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) throw new AlgaError('E_VALIDATION', 'body must be { enabled, tenantId? }');
    res.json({ capabilities: await deps.capabilityPolicy.set({ capability: req.params.capability, enabled: body.enabled, tenantId: body.tenantId }) });
  }));
  // Key rotation (README "Key rotation"): a keys file changed on disk takes effect here without a restart.
  r.post('/api/v1/operator/keys/reload', operator, route(async (_req, res) => { res.json(await deps.reloadKeys()); }));
  r.post('/api/v1/operator/secrets/reencrypt', operator, route(async (_req, res) => { res.json(await deps.reencryptSecrets()); }));
  return r;
}
