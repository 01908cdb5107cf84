import { describe, expect, it } from 'vitest';
import {
  assertManifest,
  checkLimitsAgainstOperator,
  compilePathPattern,
  declaredInterfaces,
  hostMatchesAllowed,
  manifestSchema,
  matchEndpoint,
  parseAllowedHost,
  parseManifest,
  tryParseAllowedHost,
} from '../src/manifest.ts';
import { AlgaError } from '../src/errors.ts';

const minimal = () => ({
  name: 'com.acme.ticket-enricher',
  publisher: 'Acme Inc.',
  version: '1.2.0',
  runtime: 'wasm-js@1',
  capabilities: [] as string[],
});

const full = () => ({
  name: 'com.acme.ticket-enricher',
  publisher: 'Acme Inc.',
  version: '1.2.0-beta.1+build.5',
  runtime: 'wasm-js@1',
  description: 'Enriches tickets with data from the Acme API.',
  capabilities: ['cap:context.read', 'cap:log.emit', 'cap:secrets.get', 'cap:http.fetch', 'cap:storage.kv', 'cap:ui.proxy'],
  http: { allowedHosts: ['https://api.example.com', 'https://*.example.org:8443', 'http://10.0.0.1:8080', 'https://[2001:db8::1]'] },
  storage: { namespaces: ['cache', 'state'] },
  uiProxy: { routes: ['GET /host/tickets/:id', 'POST /host/tickets'] },
  api: {
    endpoints: [
      { method: 'GET', path: '/tickets/:id' },
      { method: 'POST', path: '/tickets' },
      { method: 'GET', path: '/static/*' },
      { method: 'OPTIONS', path: '/' },
    ],
  },
  ui: { type: 'iframe', entry: 'ui/index.html', menu: { label: 'Enricher' } },
  settings: [
    { key: 'baseUrl', label: 'Base URL', type: 'text', required: true, default: 'https://api.example.com', pattern: 'https://.+', group: 'Connection' },
    { key: 'notes', label: 'Notes', type: 'textarea', description: 'Free text' },
    { key: 'retries', label: 'Retries', type: 'number', default: 3, min: 0, max: 10 },
    { key: 'enabled', label: 'Enabled', type: 'boolean', default: true },
    { key: 'mode', label: 'Mode', type: 'select', default: 'fast', options: [{ value: 'fast', label: 'Fast' }, { value: 'safe', label: 'Safe' }] },
    { key: 'apiKey', label: 'API key', type: 'secret', required: true },
  ],
  limits: { timeoutMs: 5000, memoryMb: 128 },
});

/** Parse and expect failure; returns the issue paths. */
function badPaths(input: unknown): string[] {
  const r = parseManifest(input);
  if (r.ok) throw new Error('expected the manifest to be rejected');
  return r.issues.map((i) => i.path);
}
function issueAt(input: unknown, path: string): string {
  const r = parseManifest(input);
  if (r.ok) throw new Error('expected the manifest to be rejected');
  const hit = r.issues.find((i) => i.path === path);
  if (!hit) throw new Error(`no issue at ${path}; got ${JSON.stringify(r.issues)}`);
  return hit.message;
}

describe('valid manifests', () => {
  it('accepts a minimal manifest and fills optional sections with empty defaults', () => {
    const r = parseManifest(minimal());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest.http.allowedHosts).toEqual([]);
    expect(r.manifest.storage).toEqual({});
    expect(r.manifest.storage.namespaces).toBeUndefined();
    expect(r.manifest.uiProxy.routes).toEqual([]);
    expect(r.manifest.api.endpoints).toEqual([]);
    expect(r.manifest.settings).toEqual([]);
    expect(r.manifest.ui).toBeUndefined();
    expect(r.manifest.limits).toBeUndefined();
  });

  it('accepts a full manifest using every field and keeps the values', () => {
    const input = full();
    const r = parseManifest(input);
    expect(r).toEqual({ ok: true, manifest: input });
  });

  it('manifestSchema is a usable zod schema on its own', () => {
    expect(manifestSchema.safeParse(full()).success).toBe(true);
  });

  it('accepts cap:context.read and cap:log.emit being absent or listed', () => {
    expect(parseManifest(minimal()).ok).toBe(true);
    expect(parseManifest({ ...minimal(), capabilities: ['cap:context.read', 'cap:log.emit'] }).ok).toBe(true);
  });

  it('accepts semver with prerelease and build metadata', () => {
    for (const version of ['0.0.1', '10.20.30', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-0.3.7', '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85']) {
      expect(parseManifest({ ...minimal(), version }).ok, version).toBe(true);
    }
  });

  it('accepts names with digits and inner hyphens in segments', () => {
    for (const name of ['io.x', 'com.acme-corp.tool2', '1a.b-c.d']) expect(parseManifest({ ...minimal(), name }).ok, name).toBe(true);
  });

  it('accepts empty declared sections without requiring their capability', () => {
    expect(parseManifest({ ...minimal(), http: { allowedHosts: [] }, uiProxy: { routes: [] }, storage: { namespaces: [] } }).ok).toBe(true);
  });
});

