/**
 * Zero-knowledge secrets (cap:secrets.use): the `http` provider fills `{{secret:<key>}}`
 * placeholders on the host, against REAL loopback servers that record what reached them. Each
 * test checks both what the server received and that the guest's side (the response, the
 * error) never holds the value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PreparedSecretUse } from '../../src/providers/secret-substitution.ts';
import { closedPort, closeServers, failure, fetcher, header, startServer, text, type TestServer } from './support/http-servers.ts';

afterEach(closeServers);

const LOOPBACK = ['127.0.0.0/8'];
const TOKEN = 'tok_9f8e7d6c5b4a&/=?#x';

/** What `prepare` posts for an install whose secrets are `values`, bound as `hosts` says. */
function prepared(values: Record<string, string>, hosts: Record<string, string[]>, extra: Partial<Extract<PreparedSecretUse['secrets'], { state: 'ready' }>> = {}): PreparedSecretUse {
  return { secrets: { state: 'ready', values: { ...values }, undecryptable: [], ...extra }, hosts };
}

/** Two real servers on two origins; `api` echoes what it got (headers, URL) in its body and in a header. */
async function twoOrigins(): Promise<{ api: TestServer; other: TestServer }> {
  const echo = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    res.setHeader('x-echo-auth', String(req.headers.authorization ?? ''));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization ?? null, apiKey: req.headers['x-api-key'] ?? null }));
  };
  return { api: await startServer(echo), other: await startServer(echo) };
}

const containsSecret = (value: unknown) => JSON.stringify(value).includes('tok_9f8e7d6c5b4a') || JSON.stringify(value).includes(encodeURIComponent(TOKEN));

