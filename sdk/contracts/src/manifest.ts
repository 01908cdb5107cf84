/**
 * The `manifest.json` schema (DESIGN.md §4): the one source of truth for gateway, CLI and web UI.
 *
 * Validation is strict: an unknown field at any level is an error reported at its JSON path
 * (`$.bogus`, `$.ui.menu.icon`). Optional sections absent from the input are filled in the parsed
 * manifest: `http.allowedHosts`, `uiProxy.routes`, `api.endpoints` and `settings` default to `[]`,
 * `storage` to `{}` (no `namespaces` = any namespace name).
 *
 * @example
 *   const r = parseManifest(JSON.parse(text));
 *   if (!r.ok) for (const i of r.issues) console.error(`${i.path}: ${i.message}`);
 *   const m = assertManifest(json); // throws AlgaError('E_MANIFEST_INVALID', ..., { issues })
 *   const hit = matchEndpoint(m.api.endpoints, req.method, req.path); // null → E_ENDPOINT_NOT_DECLARED
 */
import { z } from 'zod';
import { capabilityFreeInterfaces, capabilityIds, capabilityInterfaces, isInterfaceCapabilityId } from './capabilities.ts';
import type { CapabilityId } from './capabilities.ts';
import { AlgaError } from './errors.ts';
import { canonicalPattern, endpointMethods, parsePathPattern, uiProxyMethods } from './path-pattern.ts';
import { jsonPath, settingsSchema } from './settings.ts';
import type { Issue } from './settings.ts';

export * from './settings.ts';

// ---------------------------------------------------------------------------------------------
// Allowed hosts
// ---------------------------------------------------------------------------------------------

export interface ParsedAllowedHost {
  scheme: 'http' | 'https';
  /** Lower-cased; an IPv6 literal without brackets (compressed form); without the `*.` of a wildcard. */
  host: string;
  /** `*.example.org`: matches any host strictly below `example.org`, never `example.org` itself. */
  wildcard: boolean;
  /** Explicit port, or 443 / 80 by scheme. */
  port: number;
  kind: 'dns' | 'ipv4' | 'ipv6';
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Parse an allowed-host origin; returns a message instead of throwing. */
export function tryParseAllowedHost(origin: unknown): { ok: true; value: ParsedAllowedHost } | { ok: false; message: string } {
  const fail = (message: string) => ({ ok: false as const, message });
  if (typeof origin !== 'string') return fail('must be a string');
  if (origin.length === 0 || origin.length > 300) return fail('must be a non-empty origin of at most 300 characters');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(origin);
  if (!m) return fail('must be an origin scheme://host[:port]');
  const scheme = m[1].toLowerCase();
  if (scheme !== 'https' && scheme !== 'http') return fail(`scheme must be https or http, not ${JSON.stringify(scheme)}`);
  const rest = m[2];
  if (rest.includes('@')) return fail('must not contain userinfo (user:password@)');
  if (/[?]/.test(rest)) return fail('must not contain a query');
  if (rest.includes('#')) return fail('must not contain a fragment');
  if (/[/\\]/.test(rest)) return fail('must not contain a path (not even a trailing /)');
  if (/[\s%]/.test(rest)) return fail('must not contain whitespace or percent-encoding');

  let portText: string | undefined;
  let hostText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail('unterminated IPv6 literal');
    hostText = rest.slice(0, close + 1);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return fail('unexpected characters after the IPv6 literal');
      portText = after.slice(1);
    }
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      hostText = rest.slice(0, colon);
      portText = rest.slice(colon + 1);
    } else hostText = rest;
  }

  let port = scheme === 'https' ? 443 : 80;
  if (portText !== undefined) {
    if (!/^[1-9]\d{0,4}$/.test(portText) || Number(portText) > 65535) return fail('port must be an integer 1..65535');
    port = Number(portText);
  }

  if (hostText.startsWith('[')) {
    const inner = hostText.slice(1, -1);
    if (!/^[0-9A-Fa-f:.]+$/.test(inner) || !inner.includes(':')) return fail('invalid IPv6 literal');
    let normalized: string;
    try {
      normalized = new URL(`http://[${inner}]/`).hostname;
    } catch {
      return fail('invalid IPv6 literal');
    }
    return { ok: true, value: { scheme, host: normalized.slice(1, -1), wildcard: false, port, kind: 'ipv6' } };
  }

  let host = hostText.toLowerCase();
  if (host === '') return fail('host must not be empty');
  if (IPV4.test(host)) return { ok: true, value: { scheme, host, wildcard: false, port, kind: 'ipv4' } };

  let wildcard = false;
  if (host.startsWith('*.')) {
    wildcard = true;
    host = host.slice(2);
  }
  if (host.includes('*')) return fail('a wildcard is only allowed as the whole first label (*.example.org)');
  if (host.length > 253) return fail('host name is too long');
  const labels = host.split('.');
  if (!labels.every((l) => DNS_LABEL.test(l))) return fail(`invalid host name ${JSON.stringify(hostText)}`);
  if (/^\d+$/.test(labels[labels.length - 1])) return fail(`invalid host name ${JSON.stringify(hostText)} (not a DNS name nor an IPv4 address)`);
  if (wildcard && labels.length < 2) return fail('a wildcard needs at least two labels after it (*.example.org)');
  return { ok: true, value: { scheme, host, wildcard, port, kind: 'dns' } };
}

