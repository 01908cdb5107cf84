/** Internal APIs for the runner (service token), never reachable with a tenant credential. */
import express, { type Router } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import { requireServiceToken } from '../identity/authenticate.ts';
import { route } from '../http/errors.ts';
import type { InstallConfigCache } from '../installs/install-config-cache.ts';

export function internalRoutes(deps: { runnerServiceToken: string | undefined; installConfigCache: InstallConfigCache }): Router {
  const router = express.Router();
  router.post('/api/internal/ext-runner/install-config', requireServiceToken(deps.runnerServiceToken, 'runner service'), express.json(), route(async (req, res) => {
    const { tenantId, extensionId } = (req.body ?? {}) as { tenantId?: unknown; extensionId?: unknown };
    if (typeof tenantId !== 'string' || typeof extensionId !== 'string') throw new AlgaError('E_VALIDATION', 'body must be { tenantId, extensionId }');
    const runtime = await deps.installConfigCache.get(tenantId, extensionId);
    if (!runtime) throw new AlgaError('E_NOT_FOUND', 'no such install');
    const { manifest: _m, status: _s, extensionName: _n, ...config } = runtime;
    res.json(config);
  }));
  return router;
}
