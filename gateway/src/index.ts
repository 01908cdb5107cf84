/**
 * Gateway assembly: one call builds the whole service for `main.ts`, tests and benchmarks.
 *
 * @example
 *   const gateway = await createGateway(gatewayConfigFromEnv(), { db, secretCipher, bundleStore, transpileCache, executionKeys, adminWebDir: (await buildAdminWeb()).dir });
 *   const { url } = await gateway.listen();
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { pino, type Logger } from 'pino';
import { AlgaError, answerClientErrors, defaultBundleLimits, httpServerTimeoutOptions } from '@alga-psa/extension-contracts';
import { TieredBundleStore, type BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import type { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import type { SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { GatewayConfig } from './config.ts';
import type { Database } from './db/database.ts';
import { ApiKeys } from './identity/api-keys.ts';
import { Sessions } from './identity/sessions.ts';
import { createTenant } from './identity/tenants.ts';
import { CapabilityPolicy } from './operator/capability-policy.ts';
import { operatorRoutes } from './operator/operator-routes.ts';
import { reencryptSecrets } from './operator/secrets-reencrypt.ts';
import { startChangeFeed, type ChangeFeed } from './installs/change-feed.ts';
import { requireServiceToken } from './identity/authenticate.ts';
import { RegistryService } from './registry/registry-service.ts';
import { DatabaseBundleStore } from './registry/database-bundle-store.ts';
import { InstallService } from './installs/install-service.ts';
import { InstallConfigCache } from './installs/install-config-cache.ts';
import { ActivityService } from './installs/activity-service.ts';
import { GuestStackMaps } from './installs/guest-stack-maps.ts';
import { ExecutionKeys } from './proxy/execution-keys.ts';
import { RateLimiter } from './proxy/rate-limiter.ts';
import { SharedRateLimiter } from './proxy/shared-rate-limiter.ts';
import { RunnerTier } from './proxy/runner-tier.ts';
import { proxyRoutes } from './proxy/proxy-routes.ts';
import { internalRoutes } from './internal/internal-routes.ts';
import { storageRoutes } from './storage/storage-routes.ts';
import { uiProxyRoutes } from './ui-proxy/ui-proxy-routes.ts';
import { extUiOriginOnly, extUiRoutes } from './ui/ext-ui-routes.ts';
import { adminRoutes } from './ui/admin-routes.ts';
import { apiRoutes } from './http/api-routes.ts';
import { errorHandler, notFound, rejectMalformedPaths, route } from './http/errors.ts';
import { createGatewayMetrics } from './metrics.ts';
import { WriteBehindTable } from './audit/write-behind.ts';

export { gatewayConfigFromEnv, type GatewayConfig } from './config.ts';

export interface GatewayDeps {
  db: Database;
  secretCipher: SecretCipher;
  /** This replica's own bundle directory: a cache in front of the bundles in the database, which every replica shares. */
  bundleStore: BundleStore;
  transpileCache: TranspileCache;
  executionKeys: ExecutionKeys;
  logger?: Logger;
  /** The built admin console served at /admin/ (`(await buildAdminWeb()).dir`, gateway/web/build.ts); without it /admin is 404. */
  adminWebDir?: string;
}

