/**
 * The host page's optional narrowing of what a frame may call, in the manifest's own endpoint
 * syntax (`/tickets/:id`, `/files/*`) and matched by the same `matchEndpoint` the gateway uses, so
 * a host can pass `manifest.api.endpoints` straight through or list a subset.
 *
 * @example
 *   const allowed = compileAllowedRoutes(['GET /hello', { method: 'POST', path: '/echo/*' }, '/status']);
 *   allowed('POST', '/echo/a/b');   // true
 *   allowed('DELETE', '/hello');    // false ('/status' alone allows every method)
 */
import { compilePathPattern, matchEndpoint } from '@alga-psa/extension-contracts/path-pattern';
import { proxyMethods, type ProxyMethod } from './protocol.ts';

/** `'/path'` (every method), `'METHOD /path'`, or `{ method?, path }`. */
export type AllowedRoute = string | { method?: string; path: string };

export type RouteFilter = (method: ProxyMethod, path: string) => boolean;

export function compileAllowedRoutes(routes: readonly AllowedRoute[] | undefined): RouteFilter {
  if (routes === undefined) return () => true;
  const endpoints: Array<{ method: string; path: string }> = [];
  for (const entry of routes) {
    const { method, path } = typeof entry === 'string' ? splitEntry(entry) : entry;
    try {
      compilePathPattern(path);
    } catch (err) {
      // A host page's configuration mistake: fail at mount, not on the frame's first call.
      throw new TypeError(`allowedRoutes: ${(err as Error).message}`);
    }
    const methods = method === undefined ? proxyMethods : [method.toUpperCase()];
    for (const m of methods) {
      if (!(proxyMethods as readonly string[]).includes(m)) throw new TypeError(`allowedRoutes: unknown method ${JSON.stringify(method)}`);
      endpoints.push({ method: m, path });
    }
  }
  return (method, path) => matchEndpoint(endpoints, method, path) !== null;
}

function splitEntry(entry: string): { method?: string; path: string } {
  const space = entry.indexOf(' ');
  return space === -1 ? { path: entry } : { method: entry.slice(0, space), path: entry.slice(space + 1) };
}
