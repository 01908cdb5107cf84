/**
 * `POST /api/internal/ext-ui-proxy/install/:installId` (DESIGN.md §6): the runner's ui-proxy
 * callback. Auth: the request's execution token, which must name this install and carry
 * `cap:ui.proxy`, for an install that is still granted it (`executionTokenAuth`, the check every
 * callback shares). Body `{ method, route, bodyB64? }`.
 *
 * Answers 200 `{ status, headers: [[k, v]…], bodyB64 }` with the host route's own status (a
 * host 404 or 500 is a result), or an error: 400 E_VALIDATION (malformed call), 403 E_FORBIDDEN
 * (not in the manifest's `uiProxy.routes` or not in the operator's catalog, or the capability is
 * no longer granted), 404 E_NOT_FOUND (install gone), 502 (host response too large),
 * 503 E_HOST_UNAVAILABLE (no host API configured, unreachable, or past the deadline).
 */
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { GatewayConfig } from '../config.ts';
import type { ExecutionKeys } from '../proxy/execution-keys.ts';
import type { InstallConfigCache } from '../installs/install-config-cache.ts';
import { callbackPrincipal, executionTokenAuth } from '../identity/execution-token-auth.ts';
import { route } from '../http/errors.ts';
import { parseUiProxyCall, UI_PROXY_MAX_REQUEST_BYTES, UiProxyResponseTooLarge, UiProxyService } from './ui-proxy-service.ts';

export interface UiProxyRouteDeps {
  knex: Knex;
  executionKeys: ExecutionKeys;
  installConfigCache: InstallConfigCache;
  config: Pick<GatewayConfig, 'hostApiBaseUrl' | 'hostApiToken' | 'hostRouteCatalog'>;
  /** Injected in tests; built from `config` otherwise. */
  service?: UiProxyService;
}

export function uiProxyRoutes(deps: UiProxyRouteDeps): Router {
  const service = deps.service ?? new UiProxyService({
    hostApiBaseUrl: deps.config.hostApiBaseUrl,
    hostApiToken: deps.config.hostApiToken,
    hostRouteCatalog: deps.config.hostRouteCatalog,
  });
  // base64 grows the body by 4/3, plus the JSON around it.
  const jsonBody = express.json({ limit: Math.ceil((UI_PROXY_MAX_REQUEST_BYTES * 4) / 3) + 64 * 1024 });
  const router = express.Router();
  router.post(
    '/api/internal/ext-ui-proxy/install/:installId',
    executionTokenAuth({ knex: deps.knex, executionKeys: deps.executionKeys }, 'cap:ui.proxy'),
    jsonBody,
    route(async (req, res) => {
      const claims = callbackPrincipal(res);
      res.locals.requestId = claims.requestId;
      const call = parseUiProxyCall(req.body);

      const runtime = await deps.installConfigCache.get(claims.tenantId, claims.extensionId);
      if (!runtime || runtime.installId !== claims.installId) throw new AlgaError('E_NOT_FOUND', 'no such install');
      if (runtime.status !== 'enabled') throw new AlgaError('E_FORBIDDEN', 'the install is disabled');
      service.authorize(runtime.uiProxyRoutes, call);

      // The runner gave up (deadline, guest gone): stop waiting for the host too.
      const abort = new AbortController();
      res.on('close', () => { if (!res.writableFinished) abort.abort(); });
      try {
        const result = await service.forward(call, claims, abort.signal);
        res.json({ status: result.status, headers: result.headers, bodyB64: result.body.toString('base64') });
      } catch (err) {
        if (err instanceof UiProxyResponseTooLarge) {
          res.status(502).json(new AlgaError('E_HOST_UNAVAILABLE', err.message).toBody(claims.requestId));
          return;
        }
        throw err;
      }
    }),
  );
  return router;
}