/** Parse an `http.allowedHosts` entry; throws AlgaError('E_VALIDATION') when it is not a valid origin. */
export function parseAllowedHost(origin: string): ParsedAllowedHost {
  const r = tryParseAllowedHost(origin);
  if (!r.ok) throw new AlgaError('E_VALIDATION', `invalid allowed host ${JSON.stringify(origin)}: ${r.message}`);
  return r.value;
}

/** Does an outgoing request URL fall under an allowed host? Scheme, port and host must all match. */
export function hostMatchesAllowed(url: URL, allowed: ParsedAllowedHost): boolean {
  if (url.protocol !== `${allowed.scheme}:`) return false;
  const port = url.port === '' ? (allowed.scheme === 'https' ? 443 : 80) : Number(url.port);
  if (port !== allowed.port) return false;
  let hostname = url.hostname.toLowerCase();
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  if (!allowed.wildcard) return hostname === allowed.host;
  return hostname.length > allowed.host.length + 1 && hostname.endsWith(`.${allowed.host}`);
}

// ---------------------------------------------------------------------------------------------
// Paths: api.endpoints patterns and matching (path-pattern.ts, zod-free for the browser bundles)
// ---------------------------------------------------------------------------------------------

export {
  compilePathPattern,
  endpointMethods,
  matchEndpoint,
  uiProxyMethods,
  type EndpointMatch,
  type EndpointMethod,
  type PathMatcher,
} from './path-pattern.ts';

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

export const MANIFEST_NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
export const STORAGE_NAMESPACE_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
export const MANIFEST_RUNTIME = 'wasm-js@1';

