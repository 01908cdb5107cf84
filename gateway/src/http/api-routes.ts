/** Public and tenant APIs under /api/v1 (DESIGN.md §6). Handlers stay thin: services do the work. */
import express, { type Router } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { ApiKeys } from '../identity/api-keys.ts';
import { sessionCookie, type Sessions } from '../identity/sessions.ts';
import { authenticate, principalOf, requireRole, requireSameOrigin, requireServiceToken } from '../identity/authenticate.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { InstallService } from '../installs/install-service.ts';
import type { ActivityService } from '../installs/activity-service.ts';
import { route } from './errors.ts';

export interface ApiDeps {
  apiKeys: ApiKeys;
  sessions: Sessions;
  registry: RegistryService;
  installs: InstallService;
  activity: ActivityService;
  operatorToken: string | undefined;
  maxBundleBytes: number;
  secureCookies: boolean;
  /** ALGA_PUBLIC_ORIGIN ('' = the origin each request was addressed to) */
  publicOrigin: string;
}

export function apiRoutes(deps: ApiDeps): Router {
  const r = express.Router();
  const json = express.json({ limit: '1mb' });
  const auth = authenticate(deps);
  const read = [auth, requireRole('extension:read')];
  const admin = [auth, requireRole('extension:admin')];
  const id = (req: express.Request) => String(req.params.id);
  const tenant = (res: express.Response) => principalOf(res).tenantId;

  // Login: exchange an API key for a session cookie (web UI, iframe bridge). A browser must log in
  // from the platform page itself (a framed extension or another site cannot plant a session);
  // API clients (no Origin, no Sec-Fetch-Site) may log in from anywhere.
  r.post('/api/v1/auth/login', json, route(async (req, res) => {
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) requireSameOrigin(req, deps.publicOrigin);
    const apiKey = (req.body as { apiKey?: unknown } | undefined)?.apiKey;
    if (typeof apiKey !== 'string') throw new AlgaError('E_VALIDATION', 'body must be { apiKey }');
    const principal = await deps.apiKeys.verify(apiKey);
    const session = await deps.sessions.issue(principal);
    res.cookie(sessionCookie, session.token, { httpOnly: true, sameSite: 'strict', secure: deps.secureCookies, path: '/', maxAge: deps.sessions.maxAgeMs });
    res.json({ tenantId: principal.tenantId, roles: principal.roles, csrfToken: session.csrfToken, expiresAt: session.expiresAt });
  }));
  r.post('/api/v1/auth/logout', auth, route(async (_req, res) => {
    const token = res.locals.sessionToken as string | undefined;
    if (token) await deps.sessions.revoke(token);
    res.clearCookie(sessionCookie, { path: '/' });
    res.status(204).end();
  }));
  r.get('/api/v1/auth/me', auth, route(async (_req, res) => {
    const token = res.locals.sessionToken as string | undefined;
    const principal = principalOf(res);
    res.json({ ...principal, ...(await deps.apiKeys.describe(principal)), ...(token ? { csrfToken: deps.sessions.csrfTokenFor(token) } : {}) });
  }));

  // API keys of the caller's tenant.
  r.get('/api/v1/api-keys', ...admin, route(async (_req, res) => { res.json({ apiKeys: await deps.apiKeys.list(tenant(res)) }); }));
  r.post('/api/v1/api-keys', ...admin, json, route(async (req, res) => {
    const body = (req.body ?? {}) as { name?: unknown; roles?: unknown; ttlDays?: unknown };
    if (typeof body.name !== 'string' || !Array.isArray(body.roles)) throw new AlgaError('E_VALIDATION', 'body must be { name, roles, ttlDays? }');
    const { key, record } = await deps.apiKeys.create({ tenantId: tenant(res), name: body.name, roles: body.roles as string[], ttlDays: body.ttlDays as number | undefined });
    res.status(201).json({ key, apiKey: record });
  }));
  r.delete('/api/v1/api-keys/:id', ...admin, route(async (req, res) => {
    await deps.apiKeys.revoke(tenant(res), id(req));
    res.status(204).end();
  }));

  // Registry: publishers are registered by the operator; publishing is authenticated by the bundle signature.
  const operator = requireServiceToken(deps.operatorToken, 'operator');
  r.post('/api/v1/registry/publishers', operator, json, route(async (req, res) => {
    res.status(201).json(await deps.registry.createPublisher(String((req.body as { name?: unknown })?.name ?? '')));
  }));
  r.post('/api/v1/registry/publishers/:id/keys', operator, json, route(async (req, res) => {
    const body = (req.body ?? {}) as { kid?: unknown; publicKey?: unknown };
    res.status(201).json(await deps.registry.addPublisherKey(id(req), String(body.kid ?? ''), String(body.publicKey ?? '')));
  }));
  r.post('/api/v1/registry/publishers/:id/name-prefixes', operator, json, route(async (req, res) => {
    res.status(201).json(await deps.registry.reserveNamePrefix(id(req), String((req.body as { prefix?: unknown })?.prefix ?? '')));
  }));
  r.delete('/api/v1/registry/name-prefixes/:prefix', operator, route(async (req, res) => {
    await deps.registry.releaseNamePrefix(String(req.params.prefix));
    res.status(204).end();
  }));
  r.delete('/api/v1/registry/keys/:kid', operator, route(async (req, res) => {
    await deps.registry.revokePublisherKey(String(req.params.kid));
    res.status(204).end();
  }));
  const bundleBody: express.RequestHandler = (req, res, next) => express.raw({ type: () => true, limit: deps.maxBundleBytes })(req, res, (err?: unknown) => {
    if ((err as { type?: string } | undefined)?.type === 'entity.too.large') return next(new AlgaError('E_BUNDLE_TOO_LARGE', `bundle exceeds the ${deps.maxBundleBytes}-byte limit`));
    next(err);
  });
  r.post('/api/v1/registry/publish', bundleBody, route(async (req, res) => {
    const bytes = Buffer.isBuffer(req.body) ? new Uint8Array(req.body) : new Uint8Array();
    if (bytes.byteLength === 0) throw new AlgaError('E_BAD_REQUEST', 'send the bundle (.tar.gz) as the request body');
    const published = await deps.registry.publish({ bytes, keyId: req.header('x-alga-key-id'), signature: req.header('x-alga-signature') });
    res.status(201).json(published);
  }));
  r.get('/api/v1/registry/extensions', ...read, route(async (_req, res) => { res.json({ extensions: await deps.registry.listExtensions() }); }));
  r.get('/api/v1/registry/extensions/:id', ...read, route(async (req, res) => { res.json(await deps.registry.getExtension(id(req))); }));

  // Installs of the caller's tenant.
  r.post('/api/v1/extensions/install', ...admin, json, route(async (req, res) => {
    const body = (req.body ?? {}) as { extension?: unknown; version?: unknown; grants?: unknown };
    if (typeof body.extension !== 'string') throw new AlgaError('E_VALIDATION', 'body must be { extension, version?, grants? }');
    if (body.version !== undefined && typeof body.version !== 'string') throw new AlgaError('E_VALIDATION', 'version must be a string');
    if (body.grants !== undefined && !(Array.isArray(body.grants) && body.grants.every((g) => typeof g === 'string'))) throw new AlgaError('E_VALIDATION', 'grants must be a list of capability ids');
    res.status(201).json(await deps.installs.install(tenant(res), { extension: body.extension, version: body.version, grants: body.grants as string[] | undefined }));
  }));
  r.get('/api/v1/installs', ...read, route(async (_req, res) => {
    const [installs, activity] = await Promise.all([deps.installs.list(tenant(res)), deps.activity.summaries(tenant(res))]);
    const none = { requestsLastHour: 0, errorsLastHour: 0, lastError: null };
    res.json({ installs: installs.map((i) => ({ ...i, activity: activity.get(i.id) ?? none })) });
  }));
  r.get('/api/v1/installs/:id', ...read, route(async (req, res) => { res.json(await deps.installs.get(tenant(res), id(req))); }));
  r.post('/api/v1/installs/:id/enable', ...admin, route(async (req, res) => { res.json(await deps.installs.setStatus(tenant(res), id(req), 'enabled')); }));
  r.post('/api/v1/installs/:id/disable', ...admin, route(async (req, res) => { res.json(await deps.installs.setStatus(tenant(res), id(req), 'disabled')); }));
  r.post('/api/v1/installs/:id/upgrade', ...admin, json, route(async (req, res) => {
    const body = (req.body ?? {}) as { version?: unknown; consent?: unknown };
    res.json(await deps.installs.upgrade(tenant(res), id(req), { version: typeof body.version === 'string' ? body.version : undefined, consent: body.consent === true }));
  }));
  r.delete('/api/v1/installs/:id', ...admin, route(async (req, res) => {
    await deps.installs.uninstall(tenant(res), id(req));
    res.status(204).end();
  }));
  // Config is not secret: a read-only user sees the settings page without its secret controls.
  r.get('/api/v1/installs/:id/settings', ...read, route(async (req, res) => { res.json(await deps.installs.getSettings(tenant(res), id(req))); }));
  r.put('/api/v1/installs/:id/settings', ...admin, json, route(async (req, res) => { res.json(await deps.installs.putSettings(tenant(res), id(req), req.body)); }));
  r.get('/api/v1/installs/:id/secrets', ...admin, route(async (req, res) => { res.json(await deps.installs.secretsMetadata(tenant(res), id(req))); }));
  r.put('/api/v1/installs/:id/secrets', ...admin, json, route(async (req, res) => { res.json(await deps.installs.putSecrets(tenant(res), id(req), req.body)); }));
  r.post('/api/v1/installs/:id/reset', ...admin, route(async (req, res) => { res.json(await deps.installs.reset(tenant(res), id(req))); }));
  r.get('/api/v1/installs/:id/executions', ...read, route(async (req, res) => { res.json(await deps.activity.executions(tenant(res), id(req), req.query)); }));
  r.get('/api/v1/installs/:id/logs', ...read, route(async (req, res) => { res.json(await deps.activity.logs(tenant(res), id(req), req.query)); }));
  return r;
}
