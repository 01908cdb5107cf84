/**
 * `ALL /api/ext/:extensionId/*` (API clients) and `ALL /api/ext-proxy/:extensionId/*`
 * (iframe UIs, session auth), in the order of DESIGN.md §6: tenant → enabled install →
 * declared endpoint → RBAC → rate limit → audit row → install config (cached) → execution
 * token → runner. The audit row is one row per request past the rate limit, with its outcome,
 * written behind the answer (audit/write-behind.ts).
 */
import { randomUUID } from 'node:crypto';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import { matchEndpoint } from '@alga-psa/extension-contracts/manifest';
import type { ExecuteBody } from '@alga-psa/extension-contracts';
import { authenticate, principalOf } from '../identity/authenticate.ts';
import { hasRole } from '../identity/roles.ts';
import type { ApiKeys } from '../identity/api-keys.ts';
import type { Sessions } from '../identity/sessions.ts';
import type { InstallConfigCache } from '../installs/install-config-cache.ts';
import { route, toAlgaError } from '../http/errors.ts';
import type { WriteBehindTable } from '../audit/write-behind.ts';
import type { ExecutionKeys } from './execution-keys.ts';
import type { InstallRateLimiter } from './rate-limiter.ts';
import type { RunnerTier } from './runner-tier.ts';
import { executeBodyJson, preparedInstall } from './execute-body.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { extensionRequestHeaders, isAllowedResponseHeader, proxiedResponseSecurityHeaders, singleValuedResponseHeaders } from '@alga-psa/extension-contracts/proxy-headers';

export interface ProxyDeps {
  /** `extension_execution_log`: one row per request that passed the rate limit. */
  auditLog: WriteBehindTable;
  /** `extension_log`: the guest's log lines. */
  guestLog: WriteBehindTable;
  apiKeys: ApiKeys;
  sessions: Sessions;
  installConfigCache: InstallConfigCache;
  executionKeys: ExecutionKeys;
  rateLimiter: InstallRateLimiter;
  runner: RunnerTier;
  metrics: GatewayMetrics;
  requestBudgetMs: number;
  maxBodyBytes: number;
  publicOrigin: string;
}

export function proxyRoutes(deps: ProxyDeps): Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: deps.maxBodyBytes });
  // Whatever happens next (errors included), the answer is sandboxed extension data.
  const sandboxed: express.RequestHandler = (req, res, next) => {
    for (const [name, value] of proxiedResponseSecurityHeaders) res.setHeader(name, value);
    // A service worker's script would run with the platform origin's authority over its scope.
    if (req.headers['service-worker'] !== undefined) return next(new AlgaError('E_FORBIDDEN', 'extension responses cannot be service-worker scripts'));
    next();
  };
  router.all('/api/ext/:extensionId/{*rest}', sandboxed, authenticate(deps, { accept: ['bearer'] }), raw, route((req, res) => proxy(deps, req, res, '/api/ext/')));
  // The iframe bridge on the platform page makes these calls: every method needs origin + CSRF token.
  router.all('/api/ext-proxy/:extensionId/{*rest}', sandboxed, authenticate(deps, { accept: ['session'], csrf: 'all' }), raw, route((req, res) => proxy(deps, req, res, '/api/ext-proxy/')));
  return router;
}