describe('strictness: unknown fields', () => {
  it('rejects an unknown top-level field at its own path', () => {
    expect(badPaths({ ...minimal(), bogus: 1 })).toEqual(['$.bogus']);
    expect(issueAt({ ...minimal(), bogus: 1 }, '$.bogus')).toMatch(/unknown field "bogus"/);
  });

  it('rejects an unknown field in a nested object at its own path', () => {
    expect(badPaths({ ...full(), ui: { type: 'iframe', entry: 'ui/index.html', menu: { label: 'X', icon: 'x.png' } } })).toEqual([
      '$.ui.menu.icon',
    ]);
    expect(badPaths({ ...full(), http: { allowedHosts: [], proxy: 'x' } })).toEqual(['$.http.proxy']);
    expect(badPaths({ ...full(), limits: { cpu: 1 } })).toEqual(['$.limits.cpu']);
  });

  it('rejects an unknown field inside an endpoint and inside a setting', () => {
    const m = full();
    (m.api.endpoints[1] as Record<string, unknown>).auth = 'none';
    expect(badPaths(m)).toEqual(['$.api.endpoints[1].auth']);
    const m2 = full();
    (m2.settings[2] as Record<string, unknown>).step = 1;
    expect(badPaths(m2)).toEqual(['$.settings[2].step']);
  });

  it('quotes unknown keys that are not identifiers in the path', () => {
    expect(badPaths({ ...minimal(), 'x-y': 1 })).toEqual(['$["x-y"]']);
  });

  it('rejects non-objects at $', () => {
    expect(badPaths(null)).toEqual(['$']);
    expect(badPaths([])).toEqual(['$']);
  });

  it('reports each missing required field at its path', () => {
    expect(badPaths({}).sort()).toEqual(['$.capabilities', '$.name', '$.publisher', '$.runtime', '$.version']);
  });
});

describe('name, publisher, version, runtime, description', () => {
  it('rejects an upper-case name', () => {
    expect(badPaths({ ...minimal(), name: 'com.Acme.tool' })).toEqual(['$.name']);
  });
  it('rejects a one-segment name', () => {
    expect(badPaths({ ...minimal(), name: 'enricher' })).toEqual(['$.name']);
  });
  it('rejects segments starting or ending with a hyphen, empty segments and other characters', () => {
    for (const name of ['com.-acme', 'com.acme-', 'com..acme', '.com.acme', 'com.acme.', 'com.ac_me', 'com.acme/x']) {
      expect(badPaths({ ...minimal(), name }), name).toEqual(['$.name']);
    }
  });
  it('rejects a name longer than 128 characters', () => {
    expect(badPaths({ ...minimal(), name: `com.${'a'.repeat(125)}` })).toEqual(['$.name']);
  });
  it('rejects an empty publisher', () => {
    expect(badPaths({ ...minimal(), publisher: '  ' })).toEqual(['$.publisher']);
  });
  it('rejects versions that are not strict semver', () => {
    for (const version of ['1.2', '1.2.0.0', 'v1.2.0', '01.2.0', '1.2.0-', '1.2.0-01', '1.2.0+', 'latest']) {
      expect(badPaths({ ...minimal(), version }), version).toEqual(['$.version']);
    }
  });
  it('rejects any runtime other than wasm-js@1', () => {
    expect(badPaths({ ...minimal(), runtime: 'wasm-js@2' })).toEqual(['$.runtime']);
  });
  it('rejects a description longer than 2000 characters', () => {
    expect(badPaths({ ...minimal(), description: 'x'.repeat(2001) })).toEqual(['$.description']);
  });
});

describe('capabilities', () => {
  it('rejects an unknown capability at its index', () => {
    expect(badPaths({ ...minimal(), capabilities: ['cap:log.emit', 'cap:fs.write'] })).toEqual(['$.capabilities[1]']);
    expect(issueAt({ ...minimal(), capabilities: ['cap:fs.write'] }, '$.capabilities[0]')).toMatch(/unknown capability "cap:fs.write"/);
  });
  it('rejects a duplicate capability at the second occurrence', () => {
    expect(badPaths({ ...minimal(), capabilities: ['cap:http.fetch', 'cap:log.emit', 'cap:http.fetch'] })).toEqual(['$.capabilities[2]']);
  });
  it('declaredInterfaces always includes context, log and types plus what the capabilities cover', () => {
    expect(declaredInterfaces(assertManifest(minimal()))).toEqual(new Set(['context', 'log', 'types']));
    expect(declaredInterfaces(assertManifest(full()))).toEqual(new Set(['context', 'log', 'types', 'secrets', 'http', 'storage', 'ui-proxy']));
    expect(declaredInterfaces({ capabilities: ['cap:http.fetch'] })).toEqual(new Set(['context', 'log', 'types', 'http']));
  });
});

