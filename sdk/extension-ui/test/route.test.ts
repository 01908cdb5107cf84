/** Route checks and allowedRoutes: what a frame may ask the host to call with the admin's session. */
import { describe, expect, it } from 'vitest';
import { compileAllowedRoutes } from '../src/allowed-routes.ts';
import { ExtensionUiError } from '../src/errors.ts';
import { checkRoute } from '../src/route.ts';

const prefix = '/api/ext-proxy/com.acme.notes';

function refusal(route: unknown): string | undefined {
  try {
    checkRoute(route);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ExtensionUiError);
    return (err as ExtensionUiError).code;
  }
}

describe('checkRoute', () => {
  it('accepts plain paths and keeps the query apart', () => {
    expect(checkRoute('/')).toEqual({ path: '/', query: '' });
    expect(checkRoute('/tickets/42?expand=1&q=a%20b')).toEqual({ path: '/tickets/42', query: '?expand=1&q=a%20b' });
    expect(checkRoute('/a.b/~c/file%20name/:x@y/')).toEqual({ path: '/a.b/~c/file%20name/:x@y/', query: '' });
    // Dots and slashes in the query are data, not path: the URL parser never resolves them.
    expect(checkRoute('/search?path=../../x&u=//evil')).toEqual({ path: '/search', query: '?path=../../x&u=//evil' });
  });

  it.each([
    ['parent segments', '/../v1/api-keys'],
    ['a parent segment deeper in', '/notes/../../../v1/installs'],
    ['a current segment', '/notes/./x'],
    ['a trailing parent segment', '/notes/..'],
    ['encoded parent segments', '/notes/%2e%2e/%2E%2E/x'],
    ['half-encoded parent segments', '/notes/.%2e/x'],
    ['an encoded slash', '/notes%2f..%2fx'],
    ['an encoded backslash', '/notes/%5c..'],
    ['an encoded NUL', '/notes/%00'],
    ['a backslash', '/notes\\..\\x'],
    ['a tab the URL parser would drop', '/notes/.\t./x'],
    ['a newline', '/notes/x\n'],
    ['a carriage return', '/notes/x\r'],
    ['a space', '/notes/a b'],
    ['a fragment', '/notes/x#y'],
    ['non-ASCII text', '/notes/é'],
    ['a protocol-relative host', '//evil.example/x'],
    ['an empty segment', '/notes//x'],
    ['an absolute URL', 'https://evil.example/x'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative path', 'notes/x'],
    ['a malformed escape', '/notes/%zz'],
    ['a truncated escape', '/notes/%2'],
    ['an empty route', ''],
    ['a route that is too long', `/${'a'.repeat(2048)}`],
    ['a non-string', 42],
  ])('refuses %s', (_why, route) => {
    expect(refusal(route)).toBe('E_ROUTE_INVALID');
  });

  it('never accepts a route that the URL parser resolves anywhere but under the proxy prefix (fuzzed)', () => {
    // Deterministic PRNG over the characters and escapes that matter to URL parsing.
    let seed = 0x5eed;
    const next = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const pieces = ['/', '.', '..', '%2e', '%2E', '%2f', '%5c', '\\', '\t', '\n', ' ', '?', '#', '@', ':', 'a', 'b', '%41', '~', '//', 'http:', '%'];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let route = '/';
      const length = 1 + (next() % 8);
      for (let j = 0; j < length; j++) route += pieces[next() % pieces.length];
      let checked;
      try {
        checked = checkRoute(route);
      } catch {
        continue;
      }
      accepted++;
      const url = new URL(`${prefix}${route}`, 'https://msp.example.com/admin/page');
      expect(url.origin, route).toBe('https://msp.example.com');
      expect(url.pathname, route).toBe(`${prefix}${checked.path}`);
    }
    expect(accepted).toBeGreaterThan(100); // the fuzz exercised the accepting side too
  });
});

describe('compileAllowedRoutes', () => {
  it('allows everything when the host gives no list', () => {
    expect(compileAllowedRoutes(undefined)('DELETE', '/anything')).toBe(true);
  });

  it('matches in manifest endpoint syntax: methods, :params and a final *', () => {
    const allowed = compileAllowedRoutes(['GET /hello', { method: 'post', path: '/echo/*' }, '/status', 'PUT /tickets/:id']);
    expect(allowed('GET', '/hello')).toBe(true);
    expect(allowed('POST', '/hello')).toBe(false);
    expect(allowed('POST', '/echo/a/b')).toBe(true);
    expect(allowed('GET', '/echo/a')).toBe(false);
    expect(allowed('DELETE', '/status')).toBe(true);
    expect(allowed('PUT', '/tickets/42')).toBe(true);
    expect(allowed('PUT', '/tickets/42/notes')).toBe(false);
    expect(allowed('GET', '/hello/extra')).toBe(false);
  });

  it('decodes the request path as the gateway does, and never matches traversal', () => {
    const allowed = compileAllowedRoutes(['GET /files/*', 'GET /tickets/abc']);
    expect(allowed('GET', '/tickets/%61bc')).toBe(true);
    expect(allowed('GET', '/files/%2e%2e')).toBe(false);
  });

  it('fails at mount on an invalid pattern or method, not on the first call', () => {
    expect(() => compileAllowedRoutes(['GET /a/../b'])).toThrow(TypeError);
    expect(() => compileAllowedRoutes(['/a/*/b'])).toThrow(TypeError);
    expect(() => compileAllowedRoutes(['TRACE /a'])).toThrow(/unknown method/);
  });
});
