/**
 * Who is signed in, for every page: `<SessionProvider>` asks `GET /api/v1/auth/me` once at start
 * (the session cookie is HttpOnly, so script cannot see it; the answer also carries the CSRF
 * token, which goes to the API client's memory), and owns sign-in, sign-out and expiry.
 *
 * - `useSession()` → `{ status, me, signIn(apiKey), signOut(), hasRole(role) }`.
 * - `useMe()` inside the signed-in shell: `me`, never null there.
 * - `hasRole('extension:write')` follows the role order read ⊂ write ⊂ admin (the gateway's own
 *   `roles.ts`), so an admin "has" write and read. Hide what a role may not do; the gateway
 *   enforces it regardless.
 * - A 401 from any API call (session expired, revoked, signed out in another tab) clears the
 *   session and goes to `/admin/sign-in?expired=1&next=<current page>`.
 *
 * @example
 *   const { me, hasRole } = useSession();
 *   {hasRole('extension:admin') && <Link to={paths.settings(id)}>Settings</Link>}
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { hasRole as roleAtLeast, type Role } from '../../../src/identity/roles.ts';
import { api, ApiError, setCsrfToken, setUnauthorizedHandler } from './client.ts';
import type { LoginAnswer, Me } from './types.ts';
import { navigate } from '../router.tsx';
import { paths, patterns } from '../routes.ts';

export type SessionStatus = 'loading' | 'signed-in' | 'signed-out' | 'error';

export interface SessionValue {
  status: SessionStatus;
  me: Me | null;
  /** Why the start-up probe failed (gateway unreachable…) when status is 'error'. */
  error: ApiError | null;
  /** Exchanges an API key for a session; throws ApiError (E_AUTH for a wrong key). */
  signIn(apiKey: string): Promise<void>;
  /** Ends the session on the gateway and goes to the sign-in page. */
  signOut(): Promise<void>;
  hasRole(role: Role): boolean;
  /** Asks `/auth/me` again (e.g. after the probe failed). */
  reload(): Promise<void>;
}

const SessionContext = createContext<SessionValue | null>(null);

const here = () => `${window.location.pathname}${window.location.search}`;

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const reload = useCallback(async () => {
    setStatus('loading');
    try {
      const answer = await api.get<Me>('/api/v1/auth/me', { authRedirect: false });
      setCsrfToken(answer.csrfToken);
      setMe(answer);
      setError(null);
      setStatus('signed-in');
    } catch (err) {
      setMe(null);
      setCsrfToken(undefined);
      if (err instanceof ApiError && err.status === 401) {
        setStatus('signed-out');
      } else {
        setError(err instanceof ApiError ? err : new ApiError(0, 'E_UNREACHABLE', String(err)));
        setStatus('error');
      }
    }
  }, []);

  useEffect(() => {
    // On the sign-in page nobody is assumed signed in: no probe, so no 401 in the console.
    if (window.location.pathname.startsWith(patterns.signIn)) setStatus('signed-out');
    else void reload();
  }, [reload]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setMe(null);
      setStatus('signed-out');
      if (!window.location.pathname.startsWith(patterns.signIn)) navigate(paths.signIn({ expired: true, next: here() }), { replace: true });
    });
    return () => setUnauthorizedHandler(undefined);
  }, []);

  const signIn = useCallback(async (apiKey: string) => {
    const login = await api.post<LoginAnswer>('/api/v1/auth/login', { apiKey }, { authRedirect: false });
    setCsrfToken(login.csrfToken);
    // The names for the header come from `me`; the login answer has the rest.
    const answer = await api.get<Me>('/api/v1/auth/me', { authRedirect: false });
    setMe({ ...answer, csrfToken: login.csrfToken });
    setError(null);
    setStatus('signed-in');
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post('/api/v1/auth/logout', undefined, { authRedirect: false });
    } catch (err) {
      // Already ended on the gateway: signed out all the same. Anything else: the session may still be live, say so.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    setCsrfToken(undefined);
    setMe(null);
    setStatus('signed-out');
    navigate(paths.signIn(), { replace: true });
  }, []);

  const value = useMemo<SessionValue>(() => ({
    status, me, error, signIn, signOut, reload,
    hasRole: (role) => me !== null && roleAtLeast(me.roles, role),
  }), [status, me, error, signIn, signOut, reload]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession() outside <SessionProvider>');
  return value;
}

/** The signed-in principal; only for components rendered inside the signed-in shell. */
export function useMe(): Me {
  const { me } = useSession();
  if (!me) throw new Error('useMe() outside the signed-in shell');
  return me;
}

/** The most privileged role, for display: "Admin", "Write", "Read". */
export function roleLabel(roles: readonly Role[]): string {
  if (roleAtLeast(roles, 'extension:admin')) return 'Admin';
  if (roleAtLeast(roles, 'extension:write')) return 'Write';
  if (roleAtLeast(roles, 'extension:read')) return 'Read';
  return 'No role';
}