describe('http.allowedHosts', () => {
  const withHosts = (allowedHosts: string[]) => ({ ...minimal(), capabilities: ['cap:http.fetch'], http: { allowedHosts } });

  it('accepts origins with wildcard, port, IPv4 and bracketed IPv6', () => {
    expect(parseManifest(withHosts(['https://api.example.com', 'https://*.example.org:8443', 'http://127.0.0.1:3000', 'http://[::1]:8080', 'http://localhost'])).ok).toBe(true);
  });
  it('rejects an origin with a path', () => {
    expect(badPaths(withHosts(['https://api.example.com/v1']))).toEqual(['$.http.allowedHosts[0]']);
    expect(badPaths(withHosts(['https://ok.example.com', 'https://api.example.com/']))).toEqual(['$.http.allowedHosts[1]']);
  });
  it('rejects an origin with userinfo', () => {
    expect(badPaths(withHosts(['https://user:pw@api.example.com']))).toEqual(['$.http.allowedHosts[0]']);
    expect(issueAt(withHosts(['https://user@api.example.com']), '$.http.allowedHosts[0]')).toMatch(/userinfo/);
  });
  it('rejects an ftp: origin', () => {
    expect(issueAt(withHosts(['ftp://files.example.com']), '$.http.allowedHosts[0]')).toMatch(/scheme/);
  });
  it('rejects a wildcard anywhere but the whole first label', () => {
    for (const h of ['https://api.*.example.com', 'https://a*.example.com', 'https://*example.com', 'https://*', 'https://*.com']) {
      expect(badPaths(withHosts([h])), h).toEqual(['$.http.allowedHosts[0]']);
    }
  });
  it('rejects a query, a fragment, a bad port and a scheme-less host', () => {
    for (const h of ['https://a.example.com?x=1', 'https://a.example.com#f', 'https://a.example.com:0', 'https://a.example.com:99999', 'https://a.example.com:', 'a.example.com', 'https://', 'https://[zz::1]', 'https://256.1.1.1', 'https://a_b.example.com']) {
      expect(badPaths(withHosts([h])), h).toEqual(['$.http.allowedHosts[0]']);
    }
  });
  it('rejects duplicate origins (after normalising case and default port)', () => {
    expect(badPaths(withHosts(['https://api.example.com', 'https://API.example.com:443']))).toEqual(['$.http.allowedHosts[1]']);
  });
  it('requires cap:http.fetch when allowedHosts is non-empty (error at http.allowedHosts)', () => {
    expect(badPaths({ ...minimal(), http: { allowedHosts: ['https://api.example.com'] } })).toEqual(['$.http.allowedHosts']);
  });
});

describe('parseAllowedHost', () => {
  it('parses scheme, lower-cased host, wildcard flag and default ports', () => {
    expect(parseAllowedHost('https://API.Example.com')).toEqual({ scheme: 'https', host: 'api.example.com', wildcard: false, port: 443, kind: 'dns' });
    expect(parseAllowedHost('http://api.example.com')).toMatchObject({ port: 80 });
    expect(parseAllowedHost('HTTPS://*.example.org:8443')).toEqual({ scheme: 'https', host: 'example.org', wildcard: true, port: 8443, kind: 'dns' });
    expect(parseAllowedHost('http://10.1.2.3:81')).toEqual({ scheme: 'http', host: '10.1.2.3', wildcard: false, port: 81, kind: 'ipv4' });
    expect(parseAllowedHost('https://[2001:DB8:0::1]')).toEqual({ scheme: 'https', host: '2001:db8::1', wildcard: false, port: 443, kind: 'ipv6' });
  });
  it('throws an AlgaError E_VALIDATION on an invalid origin; tryParseAllowedHost returns the message', () => {
    expect(() => parseAllowedHost('ftp://x.example.com')).toThrow(AlgaError);
    expect(tryParseAllowedHost('https://x.example.com/path')).toMatchObject({ ok: false, message: expect.stringMatching(/path/) });
  });
});