/** Adds a custom issue at `[index]` for every element whose key was already seen. */
function uniqueBy<T>(key: (item: T) => string, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const k = key(item);
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate ${what} ${JSON.stringify(k)}` });
      seen.add(k);
    });
  };
}

const capabilitySchema = z.enum(capabilityIds as [CapabilityId, ...CapabilityId[]], {
  error: (iss) => `unknown capability ${JSON.stringify(iss.input)} (known: ${capabilityIds.join(', ')})`,
});

const allowedHostSchema = z.string().superRefine((origin, ctx) => {
  const r = tryParseAllowedHost(origin);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
});

const uiProxyRouteSchema = z.string().superRefine((route, ctx) => {
  const m = /^([A-Z]+) (\S+)$/.exec(route);
  if (!m) return void ctx.addIssue({ code: 'custom', message: 'must be "METHOD /path", e.g. "GET /host/tickets/:id"' });
  if (!(uiProxyMethods as readonly string[]).includes(m[1])) {
    return void ctx.addIssue({ code: 'custom', message: `method must be one of ${uiProxyMethods.join(' ')}` });
  }
  const parsed = parsePathPattern(m[2], false);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

const endpointSchema = z.strictObject({
  method: z.enum(endpointMethods, {
    error: (iss) => `method must be one of ${endpointMethods.join(', ')} (got ${JSON.stringify(iss.input)})`,
  }),
  path: z.string().superRefine((path, ctx) => {
    const parsed = parsePathPattern(path, true);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  }),
});
export type ApiEndpoint = z.infer<typeof endpointSchema>;

function endpointKey(e: ApiEndpoint): string {
  const parsed = parsePathPattern(e.path, true);
  return `${e.method} ${parsed.ok ? canonicalPattern(parsed.segments) : e.path}`;
}

const uiEntrySchema = z.string().superRefine((entry, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (entry.length === 0 || entry.length > 512) return fail('must be a non-empty relative path (max 512)');
  if (entry.startsWith('/')) return fail('must be a relative path (no leading /)');
  if (entry.includes('\\')) return fail('must use / as separator');
  const segments = entry.split('/');
  if (segments.some((s) => s === '..')) return fail('must not contain .. segments');
  if (segments.some((s) => s === '' || s === '.')) return fail('must not contain empty or . segments');
  if (!segments.every((s) => /^[A-Za-z0-9._~@+-]+$/.test(s))) return fail('must be a plain relative file path (letters, digits, . _ ~ @ + -)');
});

const limitsSchema = z.strictObject({
  timeoutMs: z.number().int().min(1).max(300_000).optional(),
  memoryMb: z.number().int().min(16).max(4096).optional(),
  /**
   * CPU budget per request: time the guest executes, not time it waits on host I/O. At least
   * 10 ms: the runner's thread CPU clock advances in steps of up to 4 ms (scheduler ticks).
   */
  cpuMs: z.number().int().min(10).max(300_000).optional(),
});

export const manifestSchema = z
  .strictObject({
    name: z
      .string()
      .max(128, { error: 'must be at most 128 characters' })
      .regex(MANIFEST_NAME_RE, {
        error: 'must be reverse-DNS in lower case with at least 2 dot-separated segments (e.g. "com.acme.ticket-enricher")',
      }),
    publisher: z.string().trim().min(1, { error: 'must not be empty' }).max(128),
    version: z.string().max(256).regex(SEMVER_RE, { error: 'must be a semantic version (e.g. "1.2.0", "1.0.0-beta.1")' }),
    runtime: z.literal(MANIFEST_RUNTIME, { error: `must be "${MANIFEST_RUNTIME}"` }),
    description: z.string().max(2000).optional(),
    capabilities: z.array(capabilitySchema).superRefine(uniqueBy((c: string) => c, 'capability')),
    http: z
      .strictObject({
        allowedHosts: z
          .array(allowedHostSchema)
          .max(100)
          .superRefine(
            uniqueBy((h: string) => {
              const p = tryParseAllowedHost(h);
              return p.ok ? `${p.value.scheme}://${p.value.wildcard ? '*.' : ''}${p.value.host}:${p.value.port}` : h;
            }, 'allowed host'),
          )
          .default(() => []),
      })
      .default(() => ({ allowedHosts: [] })),
    storage: z
      .strictObject({
        namespaces: z
          .array(z.string().regex(STORAGE_NAMESPACE_RE, { error: 'must match [a-z0-9][a-z0-9_.-]{0,62}' }))
          .max(100)
          .superRefine(uniqueBy((n: string) => n, 'namespace'))
          .optional(),
      })
      .default(() => ({})),
    uiProxy: z
      .strictObject({
        routes: z
          .array(uiProxyRouteSchema)
          .max(200)
          .superRefine(
            uniqueBy((r: string) => {
              const [method, path = ''] = r.split(' ');
              const parsed = parsePathPattern(path, false);
              return parsed.ok ? `${method} ${canonicalPattern(parsed.segments)}` : r;
            }, 'route'),
          )
          .default(() => []),
      })
      .default(() => ({ routes: [] })),
    api: z
      .strictObject({
        endpoints: z
          .array(endpointSchema)
          .max(200)
          .superRefine(uniqueBy(endpointKey, 'endpoint'))
          .default(() => []),
      })
      .default(() => ({ endpoints: [] })),
    ui: z
      .strictObject({
        type: z.literal('iframe', { error: 'must be "iframe"' }),
        entry: uiEntrySchema,
        menu: z.strictObject({ label: z.string().trim().min(1, { error: 'must not be empty' }).max(64) }).optional(),
      })
      .optional(),
    settings: settingsSchema.default(() => []),
    limits: limitsSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const has = (cap: CapabilityId) => m.capabilities.includes(cap);
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (m.http.allowedHosts.length > 0 && !has('cap:http.fetch')) {
      issue(['http', 'allowedHosts'], 'http.allowedHosts requires "cap:http.fetch" in capabilities');
    }
    if (m.storage.namespaces && m.storage.namespaces.length > 0 && !has('cap:storage.kv')) {
      issue(['storage', 'namespaces'], 'storage.namespaces requires "cap:storage.kv" in capabilities');
    }
    if (m.uiProxy.routes.length > 0 && !has('cap:ui.proxy')) {
      issue(['uiProxy', 'routes'], 'uiProxy.routes requires "cap:ui.proxy" in capabilities');
    }
    const firstSecret = m.settings.findIndex((s) => s.type === 'secret');
    if (firstSecret >= 0 && !has('cap:secrets.get') && !has('cap:secrets.use')) {
      issue(['settings', firstSecret, 'type'], 'secret settings require "cap:secrets.get" or "cap:secrets.use" in capabilities');
    }
    if (has('cap:secrets.use') && !has('cap:http.fetch')) {
      issue(['capabilities'], '"cap:secrets.use" sends secrets with http.fetch: it requires "cap:http.fetch" in capabilities');
    }
    // A secret's hosts narrow http.allowedHosts; a host outside them could never be called.
    m.settings.forEach((field, i) => {
      field.hosts?.forEach((host, j) => {
        const parsed = tryParseAllowedHost(host);
        if (!parsed.ok) issue(['settings', i, 'hosts', j], parsed.message);
        else if (!secretHostAllowed(host, parsed.value, m.http.allowedHosts)) {
          issue(['settings', i, 'hosts', j], `${host} is not covered by http.allowedHosts`);
        }
      });
    });
  });

