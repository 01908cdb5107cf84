/**
 * The `http` provider against REAL HTTP servers on 127.0.0.1 (port 0). The operator allowance
 * `127.0.0.0/8` (or `127.0.0.1/32`) is what lets a test reach them; without it the same URLs
 * must be refused by the address policy before any connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { httpProvider, MAX_REQUEST_BODY_BYTES } from '../../src/providers/http.ts';
import type { IncomingResponse, OutgoingRequest } from '../../src/providers/http.ts';
import type { RequestScope } from '../../src/providers/provider.ts';
import type { InstallSpec } from '@alga-psa/extension-contracts';
import { checkAddress, embeddedIPv4, operatorAllowList, setResolverForTests } from '../../src/providers/ssrf.ts';
import type { ResolvedAddress } from '../../src/providers/ssrf.ts';
import { closedPort, closeServers, failure, fetcher, header, sleep, startServer, text, type Handler, type TestServer } from './support/http-servers.ts';

afterEach(async () => {
  setResolverForTests(undefined);
  await closeServers();
});

/** A fake resolver that records what it was asked. */
function fakeResolver(table: Record<string, ResolvedAddress[]>): string[] {
  const asked: string[] = [];
  setResolverForTests(async (hostname) => {
    asked.push(hostname);
    const hit = table[hostname];
    if (!hit) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return hit;
  });
  return asked;
}

const LOOPBACK = ['127.0.0.0/8'];

// ---------------------------------------------------------------------------------------------
// Basic requests
// ---------------------------------------------------------------------------------------------