describe('hostMatchesAllowed', () => {
  const wild = parseAllowedHost('https://*.example.org');
  it('a *.example.org pattern matches direct and deeper subdomains', () => {
    expect(hostMatchesAllowed(new URL('https://a.example.org/x'), wild)).toBe(true);
    expect(hostMatchesAllowed(new URL('https://a.b.example.org/x?y=1'), wild)).toBe(true);
  });
  it('a *.example.org pattern does not match example.org itself nor look-alike domains', () => {
    expect(hostMatchesAllowed(new URL('https://example.org/'), wild)).toBe(false);
    expect(hostMatchesAllowed(new URL('https://badexample.org/'), wild)).toBe(false);
    expect(hostMatchesAllowed(new URL('https://example.org.evil.com/'), wild)).toBe(false);
  });
  it('an exact host matches only itself, case-insensitively', () => {
    const exact = parseAllowedHost('https://api.example.com');
    expect(hostMatchesAllowed(new URL('https://API.example.com/v1'), exact)).toBe(true);
    expect(hostMatchesAllowed(new URL('https://x.api.example.com/'), exact)).toBe(false);
    expect(hostMatchesAllowed(new URL('https://example.com/'), exact)).toBe(false);
  });
  it('requires the port to match, with the scheme default when absent', () => {
    const exact = parseAllowedHost('https://api.example.com');
    expect(hostMatchesAllowed(new URL('https://api.example.com:443/'), exact)).toBe(true);
    expect(hostMatchesAllowed(new URL('https://api.example.com:8443/'), exact)).toBe(false);
    const withPort = parseAllowedHost('https://*.example.org:8443');
    expect(hostMatchesAllowed(new URL('https://a.example.org:8443/'), withPort)).toBe(true);
    expect(hostMatchesAllowed(new URL('https://a.example.org/'), withPort)).toBe(false);
  });
  it('requires the scheme to match', () => {
    expect(hostMatchesAllowed(new URL('http://a.example.org/'), wild)).toBe(false);
    expect(hostMatchesAllowed(new URL('http://api.example.com:443/'), parseAllowedHost('https://api.example.com'))).toBe(false);
  });
  it('matches IP literals exactly, IPv6 without brackets', () => {
    expect(hostMatchesAllowed(new URL('http://[::1]:8080/'), parseAllowedHost('http://[0:0::1]:8080'))).toBe(true);
    expect(hostMatchesAllowed(new URL('http://127.0.0.1/'), parseAllowedHost('http://127.0.0.1'))).toBe(true);
    expect(hostMatchesAllowed(new URL('http://127.0.0.2/'), parseAllowedHost('http://127.0.0.1'))).toBe(false);
  });
});

describe('storage.namespaces and uiProxy.routes', () => {
  it('accepts namespaces matching [a-z0-9][a-z0-9_.-]{0,62}', () => {
    expect(parseManifest({ ...minimal(), capabilities: ['cap:storage.kv'], storage: { namespaces: ['cache', 'v2.state_x-y'] } }).ok).toBe(true);
  });
  it('rejects a bad namespace and a duplicate namespace at their index', () => {
    const base = { ...minimal(), capabilities: ['cap:storage.kv'] };
    expect(badPaths({ ...base, storage: { namespaces: ['Cache'] } })).toEqual(['$.storage.namespaces[0]']);
    expect(badPaths({ ...base, storage: { namespaces: ['_x'] } })).toEqual(['$.storage.namespaces[0]']);
    expect(badPaths({ ...base, storage: { namespaces: ['a'.repeat(64)] } })).toEqual(['$.storage.namespaces[0]']);
    expect(badPaths({ ...base, storage: { namespaces: ['a', 'b', 'a'] } })).toEqual(['$.storage.namespaces[2]']);
  });
  it('requires cap:storage.kv for namespaces', () => {
    expect(badPaths({ ...minimal(), storage: { namespaces: ['cache'] } })).toEqual(['$.storage.namespaces']);
  });
  it('rejects malformed ui-proxy routes at their index', () => {
    const base = { ...minimal(), capabilities: ['cap:ui.proxy'] };
    for (const r of ['GET', 'get /x', 'HEAD /x', 'GET x', 'GET /a/../b', 'GET /a//b', 'GET /files/*', 'GET  /x']) {
      expect(badPaths({ ...base, uiProxy: { routes: [r] } }), r).toEqual(['$.uiProxy.routes[0]']);
    }
    expect(badPaths({ ...base, uiProxy: { routes: ['GET /a/:id', 'GET /a/:other'] } })).toEqual(['$.uiProxy.routes[1]']);
  });
  it('requires cap:ui.proxy for routes', () => {
    expect(badPaths({ ...minimal(), uiProxy: { routes: ['GET /host/x'] } })).toEqual(['$.uiProxy.routes']);
  });
});

