/**
 * `POST /api/internal/ext-storage/install/:installId` — the runner's storage callback
 * (DESIGN.md §6), authenticated by the request's execution token: the token must name this
 * install, carry cap:storage.kv, and the install must still be enabled.
 *
 * Body: `{ op: 'get'|'put'|'delete'|'list', namespace, key?, valueB64?, expectedRevision?, prefix?, cursor?, limit? }`
 * Answers:
 *   get    → `{ entry: { key, valueB64, revision } | null }`
 *   put    → `{ revision }`
 *   delete → `{ deleted }`
 *   list   → `{ keys, nextCursor }`
 * Errors: 400 E_VALIDATION, 401 E_AUTH, 403 E_FORBIDDEN (token, or a namespace the manifest
 * does not list), 409 E_CONFLICT (compare-and-set), 507 E_QUOTA_EXCEEDED (names the quota).
 *
 * @example
 *   curl -X POST $GW/api/internal/ext-storage/install/$IID -H "authorization: Bearer $EXEC_TOKEN" \
 *     -H 'content-type: application/json' -d '{"op":"put","namespace":"cache","key":"k","valueB64":"dg==","expectedRevision":0}'
 *   # {"revision":1}
 */
import express, { type RequestHandler, type Router } from 'express';
import type { Knex } from 'knex';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { GatewayConfig } from '../config.ts';
import type { ExecutionKeys } from '../proxy/execution-keys.ts';
import type { InstallConfigCache } from '../installs/install-config-cache.ts';
import { afterGrantCheck, callbackPrincipal, executionTokenAuth, grantCheck } from '../identity/execution-token-auth.ts';
import { route } from '../http/errors.ts';
import { StorageService, type StorageScope } from '@alga-psa/extension-host/storage/storage-service';

export interface StorageRoutesDeps {
  knex: Knex;
  executionKeys: ExecutionKeys;
  installConfigCache: InstallConfigCache;
  config: Pick<GatewayConfig, 'storageMaxKeys' | 'storageMaxValueBytes' | 'storageMaxTotalBytes' | 'storageMaxNamespaces'>;
  /** Defaults to one built from `knex` and the config's quotas. */
  storage?: StorageService;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeValue(valueB64: unknown): Buffer {
  if (typeof valueB64 !== 'string' || !BASE64.test(valueB64)) throw new AlgaError('E_VALIDATION', 'valueB64 must be standard base64');
  return Buffer.from(valueB64, 'base64');
}

export function storageRoutes(deps: StorageRoutesDeps): Router {
  const { config } = deps;
  const storage = deps.storage ?? new StorageService({
    knex: deps.knex,
    quotas: { maxKeys: config.storageMaxKeys, maxValueBytes: config.storageMaxValueBytes, maxTotalBytes: config.storageMaxTotalBytes, maxNamespaces: config.storageMaxNamespaces },
  });
  // Room for the largest allowed value in base64 plus the rest of the body; anything bigger is a value over quota.
  const jsonParser = express.json({ limit: Math.ceil(config.storageMaxValueBytes / 3) * 4 + 64 * 1024 });
  const parseBody: RequestHandler = (req, res, next) => {
    jsonParser(req, res, (err?: unknown) => {
      if (!err) return next();
      const refused = (err as { type?: unknown })?.type === 'entity.too.large'
        ? new AlgaError('E_QUOTA_EXCEEDED', `storage quota exceeded: value size (at most ${config.storageMaxValueBytes} bytes per value)`)
        : err;
      // The install check still comes first: a caller that lost the grant hears that, not about its body.
      grantCheck(res).then(() => next(refused), next);
    });
  };

  const router = express.Router();
  // Every op overlaps the install check with its own statements (one round trip of latency
  // instead of two): reads answer only once it has passed, writes commit only once it has.
  // Either way a refused check is what the caller gets.
  router.post('/api/internal/ext-storage/install/:installId', executionTokenAuth(deps, 'cap:storage.kv', { deferGrantCheck: true }), parseBody, route(async (req, res) => {
    const principal = callbackPrincipal(res);
    const body = req.body as Record<string, unknown> | undefined;
    const granted = () => grantCheck(res);
    if (!body || typeof body !== 'object' || Array.isArray(body)) { await granted(); throw new AlgaError('E_VALIDATION', 'body must be a JSON object'); }
    const runtime = await deps.installConfigCache.get(principal.tenantId, principal.extensionId);
    if (!runtime || runtime.installId !== principal.installId) { await granted(); throw new AlgaError('E_FORBIDDEN', 'the install is gone'); }
    const scope: StorageScope = { tenantId: principal.tenantId, installId: principal.installId, namespaces: runtime.storageNamespaces };

    switch (body.op) {
      case 'get': {
        const entry = await afterGrantCheck(res, () => storage.get(scope, body.namespace, body.key));
        res.json({ entry: entry && { key: entry.key, valueB64: entry.value.toString('base64'), revision: entry.revision } });
        return;
      }
      case 'list': {
        res.json(await afterGrantCheck(res, () => storage.list(scope, body.namespace, { prefix: body.prefix as string | null | undefined, cursor: body.cursor as string | null | undefined, limit: body.limit as number | null | undefined })));
        return;
      }
      // Writes run the install check inside their transaction, before COMMIT (see WriteOptions):
      // a refused check rolls the write back, and wins over any other outcome.
      case 'put': {
        const revision = await afterGrantCheck(res, () => storage.put(scope, body.namespace, body.key, decodeValue(body.valueB64), body.expectedRevision, { beforeCommit: granted }));
        res.json({ revision });
        return;
      }
      case 'delete': {
        res.json({ deleted: await afterGrantCheck(res, () => storage.delete(scope, body.namespace, body.key, body.expectedRevision, { beforeCommit: granted })) });
        return;
      }
      default:
        await granted();
        throw new AlgaError('E_VALIDATION', 'op must be one of get, put, delete, list');
    }
  }));
  return router;
}
