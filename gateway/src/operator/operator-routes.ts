/**
 * Operator API for the capability switches (operator token, like the registry's publisher routes):
 *
 *   GET /api/v1/operator/capabilities[?tenantId=…]           → { capabilities: CapabilitySwitch[] }
 *   PUT /api/v1/operator/capabilities/:capability            { enabled, tenantId? } → { capabilities }
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

export function operatorRoutes(deps: { operatorToken: string | undefined; capabilityPolicy: CapabilityPolicy }): Router {
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
  return r;
}
