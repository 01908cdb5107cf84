/// <reference path="./host.d.ts" />
/** `ctx`: the one object handlers receive for everything the host offers. */
import { host } from 'alga:host';
import { CapabilityNotDeclaredError, hostCall } from './errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface InstallInfo {
  tenantId: string;
  extensionId: string;
  installId: string;
  versionId: string;
  requestId: string;
  /** Absolute Unix ms after which the host stops the request. */
  deadlineMs: number;
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
  body?: string | Uint8Array;
  timeoutMs?: number;
}

export interface FetchResponse {
  status: number;
  ok: boolean;
  headers: Map<string, string>;
  body: Uint8Array;
  text(): string;
  json<T = unknown>(): T;
}

export interface StoredValue<T> {
  value: T;
  revision: bigint;
}

type Log = (message: string, fields?: Record<string, unknown>) => void;

/**
 * The install's settings. `alga component build` augments this interface from the manifest's
 * `settings` (in `.alga/types/config.d.ts`), so `ctx.config.cacheSeconds` is a `number` without
 * a cast; undeclared keys stay `unknown`.
 */
export interface ExtensionConfig {
  [key: string]: unknown;
}

export interface Context {
  readonly install: InstallInfo;
  /** The install's settings (secrets are never here: use `ctx.secrets`). */
  readonly config: ExtensionConfig;
  readonly log: { debug: Log; info: Log; warn: Log; error: Log };
  readonly secrets: {
    /** The value (cap:secrets.get). */
    get(key: string): Promise<string | undefined>;
    keys(): Promise<string[]>;
    /**
     * A placeholder for the value, for an outgoing request's header value or URL (cap:secrets.use):
     * the host fills it in only for the hosts the secret is bound to, and the guest never sees the value.
     *
     * @example
     *   await ctx.http.fetch(`${base}/enrich/${id}`, { headers: { authorization: `Bearer ${ctx.secrets.ref('apiToken')}` } });
     */
    ref(key: string): string;
  };
  readonly http: { fetch(url: string, init?: FetchInit): Promise<FetchResponse> };
  readonly storage: {
    get<T = unknown>(namespace: string, key: string): Promise<StoredValue<T> | undefined>;
    /** `expectedRevision`: compare-and-set; `0n` means "must not exist yet". Returns the new revision. */
    put(namespace: string, key: string, value: unknown, expectedRevision?: bigint): Promise<bigint>;
    delete(namespace: string, key: string, expectedRevision?: bigint): Promise<boolean>;
    list(namespace: string, options?: { prefix?: string; cursor?: string; limit?: number }): Promise<{ keys: string[]; nextCursor?: string }>;
  };
  readonly uiProxy: { call(method: string, route: string, body?: unknown): Promise<{ status: number; headers: Map<string, string>; json<T = unknown>(): T; text(): string }> };
}

/** A setting key (the manifest's `settings[].key`). */
const SECRET_KEY = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

function need<T>(value: T | undefined, capability: string): T {
  if (value === undefined) throw new CapabilityNotDeclaredError(capability);
  return value;
}

function logger(level: 'debug' | 'info' | 'warn' | 'error'): Log {
  return (message, fields = {}) => host.log.emit(level, message, Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

function toBytes(body: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

export function createContext(): Context {
  let config: ExtensionConfig | undefined;
  let install: InstallInfo | undefined;
  return {
    get install() {
      if (!install) {
        const c = host.context.get();
        install = { tenantId: c.tenantId, extensionId: c.extensionId, installId: c.installId, versionId: c.versionId, requestId: c.requestId, deadlineMs: Number(c.deadlineMs) };
      }
      return install;
    },
    get config() {
      config ??= JSON.parse(host.context.config()) as ExtensionConfig;
      return config;
    },
    log: { debug: logger('debug'), info: logger('info'), warn: logger('warn'), error: logger('error') },
    secrets: {
      async get(key) {
        const secrets = need(host.secrets, 'cap:secrets.get');
        try {
          return hostCall('secrets', () => secrets.get(key));
        } catch (err) {
          if ((err as { kind?: string }).kind === 'not-found') return undefined;
          throw err;
        }
      },
      async keys() {
        const secrets = need(host.secrets, 'cap:secrets.get');
        return hostCall('secrets', () => secrets.listKeys());
      },
      ref(key) {
        if (!SECRET_KEY.test(key)) throw new TypeError(`secret key ${JSON.stringify(key)} must match [a-zA-Z][a-zA-Z0-9_.-]{0,63}`);
        // The syntax the runner's http provider fills in (runner/src/providers/secret-substitution.ts).
        return `{{secret:${key}}}`;
      },
    },
    http: {
      async fetch(url, init = {}) {
        const http = need(host.http, 'cap:http.fetch');
        const headers = Array.isArray(init.headers) ? init.headers : Object.entries(init.headers ?? {});
        const res = hostCall('http', () => http.fetch({ method: init.method ?? 'GET', url, headers, body: toBytes(init.body), timeoutMs: init.timeoutMs }));
        const map = new Map(res.headers.map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
        return { status: res.status, ok: res.status >= 200 && res.status < 300, headers: map, body: res.body, text: () => decoder.decode(res.body), json: <T>() => JSON.parse(decoder.decode(res.body)) as T };
      },
    },
    storage: {
      async get<T>(namespace: string, key: string) {
        const storage = need(host.storage, 'cap:storage.kv');
        const entry = hostCall('storage', () => storage.get(namespace, key));
        return entry ? { value: JSON.parse(decoder.decode(entry.value)) as T, revision: entry.revision } : undefined;
      },
      async put(namespace, key, value, expectedRevision) {
        const storage = need(host.storage, 'cap:storage.kv');
        return hostCall('storage', () => storage.put(namespace, key, encoder.encode(JSON.stringify(value)), expectedRevision));
      },
      async delete(namespace, key, expectedRevision) {
        const storage = need(host.storage, 'cap:storage.kv');
        return hostCall('storage', () => storage.delete(namespace, key, expectedRevision));
      },
      async list(namespace, options = {}) {
        const storage = need(host.storage, 'cap:storage.kv');
        const page = hostCall('storage', () => storage.list(namespace, options.prefix, options.cursor, options.limit ?? 100));
        return { keys: page.keys, nextCursor: page.nextCursor };
      },
    },
    uiProxy: {
      async call(method, route, body) {
        const proxy = need(host['ui-proxy'], 'cap:ui.proxy');
        const payload = body === undefined ? undefined : encoder.encode(typeof body === 'string' ? body : JSON.stringify(body));
        const res = hostCall('ui-proxy', () => proxy.callRoute(method, route, payload));
        const text = res.body ? decoder.decode(res.body) : '';
        return { status: res.status, headers: new Map(res.headers), text: () => text, json: <T>() => JSON.parse(text) as T };
      },
    },
  };
}
