/**
 * The test host's API, as an extension's tests see it (`@alga-psa/extension-runtime/testing`):
 * types only, free of Node's, so a project's editor needs nothing installed. `alga component
 * test` resolves the import to the implementation (load-extension.ts).
 *
 * @example
 *   import { loadExtension } from '@alga-psa/extension-runtime/testing';
 *   const ext = await loadExtension({ config: { greeting: 'Hi' } });
 *   const res = await ext.request('GET', '/hello');
 *   res.json();        // { greeting: 'Hi' }
 *   await ext.close();
 */

/** A canned answer: for outbound HTTP (`"GET https://api.example.com/x"`) or a host route (`"GET /host/tickets/:id"`). */
export interface FixtureAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body; string values may use `{{param}}` from a host route's path. */
  json?: unknown;
  text?: string;
  bodyB64?: string;
}

export type FixtureMap = Record<string, FixtureAnswer>;

export interface GuestLog {
  level: string;
  message: string;
  fields: Record<string, string>;
  ts: number;
}

/** One outbound call the extension made. */
export interface OutboundCall {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
  /** The fixture's status; undefined when no fixture answered (the guest got a transport error). */
  status: number | undefined;
}

export interface LoadExtensionOptions {
  /** The project directory; default: the one `alga component test` runs. */
  dir?: string;
  /** The install's config: validated against manifest `settings`, defaults applied. */
  config?: Record<string, unknown>;
  /** Secret values, by the manifest's `type: secret` keys. */
  secrets?: Record<string, string>;
  /** `"METHOD https://host/path"` → answer. A call without one fails with a transport error. */
  http?: FixtureMap;
  /** `"METHOD /host/path/:param"` → answer, for `ctx.uiProxy`. */
  hostRoutes?: FixtureMap;
  /** Data stored before the first request: namespace → key → value (as `ctx.storage.put` stores it). */
  storage?: Record<string, Record<string, unknown>>;
}

export interface RequestInit {
  /** An object is sent as JSON; a string or bytes as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Uint8Array;
  text(): string;
  json<T = unknown>(): T;
  /** This request's guest log lines. */
  logs: GuestLog[];
  hostCalls: number;
}

export interface TestStorage {
  /** The stored value (JSON-decoded), or undefined. */
  get(namespace: string, key: string): Promise<unknown>;
  /** Every record of the install: `{ namespace: { key: value } }`. */
  dump(): Promise<Record<string, Record<string, unknown>>>;
}

export interface LoadedExtension {
  request(method: string, path: string, init?: RequestInit): Promise<TestResponse>;
  /** Every guest log line so far, over all requests. */
  readonly logs: GuestLog[];
  /** Outbound HTTP calls so far, answered or not. */
  readonly outbound: OutboundCall[];
  readonly storage: TestStorage;
  close(): Promise<void>;
}

/** Runs the built component (`dist/`) in the real runner with production's capability checks. */
export declare function loadExtension(options?: LoadExtensionOptions): Promise<LoadedExtension>;