describe('api.endpoints', () => {
  const withEndpoints = (endpoints: unknown[]) => ({ ...minimal(), api: { endpoints } });
  it('rejects an unknown method', () => {
    expect(badPaths(withEndpoints([{ method: 'TRACE', path: '/x' }]))).toEqual(['$.api.endpoints[0].method']);
    expect(badPaths(withEndpoints([{ method: 'get', path: '/x' }]))).toEqual(['$.api.endpoints[0].method']);
  });
  it('rejects duplicate endpoints (same method and path, ignoring trailing slash and param names)', () => {
    expect(badPaths(withEndpoints([{ method: 'GET', path: '/t/:id' }, { method: 'POST', path: '/t/:id' }, { method: 'GET', path: '/t/:id' }]))).toEqual([
      '$.api.endpoints[2]',
    ]);
    expect(badPaths(withEndpoints([{ method: 'GET', path: '/t/:id' }, { method: 'GET', path: '/t/:key/' }]))).toEqual(['$.api.endpoints[1]']);
  });
  it('rejects bad paths at their own path', () => {
    for (const path of ['x', '', '/a//b', '/a/../b', '/a/./b', '/*/x', '/a/:', '/a/:1x', '/a/:id/:id', '/a b', '/a?x=1']) {
      expect(badPaths(withEndpoints([{ method: 'GET', path }])), path).toEqual(['$.api.endpoints[0].path']);
    }
  });
  it('requires method and path', () => {
    expect(badPaths(withEndpoints([{ method: 'GET' }]))).toEqual(['$.api.endpoints[0].path']);
  });
});

describe('compilePathPattern', () => {
  it('extracts named params (percent-decoded)', () => {
    expect(compilePathPattern('/tickets/:id/comments/:cid')('/tickets/42/comments/a%20b')).toEqual({ id: '42', cid: 'a b' });
  });
  it('matches literal paths exactly and case-sensitively', () => {
    const m = compilePathPattern('/tickets');
    expect(m('/tickets')).toEqual({});
    expect(m('/Tickets')).toBeNull();
    expect(m('/tickets/1')).toBeNull();
    expect(m('/')).toBeNull();
  });
  it('tolerates one trailing slash on the request and on the pattern', () => {
    expect(compilePathPattern('/tickets/:id')('/tickets/7/')).toEqual({ id: '7' });
    expect(compilePathPattern('/tickets/')('/tickets')).toEqual({});
    expect(compilePathPattern('/tickets')('/tickets//')).toBeNull();
  });
  it('a final * matches the rest of the path (zero or more segments) as params["*"]', () => {
    const m = compilePathPattern('/static/*');
    expect(m('/static/css/site.css')).toEqual({ '*': 'css/site.css' });
    expect(m('/static/a')).toEqual({ '*': 'a' });
    expect(m('/static')).toEqual({ '*': '' });
    expect(m('/other/a')).toBeNull();
  });
  it('the root pattern matches only /', () => {
    expect(compilePathPattern('/')('/')).toEqual({});
    expect(compilePathPattern('/')('/x')).toBeNull();
  });
  it('never matches a request path with .. or . segments, raw or percent-encoded', () => {
    const star = compilePathPattern('/static/*');
    const param = compilePathPattern('/files/:name');
    for (const p of ['/static/../secret', '/static/a/../../x', '/static/./a', '/static/%2e%2e/x', '/static/%2E%2E', '/static/.%2e/x']) {
      expect(star(p), p).toBeNull();
    }
    expect(param('/files/..')).toBeNull();
    expect(param('/files/%2e%2e')).toBeNull();
  });
  it('never matches encoded slashes or backslashes', () => {
    expect(compilePathPattern('/files/:name')('/files/a%2Fb')).toBeNull();
    expect(compilePathPattern('/files/:name')('/files/a%2fb')).toBeNull();
    expect(compilePathPattern('/static/*')('/static/a%2F..%2Fb')).toBeNull();
    expect(compilePathPattern('/files/:name')('/files/a%5Cb')).toBeNull();
    expect(compilePathPattern('/files/:name')('/files/a\\b')).toBeNull();
  });
  it('never matches malformed encodings, empty segments, queries or relative paths', () => {
    const m = compilePathPattern('/files/:name');
    for (const p of ['/files/%zz', '/files/%', '//files/a', '/files/a?x=1', 'files/a', '', '/files/%00']) expect(m(p), p).toBeNull();
  });
  it('throws E_VALIDATION on an invalid pattern', () => {
    expect(() => compilePathPattern('/a/*/b')).toThrow(AlgaError);
    expect(() => compilePathPattern('no-slash')).toThrow(/must start with/);
  });
});

