/**
 * A small Hono-style router for extension handlers.
 *
 * @example
 *   const app = createRouter();
 *   app.get('/tickets/:id', async (req, ctx) => jsonResponse(200, { id: req.params.id, config: ctx.config }));
 *   export const handler = app.handler();
 */
import type { HttpRequest, HttpResponse } from 'alga:extension/handler@0.1.0';
import { createContext, type Context } from './context.ts';
import { splitRouteKey, type ApiContract, type ApiRequestOf, type ApiResponseOf } from './api-contract.ts';

/** What `router.api` handlers receive: the parsed JSON body (typed by the contract), the request and ctx. */
export interface ApiCall<Body> {
  body: Body;
  params: Record<string, string>;
  req: Request;
  ctx: Context;
}

export type ApiHandlers<C extends ApiContract<C>> = {
  [K in keyof C]: (call: ApiCall<ApiRequestOf<C[K]>>) => ApiResponseOf<C[K]> | Response | Promise<ApiResponseOf<C[K]> | Response>;
};

/** A handler may still answer with a full response (an error status, say) instead of the contract's JSON. */
function isResponse(value: unknown): value is Response {
  const v = value as Partial<Response> | null;
  return typeof v === 'object' && v !== null && typeof v.status === 'number' && Array.isArray(v.headers) && (v.body === undefined || v.body instanceof Uint8Array);
}

export interface Request {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Map<string, string>;
  body: Uint8Array | undefined;
  text(): string;
  json<T = unknown>(): T;
}

export type Response = HttpResponse;
export type RouteHandler = (req: Request, ctx: Context) => Response | Promise<Response>;

interface Route {
  method: string;
  /** The pattern as registered (`/tickets/:id`): what the unhandled-error log line names. */
  path: string;
  segments: string[];
  handler: RouteHandler;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function jsonResponse(status: number, body: unknown, headers: Array<[string, string]> = []): Response {
  return { status, headers: [['content-type', 'application/json'], ...headers], body: encoder.encode(JSON.stringify(body)) };
}

export function textResponse(status: number, text: string, headers: Array<[string, string]> = []): Response {
  return { status, headers: [['content-type', 'text/plain; charset=utf-8'], ...headers], body: encoder.encode(text) };
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function match(route: Route, segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const pattern = route.segments[i];
    if (pattern === '*') { params['*'] = segments.slice(i).join('/'); return params; }
    const actual = segments[i];
    if (actual === undefined) return undefined;
    if (pattern.startsWith(':')) params[pattern.slice(1)] = decodeURIComponent(actual);
    else if (pattern !== actual) return undefined;
  }
  return segments.length === route.segments.length ? params : undefined;
}

export class Router {
  private readonly routes: Route[] = [];
  private notFound: RouteHandler = (req) => jsonResponse(404, { error: { code: 'E_NOT_FOUND', message: `no route for ${req.method} ${req.path}` } });

  on(method: string, path: string, handler: RouteHandler): this {
    this.routes.push({ method: method.toUpperCase(), path, segments: split(path), handler });
    return this;
  }
  get(path: string, handler: RouteHandler): this { return this.on('GET', path, handler); }
  post(path: string, handler: RouteHandler): this { return this.on('POST', path, handler); }
  put(path: string, handler: RouteHandler): this { return this.on('PUT', path, handler); }
  patch(path: string, handler: RouteHandler): this { return this.on('PATCH', path, handler); }
  delete(path: string, handler: RouteHandler): this { return this.on('DELETE', path, handler); }
  fallback(handler: RouteHandler): this { this.notFound = handler; return this; }

  /** Registers every endpoint of a typed contract (see api-contract.ts): JSON in, JSON out. */
  api<C extends ApiContract<C>>(handlers: ApiHandlers<C>): this {
    for (const [key, handle] of Object.entries(handlers) as Array<[string, ApiHandlers<C>[keyof C]]>) {
      const [method, path] = splitRouteKey(key);
      this.on(method, path, async (req, ctx) => {
        const body = (req.body && req.body.byteLength > 0 ? req.json() : undefined) as ApiRequestOf<C[keyof C]>;
        const result = await handle({ body, params: req.params, req, ctx });
        return isResponse(result) ? result : jsonResponse(200, result);
      });
    }
    return this;
  }

