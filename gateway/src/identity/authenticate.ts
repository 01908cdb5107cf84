/** Express middleware: who is calling (API key or session cookie), and may they? */
import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { ApiKeys, Principal } from './api-keys.ts';
import { sessionCookie, type Sessions } from './sessions.ts';
import { hasRole, type Role } from './roles.ts';
import { route } from '../http/errors.ts';

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new AlgaError('E_AUTH', 'authentication required');
  return principal;
}

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * `bearer`: API keys (`Authorization: Bearer alga_…`), for API clients.
 * `session`: the session cookie, for the web UI and iframe UIs.
 */
export function authenticate(deps: { apiKeys: ApiKeys; sessions: Sessions }, accept: Array<'bearer' | 'session'> = ['bearer', 'session']): RequestHandler {
  return route(async (req, res, next) => {
    const header = req.headers.authorization;
    if (accept.includes('bearer') && header?.startsWith('Bearer alga_')) {
      res.locals.principal = await deps.apiKeys.verify(header.slice('Bearer '.length));
      return next();
    }
    const cookie = accept.includes('session') ? readCookie(req, sessionCookie) : undefined;
    if (cookie) {
      const principal = await deps.sessions.verify(cookie);
      if (!(await deps.apiKeys.isActive(principal.apiKeyId))) throw new AlgaError('E_AUTH', 'the API key behind this session was revoked or expired');
      res.locals.principal = principal;
      return next();
    }
    throw new AlgaError('E_AUTH', accept.includes('bearer') ? 'authentication required: send Authorization: Bearer <API key>' : 'authentication required: log in first');
  });
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