describe('matchEndpoint', () => {
  const endpoints = [
    { method: 'GET', path: '/tickets/:id' },
    { method: 'GET', path: '/tickets/new' },
    { method: 'POST', path: '/tickets' },
    { method: 'GET', path: '/files/*' },
    { method: 'GET', path: '/files/:name' },
  ] as const;
  it('returns the endpoint and params of the declared endpoint', () => {
    expect(matchEndpoint(endpoints, 'GET', '/tickets/9')).toEqual({ endpoint: endpoints[0], params: { id: '9' } });
    expect(matchEndpoint(endpoints, 'POST', '/tickets/')).toEqual({ endpoint: endpoints[2], params: {} });
  });
  it('requires the method to match (case-insensitive input; HEAD is not implied by GET)', () => {
    expect(matchEndpoint(endpoints, 'DELETE', '/tickets/9')).toBeNull();
    expect(matchEndpoint(endpoints, 'HEAD', '/tickets/9')).toBeNull();
    expect(matchEndpoint(endpoints, 'get', '/tickets/9')?.endpoint).toBe(endpoints[0]);
  });
  it('prefers the most specific pattern: literal over :param over *', () => {
    expect(matchEndpoint(endpoints, 'GET', '/tickets/new')?.endpoint).toBe(endpoints[1]);
    expect(matchEndpoint(endpoints, 'GET', '/files/a.txt')).toEqual({ endpoint: endpoints[4], params: { name: 'a.txt' } });
    expect(matchEndpoint(endpoints, 'GET', '/files/a/b.txt')).toEqual({ endpoint: endpoints[3], params: { '*': 'a/b.txt' } });
  });
  it('returns null for undeclared paths, traversal and encoded slashes', () => {
    expect(matchEndpoint(endpoints, 'GET', '/admin')).toBeNull();
    expect(matchEndpoint(endpoints, 'GET', '/files/../tickets/1')).toBeNull();
    expect(matchEndpoint(endpoints, 'GET', '/files/a%2F..%2F..%2Fetc')).toBeNull();
    expect(matchEndpoint([], 'GET', '/')).toBeNull();
  });
  it('ignores endpoints whose pattern is invalid instead of throwing', () => {
    expect(matchEndpoint([{ method: 'GET', path: 'bad' }], 'GET', '/bad')).toBeNull();
  });
});

describe('ui', () => {
  const withUi = (ui: unknown) => ({ ...minimal(), ui });
  it('accepts an iframe entry without a menu', () => {
    expect(parseManifest(withUi({ type: 'iframe', entry: 'index.html' })).ok).toBe(true);
  });
  it('rejects an entry with .. segments', () => {
    expect(badPaths(withUi({ type: 'iframe', entry: 'ui/../../etc/passwd' }))).toEqual(['$.ui.entry']);
    expect(badPaths(withUi({ type: 'iframe', entry: '../index.html' }))).toEqual(['$.ui.entry']);
  });
  it('rejects an absolute entry, a URL, backslashes and empty segments', () => {
    for (const entry of ['/ui/index.html', 'https://evil.example.com/x.html', 'ui\\index.html', 'ui//index.html', '', './index.html']) {
      expect(badPaths(withUi({ type: 'iframe', entry })), entry).toEqual(['$.ui.entry']);
    }
  });
  it('rejects a type other than iframe and an empty menu label', () => {
    expect(badPaths(withUi({ type: 'tab', entry: 'index.html' }))).toEqual(['$.ui.type']);
    expect(badPaths(withUi({ type: 'iframe', entry: 'index.html', menu: { label: '' } }))).toEqual(['$.ui.menu.label']);
  });
});

