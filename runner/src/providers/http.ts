/**
 * `alga:extension/http` (cap:http.fetch): outbound HTTP for guests, default deny.
 *
 * Per call:
 *  1. validate the request (method, URL, headers, body size) → `invalid-request`;
 *  2. for the URL and EVERY redirect hop: allowlist (scheme, host incl. `*.` wildcard, port) →
 *     `denied`; DNS resolved up front and every address checked by the SSRF policy (`ssrf.ts`)
 *     → `denied`;
 *  3. connect ONLY to the checked addresses: each hop gets its own undici `Agent` whose
 *     `connect.lookup` answers with the already-checked addresses for that host name (a DNS rebind
 *     between check and connect never reaches the network); the URL keeps the host name, so SNI,
 *     certificate verification and `Host` stay those of the original name;
 *  4. redirects followed by hand (301/302 POST → GET, 303 → GET, 307/308 keep method and body,
 *     `authorization`/`cookie` dropped when the origin changes), at most `httpMaxRedirects`;
 *  5. one AbortSignal for the whole call: min(guest `timeoutMs`, deadline − 50 ms) → `timeout`
 *     (also covers DNS and a body that stalls after the headers);
 *  6. the response body is streamed with a cap (`httpMaxResponseBytes`, content-length checked
 *     first) → `too-large`, the connection is destroyed at once.
 *
 * Steps 1, the first allowlist check of 2, 5 and 6's cap are the provider's; the rest is the
 * backend's (`HttpBackend`): the real one above (production), or, when the runner has a
 * main-thread backend for `http` (`scope.hostCall`: a dev server's or test host's fixtures), op
 * `fetch` with the validated request `{ method, url, headers, body, timeoutMs }`. Its answer is
 * the answer: no redirect is followed, the size cap and the timeout still apply.
 *
 * With cap:secrets.use, `{{secret:<key>}}` placeholders in header values and the URL are filled
 * in on the host after the allowlist check, only for the hosts the secret is bound to, and every
 * secret value is redacted from responses and error messages (`secret-substitution.ts`).
 *
 * The host function only ever throws `witError(...)` values (anything else would trap the guest).
 * Nothing is logged (request bodies and headers can hold credentials).
 *
 * @example
 *   const fns = httpProvider.bind(scope, httpProvider.configure(install));
 *   const res = await fns.fetch({ method: 'GET', url: 'https://api.example.com/x', headers: [], body: undefined, timeoutMs: 2000 });
 *   // res = { status: 200, headers: [['content-type', 'application/json']], body: Uint8Array }
 */
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { hostMatchesAllowed, readBodyCapped, tryParseAllowedHost, type DestroyableBody, type ParsedAllowedHost } from '@alga-psa/extension-contracts';
import { asWitError, witError, type CapabilityProvider, type RequestScope, type WitErrorCases } from './provider.ts';
import { checkAddress, checkAddresses, operatorAllowList, resolveHost } from './ssrf.ts';
import { hasPlaceholder, SecretSubstitution, type PreparedSecretUse } from './secret-substitution.ts';
import { FIELD_VALUE } from './http-syntax.ts';
import { decryptRequestSecrets } from '../secrets/request-secrets.ts';
import { secretHosts } from '@alga-psa/extension-contracts/manifest';
import type { ResolvedAddress } from './ssrf.ts';

export interface HttpConfigured {
  allowed: readonly ParsedAllowedHost[];
}

/** The record jco hands the host for `outgoing-request`. */
export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
  timeoutMs: number | undefined;
}

export interface IncomingResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

/**
 * Sends a request the provider has validated and whose URL it found in the allowlist. `req.timeoutMs`
 * is the effective timeout; `signal` aborts at it (the provider then answers `timeout`).
 * `secretHeaders`: lower-case names of headers that carry a substituted secret (dropped when a
 * redirect changes origin).
 */
export interface HttpBackend {
  send(req: OutgoingRequest, signal: AbortSignal, options?: { secretHeaders?: readonly string[] }): Promise<IncomingResponse>;
}