  /**
   * The first route whose method and path match answers. A path some route matches with another
   * method is 405 with `Allow`; no match is the fallback (404). A route that throws or rejects
   * answers 500 with the request id and logs ONE 'error' line, `unhandled error in <METHOD>
   * <route>: <message>` with the raw guest stack in the field `stack` (bounded), instead of
   * trapping: a trap would cost the instance and tell the caller nothing. The stack names
   * bundled-JS positions; the gateway's logs API adds `mappedStack` (the TypeScript positions).
   */
  handle(raw: HttpRequest): Response | Promise<Response> {
    const segments = split(raw.path);
    const allowed = new Set<string>();
    const ctx = createContext();
    for (const route of this.routes) {
      const params = match(route, segments);
      if (!params) continue;
      if (route.method !== raw.method && !(route.method === 'GET' && raw.method === 'HEAD')) {
        allowed.add(route.method);
        continue;
      }
      return guard(() => route.handler(toRequest(raw, params), ctx), ctx, `${raw.method} ${route.path}`);
    }
    if (allowed.size > 0) {
      const allow = [...allowed].sort().join(', ');
      return jsonResponse(405, { error: { code: 'E_METHOD_NOT_ALLOWED', message: `${raw.method} is not allowed on ${raw.path}; use ${allow}` } }, [['allow', allow]]);
    }
    return guard(() => this.notFound(toRequest(raw, {}), ctx), ctx, `${raw.method} ${raw.path}`);
  }

  /** The object to export as `handler` from the component's entry module. */
  handler(): { handle(req: HttpRequest): Response | Promise<Response> } {
    return { handle: (req) => this.handle(req) };
  }
}

/**
 * Running out of memory is the host's to answer (507, the instance discarded), not the route's:
 * caught here it would come back as an ordinary 500 from an instance that is near its limit.
 */
function isResourceExhaustion(err: unknown): boolean {
  // SpiderMonkey throws its OOM as the bare string "out of memory", not as an Error.
  const text = err instanceof Error ? `${err.name}: ${err.message}` : safeString(err);
  return /^InternalError|out of memory|allocation size overflow|too much recursion/i.test(text);
}

/** Bounds of the unhandled-error log line: the runner caps a request's guest logs (64 KiB by default). */
const maxLoggedStackChars = 8 * 1024;
const maxLoggedMessageChars = 1024;

/** `String(value)` for whatever a route threw: `Object.create(null)` or a throwing `toString` included. */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `a thrown ${typeof value} that has no string form`;
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function guard(run: () => Response | Promise<Response>, ctx: Context, label: string): Response | Promise<Response> {
  const failed = (err: unknown): Response => {
    if (isResourceExhaustion(err)) throw err;
    const error = err instanceof Error ? err : undefined;
    const message = safeString(error ? error.message : err);
    // A thrown non-Error has no stack of its own; one made here would only name this function.
    let stack = '';
    try { if (error && typeof error.stack === 'string') stack = error.stack; } catch { /* a throwing getter */ }
    try {
      ctx.log.error(`unhandled error in ${label}: ${cut(message, maxLoggedMessageChars)}`, { stack: cut(stack, maxLoggedStackChars), name: error ? safeString(error.name) : typeof err });
    } catch { /* logging must never turn a 500 into a trap */ }
    let requestId = '';
    try { requestId = ctx.install.requestId; } catch { /* no context outside a request */ }
    return jsonResponse(500, { error: { code: 'E_EXTENSION_ERROR', message, requestId } });
  };
  try {
    const result = run();
    return result instanceof Promise ? result.catch(failed) : result;
  } catch (err) {
    return failed(err);
  }
}

export function createRouter(): Router {
  return new Router();
}

function toRequest(raw: HttpRequest, params: Record<string, string>): Request {
  const query = new URLSearchParams();
  for (const [k, v] of raw.query) query.append(k, v);
  const headers = new Map<string, string>();
  for (const [k, v] of raw.headers) headers.set(k.toLowerCase(), v);
  return {
    method: raw.method,
    path: raw.path,
    params,
    query,
    headers,
    body: raw.body,
    text: () => (raw.body ? decoder.decode(raw.body) : ''),
    json: <T>() => JSON.parse(raw.body ? decoder.decode(raw.body) : 'null') as T,
  };
}