describe('settings in the manifest', () => {
  const withSettings = (settings: unknown[], capabilities: string[] = []) => ({ ...minimal(), capabilities, settings });
  it('rejects duplicate keys at the second occurrence', () => {
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'text' }, { key: 'a', label: 'A2', type: 'number' }]))).toEqual(['$.settings[1].key']);
  });
  it('rejects a key not matching [a-zA-Z][a-zA-Z0-9_.-]{0,63}', () => {
    for (const key of ['1a', '_a', 'a b', 'a'.repeat(65), '']) {
      expect(badPaths(withSettings([{ key, label: 'A', type: 'text' }])), key).toEqual(['$.settings[0].key']);
    }
  });
  it('rejects an unknown setting type', () => {
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'color' }]))).toEqual(['$.settings[0].type']);
  });
  it('rejects a default that violates its own pattern', () => {
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'text', pattern: '[a-z]+', default: 'abc1' }]))).toEqual(['$.settings[0].default']);
  });
  it('rejects a default outside its own range', () => {
    expect(badPaths(withSettings([{ key: 'n', label: 'N', type: 'number', min: 1, max: 5, default: 6 }]))).toEqual(['$.settings[0].default']);
    expect(badPaths(withSettings([{ key: 'n', label: 'N', type: 'number', min: 1, default: 0 }]))).toEqual(['$.settings[0].default']);
  });
  it('rejects a default not among its own options', () => {
    const options = [{ value: 'a', label: 'A' }];
    expect(badPaths(withSettings([{ key: 's', label: 'S', type: 'select', options, default: 'b' }]))).toEqual(['$.settings[0].default']);
  });
  it('rejects a default of the wrong type', () => {
    expect(badPaths(withSettings([{ key: 'b', label: 'B', type: 'boolean', default: 'true' }]))).toEqual(['$.settings[0].default']);
    expect(badPaths(withSettings([{ key: 'n', label: 'N', type: 'number', default: '3' }]))).toEqual(['$.settings[0].default']);
    expect(badPaths(withSettings([{ key: 't', label: 'T', type: 'text', default: 3 }]))).toEqual(['$.settings[0].default']);
  });
  it('rejects a secret with a default', () => {
    expect(badPaths(withSettings([{ key: 'k', label: 'K', type: 'secret', default: 'hunter2' }], ['cap:secrets.get']))).toEqual([
      '$.settings[0].default',
    ]);
  });
  it('rejects a secret setting without cap:secrets.get or cap:secrets.use (at the first secret setting type)', () => {
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'text' }, { key: 'k', label: 'K', type: 'secret' }]))).toEqual([
      '$.settings[1].type',
    ]);
  });
  it('cap:secrets.use: secret settings may be bound to hosts inside http.allowedHosts; secrets.use needs http.fetch', () => {
    const http = { allowedHosts: ['https://api.example.com', 'https://*.example.org'] };
    const use = (field: Record<string, unknown>, capabilities = ['cap:http.fetch', 'cap:secrets.use']) =>
      ({ ...minimal(), capabilities, http, settings: [{ key: 'token', label: 'Token', type: 'secret', ...field }] });
    expect(parseManifest(use({})).ok).toBe(true);
    expect(parseManifest(use({ hosts: ['https://api.example.com', 'https://eu.example.org', 'https://*.example.org'] })).ok).toBe(true);
    expect(parseManifest(use({}, ['cap:http.fetch', 'cap:secrets.get'])).ok).toBe(true);
    // Outside the allowlist (another host, port or scheme), or not an origin at all.
    expect(badPaths(use({ hosts: ['https://evil.example.net', 'https://api.example.com:8443', 'http://api.example.com', 'https://example.org', 'not a url'] }))).toEqual([
      '$.settings[0].hosts[0]', '$.settings[0].hosts[1]', '$.settings[0].hosts[2]', '$.settings[0].hosts[3]', '$.settings[0].hosts[4]',
    ]);
    expect(issueAt(use({ hosts: ['https://evil.example.net'] }), '$.settings[0].hosts[0]')).toBe('https://evil.example.net is not covered by http.allowedHosts');
    expect(badPaths(use({ hosts: [] }))).toEqual(['$.settings[0].hosts']);
    expect(badPaths({ ...use({}), settings: [{ key: 'region', label: 'Region', type: 'text', hosts: ['https://api.example.com'] }] })).toEqual(['$.settings[0].hosts']);
    expect(issueAt({ ...minimal(), capabilities: ['cap:secrets.use'], settings: [{ key: 'token', label: 'Token', type: 'secret' }] }, '$.capabilities')).toMatch(/requires "cap:http.fetch"/);
  });
  it('rejects options, min/max and pattern on types that do not take them', () => {
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'text', options: [{ value: 'x', label: 'X' }] }]))).toEqual(['$.settings[0].options']);
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'text', min: 1 }]))).toEqual(['$.settings[0].min']);
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'select', options: [{ value: 'x', label: 'X' }], max: 1 }]))).toEqual(['$.settings[0].max']);
    expect(badPaths(withSettings([{ key: 'a', label: 'A', type: 'textarea', pattern: 'x' }]))).toEqual(['$.settings[0].pattern']);
  });
  it('requires select options as a non-empty array of { value, label } objects with unique values', () => {
    expect(badPaths(withSettings([{ key: 's', label: 'S', type: 'select' }]))).toEqual(['$.settings[0].options']);
    expect(badPaths(withSettings([{ key: 's', label: 'S', type: 'select', options: [] }]))).toEqual(['$.settings[0].options']);
    expect(badPaths(withSettings([{ key: 's', label: 'S', type: 'select', options: ['a', 'b'] }]))).toEqual([
      '$.settings[0].options[0]',
      '$.settings[0].options[1]',
    ]);
    const dup = [{ value: 'a', label: 'A' }, { value: 'a', label: 'A again' }];
    expect(badPaths(withSettings([{ key: 's', label: 'S', type: 'select', options: dup }]))).toEqual(['$.settings[0].options[1].value']);
  });
  it('rejects a pattern that does not compile and min greater than max', () => {
    expect(issueAt(withSettings([{ key: 'a', label: 'A', type: 'text', pattern: '([a-z' }]), '$.settings[0].pattern')).toMatch(/RegExp/);
    expect(badPaths(withSettings([{ key: 'n', label: 'N', type: 'number', min: 5, max: 1 }]))).toEqual(['$.settings[0].max']);
  });
  it('rejects an empty label', () => {
    expect(badPaths(withSettings([{ key: 'a', label: '', type: 'text' }]))).toEqual(['$.settings[0].label']);
  });
});

