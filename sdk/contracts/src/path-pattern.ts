/**
 * Path patterns of `api.endpoints` (`/tickets/:id`, `/files/*`) and the matching of request paths
 * against them. No zod and nothing else of the manifest schema: the iframe SDK's browser bundles
 * import this module directly (`@alga-psa/extension-contracts/path-pattern`), while `manifest.ts`
 * validates patterns with the same parser and re-exports the public part.
 *
 * @example
 *   compilePathPattern('/tickets/:id')('/tickets/42');          // { id: '42' }
 *   matchEndpoint(manifest.api.endpoints, 'GET', '/files/a/b'); // { endpoint, params: { '*': 'a/b' } } | null
 *   parsePathPattern('/a//b', true);                             // { ok: false, message: 'path must not contain empty segments (//)' }
 */
import { AlgaError } from './errors.ts';

export const endpointMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type EndpointMethod = (typeof endpointMethods)[number];
export const uiProxyMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=@-]+$/;
const PARAM_SEGMENT = /^:[A-Za-z_][A-Za-z0-9_]*$/;

export type PatternSegment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'star' };

/** Parse a path pattern; returns a message instead of throwing. `allowStar`: a final `*` segment. */
export function parsePathPattern(path: string, allowStar: boolean): { ok: true; segments: PatternSegment[] } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  if (typeof path !== 'string' || !path.startsWith('/')) return fail('path must start with /');
  if (path.length > 512) return fail('path is too long (max 512)');
  const body = path === '/' ? '' : path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  if (body === '') return { ok: true, segments: [] };
  const raw = body.split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i];
    if (seg === '') return fail('path must not contain empty segments (//)');
    if (seg === '*') {
      if (!allowStar) return fail('a * segment is not allowed here');
      if (i !== raw.length - 1) return fail('* is only allowed as the final segment');
      segments.push({ kind: 'star' });
    } else if (seg.startsWith(':')) {
      if (!PARAM_SEGMENT.test(seg)) return fail(`invalid parameter segment ${JSON.stringify(seg)}`);
      const name = seg.slice(1);
      if (names.has(name)) return fail(`duplicate parameter :${name}`);
      names.add(name);
      segments.push({ kind: 'param', name });
    } else {
      if (seg === '.' || seg === '..') return fail('path must not contain . or .. segments');
      if (!LITERAL_SEGMENT.test(seg)) return fail(`invalid path segment ${JSON.stringify(seg)}`);
      segments.push({ kind: 'literal', value: seg });
    }
  }
  return { ok: true, segments };
}

/** Canonical form for duplicate detection: no trailing slash, parameter names erased. */
export function canonicalPattern(segments: PatternSegment[]): string {
  return '/' + segments.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'param' ? ':' : '*')).join('/');
}

/**
 * Split and decode a request path, or null when it must never match: not starting with `/`, a
 * query/fragment, empty segments (`//`), `.`/`..` segments (raw or percent-encoded), encoded
 * slashes or backslashes (`%2F`, `%5C`), NUL, or malformed percent-encoding. One trailing slash is
 * tolerated.
 */
function splitRequestPath(actualPath: string): string[] | null {
  if (typeof actualPath !== 'string' || !actualPath.startsWith('/')) return null;
  if (/[?#\\]/.test(actualPath)) return null;
  const body = actualPath === '/' ? '' : actualPath.endsWith('/') ? actualPath.slice(1, -1) : actualPath.slice(1);
  if (body === '') return [];
  const out: string[] = [];
  for (const raw of body.split('/')) {
    if (raw === '') return null;
    if (/%(2f|5c|00)/i.test(raw)) return null;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg)) return null;
    out.push(seg);
  }
  return out;
}

export type PathMatcher = (actualPath: string) => Record<string, string> | null;

function matcherFor(segments: PatternSegment[]): PathMatcher {
  return (actualPath) => {
    const parts = splitRequestPath(actualPath);
    if (!parts) return null;
    const params: Record<string, string> = Object.create(null);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg.kind === 'star') {
        params['*'] = parts.slice(i).join('/');
        return params;
      }
      if (i >= parts.length) return null;
      if (seg.kind === 'literal') {
        if (parts[i] !== seg.value) return null;
      } else params[seg.name] = parts[i];
    }
    return parts.length === segments.length ? params : null;
  };
}

/**
 * Compile an endpoint path pattern (`/tickets/:id`, `/files/*`). The matcher takes a request path
 * (no query string) and returns the decoded params, or null. A final `*` matches zero or more
 * segments and is returned as `params['*']` (segments joined with `/`; `''` for none). Literal
 * segments compare case-sensitively with the percent-decoded request segment. Throws
 * AlgaError('E_VALIDATION') when the pattern is invalid.
 */
export function compilePathPattern(path: string): PathMatcher {
  const parsed = parsePathPattern(path, true);
  if (!parsed.ok) throw new AlgaError('E_VALIDATION', `invalid path pattern ${JSON.stringify(path)}: ${parsed.message}`);
  return matcherFor(parsed.segments);
}

const compiledCache = new Map<string, { matcher: PathMatcher; rank: number[] } | null>();
function cachedCompile(path: string): { matcher: PathMatcher; rank: number[] } | null {
  let entry = compiledCache.get(path);
  if (entry === undefined) {
    const parsed = parsePathPattern(path, true);
    entry = parsed.ok
      ? {
          matcher: matcherFor(parsed.segments),
          rank: parsed.segments.map((s) => (s.kind === 'literal' ? 2 : s.kind === 'param' ? 1 : 0)),
        }
      : null;
    if (compiledCache.size >= 5000) compiledCache.clear();
    compiledCache.set(path, entry);
  }
  return entry;
}

/** Positive when rank a is more specific than b (segment by segment: literal > :param > *). */
function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return b.length - a.length; // only reachable with a '*': `/a` beats `/a/*`
}

export interface EndpointMatch<E extends { method: string; path: string }> {
  endpoint: E;
  params: Record<string, string>;
}

/**
 * Which declared endpoint (if any) a request reaches. The method must match exactly (HEAD is not
 * implied by GET); when several patterns match, the most specific wins (literal > :param > *),
 * then declaration order. Invalid patterns never match.
 */
export function matchEndpoint<E extends { method: string; path: string }>(
  endpoints: readonly E[],
  method: string,
  path: string,
): EndpointMatch<E> | null {
  const m = method.toUpperCase();
  let best: (EndpointMatch<E> & { rank: number[] }) | null = null;
  for (const endpoint of endpoints) {
    if (endpoint.method !== m) continue;
    const compiled = cachedCompile(endpoint.path);
    if (!compiled) continue;
    const params = compiled.matcher(path);
    if (!params) continue;
    if (!best || compareRank(compiled.rank, best.rank) > 0) best = { endpoint, params, rank: compiled.rank };
  }
  return best ? { endpoint: best.endpoint, params: best.params } : null;
}