export async function createGateway(config: GatewayConfig, deps: GatewayDeps) {
  const logger = deps.logger ?? pino({ name: 'alga-gateway', level: config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie', '*.apiKey', '*.secrets', '*.set'] });
  const knex = deps.db.knex;
  const metrics = createGatewayMetrics();
  // Verified credentials are trusted for the bound other replicas' install writes already have.
  const credentialCache = { cacheTtlMs: config.installConfigCacheTtlMs };
  const apiKeys = new ApiKeys(knex, config.apiKeyDefaultTtlDays, credentialCache);
  const sessions = new Sessions(knex, config.sessionTtlMinutes, credentialCache);
  apiKeys.onRevoked((apiKeyId) => sessions.forgetApiKey(apiKeyId));
  // The audit trail and guest logs, written behind the answers (audit/write-behind.ts).
  const auditLog = new WriteBehindTable({ knex, table: 'extension_execution_log', logger, metrics: metrics.writeBehind });
  // A request may log up to RUNNER_LOG_MAX_LINES (200) lines: room for a burst of chatty ones.
  const guestLog = new WriteBehindTable({ knex, table: 'extension_log', logger, metrics: metrics.writeBehind, maxQueueRows: 50_000 });
  // Any replica can serve any bundle: the bytes live in the database, this replica's disk caches them.
  const bundleStore = new TieredBundleStore(deps.bundleStore, new DatabaseBundleStore(knex), {
    onLocalWriteFailed: (contentHash, err) => logger.warn({ err, contentHash }, 'bundle not cached on this replica\'s disk; it is read from the database again next time'),
  });
  const runner = new RunnerTier(config.runnerUrls ?? [config.runnerUrl], config.runnerTls, {
    healthIntervalMs: config.runnerHealthIntervalMs,
    onEjected: (url) => logger.warn({ runner: url }, 'runner ejected: its requests go to the next runner by content hash'),
    onRestored: (url) => logger.info({ runner: url }, 'runner back: its content hashes return to it'),
  });
  // Publish answers once the runner has the component compiled, warmed up and instances ready.
  const registry = new RegistryService({
    knex, bundleStore, transpileCache: deps.transpileCache, limits: { ...defaultBundleLimits, maxBundleBytes: config.maxBundleBytes },
    onPublished: async (contentHash) => {
      const prepared = await runner.prepare(deps.executionKeys.mintPrepare(contentHash), contentHash, 15_000);
      if (!prepared.ok) logger.warn({ contentHash, reason: prepared.reason }, 'the runner could not prepare the published component; its first request will');
    },
  });
  let installConfigCache: InstallConfigCache | undefined;
  // A change is dropped from this replica's cache at once and announced to the others (installs/change-feed.ts).
  const dropCached = (tenantId: string | null, installId: string | null) => {
    if (installId !== null && tenantId !== null) installConfigCache?.invalidate(tenantId, installId);
    else installConfigCache?.invalidateTenant(tenantId);
  };
  let feed: ChangeFeed | undefined;
  const changed = (tenantId: string | null, installId: string | null) => {
    dropCached(tenantId, installId);
    feed?.publish(tenantId, installId);
  };
  const capabilityPolicy = new CapabilityPolicy({ knex, onChanged: (tenantId) => changed(tenantId, null) });
  const installs = new InstallService({ knex, registry, secretCipher: deps.secretCipher, extUiOrigin: config.extUiOrigin, capabilityPolicy, onInstallChanged: changed });
  installConfigCache = new InstallConfigCache(installs, { ttlMs: config.installConfigCacheTtlMs });
  feed = await startChangeFeed(deps.db, { logger, onChange: dropCached });
  // Replicas on PostgreSQL share each install's bucket; PGlite is one process, so its own is the whole truth.
  const rateLimiter = deps.db.engine === 'postgres'
    ? new SharedRateLimiter(knex, config.rateLimitPerMinute, { logger })
    : new RateLimiter(config.rateLimitPerMinute);

  // Unhandled-error stacks in the logs API, mapped with the source map of the bundle that wrote them.
  const stackMaps = new GuestStackMaps(bundleStore, {
    limits: { maxBundleBytes: config.maxBundleBytes },
    onError: (contentHash, err) => logger.warn({ err, contentHash }, 'source map of a bundle could not be read; its stacks stay unmapped'),
  });
  const activity = new ActivityService(knex, { stackMaps, executionRows: auditLog, logRows: guestLog });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(rejectMalformedPaths());
  app.use(extUiOriginOnly(config.extUiOrigin));
  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', route(async (_req, res) => {
    try {
      await knex.raw('select 1');
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'database unreachable' });
    }
  }));
  app.get('/metrics', requireServiceToken(config.operatorToken, 'operator'), route(async (_req, res) => {
    metrics.installConfigCache.reset();
    metrics.installConfigCache.inc({ result: 'hit' }, installConfigCache!.hits);
    metrics.installConfigCache.inc({ result: 'miss' }, installConfigCache!.misses);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  }));
  app.post('/api/v1/tenants', requireServiceToken(config.operatorToken, 'operator'), express.json(), route(async (req, res) => {
    res.status(201).json(await createTenant(knex, apiKeys, String((req.body as { name?: unknown })?.name ?? '')));
  }));
  app.use(apiRoutes({ apiKeys, sessions, registry, installs, activity, operatorToken: config.operatorToken, maxBundleBytes: config.maxBundleBytes, secureCookies: config.publicOrigin.startsWith('https://'), publicOrigin: config.publicOrigin }));
  const reloadKeys = async () => {
    // Each file is checked whole before anything is swapped; the messages name files and kids, never key material.
    let executionKeys;
    try {
      executionKeys = await deps.executionKeys.reload();
    } catch (err) {
      throw new AlgaError('E_VALIDATION', `execution keys not reloaded, the ones in use stay: ${(err as Error).message}`);
    }
    try {
      await deps.secretCipher.reload?.();
    } catch (err) {
      throw new AlgaError('E_VALIDATION', `execution keys reloaded (active ${executionKeys.active}), but not the keyring, whose keys in use stay: ${(err as Error).message}`);
    }
    logger.info({ executionKeys, secrets: deps.secretCipher.describeWriter?.() }, 'keys reloaded');
    return { executionKeys, secrets: { writer: deps.secretCipher.describeWriter?.() ?? deps.secretCipher.algorithm } };
  };
  const reencrypt = async () => {
    const report = await reencryptSecrets({ knex, secretCipher: deps.secretCipher, onInstallChanged: changed });
    logger.info({ ...report, failed: report.failed.length }, 'secrets re-encrypted');
    return report;
  };
  app.use(operatorRoutes({ operatorToken: config.operatorToken, capabilityPolicy, reloadKeys, reencryptSecrets: reencrypt }));
  app.use(internalRoutes({ runnerServiceToken: config.runnerServiceToken, installConfigCache, bundleStore }));
  app.use(storageRoutes({ knex, executionKeys: deps.executionKeys, installConfigCache, config }));
  app.use(uiProxyRoutes({ knex, executionKeys: deps.executionKeys, installConfigCache, config }));
  app.use(proxyRoutes({ auditLog, guestLog, apiKeys, sessions, installConfigCache, executionKeys: deps.executionKeys, rateLimiter, runner, metrics, requestBudgetMs: config.requestBudgetMs, maxBodyBytes: 10 * 1024 * 1024, publicOrigin: config.publicOrigin }));
  app.use(extUiRoutes({ knex, bundleStore, publicOrigin: config.publicOrigin, extUiOrigin: config.extUiOrigin }));
  app.use(await adminRoutes({ adminWebDir: deps.adminWebDir, extUiOrigin: config.extUiOrigin }));
  app.use(notFound());
  app.use(errorHandler(logger));

  const retention = setInterval(() => {
    const cutoff = new Date(Date.now() - config.logRetentionDays * 86_400_000);
    void knex('extension_log').where('created_at', '<', cutoff).delete().catch((err: unknown) => logger.warn({ err }, 'log retention sweep failed'));
    void sessions.sweep().catch((err: unknown) => logger.warn({ err }, 'expired session sweep failed'));
  }, 3_600_000);
  retention.unref();

  const servers: Server[] = [];
  let closing: Promise<void> | undefined;
  return {
    app, logger, knex, apiKeys, sessions, registry, installs, installConfigCache, auditLog, guestLog, executionKeys: deps.executionKeys,
    createTenant: (name: string) => createTenant(knex, apiKeys, name),
    /** Key rotation: the execution-token keys file and the keyring file read again (SIGHUP, POST /api/v1/operator/keys/reload). */
    reloadKeys,
    async listen(port = config.port, host = config.host) {
      // Bounded headers and body (GATEWAY_*_TIMEOUT_MS): a slow client cannot hold a connection for Node's 60 s / 300 s defaults.
      const server = createServer(httpServerTimeoutOptions(config), app);
      // Requests the HTTP parser refuses get the platform's JSON error shape too.
      answerClientErrors(server);
      server.listen(port, host);
      await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });
      servers.push(server);
      return { url: `http://${host}:${(server.address() as AddressInfo).port}`, server };
    },
    close(): Promise<void> {
      closing ??= (async () => {
        clearInterval(retention);
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); })));
        await runner.close();
        await feed?.close();
        // The rows of the requests answered so far, before the caller closes the database.
        await Promise.all([auditLog.close(), guestLog.close()]);
      })();
      return closing;
    },
  };
}

export type Gateway = Awaited<ReturnType<typeof createGateway>>;
export { ExecutionKeys };