export const MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024;
export const DEADLINE_MARGIN_MS = 50;
const MAX_REQUEST_HEADERS = 200;
const MAX_REQUEST_HEADER_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REFUSED_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
const DROPPED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'expect', // undici refuses it
]);
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie'];
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** `http-error`: tag → default message of its string payload, null for none. */
const HTTP_ERRORS: WitErrorCases = {
  denied: 'the request was refused',
  'invalid-request': 'invalid request',
  timeout: null,
  'too-large': null,
  transport: 'request failed',
};

const isWitErr = (e: unknown): boolean => asWitError(e, HTTP_ERRORS) !== undefined;

const invalid = (msg: string) => witError('invalid-request', msg);
const denied = (msg: string) => witError('denied', msg);
const transport = (msg: string) => witError('transport', msg);

// ---------------------------------------------------------------------------------------------
// Request validation
// ---------------------------------------------------------------------------------------------

function validateMethod(raw: unknown): string {
  if (typeof raw !== 'string' || !TOKEN.test(raw)) throw invalid('method must be an HTTP token');
  const upper = raw.toUpperCase();
  if (REFUSED_METHODS.has(upper)) throw invalid(`method ${upper} is not allowed`);
  return NORMALISED_METHODS.has(upper) ? upper : raw;
}

function parseGuestUrl(raw: unknown): URL {
  if (typeof raw !== 'string') throw invalid('url must be a string');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('url is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`only http and https URLs are supported, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw invalid('url must not contain userinfo');
  url.hash = '';
  return url;
}

function sanitiseHeaders(raw: unknown): Array<[string, string]> {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('headers must be a list of pairs');
  if (raw.length > MAX_REQUEST_HEADERS) throw invalid(`at most ${MAX_REQUEST_HEADERS} headers`);
  const out: Array<[string, string]> = [];
  let bytes = 0;
  for (const pair of raw) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw invalid('headers must be a list of string pairs');
    const [name, value] = pair as [string, string];
    if (!TOKEN.test(name)) throw invalid(`invalid header name ${JSON.stringify(name.slice(0, 64))}`);
    if (!FIELD_VALUE.test(value)) throw invalid(`invalid value for header ${name} (CR, LF, NUL or non-Latin-1 characters)`);
    bytes += name.length + value.length + 4;
    if (bytes > MAX_REQUEST_HEADER_BYTES) throw invalid(`request headers exceed ${MAX_REQUEST_HEADER_BYTES} bytes`);
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('proxy-')) continue;
    out.push([name, value.trim()]);
  }
  return out;
}

function validateBody(raw: unknown): Uint8Array | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!(raw instanceof Uint8Array)) throw invalid('body must be bytes');
  if (raw.byteLength > MAX_REQUEST_BODY_BYTES) throw invalid(`request body exceeds ${MAX_REQUEST_BODY_BYTES} bytes`);
  return raw;
}

function effectiveTimeout(guestTimeoutMs: unknown, deadlineMs: number): number {
  let ms = deadlineMs - Date.now() - DEADLINE_MARGIN_MS;
  if (guestTimeoutMs !== undefined && guestTimeoutMs !== null) {
    if (typeof guestTimeoutMs !== 'number' || !Number.isFinite(guestTimeoutMs) || guestTimeoutMs < 0) throw invalid('timeoutMs must be a non-negative integer');
    ms = Math.min(ms, guestTimeoutMs);
  }
  return Math.floor(ms);
}

// ---------------------------------------------------------------------------------------------
// Allowlist + address policy
// ---------------------------------------------------------------------------------------------

function checkAllowlist(url: URL, cfg: HttpConfigured): void {
  if (!cfg.allowed.some((a) => hostMatchesAllowed(url, a))) {
    throw denied(`${url.origin} is not in http.allowedHosts`);
  }
}

