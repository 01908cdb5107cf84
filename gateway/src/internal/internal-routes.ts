/** Internal APIs for the runner (service token), never reachable with a tenant credential. */
import express, { type Router } from 'express';
import { AlgaError, contentHashPattern } from '@alga-psa/extension-contracts';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { requireServiceToken } from '../identity/authenticate.ts';
import { route } from '../http/errors.ts';
import type { InstallConfigCache } from '../installs/install-config-cache.ts';

export function internalRoutes(deps: { runnerServiceToken: string | undefined; installConfigCache: InstallConfigCache; bundleStore: BundleStore }): Router {
  const router = express.Router();
  const runnerOnly = requireServiceToken(deps.runnerServiceToken, 'runner service');
  router.post('/api/internal/ext-runner/install-config', runnerOnly, express.json(), route(async (req, res) => {
    const { tenantId, extensionId } = (req.body ?? {}) as { tenantId?: unknown; extensionId?: unknown };
    if (typeof tenantId !== 'string' || typeof extensionId !== 'string') throw new AlgaError('E_VALIDATION', 'body must be { tenantId, extensionId }');
    const runtime = await deps.installConfigCache.get(tenantId, extensionId);
    if (!runtime) throw new AlgaError('E_NOT_FOUND', 'no such install');
    const { manifest: _m, status: _s, extensionName: _n, ...config } = runtime;
    res.json(config);
  }));
  // A runner that lacks a bundle (it never saw the publish) fetches it here and checks its sha256.
  router.get('/api/internal/ext-runner/bundles/:contentHash', runnerOnly, route(async (req, res) => {
    const contentHash = String(req.params.contentHash);
    if (!contentHashPattern.test(contentHash)) throw new AlgaError('E_BAD_REQUEST', 'content hash must be 64 lowercase hex characters');
    const bytes = await deps.bundleStore.get(contentHash);
    if (!bytes) throw new AlgaError('E_BUNDLE_NOT_FOUND', `no bundle with content hash ${contentHash}`);
    // Immutable: the name is the hash of the bytes.
    res.type('application/gzip').set('cache-control', 'private, max-age=31536000, immutable').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }));
  return router;
}