async function proxy(deps: ProxyDeps, req: Request, res: Response, prefix: string): Promise<void> {
  const started = Date.now();
  const requestId = randomUUID();
  res.locals.requestId = requestId;
  res.setHeader('x-request-id', requestId);
  const principal = principalOf(res);
  const extensionRef = String(req.params.extensionId);
  const runtime = await deps.installConfigCache.get(principal.tenantId, extensionRef);
  if (!runtime || runtime.status !== 'enabled') throw new AlgaError('E_INSTALL_DISABLED', `${extensionRef} is not installed or is disabled for this tenant`);

  const [pathPart, queryPart = ''] = req.originalUrl.slice(prefix.length + encodeURIComponent(extensionRef).length).split('?');
  const path = pathPart.startsWith('/') ? pathPart : `/${pathPart}`;
  const endpoint = matchEndpoint(runtime.manifest.api?.endpoints ?? [], req.method, path);
  if (!endpoint) throw new AlgaError('E_ENDPOINT_NOT_DECLARED', `${runtime.extensionName} does not declare ${req.method} ${path}`);

  const needed = safeMethods.has(req.method) ? 'extension:read' : 'extension:write';
  if (!hasRole(principal.roles, needed)) throw new AlgaError('E_FORBIDDEN', `${req.method} on an extension endpoint needs the ${needed} role`);

  const retryAfter = await deps.rateLimiter.take(runtime.installId);
  if (retryAfter > 0) {
    res.setHeader('retry-after', String(retryAfter));
    throw new AlgaError('E_RATE_LIMITED', `this install is limited to its request rate; retry in ${retryAfter} s`);
  }

  // From here on every request leaves exactly one audit row, written behind the answer with its
  // outcome. A request that could not be recorded is not run.
  if (deps.auditLog.refusesWrites) throw new AlgaError('E_DATABASE_UNAVAILABLE', 'the database is unreachable and the audit trail cannot take more rows; retry shortly');
  const deadlineMs = started + Math.min(deps.requestBudgetMs, runtime.manifest.limits?.timeoutMs ?? deps.requestBudgetMs);
  let audited = false;
  const audit = async (status: number, errorCode: string | null) => {
    audited = true;
    deps.metrics.proxied.inc({ outcome: errorCode ?? 'ok' });
    const written = deps.auditLog.add({
      tenant_id: runtime.tenantId, install_id: runtime.installId, request_id: requestId, method: req.method, route: `${req.method} ${endpoint.endpoint.path}`,
      status, duration_ms: Date.now() - started, error_code: errorCode,
      // When the request arrived, as the row inserted on arrival used to say.
      created_at: new Date(started),
    });
    // Usually queued (undefined); a promise only when the audit queue is full: then the answer
    // waits for its row (backpressure), but never past the request's deadline.
    if (written) await notAfter(written, deadlineMs);
  };
  try {
    const install = preparedInstall(runtime);
    const versionHeaders = { 'x-request-id': requestId, 'x-ext-config-version': String(runtime.configVersion), 'x-ext-secrets-version': String(runtime.secretsVersion) };
    const headers = extensionRequestHeaders(req.headers);
    for (const [name, value] of Object.entries(versionHeaders)) headers.push([name, value]);
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    const context: ExecuteBody['context'] = { requestId, tenantId: runtime.tenantId, extensionId: runtime.extensionId, installId: runtime.installId, versionId: runtime.versionId, contentHash: runtime.contentHash };
    const limits: ExecuteBody['limits'] = { deadlineMs, memoryMb: runtime.manifest.limits?.memoryMb };
    const request: ExecuteBody['request'] = { method: req.method, path, query: [...new URLSearchParams(queryPart)], headers, bodyB64: body?.toString('base64') };
    // Minted over the body's digest: the token binds its component and install/secrets sections.
    const token = await deps.executionKeys.mint({ ...context, bodyDigest: install.bodyDigest, capabilities: install.capabilities }, deadlineMs);
    // The runner answers 504 itself at the deadline; the grace only covers its reply in flight.
    const answer = await deps.runner.execute(token, executeBodyJson(install, { context, request, limits }), Math.max(1, deadlineMs - Date.now()) + 1000, versionHeaders, context.contentHash);
    if (!answer.ok) {
      await audit(answer.error.status, answer.error.code);
      throw answer.error;
    }
    const result = answer.result;
    await audit(result.status, null);
    res.status(result.status);
    for (const [name, value] of result.headers) {
      if (!isAllowedResponseHeader(name) || !isValidHeader(name, value)) continue;
      if (singleValuedResponseHeaders.has(name.toLowerCase())) res.setHeader(name, value); // a repeat replaces, never a 500
      else res.append(name, value);
    }
    for (const [name, value] of Object.entries(versionHeaders)) res.setHeader(name, value);
    res.end(Buffer.from(result.bodyB64, 'base64'));
    if (result.logs.length > 0) {
      void deps.guestLog.add(...result.logs.map((l) => ({
        tenant_id: runtime.tenantId, install_id: runtime.installId, request_id: requestId, level: l.level, message: l.message, fields: JSON.stringify(l.fields), created_at: new Date(l.ts),
        // The bundle that wrote the line: the logs API maps its stacks with that version's source map.
        content_hash: runtime.contentHash,
      })));
    }
  } catch (err) {
    // Anything that failed after the audit point (minting, building the body) is recorded too.
    if (!audited) {
      const error = toAlgaError(err);
      await audit(error.status, error.code);
    }
    throw err;
  }
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Waits for `work` until `deadlineMs` at the latest (the work itself goes on). */
async function notAfter(work: Promise<void>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadlineMs - Date.now())); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A guest may return bytes Node would refuse to send (CR/LF, bad names): such a header is dropped. */
function isValidHeader(name: string, value: string): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}