/** Bare host name or IP of a URL (IPv6 without brackets), lower case. */
function urlHost(url: URL): string {
  const h = url.hostname.toLowerCase();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** Resolve (unless an IP literal) and check every address; returns the addresses to pin. */
async function resolveChecked(url: URL, scope: RequestScope, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const allowed = operatorAllowList(scope.operator.httpAllowedPrivateCidrs ?? []);
  const host = urlHost(url);
  const family = isIP(host);
  if (family !== 0) {
    const v = checkAddress(host, allowed);
    if (!v.ok) throw denied(`${url.origin}: ${v.reason}`);
    return [{ address: host, family: family === 6 ? 6 : 4 }];
  }
  let addrs: ResolvedAddress[];
  try {
    addrs = await resolveHost(host, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    const code = (e as { code?: unknown })?.code;
    throw transport(`DNS lookup failed for ${host}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  if (!Array.isArray(addrs) || addrs.length === 0) throw transport(`DNS lookup returned no address for ${host}`);
  const v = checkAddresses(addrs, allowed);
  if (!v.ok) throw denied(`${url.origin} resolves to a refused address: ${v.reason}`);
  return addrs.map((a) => ({ address: a.address, family: a.family }));
}

/** `net.connect` lookup that only ever answers with the checked addresses of `host`. */
function pinnedLookup(host: string, addrs: readonly ResolvedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    if (hostname.toLowerCase() !== host) {
      callback(Object.assign(new Error(`lookup for unexpected host ${hostname}`), { code: 'EPINNED' }), '', 4);
      return;
    }
    const fam = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const list = fam === 0 ? addrs : addrs.filter((a) => a.family === fam);
    if (list.length === 0) {
      callback(Object.assign(new Error(`no checked IPv${fam} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 4);
      return;
    }
    if (options.all) callback(null, list.map((a) => ({ address: a.address, family: a.family })));
    else callback(null, list[0].address, list[0].family);
  };
}

// ---------------------------------------------------------------------------------------------
// One hop
// ---------------------------------------------------------------------------------------------

interface HopResult {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  location: string | undefined;
}

function headerPairs(headers: Record<string, string | string[] | undefined>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (Array.isArray(v)) for (const x of v) out.push([name, String(x)]);
    else if (v !== undefined) out.push([name, String(v)]);
  }
  return out;
}

