/**
 * Zero-knowledge secrets for `http.fetch` (cap:secrets.use, DESIGN.md §5): the guest writes
 * `{{secret:<key>}}` in an outgoing request's header values or URL path/query, and the host fills
 * in the value just before sending. The guest never holds the value:
 *
 *  - a placeholder is filled in only when the request's origin is one of the secret's hosts (its
 *    setting's `hosts`, else the manifest's `http.allowedHosts`): a secret bound to one API
 *    cannot be sent to another allowlisted host;
 *  - in a URL the value is percent-encoded, so it can never change the origin, and a placeholder
 *    in the scheme, host or port is refused (the origin must be known before any value is in it);
 *  - in a header the value must be a legal field value (no CR, LF or NUL), or the call is refused;
 *  - a header that carries a value is dropped when a redirect changes origin, as Authorization is;
 *  - every secret value (as sent, percent-encoded and JSON-escaped) is replaced with
 *    `[redacted]` in the response's headers and body and in error messages before the guest
 *    sees them, so an API that echoes its credential does not hand it over;
 *  - a refusal names the key and the origin, never the value.
 *
 * Values shorter than MIN_SECRET_CHARS are refused: a short value cannot be redacted from
 * responses without destroying them.
 *
 * @example
 *   const sub = SecretSubstitution.from(scope.prepared, scope.markSensitive); // undefined without cap:secrets.use
 *   const filled = sub.fill(req.url, headers, parseGuestUrl, (url) => checkAllowlist(url, cfg)); // { url, href, headers, secretHeaders }
 *   const res = sub.redact(await backend.send({ ...req, url: filled.href, headers: filled.headers }, signal));
 */
import { randomBytes } from 'node:crypto';
import { hostMatchesAllowed, tryParseAllowedHost, type ParsedAllowedHost } from '@alga-psa/extension-contracts';
import { SecretValues } from '@alga-psa/extension-host/secrets/secret-values';
import type { PreparedSecrets } from '../secrets/request-secrets.ts';
import { witError } from './provider.ts';
import { FIELD_VALUE } from './http-syntax.ts';

/** What the http provider's `prepare` posts to the worker: the values, and the hosts each may be sent to. */
export interface PreparedSecretUse {
  secrets: PreparedSecrets;
  hosts: Record<string, string[]>;
}

export const MIN_SECRET_CHARS = 8;
export const REDACTED = '[redacted]';

const OPENING = '{{secret:';
/** The key syntax is that of a setting key. */
const PLACEHOLDER = /\{\{secret:([a-zA-Z][a-zA-Z0-9_.-]{0,63})\}\}/g;

const denied = (msg: string) => witError('denied', msg);
const invalid = (msg: string) => witError('invalid-request', msg);

function count(text: string, part: string): number {
  let n = 0;
  for (let i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length)) n++;
  return n;
}

