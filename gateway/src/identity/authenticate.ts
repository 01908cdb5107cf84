/** Express middleware: who is calling (API key or session cookie), and may they? */
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { ApiKeys, Principal } from './api-keys.ts';
import { csrfHeader, sessionCookie, type Sessions } from './sessions.ts';
import { hasRole, type Role } from './roles.ts';
import { route } from '../http/errors.ts';

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new AlgaError('E_AUTH', 'authentication required');
  return principal;
}

/** The session cookie's value; a malformed cookie header counts as no cookie, never as a 500. */
export function readSessionCookie(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== sessionCookie) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthDeps {
  apiKeys: ApiKeys;
  sessions: Sessions;
  /** The platform's own origin (`ALGA_PUBLIC_ORIGIN`); when empty, the origin the request was addressed to. */
  publicOrigin: string;
}

export interface AuthOptions {
  accept?: Array<'bearer' | 'session'>;
  /**
   * Which session-authenticated requests must prove they come from the platform page
   * (same origin + CSRF token): `unsafe` = every method but GET/HEAD/OPTIONS (the tenant APIs);
   * `all` = every request (the extension proxy: any method runs third-party code as the user).
   */
  csrf?: 'unsafe' | 'all';
}

/**
 * `bearer`: API keys (`Authorization: Bearer alga_…`), for API clients.
 * `session`: the session cookie, for the web UI and the iframe bridge. A cookie is sent by the
 * browser whoever asks, so a session request must also come from the platform origin
 * (`Sec-Fetch-Site` / `Origin`) and carry the session's CSRF token.
 */
export function authenticate(deps: AuthDeps, options: AuthOptions = {}): RequestHandler {
  const accept = options.accept ?? ['bearer', 'session'];
  const csrf = options.csrf ?? 'unsafe';
  return route(async (req, res, next) => {
    const header = req.headers.authorization;
    if (accept.includes('bearer') && header?.startsWith('Bearer alga_')) {
      res.locals.principal = await deps.apiKeys.verify(header.slice('Bearer '.length));
      return next();
    }
    const cookie = accept.includes('session') ? readSessionCookie(req) : undefined;
    if (cookie) {
      const principal = await deps.sessions.verify(cookie);
      if (csrf === 'all' || !safeMethods.has(req.method)) {
        requireSameOrigin(req, deps.publicOrigin);
        requireCsrfToken(req, deps.sessions.csrfTokenFor(cookie));
      }
      res.locals.principal = principal;
      res.locals.sessionToken = cookie;
      return next();
    }
    throw new AlgaError('E_AUTH', accept.includes('bearer') ? 'authentication required: send Authorization: Bearer <API key>' : 'authentication required: log in first');
  });
}

/** The origin a same-origin request from the platform page carries. */
export function expectedOrigin(req: Request, publicOrigin: string): string {
  return publicOrigin || `${req.protocol}://${req.headers.host ?? ''}`;
}

/**
 * Browsers mark every request with `Sec-Fetch-Site` and every non-GET fetch with `Origin`; a
 * sandboxed extension frame sends `Origin: null`. A request that carries neither is not from a
 * current browser page, and a session cookie alone does not vouch for it.
 */
export function requireSameOrigin(req: Request, publicOrigin: string): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new AlgaError('E_CSRF', `cross-site request refused (Sec-Fetch-Site: ${site}); the platform page must make it`);
  const origin = req.headers.origin;
  const expected = expectedOrigin(req, publicOrigin);
  if (origin !== undefined && origin !== expected) throw new AlgaError('E_CSRF', `cross-origin request refused (Origin ${origin} is not ${expected})`);
  if (origin === undefined && site === undefined) throw new AlgaError('E_CSRF', 'a session request needs an Origin or Sec-Fetch-Site header; API clients should use an API key instead');
}

function requireCsrfToken(req: Request, expected: string): void {
  const presented = Buffer.from(String(req.headers[csrfHeader] ?? ''));
  const wanted = Buffer.from(expected);
  if (presented.length !== wanted.length || !timingSafeEqual(presented, wanted)) {
    throw new AlgaError('E_CSRF', `missing or wrong ${csrfHeader} header: send the csrfToken from POST /api/v1/auth/login or GET /api/v1/auth/me`);
  }
}

export function requireRole(role: Role): RequestHandler {
  return (_req, res, next) => {
    const principal = principalOf(res);
    if (!hasRole(principal.roles, role)) return next(new AlgaError('E_FORBIDDEN', `this needs the ${role} role`));
    next();
  };
}

/** Shared-secret bearer auth for operators and the runner service; compared in constant time. */
export function requireServiceToken(token: string | undefined, what: string): RequestHandler {
  const expected = token ? Buffer.from(token) : undefined;
  return (req, _res, next) => {
    const presented = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!expected || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return next(new AlgaError('E_AUTH', `${what} credentials required`));
    }
    next();
  };
}