async function hop(
  url: URL,
  method: string,
  headers: Array<[string, string]>,
  body: Uint8Array | undefined,
  pinned: readonly ResolvedAddress[],
  signal: AbortSignal,
  timeoutMs: number,
  maxBytes: number,
): Promise<HopResult> {
  const host = urlHost(url);
  const agent = new Agent({
    connect: isIP(host) === 0 ? { lookup: pinnedLookup(host, pinned) } : {},
    // The AbortSignal is the real timer; these only back it up.
    headersTimeout: timeoutMs + 1000,
    bodyTimeout: timeoutMs + 1000,
    connections: 1,
  });
  let res: Awaited<ReturnType<typeof request>> | undefined;
  const onAbort = () => res?.body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const flat: string[] = [];
    for (const [k, v] of headers) flat.push(k, v);
    res = await request(url, {
      dispatcher: agent,
      method: method as 'GET',
      headers: flat,
      // A copy: the guest's bytes must not be read after this call returns.
      body: body === undefined ? undefined : Buffer.from(body),
      signal,
    });
    // Destroying an undici body emits 'error' (UND_ERR_ABORTED): never let that be unhandled,
    // it would crash the worker. Reads below still see errors through the async iterator.
    res.body.on('error', () => {});
    const status = res.statusCode;
    const pairs = headerPairs(res.headers as Record<string, string | string[] | undefined>);
    const locationRaw = res.headers.location;
    const location = REDIRECT_STATUSES.has(status) ? (Array.isArray(locationRaw) ? locationRaw[0] : locationRaw) : undefined;
    if (location !== undefined) {
      // A redirect's own body is never returned: do not read it.
      res.body.destroy();
      return { status, headers: pairs, body: new Uint8Array(0), location };
    }
    const all = await readBodyCapped(res.body as DestroyableBody, maxBytes, res.headers['content-length']);
    if (!all) throw witError('too-large');
    return { status, headers: pairs, body: new Uint8Array(all.buffer, all.byteOffset, all.byteLength), location: undefined };
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Each hop owns its connection: never reused by another hop, request or tenant.
    agent.destroy().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------------------------

function shortMessage(e: unknown, url: URL): string {
  const err = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  let code = typeof err?.code === 'string' ? err.code : '';
  let message = typeof err?.message === 'string' ? err.message : String(e);
  // net.connect with several addresses (autoSelectFamily) rejects with an AggregateError.
  if (message === '' && Array.isArray(err?.errors) && err.errors.length > 0) {
    const first = err.errors[0] as { code?: unknown; message?: unknown };
    message = typeof first?.message === 'string' ? first.message : '';
    if (!code && typeof first?.code === 'string') code = first.code;
  }
  let text = code && !message.includes(code) ? `${code}: ${message}` : message || code || 'request failed';
  // Never echo the query string (it may hold tokens).
  for (const secret of [url.href, url.search, url.search.slice(1)]) {
    if (secret.length > 1) text = text.split(secret).join('');
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200) || 'request failed';
}

/** The real backend: pinned DNS, SSRF policy and the allowlist on every hop, redirects by hand. */
export function networkHttpBackend(scope: RequestScope, cfg: HttpConfigured): HttpBackend {
  return {
    async send(req, signal, options = {}) {
      const crossOriginDropped = [...CROSS_ORIGIN_DROPPED, ...(options.secretHeaders ?? [])];
      let { method, headers, body } = req;
      let url = new URL(req.url);
      const timeoutMs = req.timeoutMs ?? Math.max(1, scope.deadlineMs - Date.now());
      const maxBytes = scope.operator.httpMaxResponseBytes;
      const maxRedirects = scope.operator.httpMaxRedirects;
      try {
        for (let redirects = 0; ; redirects++) {
          checkAllowlist(url, cfg);
          const pinned = await resolveChecked(url, scope, signal);
          const res = await hop(url, method, headers, body, pinned, signal, timeoutMs, maxBytes);
          if (res.location === undefined) return { status: res.status, headers: res.headers, body: res.body };

          if (redirects >= maxRedirects) throw transport('too many redirects');
          let next: URL;
          try {
            next = new URL(res.location, url);
          } catch {
            throw transport('redirect with an invalid Location');
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') throw denied(`redirect to a ${next.protocol} URL is not allowed`);
          if (next.username !== '' || next.password !== '') throw transport('redirect Location contains userinfo');
          next.hash = '';

          if ((res.status === 303 && method !== 'HEAD') || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            headers = headers.filter(([k]) => !BODY_HEADERS.includes(k.toLowerCase()));
          }
          if (next.origin !== url.origin) {
            headers = headers.filter(([k]) => !crossOriginDropped.includes(k.toLowerCase()));
          }
          url = next;
        }
      } catch (e) {
        if (signal.aborted || isWitErr(e)) throw e;
        throw transport(shortMessage(e, url));
      }
    },
  };
}

function checkHostResponse(res: unknown, maxBytes: number): IncomingResponse {
  const r = res as { status?: unknown; headers?: unknown; body?: unknown } | null | undefined;
  if (typeof r !== 'object' || r === null) throw transport('the http backend answered with a malformed response');
  if (typeof r.status !== 'number' || !Number.isInteger(r.status) || r.status < 100 || r.status > 599) throw transport('the http backend answered with an invalid status');
  if (!Array.isArray(r.headers) || !r.headers.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string')) {
    throw transport('the http backend answered with invalid headers');
  }
  if (r.body !== undefined && r.body !== null && !(r.body instanceof Uint8Array)) throw transport('the http backend answered with an invalid body');
  const body = r.body instanceof Uint8Array ? r.body : new Uint8Array(0);
  if (body.byteLength > maxBytes) throw witError('too-large');
  return { status: r.status, headers: (r.headers as Array<[string, string]>).map(([k, v]) => [k.toLowerCase(), v]), body };
}

/** A main-thread backend's answer is the answer (no redirect followed); the cap and the timeout still hold. */
export function hostHttpBackend(scope: RequestScope, hostCall: NonNullable<RequestScope['hostCall']>): HttpBackend {
  return {
    send: (req, signal) => new Promise<IncomingResponse>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      hostCall('fetch', [req])
        .then((res) => checkHostResponse(res, scope.operator.httpMaxResponseBytes))
        .then(resolve, reject)
        .finally(() => signal.removeEventListener('abort', onAbort));
    }),
  };
}

