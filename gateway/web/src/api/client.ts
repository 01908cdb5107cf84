/**
 * The one way the console talks to the gateway: `fetch` for `/api/v1/...` with the session
 * cookie (`credentials: 'same-origin'`; the cookie is HttpOnly, SameSite=Strict) and the
 * session's CSRF token in `x-alga-csrf` on every non-GET request.
 *
 * - The CSRF token lives in this module's memory only (never localStorage/sessionStorage): the
 *   session sets it from the login answer or `GET /api/v1/auth/me`, so a reload gets it back.
 * - Every failure is an `ApiError`: `status` (0 = the gateway could not be reached), `code`
 *   (`E_*` from the catalog, or `E_UNREACHABLE`), `message`, `details`.
 * - A 401 means the session ended (expired, signed out elsewhere, key revoked): the client
 *   hands it to the session (`setUnauthorizedHandler`), which goes to
 *   `/admin/sign-in?expired=1&next=<here>`. Pass `{ authRedirect: false }` where a 401 is an
 *   expected answer (the sign-in form, the start-up probe).
 *
 * @example
 *   const { installs } = await api.get<{ installs: Install[] }>('/api/v1/installs');
 *   await api.put(`/api/v1/installs/${id}/settings`, config);
 *   try { ... } catch (err) { if (err instanceof ApiError && err.code === 'E_VALIDATION') showIssues(err.details); }
 */
import type { ErrorCode } from '@alga-psa/extension-contracts/errors';

export type ApiErrorCode = ErrorCode | 'E_UNREACHABLE' | 'E_UNEXPECTED_RESPONSE';

export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: unknown;
  readonly requestId: string | undefined;

  constructor(status: number, code: ApiErrorCode, message: string, details?: unknown, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }

  /** The gateway did not answer at all (down, network gone). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** JSON-encoded; omit for no body. */
  body?: unknown;
  /** Appended as `?k=v`; undefined values are skipped. */
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** false: a 401 is returned to the caller as an ApiError instead of ending the session. */
  authRedirect?: boolean;
}

let csrfToken: string | undefined;
let onUnauthorized: ((error: ApiError) => void) | undefined;

/** Set by the session from the login / `me` answer; cleared on sign-out. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** The session registers what a 401 does (clear state, go to sign-in). */
export function setUnauthorizedHandler(handler: ((error: ApiError) => void) | undefined): void {
  onUnauthorized = handler;
}

function urlFor(path: string, query: RequestOptions['query']): string {
  if (!path.startsWith('/api/')) throw new Error(`api paths start with /api/: ${path}`);
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-alga-csrf'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(urlFor(path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'E_UNREACHABLE', 'The gateway could not be reached. Check your connection and try again.');
  }
  const text = await res.text().catch(() => '');
  let body: unknown;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  if (res.ok) {
    if (res.status !== 204 && text && body === undefined) throw new ApiError(res.status, 'E_UNEXPECTED_RESPONSE', 'The gateway sent an answer that is not JSON.');
    return body as T;
  }
  const error = toApiError(res, body);
  if (error.status === 401 && options.authRedirect !== false) {
    csrfToken = undefined;
    onUnauthorized?.(error);
  }
  throw error;
}

function toApiError(res: Response, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown } } | undefined)?.error;
  const requestId = typeof e?.requestId === 'string' ? e.requestId : res.headers.get('x-request-id') ?? undefined;
  if (e && typeof e.code === 'string') {
    return new ApiError(res.status, e.code as ApiErrorCode, typeof e.message === 'string' ? e.message : res.statusText, e.details, requestId);
  }
  // A proxy in front of the gateway (502/503 pages) or a gateway that is starting.
  return new ApiError(res.status, res.status >= 502 ? 'E_UNREACHABLE' : 'E_UNEXPECTED_RESPONSE', `The gateway answered ${res.status} ${res.statusText}.`, undefined, requestId);
}

type Opts = Omit<RequestOptions, 'method' | 'body'>;

export const api = {
  get: <T>(path: string, options?: Opts) => request<T>(path, { ...options, method: 'GET' }),
  post: <T = void>(path: string, body?: unknown, options?: Opts) => request<T>(path, { ...options, method: 'POST', body }),
  put: <T = void>(path: string, body?: unknown, options?: Opts) => request<T>(path, { ...options, method: 'PUT', body }),
  del: <T = void>(path: string, options?: Opts) => request<T>(path, { ...options, method: 'DELETE' }),
};