describe('limits', () => {
  it('accepts the bounds and rejects values outside them or non-integers', () => {
    expect(parseManifest({ ...minimal(), limits: { timeoutMs: 1, memoryMb: 16 } }).ok).toBe(true);
    expect(parseManifest({ ...minimal(), limits: { timeoutMs: 300000, memoryMb: 4096 } }).ok).toBe(true);
    expect(parseManifest({ ...minimal(), limits: {} }).ok).toBe(true);
    expect(badPaths({ ...minimal(), limits: { timeoutMs: 0 } })).toEqual(['$.limits.timeoutMs']);
    expect(badPaths({ ...minimal(), limits: { timeoutMs: 300001 } })).toEqual(['$.limits.timeoutMs']);
    expect(badPaths({ ...minimal(), limits: { memoryMb: 15 } })).toEqual(['$.limits.memoryMb']);
    expect(badPaths({ ...minimal(), limits: { memoryMb: 64.5 } })).toEqual(['$.limits.memoryMb']);
  });
  it('accepts limits.cpuMs from 10 to 300000 ms and rejects less, more, non-integers and strings', () => {
    expect(parseManifest({ ...minimal(), limits: { cpuMs: 10 } }).ok).toBe(true);
    expect(badPaths({ ...minimal(), limits: { cpuMs: 9 } })).toEqual(['$.limits.cpuMs']);
    const r = parseManifest({ ...minimal(), limits: { timeoutMs: 5000, memoryMb: 64, cpuMs: 300000 } });
    expect(r.ok && r.manifest.limits).toEqual({ timeoutMs: 5000, memoryMb: 64, cpuMs: 300000 });
    expect(badPaths({ ...minimal(), limits: { cpuMs: 0 } })).toEqual(['$.limits.cpuMs']);
    expect(badPaths({ ...minimal(), limits: { cpuMs: 300001 } })).toEqual(['$.limits.cpuMs']);
    expect(badPaths({ ...minimal(), limits: { cpuMs: 12.5 } })).toEqual(['$.limits.cpuMs']);
    expect(badPaths({ ...minimal(), limits: { cpuMs: '100' } })).toEqual(['$.limits.cpuMs']);
  });
  it('checkLimitsAgainstOperator reports limits.cpuMs above the operator maximum, when one is given', () => {
    const m = assertManifest({ ...minimal(), limits: { cpuMs: 2000 } });
    expect(checkLimitsAgainstOperator(m, { maxTimeoutMs: 1, maxMemoryMb: 16, maxCpuMs: 2000 })).toEqual([]);
    expect(checkLimitsAgainstOperator(m, { maxTimeoutMs: 1, maxMemoryMb: 16, maxCpuMs: 1000 })).toEqual([
      { path: '$.limits.cpuMs', message: 'cpuMs 2000 exceeds the operator maximum 1000' },
    ]);
    expect(checkLimitsAgainstOperator(m, { maxTimeoutMs: 1, maxMemoryMb: 16 })).toEqual([]);
  });
  it('checkLimitsAgainstOperator reports limits above the operator maxima', () => {
    const m = assertManifest({ ...minimal(), limits: { timeoutMs: 60000, memoryMb: 512 } });
    expect(checkLimitsAgainstOperator(m, { maxTimeoutMs: 60000, maxMemoryMb: 512 })).toEqual([]);
    expect(checkLimitsAgainstOperator(m, { maxTimeoutMs: 30000, maxMemoryMb: 256 }).map((i) => i.path)).toEqual([
      '$.limits.timeoutMs',
      '$.limits.memoryMb',
    ]);
    expect(checkLimitsAgainstOperator(assertManifest(minimal()), { maxTimeoutMs: 1, maxMemoryMb: 16 })).toEqual([]);
  });
});

describe('assertManifest', () => {
  it('returns the parsed manifest when valid', () => {
    expect(assertManifest(minimal()).name).toBe('com.acme.ticket-enricher');
  });
  it('throws E_MANIFEST_INVALID naming the first issue path, with all issues in details', () => {
    let err: unknown;
    try {
      assertManifest({ ...minimal(), name: 'X', bogus: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AlgaError);
    const a = err as AlgaError;
    expect(a.code).toBe('E_MANIFEST_INVALID');
    expect(a.status).toBe(422);
    expect(a.message).toContain('$.name');
    expect((a.details as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['$.name', '$.bogus']);
  });
});