async function doFetch(scope: RequestScope, cfg: HttpConfigured, backend: HttpBackend, secrets: SecretSubstitution | undefined, req: OutgoingRequest): Promise<IncomingResponse> {
  if (typeof req !== 'object' || req === null) throw invalid('request must be a record');
  const method = validateMethod(req.method);
  const headers = sanitiseHeaders(req.headers);
  const withSecrets = hasPlaceholder(req.url, headers);
  if (withSecrets && !secrets) throw denied('{{secret:…}} placeholders need cap:secrets.use, which this install was not granted');
  // Without placeholders the URL is parsed here; with them, `fill` parses the templated URL.
  const plainUrl = withSecrets ? undefined : parseGuestUrl(req.url);
  const body = validateBody(req.body);
  const timeoutMs = effectiveTimeout(req.timeoutMs, scope.deadlineMs);

  // Refuse before any I/O when the first hop is not allowed (checked on the URL as the guest wrote it).
  let send: { href: string; headers: Array<[string, string]>; secretHeaders: string[] };
  if (plainUrl) {
    checkAllowlist(plainUrl, cfg);
    send = { href: plainUrl.href, headers, secretHeaders: [] };
  } else {
    if (typeof req.url !== 'string') throw invalid('url must be a string');
    send = secrets!.fill(req.url, headers, parseGuestUrl, (url) => checkAllowlist(url, cfg));
  }
  if (timeoutMs <= 0) throw witError('timeout');

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('http.fetch timeout')), timeoutMs);
  const signal = controller.signal;
  try {
    const res = await backend.send({ method, url: send.href, headers: send.headers, body, timeoutMs }, signal, { secretHeaders: send.secretHeaders });
    // Every response, placeholders or not: an API may echo a credential it was sent earlier.
    return secrets ? secrets.redact(res) : res;
  } catch (e) {
    if (signal.aborted) throw witError('timeout');
    // A host backend's `unavailable` (e.g. it failed) has no http-error case: it is a transport failure.
    const tag = (e as { tag?: unknown } | null)?.tag;
    if (tag === 'unavailable') {
      const val = (e as { val?: unknown }).val;
      throw transport(typeof val === 'string' && val !== '' ? val.slice(0, 300) : 'the http backend is unavailable');
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export const httpProvider: CapabilityProvider<HttpConfigured> = {
  capability: 'cap:http.fetch',
  witInterface: 'http',
  asyncFunctions: ['fetch'],
  /** With cap:secrets.use: the request's secrets (the one shared decrypt) and the hosts each may be sent to. */
  async prepare(ctx): Promise<PreparedSecretUse | undefined> {
    if (!ctx.granted || !ctx.capabilities.has('cap:secrets.use')) return undefined;
    const hosts: Record<string, string[]> = {};
    for (const field of ctx.manifest.settings) if (field.type === 'secret') hosts[field.key] = [...(secretHosts(ctx.manifest, field.key) ?? [])];
    return { secrets: await decryptRequestSecrets(ctx), hosts };
  },
  configure: (install) => {
    const allowed: ParsedAllowedHost[] = [];
    for (const origin of install.httpAllowedHosts ?? []) {
      const r = tryParseAllowedHost(origin);
      if (r.ok) allowed.push(r.value); // invalid entries were refused at publish; ignore them here
    }
    return { allowed };
  },
  bind: (scope, cfg) => {
    const backend = scope.hostCall ? hostHttpBackend(scope, scope.hostCall) : networkHttpBackend(scope, cfg);
    const secrets = SecretSubstitution.from(scope.prepared, (value) => scope.markSensitive(value));
    return {
      fetch: async (req: OutgoingRequest): Promise<IncomingResponse> => {
        try {
          return await doFetch(scope, cfg, backend, secrets, req);
        } catch (e) {
          // Only WIT variants may leave a host function; anything else would trap the guest.
          const err = asWitError(e, HTTP_ERRORS) ?? transport('internal error');
          if (secrets && typeof err.val === 'string') err.val = secrets.redactText(err.val);
          throw err;
        }
      },
    };
  },
  denied: () => ({
    fetch: async () => {
      throw witError('denied', 'cap:http.fetch is not granted to this install');
    },
  }),
};