/** `host` is an `http.allowedHosts` entry, or a concrete origin that one of them matches. */
function secretHostAllowed(host: string, parsed: ParsedAllowedHost, allowedHosts: readonly string[]): boolean {
  if (allowedHosts.includes(host)) return true;
  if (parsed.wildcard) return false;
  const url = new URL(`${parsed.scheme}://${parsed.kind === 'ipv6' ? `[${parsed.host}]` : parsed.host}:${parsed.port}/`);
  return allowedHosts.some((a) => {
    const allowed = tryParseAllowedHost(a);
    return allowed.ok && hostMatchesAllowed(url, allowed.value);
  });
}

/**
 * The hosts a secret's value may be sent to by placeholder substitution: its setting's `hosts`,
 * else the manifest's `http.allowedHosts`. Undefined for a key that is not a secret setting.
 */
export function secretHosts(manifest: Pick<Manifest, 'settings' | 'http'>, key: string): readonly string[] | undefined {
  const field = manifest.settings.find((f) => f.key === key && f.type === 'secret');
  if (!field) return undefined;
  return field.hosts ?? manifest.http.allowedHosts;
}

/** A parsed manifest (defaults filled in). */
export type Manifest = z.infer<typeof manifestSchema>;
/** What a `manifest.json` may contain (optional sections may be absent). */
export type ManifestInput = z.input<typeof manifestSchema>;
export type ManifestIssue = Issue;
export type ParseManifestResult = { ok: true; manifest: Manifest } | { ok: false; issues: ManifestIssue[] };

/** Zod issues → `{ path, message }` with JSON paths; an unknown field is reported at its own path. */
export function zodIssuesToManifestIssues(issues: readonly z.core.$ZodIssue[]): ManifestIssue[] {
  const out: ManifestIssue[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: jsonPath([...iss.path, key]), message: `unknown field ${JSON.stringify(key)}` });
    } else out.push({ path: jsonPath(iss.path), message: iss.message });
  }
  return out;
}

export function parseManifest(input: unknown): ParseManifestResult {
  const r = manifestSchema.safeParse(input);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, issues: zodIssuesToManifestIssues(r.error.issues) };
}

/** Like parseManifest, but throws AlgaError('E_MANIFEST_INVALID', "<first path>: <message>", { issues }). */
export function assertManifest(input: unknown): Manifest {
  const r = parseManifest(input);
  if (r.ok) return r.manifest;
  const [first] = r.issues;
  const more = r.issues.length > 1 ? ` (and ${r.issues.length - 1} more issue${r.issues.length > 2 ? 's' : ''})` : '';
  throw new AlgaError('E_MANIFEST_INVALID', `manifest is invalid: ${first.path}: ${first.message}${more}`, { issues: r.issues });
}

/** WIT interfaces the manifest's capabilities cover; always includes `context`, `log` and `types`. */
export function declaredInterfaces(manifest: { capabilities: readonly string[] }): Set<string> {
  const out = new Set<string>(['context', 'log', ...capabilityFreeInterfaces]);
  for (const cap of manifest.capabilities) {
    if (isInterfaceCapabilityId(cap)) out.add(capabilityInterfaces[cap]);
  }
  return out;
}

/** Manifest limits above the operator's maxima (paths `$.limits.timeoutMs` / `.memoryMb` / `.cpuMs`). */
export function checkLimitsAgainstOperator(
  manifest: Pick<Manifest, 'limits'>,
  operator: { maxTimeoutMs: number; maxMemoryMb: number; maxCpuMs?: number },
): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const { timeoutMs, memoryMb, cpuMs } = manifest.limits ?? {};
  if (timeoutMs !== undefined && timeoutMs > operator.maxTimeoutMs) {
    issues.push({ path: '$.limits.timeoutMs', message: `timeoutMs ${timeoutMs} exceeds the operator maximum ${operator.maxTimeoutMs}` });
  }
  if (memoryMb !== undefined && memoryMb > operator.maxMemoryMb) {
    issues.push({ path: '$.limits.memoryMb', message: `memoryMb ${memoryMb} exceeds the operator maximum ${operator.maxMemoryMb}` });
  }
  if (cpuMs !== undefined && operator.maxCpuMs !== undefined && cpuMs > operator.maxCpuMs) {
    issues.push({ path: '$.limits.cpuMs', message: `cpuMs ${cpuMs} exceeds the operator maximum ${operator.maxCpuMs}` });
  }
  return issues;
}