/** The keys `text` names in placeholders; a `{{secret:` that is not a whole placeholder is refused. */
export function placeholderKeys(text: string): string[] {
  if (!text.includes(OPENING)) return [];
  const keys = [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
  if (keys.length !== count(text, OPENING)) throw invalid('malformed secret placeholder: write {{secret:<setting key>}}');
  return keys;
}

/** True when the URL or a header value holds a placeholder (or something that starts like one). */
export function hasPlaceholder(url: unknown, headers: ReadonlyArray<readonly [string, string]>): boolean {
  return (typeof url === 'string' && url.includes(OPENING)) || headers.some(([, v]) => v.includes(OPENING));
}

export interface FilledRequest {
  /** The URL as the guest wrote it, placeholders in it replaced by inert markers: what the allowlist was checked on. */
  url: URL;
  /** The URL to send: the markers replaced by the percent-encoded values. */
  href: string;
  headers: Array<[string, string]>;
  /** Lower-case names of the headers a value went into (dropped on a cross-origin redirect). */
  secretHeaders: string[];
}

export class SecretSubstitution {
  private readonly values: SecretValues | undefined;
  private readonly undecryptable: readonly string[];
  private readonly unavailable: string | undefined;
  private readonly hosts: ReadonlyMap<string, ParsedAllowedHost[]>;
  /** Every form of every value a response could echo, longest first (so a longer form is redacted whole). */
  private readonly echoes: string[];

  private constructor(prepared: PreparedSecretUse, markSensitive: (value: string) => void) {
    const { secrets } = prepared;
    if (secrets.state === 'ready') {
      this.values = SecretValues.from(secrets.values);
      // The plain copy that crossed the thread boundary is dropped.
      secrets.values = {};
      this.undecryptable = secrets.undecryptable;
    } else {
      this.undecryptable = [];
      this.unavailable = secrets.reason;
    }
    const hosts = new Map<string, ParsedAllowedHost[]>();
    for (const [key, origins] of Object.entries(prepared.hosts)) {
      hosts.set(key, origins.flatMap((o) => { const r = tryParseAllowedHost(o); return r.ok ? [r.value] : []; }));
    }
    this.hosts = hosts;
    const echoes = new Set<string>();
    for (const key of this.values?.keys() ?? []) {
      const value = this.values!.get(key)!;
      markSensitive(value);
      if (value.length < MIN_SECRET_CHARS) continue;
      for (const form of [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)]) echoes.add(form);
    }
    this.echoes = [...echoes].sort((a, b) => b.length - a.length);
  }

  /** Undefined when the request has no cap:secrets.use (nothing was prepared). */
  static from(prepared: unknown, markSensitive: (value: string) => void): SecretSubstitution | undefined {
    const p = prepared as PreparedSecretUse | undefined;
    return p && typeof p === 'object' && 'secrets' in p ? new SecretSubstitution(p, markSensitive) : undefined;
  }

  /**
   * Fills the placeholders of a validated request. `parse` turns the templated URL into a URL
   * (the provider's own parsing and validation); `check` is the allowlist check, run on the
   * templated URL before any value is looked at.
   */
  fill(rawUrl: string, headers: Array<[string, string]>, parse: (raw: string) => URL, check: (url: URL) => void): FilledRequest {
    const urlKeys = placeholderKeys(rawUrl);
    // Inert markers stand in for the placeholders while the URL is parsed and checked: letters
    // and digits only, so every URL component keeps them as they are.
    const nonce = randomBytes(6).toString('hex');
    const markers: Array<{ marker: string; key: string }> = [];
    let i = 0;
    const templated = rawUrl.replace(PLACEHOLDER, (_m, key: string) => {
      const marker = `alga${nonce}s${i++}x`;
      markers.push({ marker, key });
      return marker;
    });
    const url = parse(templated);
    if (markers.some(({ marker }) => url.origin.includes(marker))) {
      throw invalid('a secret placeholder may only appear in the URL path or query, never in its scheme, host or port');
    }
    check(url);

    const headerKeys = headers.flatMap(([, v]) => placeholderKeys(v));
    for (const key of new Set([...urlKeys, ...headerKeys])) this.mayUse(key, url);

    let href = url.href;
    for (const { marker, key } of markers) href = href.split(marker).join(encodeURIComponent(this.values!.get(key)!));
    const secretHeaders = new Set<string>();
    const filledHeaders = headers.map(([name, value]): [string, string] => {
      if (!value.includes(OPENING)) return [name, value];
      secretHeaders.add(name.toLowerCase());
      return [name, value.replace(PLACEHOLDER, (_m, key: string) => {
        const secret = this.values!.get(key)!;
        if (!FIELD_VALUE.test(secret)) throw invalid(`secret ${key} cannot be sent in a header: its value holds characters a header cannot carry (CR, LF, NUL or non-Latin-1)`);
        return secret;
      })];
    });
    return { url, href, headers: filledHeaders, secretHeaders: [...secretHeaders] };
  }

  /** Refuses (naming the key, never the value) unless `key` is set, readable and bound to the URL's origin. */
  private mayUse(key: string, url: URL): void {
    const hosts = this.hosts.get(key);
    if (hosts === undefined) throw denied(`${key} is not a secret setting of this extension`);
    if (this.unavailable !== undefined) throw witError('transport', `secret ${key} is unavailable: ${this.unavailable}`);
    if (this.undecryptable.includes(key)) throw denied(`secret ${key} could not be decrypted; ask an admin to set it again`);
    const value = this.values?.get(key);
    if (value === undefined) throw denied(`secret ${key} is not set; ask an admin to set it on the settings page`);
    if (!hosts.some((h) => hostMatchesAllowed(url, h))) throw denied(`secret ${key} may not be sent to ${url.origin}`);
    if (value.length < MIN_SECRET_CHARS) throw denied(`secret ${key} is shorter than ${MIN_SECRET_CHARS} characters, too short to keep out of responses; read it with cap:secrets.get instead`);
  }

  /** The response with every echo of a secret value replaced by `[redacted]`. */
  redact<R extends { headers: Array<[string, string]>; body: Uint8Array }>(res: R): R {
    if (this.echoes.length === 0) return res;
    return { ...res, headers: res.headers.map(([k, v]) => [k, this.redactText(v)] as [string, string]), body: this.redactBytes(res.body) };
  }

  /** An error's message with every secret value replaced (a transport error can quote the URL). */
  redactText(text: string): string {
    let out = text;
    for (const echo of this.echoes) if (out.includes(echo)) out = out.split(echo).join(REDACTED);
    return out;
  }

  private redactBytes(body: Uint8Array): Uint8Array {
    let buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const replacement = Buffer.from(REDACTED);
    for (const echo of this.echoes) {
      const needle = Buffer.from(echo);
      let at = buf.indexOf(needle);
      if (at < 0) continue;
      const parts: Buffer[] = [];
      let from = 0;
      for (; at >= 0; at = buf.indexOf(needle, from)) {
        parts.push(buf.subarray(from, at), replacement);
        from = at + needle.length;
      }
      parts.push(buf.subarray(from));
      buf = Buffer.concat(parts);
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
}