describe('http provider: {{secret:key}} placeholders (cap:secrets.use)', () => {
  it('fills a header and the URL on the host for a bound origin; the server gets the value, the guest gets it redacted', async () => {
    const { api } = await twoOrigins();
    const sensitive: string[] = [];
    const fetch = fetcher({ allowedHosts: [api.origin], cidrs: LOOPBACK, prepared: prepared({ apiToken: TOKEN }, { apiToken: [api.origin] }), sensitive });
    const res = await fetch({
      url: `${api.origin}/v1/{{secret:apiToken}}/x?key={{secret:apiToken}}&q=1`,
      headers: [['Authorization', 'Bearer {{secret:apiToken}}'], ['X-Trace', 'plain']],
    });
    expect(res.status).toBe(200);
    // What reached the API: the value itself in the header, percent-encoded in the path and query.
    const got = api.requests[0];
    expect(got.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(got.headers['x-trace']).toBe('plain');
    expect(got.url).toBe(`/v1/${encodeURIComponent(TOKEN)}/x?key=${encodeURIComponent(TOKEN)}&q=1`);
    expect(new URL(got.url, api.origin).searchParams.get('key')).toBe(TOKEN);
    // What the guest sees: the echo is redacted in the body and in the headers.
    const body = JSON.parse(text(res.body));
    expect(body.authorization).toBe('Bearer [redacted]');
    expect(body.url).toBe('/v1/[redacted]/x?key=[redacted]&q=1');
    expect(header(res, 'x-echo-auth')).toEqual(['Bearer [redacted]']);
    expect(containsSecret({ body: text(res.body), headers: res.headers })).toBe(false);
    // And the worker's log redaction knows the value.
    expect(sensitive).toContain(TOKEN);
  });

  it('a secret bound to one host cannot be sent to another allowlisted host: denied, naming the key and origin, and that host gets nothing', async () => {
    const { api, other } = await twoOrigins();
    const fetch = fetcher({ allowedHosts: [api.origin, other.origin], cidrs: LOOPBACK, prepared: prepared({ apiToken: TOKEN }, { apiToken: [api.origin] }) });
    for (const req of [
      { url: `${other.origin}/steal`, headers: [['X-Api-Key', '{{secret:apiToken}}']] as Array<[string, string]> },
      { url: `${other.origin}/steal?k={{secret:apiToken}}` },
    ]) {
      const e = await failure(fetch(req));
      expect(e).toEqual({ tag: 'denied', val: `secret apiToken may not be sent to ${other.origin}` });
    }
    expect(other.requests).toHaveLength(0);
    // Outside the allowlist altogether, the allowlist refuses it first.
    const e = await failure(fetch({ url: 'http://127.0.0.1:1/x', headers: [['X-Api-Key', '{{secret:apiToken}}']] }));
    expect(e.tag).toBe('denied');
    expect(String(e.val)).toContain('is not in http.allowedHosts');
  });

  it('without cap:secrets.use a placeholder is denied and nothing is sent', async () => {
    const { api } = await twoOrigins();
    const fetch = fetcher({ allowedHosts: [api.origin], cidrs: LOOPBACK });
    const e = await failure(fetch({ url: `${api.origin}/x`, headers: [['Authorization', 'Bearer {{secret:apiToken}}']] }));
    expect(e).toEqual({ tag: 'denied', val: '{{secret:…}} placeholders need cap:secrets.use, which this install was not granted' });
    expect(api.requests).toHaveLength(0);
  });

  it('refuses, before any I/O: a placeholder in the host, a malformed placeholder, an unknown or unset key, a short value, a value a header cannot carry', async () => {
    const { api } = await twoOrigins();
    const values = { apiToken: TOKEN, short: 'abc', crlf: 'good-part\r\nX-Injected: 1', broken: 'whatever-value' };
    const hosts = { apiToken: [api.origin], short: [api.origin], crlf: [api.origin], broken: [api.origin], unset: [api.origin] };
    const fetch = fetcher({ allowedHosts: [api.origin], cidrs: LOOPBACK, prepared: prepared(values, hosts, { undecryptable: ['broken'], values: { apiToken: TOKEN, short: 'abc', crlf: values.crlf } }) });
    const cases: Array<[Record<string, unknown>, string, string | RegExp]> = [
      [{ url: 'http://{{secret:apiToken}}.example.com/' }, 'invalid-request', /only appear in the URL path or query/],
      [{ url: `http://127.0.0.1:{{secret:apiToken}}/` }, 'invalid-request', /only appear in the URL path or query|not an absolute URL/],
      [{ url: `${api.origin}/x`, headers: [['Authorization', 'Bearer {{secret:apiToken}']] }, 'invalid-request', 'malformed secret placeholder: write {{secret:<setting key>}}'],
      [{ url: `${api.origin}/x`, headers: [['Authorization', '{{secret:nope}}']] }, 'denied', 'nope is not a secret setting of this extension'],
      [{ url: `${api.origin}/x`, headers: [['Authorization', '{{secret:unset}}']] }, 'denied', 'secret unset is not set; ask an admin to set it on the settings page'],
      [{ url: `${api.origin}/x`, headers: [['Authorization', '{{secret:broken}}']] }, 'denied', 'secret broken could not be decrypted; ask an admin to set it again'],
      [{ url: `${api.origin}/x?k={{secret:short}}` }, 'denied', /shorter than 8 characters/],
      [{ url: `${api.origin}/x`, headers: [['Authorization', '{{secret:crlf}}']] }, 'invalid-request', /cannot be sent in a header/],
    ];
    for (const [req, tag, message] of cases) {
      const e = await failure(fetch(req));
      expect(e.tag, JSON.stringify(req)).toBe(tag);
      if (typeof message === 'string') expect(e.val).toBe(message);
      else expect(String(e.val)).toMatch(message);
      expect(JSON.stringify(e)).not.toContain('good-part');
      expect(containsSecret(e)).toBe(false);
    }
    expect(api.requests).toHaveLength(0);
  });

  it('the secrets backend being down is a transport error naming the key; a request without placeholders still goes out', async () => {
    const { api } = await twoOrigins();
    const fetch = fetcher({ allowedHosts: [api.origin], cidrs: LOOPBACK, prepared: { secrets: { state: 'unavailable', reason: 'the secrets backend is unavailable' }, hosts: { apiToken: [api.origin] } } });
    expect(await failure(fetch({ url: `${api.origin}/x`, headers: [['Authorization', '{{secret:apiToken}}']] }))).toEqual({ tag: 'transport', val: 'secret apiToken is unavailable: the secrets backend is unavailable' });
    expect((await fetch({ url: `${api.origin}/plain` })).status).toBe(200);
    expect(api.requests.map((r) => r.url)).toEqual(['/plain']);
  });

  it('a header carrying a secret is dropped when a redirect changes origin, kept on a same-origin redirect', async () => {
    const other = await startServer((_req, res) => res.end('other'));
    const api = await startServer((req, res) => {
      if (req.url === '/same') { res.writeHead(302, { location: '/landing' }); return res.end(); }
      if (req.url === '/cross') { res.writeHead(307, { location: `${other.origin}/landing` }); return res.end(); }
      res.end('landed');
    });
    const fetch = fetcher({ allowedHosts: [api.origin, other.origin], cidrs: LOOPBACK, prepared: prepared({ apiToken: TOKEN }, { apiToken: [api.origin, other.origin] }) });
    const headers: Array<[string, string]> = [['X-Api-Key', '{{secret:apiToken}}'], ['X-Trace', 't-1']];
    await fetch({ url: `${api.origin}/same`, headers });
    expect(api.requests[1].headers['x-api-key']).toBe(TOKEN);
    await fetch({ url: `${api.origin}/cross`, headers });
    expect(api.requests[2].headers['x-api-key']).toBe(TOKEN);
    expect(other.requests[0].headers['x-api-key']).toBeUndefined();
    expect(other.requests[0].headers['x-trace']).toBe('t-1');
  });

  it('every response is redacted, with or without placeholders: an API that echoes a credential it was sent earlier does not hand it over', async () => {
    const api = await startServer((_req, res) => res.end(`{"profile":{"key":"${TOKEN}","escaped":${JSON.stringify(TOKEN)}}}`));
    const fetch = fetcher({ allowedHosts: [api.origin], cidrs: LOOPBACK, prepared: prepared({ apiToken: TOKEN }, { apiToken: [api.origin] }) });
    const res = await fetch({ url: `${api.origin}/me` });
    expect(text(res.body)).toBe('{"profile":{"key":"[redacted]","escaped":"[redacted]"}}');
  });

  it('an error message never quotes the filled-in URL', async () => {
    const port = await closedPort();
    const origin = `http://127.0.0.1:${port}`;
    const fetch = fetcher({ allowedHosts: [origin], cidrs: LOOPBACK, prepared: prepared({ apiToken: TOKEN }, { apiToken: [origin] }) });
    const e = await failure(fetch({ url: `${origin}/v1/{{secret:apiToken}}` }));
    expect(e.tag).toBe('transport');
    expect(containsSecret(e)).toBe(false);
  });
});