describe('http provider: allowed requests', () => {
  it('GET an allowlisted loopback server (operator allowance 127.0.0.0/8): status, headers and body come back', async () => {
    const srv = await startServer((_req, res) => {
      res.setHeader('X-Reply', 'yes');
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.setHeader('Content-Type', 'text/plain');
      res.writeHead(201);
      res.end('hello from server');
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const res = await fetch({ url: `${srv.origin}/path?q=1#frag` });
    expect(res.status).toBe(201);
    expect(text(res.body)).toBe('hello from server');
    expect(res.body).toBeInstanceOf(Uint8Array);
    expect(header(res, 'x-reply')).toEqual(['yes']);
    expect(header(res, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(header(res, 'content-type')).toEqual(['text/plain']);
    expect(srv.requests).toHaveLength(1);
    expect(srv.requests[0].url).toBe('/path?q=1');
  });

  it('POST: body and headers reach the server; the guest host header and hop-by-hop headers are dropped', async () => {
    const srv = await startServer((_req, res) => res.end('ok'));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const payload = new TextEncoder().encode('{"hello":"world"}');
    const res = await fetch({
      method: 'post',
      url: `${srv.origin}/submit`,
      headers: [
        ['Content-Type', 'application/json'],
        ['X-Api-Key', 'k-123'],
        ['X-Multi', 'one'],
        ['X-Multi', 'two'],
        ['Host', 'evil.internal'],
        ['Connection', 'close, X-Api-Key'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Authorization', 'Basic abc'],
        ['Transfer-Encoding', 'chunked'],
        ['TE', 'trailers'],
        ['Trailer', 'X-T'],
        ['Upgrade', 'websocket'],
        ['Content-Length', '9999'],
      ],
      body: payload,
    });
    expect(res.status).toBe(200);
    const seen = srv.requests[0];
    expect(seen.method).toBe('POST');
    expect(seen.body.toString()).toBe('{"hello":"world"}');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-api-key']).toBe('k-123');
    expect(seen.headers['x-multi']).toBe('one, two');
    expect(seen.headers.host).toBe(`127.0.0.1:${srv.port}`);
    expect(seen.headers['content-length']).toBe(String(payload.byteLength));
    for (const h of ['keep-alive', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade']) {
      expect(seen.headers[h], h).toBeUndefined();
    }
    expect(seen.headers.connection ?? 'keep-alive').not.toContain('X-Api-Key');
  });

  it('pins the connection to the checked address: a name that exists only in the (fake) resolver is reached, with Host = the name', async () => {
    const srv = await startServer((_req, res) => res.end('pinned'));
    // "pinned.invalid" does not exist in real DNS: if undici resolved the name again instead of
    // using the checked address, the request would fail with ENOTFOUND.
    const asked = fakeResolver({ 'pinned.invalid': [{ address: '127.0.0.1', family: 4 }] });
    const fetch = fetcher({ allowedHosts: [`http://pinned.invalid:${srv.port}`], cidrs: LOOPBACK });
    const res = await fetch({ url: `http://pinned.invalid:${srv.port}/x` });
    expect(text(res.body)).toBe('pinned');
    expect(srv.requests[0].headers.host).toBe(`pinned.invalid:${srv.port}`);
    expect(asked).toEqual(['pinned.invalid']);
  });
});

// ---------------------------------------------------------------------------------------------
// Allowlist
// ---------------------------------------------------------------------------------------------

describe('http provider: allowlist (default deny)', () => {
  it('refuses an origin not in the allowlist, a wrong port and a wrong scheme, before any I/O', async () => {
    const srv = await startServer((_req, res) => res.end('should not be reached'));
    const asked = fakeResolver({});
    const fetch = fetcher({ allowedHosts: [srv.origin, 'https://api.example.com'], cidrs: LOOPBACK });

    const notListed = await failure(fetch({ url: 'http://127.0.0.2:1234/' }));
    expect(notListed.tag).toBe('denied');
    expect(String(notListed.val)).toContain('http://127.0.0.2:1234');

    const wrongPort = await failure(fetch({ url: `http://127.0.0.1:${srv.port + 1}/` }));
    expect(wrongPort.tag).toBe('denied');
    expect(String(wrongPort.val)).toContain(`http://127.0.0.1:${srv.port + 1}`);

    const wrongScheme = await failure(fetch({ url: `https://127.0.0.1:${srv.port}/` }));
    expect(wrongScheme.tag).toBe('denied');

    const httpInsteadOfHttps = await failure(fetch({ url: 'http://api.example.com/' }));
    expect(httpInsteadOfHttps.tag).toBe('denied');

    expect(srv.connections).toBe(0);
    expect(asked).toEqual([]);
  });

  it('an empty allowlist denies everything', async () => {
    const srv = await startServer((_req, res) => res.end('no'));
    const fetch = fetcher({ allowedHosts: [], cidrs: LOOPBACK });
    expect((await failure(fetch({ url: `${srv.origin}/` }))).tag).toBe('denied');
    expect(srv.connections).toBe(0);
  });

  it('wildcard *.example.org: matches names strictly below it, on the listed scheme and port only', async () => {
    const srv = await startServer((_req, res) => res.end('wild'));
    const to127: ResolvedAddress[] = [{ address: '127.0.0.1', family: 4 }];
    const asked = fakeResolver({ 'api.example.org': to127, 'a.b.example.org': to127, 'example.org': to127 });
    const fetch = fetcher({ allowedHosts: [`http://*.example.org:${srv.port}`, 'not a valid origin'], cidrs: LOOPBACK });

    expect(text((await fetch({ url: `http://api.example.org:${srv.port}/` })).body)).toBe('wild');
    expect(text((await fetch({ url: `http://A.B.Example.ORG:${srv.port}/` })).body)).toBe('wild');
    expect(asked).toEqual(['api.example.org', 'a.b.example.org']);
    expect(srv.requests.map((r) => r.headers.host)).toEqual([`api.example.org:${srv.port}`, `a.b.example.org:${srv.port}`]);

    asked.length = 0;
    for (const url of [
      `http://example.org:${srv.port}/`, // the apex is not below itself
      `http://evilexample.org:${srv.port}/`,
      `http://api.example.org.evil.test:${srv.port}/`,
      `http://api.example.org:${srv.port + 1}/`,
      `https://api.example.org:${srv.port}/`,
      `http://api.example.org/`,
    ]) {
      const e = await failure(fetch({ url }));
      expect(e.tag, url).toBe('denied');
      expect(String(e.val), url).toContain('not in http.allowedHosts');
    }
    expect(asked).toEqual([]);
    expect(srv.requests).toHaveLength(2);
  });
});

// ---------------------------------------------------------------------------------------------
// Address policy (SSRF)
// ---------------------------------------------------------------------------------------------

describe('http provider: address policy without an operator allowance', () => {
  it('refuses loopback, metadata, private, CGNAT, mapped and NAT64 addresses before connecting, even when allowlisted', async () => {
    const srv = await startServer((_req, res) => res.end('must not be reached'));
    const p = srv.port;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://[::1]:${p}/`,
      `http://localhost:${p}/`, // resolves to loopback through the real system resolver
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/',
      'http://100.64.0.1/',
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[64:ff9b::127.0.0.1]:${p}/`,
      `http://[2002:7f00:1::]:${p}/`, // 6to4 of 127.0.0.1
      `http://2130706433:${p}/`, // 127.0.0.1 as a decimal integer (WHATWG URL normalises it)
      `http://0.0.0.0:${p}/`,
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://[fd00:ec2::254]/',
      'http://[fe80::1]/',
    ];
    const allowedHosts = urls.map((u) => new URL(u).origin);
    const fetch = fetcher({ allowedHosts, cidrs: [] });
    for (const url of urls) {
      const started = Date.now();
      const e = await failure(fetch({ url, timeoutMs: 4000 }));
      expect(e.tag, url).toBe('denied');
      expect(String(e.val), url).toMatch(/private|loopback|metadata|reserved/);
      expect(Date.now() - started, url).toBeLessThan(1000);
    }
    expect(srv.connections).toBe(0);
  });

  it('the same loopback URL works once the operator allows 127.0.0.0/8 (so the refusal above is the address policy)', async () => {
    const srv = await startServer((_req, res) => res.end('ok'));
    const urls = [`http://127.0.0.1:${srv.port}/`, `http://localhost:${srv.port}/`, `http://[::ffff:127.0.0.1]:${srv.port}/`];
    const fetch = fetcher({ allowedHosts: urls.map((u) => new URL(u).origin), cidrs: LOOPBACK });
    for (const url of urls) {
      // localhost may resolve to ::1 as well, which 127.0.0.0/8 does not cover: then it is denied, which is correct.
      const out = await fetch({ url }).then(
        (r) => text(r.body),
        (e) => (e as { tag: string }).tag,
      );
      if (url.includes('localhost')) expect(['ok', 'denied']).toContain(out);
      else expect(out, url).toBe('ok');
    }
    expect(srv.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('a host name resolving to a forbidden address is denied (fake DNS resolver: a real public DNS name pointing at 169.254.169.254 cannot be created offline)', async () => {
    const srv = await startServer((_req, res) => res.end('no'));
    const asked = fakeResolver({
      'metadata.attacker.example': [{ address: '169.254.169.254', family: 4 }],
      'mixed.attacker.example': [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      'v6.attacker.example': [{ address: '::ffff:169.254.169.254', family: 6 }],
    });
    const fetch = fetcher({
      allowedHosts: ['http://metadata.attacker.example', `http://mixed.attacker.example:${srv.port}`, 'http://v6.attacker.example'],
      cidrs: [],
    });
    const meta = await failure(fetch({ url: 'http://metadata.attacker.example/latest/meta-data/iam' }));
    expect(meta.tag).toBe('denied');
    expect(String(meta.val)).toContain('169.254.169.254');
    // EVERY resolved address must pass: one loopback address among public ones is enough to refuse.
    const mixed = await failure(fetch({ url: `http://mixed.attacker.example:${srv.port}/` }));
    expect(mixed.tag).toBe('denied');
    expect(String(mixed.val)).toContain('127.0.0.1');
    expect((await failure(fetch({ url: 'http://v6.attacker.example/' }))).tag).toBe('denied');
    expect(asked).toEqual(['metadata.attacker.example', 'mixed.attacker.example', 'v6.attacker.example']);
    expect(srv.connections).toBe(0);
  });

  it('metadata addresses stay refused even when an operator CIDR covers them', async () => {
    const fetch = fetcher({ allowedHosts: ['http://169.254.169.254', 'http://[fd00:ec2::254]'], cidrs: ['169.254.0.0/16', 'fc00::/7'] });
    const e = await failure(fetch({ url: 'http://169.254.169.254/latest/meta-data' }));
    expect(e.tag).toBe('denied');
    expect(String(e.val)).toContain('metadata');
    expect((await failure(fetch({ url: 'http://[fd00:ec2::254]/' }))).tag).toBe('denied');
  });

  it('DNS failure → transport', async () => {
    fakeResolver({});
    const fetch = fetcher({ allowedHosts: ['http://nowhere.invalid'], cidrs: [] });
    const e = await failure(fetch({ url: 'http://nowhere.invalid/' }));
    expect(e.tag).toBe('transport');
    expect(String(e.val)).toContain('ENOTFOUND');
  });
});

describe('ssrf address policy (unit)', () => {
  const none = operatorAllowList([]);
  it.each([
    '127.0.0.1', '127.255.255.254', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.0.1',
    '169.254.169.254', '100.64.0.1', '100.127.255.255', '0.0.0.0', '0.1.2.3', '224.0.0.1', '239.255.255.250',
    '240.0.0.1', '255.255.255.255', '192.0.2.1', '198.18.0.1', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1',
    'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::127.0.0.1',
    '64:ff9b::a9fe:a9fe', '2002:a00:1::1', 'fd00:ec2::254', '2001:db8::1', '::127.0.0.1',
  ])('refuses %s', (addr) => {
    expect(checkAddress(addr, none).ok).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '64:ff9b::8.8.8.8', '::ffff:8.8.8.8', '2002:808:808::1'])(
    'allows public %s',
    (addr) => {
      expect(checkAddress(addr, none).ok).toBe(true);
    },
  );

  it('operator CIDRs allow exactly their range; invalid entries are ignored', () => {
    const one = operatorAllowList(['127.0.0.1/32', 'garbage', '10.0.0.0/99']);
    expect(checkAddress('127.0.0.1', one).ok).toBe(true);
    expect(checkAddress('::ffff:127.0.0.1', one).ok).toBe(true);
    expect(checkAddress('127.0.0.2', one).ok).toBe(false);
    expect(checkAddress('10.0.0.1', one).ok).toBe(false);
    const v6 = operatorAllowList(['::1/128', 'fd12::/16']);
    expect(checkAddress('::1', v6).ok).toBe(true);
    expect(checkAddress('fd12:1::5', v6).ok).toBe(true);
    expect(checkAddress('fd13::5', v6).ok).toBe(false);
  });

  it('extracts the IPv4 embedded in mapped, NAT64 and 6to4 addresses', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIPv4('2002:c0a8:101::')).toBe('192.168.1.1');
    expect(embeddedIPv4('2606:4700::1111')).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

function redirectTo(status: number, location: string): Handler {
  return (_req, res) => {
    res.writeHead(status, { Location: location });
    res.end('redirect body');
  };
}

describe('http provider: redirects (every hop re-checked)', () => {
  it('a redirect to 169.254.169.254 is denied even though the first hop is allowed (allowance 127.0.0.1/32 only)', async () => {
    const srv = await startServer(redirectTo(302, 'http://169.254.169.254/latest/meta-data/'));
    const fetch = fetcher({ allowedHosts: [srv.origin, 'http://169.254.169.254'], cidrs: ['127.0.0.1/32'] });
    const started = Date.now();
    const e = await failure(fetch({ url: `${srv.origin}/start`, timeoutMs: 4000 }));
    expect(e.tag).toBe('denied');
    expect(String(e.val)).toContain('169.254.169.254');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(srv.requests).toHaveLength(1);
  });

  it('a redirect to a host name that now resolves to a private address is denied (DNS re-checked per hop, fake resolver)', async () => {
    const srv = await startServer(redirectTo(301, 'http://internal.attacker.example/'));
    const asked = fakeResolver({ 'internal.attacker.example': [{ address: '10.0.0.5', family: 4 }] });
    const fetch = fetcher({ allowedHosts: [srv.origin, 'http://internal.attacker.example'], cidrs: ['127.0.0.1/32'] });
    const e = await failure(fetch({ url: `${srv.origin}/` }));
    expect(e.tag).toBe('denied');
    expect(String(e.val)).toContain('10.0.0.5');
    expect(asked).toEqual(['internal.attacker.example']);
  });

  it('a redirect to an origin outside the allowlist is denied, and that origin gets no request', async () => {
    const other = await startServer((_req, res) => res.end('other'));
    const srv = await startServer(redirectTo(302, `${other.origin}/steal`));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const e = await failure(fetch({ url: `${srv.origin}/` }));
    expect(e.tag).toBe('denied');
    expect(String(e.val)).toContain(other.origin);
    expect(other.connections).toBe(0);
  });

  it('a redirect to a non-http scheme is denied', async () => {
    const srv = await startServer(redirectTo(302, 'file:///etc/passwd'));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    expect((await failure(fetch({ url: `${srv.origin}/` }))).tag).toBe('denied');
  });

  it('follows up to httpMaxRedirects hops; one more is a transport error', async () => {
    const srv = await startServer((req, res) => {
      const n = Number(/^\/r\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
      if (n >= 100) {
        res.end('end');
        return;
      }
      res.writeHead(302, { Location: `/r/${n + 1}` });
      res.end();
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, maxRedirects: 5 });
    // exactly 5 redirects: /r/95 → … → /r/100
    const ok = await fetch({ url: `${srv.origin}/r/95` });
    expect(text(ok.body)).toBe('end');
    expect(srv.requests).toHaveLength(6);

    srv.requests.length = 0;
    const e = await failure(fetch({ url: `${srv.origin}/r/0` }));
    expect(e).toEqual({ tag: 'transport', val: 'too many redirects' });
    expect(srv.requests).toHaveLength(6); // the first request + 5 followed redirects
  });

  it('303 turns POST into GET without a body; 301/302 too; 307 and 308 keep method and body', async () => {
    const target = await startServer((_req, res) => res.end('target'));
    const byStatus = new Map<number, TestServer>();
    for (const status of [301, 302, 303, 307, 308]) byStatus.set(status, await startServer(redirectTo(status, `${target.origin}/t`)));
    const fetch = fetcher({ allowedHosts: [target.origin, ...[...byStatus.values()].map((s) => s.origin)], cidrs: LOOPBACK });
    const seen: Record<number, { method: string; body: string; contentType: string | undefined }> = {};
    for (const [status, srv] of byStatus) {
      target.requests.length = 0;
      const res = await fetch({
        method: 'POST',
        url: `${srv.origin}/form`,
        headers: [['Content-Type', 'text/plain']],
        body: new TextEncoder().encode(`payload-${status}`),
      });
      expect(text(res.body)).toBe('target');
      expect(srv.requests[0].body.toString()).toBe(`payload-${status}`);
      const t = target.requests[0];
      seen[status] = { method: t.method, body: t.body.toString(), contentType: t.headers['content-type'] };
    }
    expect(seen[303]).toEqual({ method: 'GET', body: '', contentType: undefined });
    expect(seen[301]).toEqual({ method: 'GET', body: '', contentType: undefined });
    expect(seen[302]).toEqual({ method: 'GET', body: '', contentType: undefined });
    expect(seen[307]).toEqual({ method: 'POST', body: 'payload-307', contentType: 'text/plain' });
    expect(seen[308]).toEqual({ method: 'POST', body: 'payload-308', contentType: 'text/plain' });
  });

  it('drops Authorization and Cookie when a redirect changes origin, keeps them on a same-origin redirect', async () => {
    const other = await startServer((_req, res) => res.end('other'));
    const srv = await startServer((req, res) => {
      if (req.url === '/same') return redirectTo(302, '/landing')(req, res, Buffer.alloc(0), srv);
      if (req.url === '/cross') return redirectTo(307, `${other.origin}/landing`)(req, res, Buffer.alloc(0), srv);
      res.end('landed');
    });
    const fetch = fetcher({ allowedHosts: [srv.origin, other.origin], cidrs: LOOPBACK });
    const headers: Array<[string, string]> = [
      ['Authorization', 'Bearer top-secret'],
      ['Cookie', 'session=abc'],
      ['X-Trace', 't-1'],
    ];

    await fetch({ url: `${srv.origin}/same`, headers });
    const same = srv.requests[1];
    expect(same.url).toBe('/landing');
    expect(same.headers.authorization).toBe('Bearer top-secret');
    expect(same.headers.cookie).toBe('session=abc');

    await fetch({ url: `${srv.origin}/cross`, headers });
    expect(srv.requests[2].headers.authorization).toBe('Bearer top-secret');
    const cross = other.requests[0];
    expect(cross.url).toBe('/landing');
    expect(cross.headers.authorization).toBeUndefined();
    expect(cross.headers.cookie).toBeUndefined();
    expect(cross.headers['x-trace']).toBe('t-1');
  });
});

// ---------------------------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------------------------

describe('http provider: timeouts', () => {
  it('guest timeoutMs: a server that delays its headers → timeout within ~timeout + 200 ms', async () => {
    const srv = await startServer((_req, res) => {
      const t = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(t));
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const started = Date.now();
    const e = await failure(fetch({ url: `${srv.origin}/slow`, timeoutMs: 300 }));
    const elapsed = Date.now() - started;
    expect(e).toEqual({ tag: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(500);
  });

  it('the request deadline (minus a 50 ms margin) bounds a call without timeoutMs, and a larger timeoutMs', async () => {
    const srv = await startServer((_req, res) => {
      const t = setTimeout(() => res.end('late'), 3000);
      res.on('close', () => clearTimeout(t));
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, deadlineMs: Date.now() + 400 });
    const started = Date.now();
    const e = await failure(fetch({ url: `${srv.origin}/slow`, timeoutMs: 10_000 }));
    const elapsed = Date.now() - started;
    expect(e).toEqual({ tag: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(550);
  });

  it('a deadline already (almost) passed → timeout without connecting', async () => {
    const srv = await startServer((_req, res) => res.end('x'));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, deadlineMs: Date.now() + 30 });
    expect(await failure(fetch({ url: `${srv.origin}/` }))).toEqual({ tag: 'timeout' });
    expect(srv.connections).toBe(0);
  });

  it('a server that sends headers and then stalls the body → timeout, and the connection is closed', async () => {
    let closed = false;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write('only part of the body');
      res.on('close', () => (closed = true));
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const started = Date.now();
    const e = await failure(fetch({ url: `${srv.origin}/stall`, timeoutMs: 300 }));
    expect(e).toEqual({ tag: 'timeout' });
    expect(Date.now() - started).toBeLessThan(500);
    for (let i = 0; i < 50 && !closed; i++) await sleep(20);
    expect(closed).toBe(true);
  });

  it('a slow DNS answer counts against the timeout', async () => {
    setResolverForTests(() => new Promise(() => {})); // never answers
    const fetch = fetcher({ allowedHosts: ['http://slow-dns.example'], cidrs: [] });
    const started = Date.now();
    expect(await failure(fetch({ url: 'http://slow-dns.example/', timeoutMs: 200 }))).toEqual({ tag: 'timeout' });
    expect(Date.now() - started).toBeLessThan(400);
  });
});

// ---------------------------------------------------------------------------------------------
// Response size cap
// ---------------------------------------------------------------------------------------------

describe('http provider: response size cap', () => {
  it('a declared content-length above the cap → too-large', async () => {
    let closed = false;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(5000) });
      res.write(Buffer.alloc(100));
      res.on('close', () => (closed = true)); // the rest is never sent
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, maxBytes: 1024 });
    expect(await failure(fetch({ url: `${srv.origin}/big` }))).toEqual({ tag: 'too-large' });
    for (let i = 0; i < 50 && !closed; i++) await sleep(20);
    expect(closed).toBe(true);
  });

  it('an endless chunked body (no content-length) → too-large, and the provider stops reading (the server sees the socket closed)', async () => {
    let written = 0;
    let closed = false;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const timer = setInterval(() => {
        if (closed) return;
        res.write(chunk);
        written += chunk.length;
      }, 5);
      res.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    });
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, maxBytes: 64 * 1024 });
    expect(await failure(fetch({ url: `${srv.origin}/stream`, timeoutMs: 4000 }))).toEqual({ tag: 'too-large' });
    for (let i = 0; i < 50 && !closed; i++) await sleep(20);
    expect(closed).toBe(true);
    expect(written).toBeLessThan(4 * 1024 * 1024);
  });

  it('a body exactly at the cap is returned', async () => {
    const srv = await startServer((_req, res) => res.end(Buffer.alloc(1024, 0x62)));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK, maxBytes: 1024 });
    expect((await fetch({ url: `${srv.origin}/` })).body.byteLength).toBe(1024);
  });
});

// ---------------------------------------------------------------------------------------------
// Invalid requests, transport errors, denied()
// ---------------------------------------------------------------------------------------------

describe('http provider: invalid requests', () => {
  it('refuses CR/LF in headers, bad names, TRACE/CONNECT, bad URLs, userinfo and oversized bodies before any I/O', async () => {
    const srv = await startServer((_req, res) => res.end('no'));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const url = `${srv.origin}/`;
    const cases: Array<[string, Partial<OutgoingRequest>]> = [
      ['CRLF in a header value', { url, headers: [['X-A', 'ok\r\nX-Injected: 1']] }],
      ['LF in a header value', { url, headers: [['X-A', 'ok\nbad']] }],
      ['CRLF in a header name', { url, headers: [['X-A\r\nX-B', 'v']] }],
      ['space in a header name', { url, headers: [['X A', 'v']] }],
      ['TRACE', { url, method: 'TRACE' }],
      ['trace (lower case)', { url, method: 'trace' }],
      ['CONNECT', { url, method: 'CONNECT' }],
      ['method with a space', { url, method: 'GE T' }],
      ['unparseable URL', { url: 'not a url' }],
      ['relative URL', { url: '/just/a/path' }],
      // Decision: a non-http(s) scheme is a malformed request (invalid-request), not a policy refusal.
      ['ftp URL', { url: 'ftp://127.0.0.1/file' }],
      ['userinfo', { url: `http://user:pw@127.0.0.1:${srv.port}/` }],
      ['body over 10 MiB', { url, method: 'POST', body: new Uint8Array(MAX_REQUEST_BODY_BYTES + 1) }],
    ];
    for (const [name, req] of cases) {
      const e = await failure(fetch(req));
      expect(e.tag, name).toBe('invalid-request');
      expect(typeof e.val, name).toBe('string');
    }
    expect(srv.connections).toBe(0);
  });

  it('a body of exactly 10 MiB is accepted', async () => {
    const srv = await startServer((_req, res) => res.end('got it'));
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    const res = await fetch({ url: `${srv.origin}/`, method: 'PUT', body: new Uint8Array(MAX_REQUEST_BODY_BYTES) });
    expect(text(res.body)).toBe('got it');
    expect(srv.requests[0].body.byteLength).toBe(MAX_REQUEST_BODY_BYTES);
  });

  it('malformed records from the guest side become invalid-request, never a non-variant throw', async () => {
    const fns = httpProvider.bind(
      { deadlineMs: Date.now() + 5000, operator: { httpAllowedPrivateCidrs: [], httpMaxResponseBytes: 1, httpMaxRedirects: 1, gatewayUrl: undefined } } as unknown as RequestScope,
      httpProvider.configure({ httpAllowedHosts: ['http://a.example'] } as InstallSpec),
    );
    for (const bad of [null, {}, { method: 'GET', url: 'http://a.example/', headers: 'x' }, { method: 'GET', url: 'http://a.example/', headers: [], body: 'str' }]) {
      const e = await failure(fns.fetch(bad) as Promise<unknown>);
      expect(e.tag, JSON.stringify(bad)).toBe('invalid-request');
    }
  });
});

describe('http provider: transport errors and denied()', () => {
  it('connection refused (allowlisted, allowed, closed port) → transport, without the query string', async () => {
    const port = await closedPort();
    const fetch = fetcher({ allowedHosts: [`http://127.0.0.1:${port}`], cidrs: LOOPBACK });
    const e = await failure(fetch({ url: `http://127.0.0.1:${port}/x?token=super-secret-token` }));
    expect(e.tag).toBe('transport');
    expect(String(e.val)).toContain('ECONNREFUSED');
    expect(String(e.val)).not.toContain('super-secret-token');
  });

  it('a server that resets the connection → transport', async () => {
    const srv = await startServer((req) => req.socket.destroy());
    const fetch = fetcher({ allowedHosts: [srv.origin], cidrs: LOOPBACK });
    expect((await failure(fetch({ url: `${srv.origin}/` }))).tag).toBe('transport');
  });

  it('denied() answers every call with the denied variant', async () => {
    const fns = httpProvider.denied();
    const e = await failure(fns.fetch({ method: 'GET', url: 'https://api.example.com/', headers: [], body: undefined, timeoutMs: undefined }) as Promise<unknown>);
    expect(e).toEqual({ tag: 'denied', val: 'cap:http.fetch is not granted to this install' });
    expect(httpProvider.asyncFunctions).toEqual(['fetch']);
    expect(httpProvider.capability).toBe('cap:http.fetch');
    expect(httpProvider.witInterface).toBe('http');
  });
});
