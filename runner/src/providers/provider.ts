/**
 * The shape every capability provider has, after Spin's "factors": the runner core only
 * iterates over the registry (`providers/index.ts`) and never names a provider.
 *
 * Phases:
 *  - `configure(install)`: parse allowlists, namespaces… once per install config version (cached by the core).
 *  - `prepare(execute)`: optional, runs on the main thread before dispatch; its result is
 *    posted to the worker (e.g. decrypted secrets from the shared cache).
 *  - `bind(scope, configured)`: the host functions for one request, keyed by WIT function name.
 *  - `denied()`: the functions an interface answers with when it is declared but not granted.
 *
 * A provider that stores or forwards (storage, ui-proxy, http) owns a small backend interface
 * and enforces the capability's rules itself before calling it; the backend only stores, fetches
 * or forwards. `bind` picks the backend: `scope.hostCall ? host backend : production backend`,
 * where `hostCall` reaches a main-thread `HostBackend` (a dev server or test host in the same
 * process) that the runner was given for the provider's WIT interface.
 *
 * @example
 *   export const logProvider: CapabilityProvider<null> = {
 *     capability: 'cap:log.emit', witInterface: 'log', asyncFunctions: [],
 *     configure: () => null,
 *     bind: (scope) => ({ emit: (level, message, fields) => scope.log(level, message, fields) }),
 *     denied: () => ({ emit: () => {} }),
 *   };
 */
import type { CapabilityId, ExecuteBody, InstallSpec, WitInterfaceName } from '@alga-psa/extension-contracts';
import type { Manifest } from '@alga-psa/extension-contracts/manifest';
import type { SecretCache } from '../secrets/secret-cache.ts';

export type HostFunction = (...args: any[]) => unknown;
/** WIT function name (kebab-case, `list` for `%list`) → host implementation. */
export type HostFunctions = Record<string, HostFunction>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface GuestLogLine {
  level: LogLevel;
  message: string;
  fields: Record<string, string>;
  ts: number;
}

/** Operator policy every provider may consult (runner configuration; never per-tenant input). */
export interface OperatorSettings {
  /** CIDRs of private/loopback ranges outbound HTTP may reach anyway (default: none). */
  httpAllowedPrivateCidrs: string[];
  httpMaxResponseBytes: number;
  httpMaxRedirects: number;
  /** Gateway base URL for storage and ui-proxy callbacks (with the execution token). */
  gatewayUrl: string | undefined;
}

/** What a provider sees of one request. */
export interface RequestScope {
  readonly requestId: string;
  readonly tenantId: string;
  readonly extensionId: string;
  readonly installId: string;
  readonly versionId: string;
  /** Absolute Unix ms. */
  readonly deadlineMs: number;
  readonly install: InstallSpec;
  /** Forwarded on callbacks to the gateway (storage, ui-proxy). */
  readonly executionToken: string;
  /** This provider's `prepare` result, if it has one. */
  readonly prepared: unknown;
  readonly operator: OperatorSettings;
  /** Append a guest log line; bounded and redacted by the core. */
  log(level: LogLevel, message: string, fields: Record<string, string>): void;
  /** Values that must never leave the runner (e.g. decrypted secrets); the core redacts them from logs. */
  markSensitive(value: string): void;
  /**
   * Calls the runner's main-thread backend for this provider's WIT interface (`RunnerOptions.hostBackends`:
   * a dev server or test host in the same process). Defined only when the runner has one for this
   * interface; a provider then uses it instead of its production backend. Arguments and result cross
   * threads by structured clone. Rejects with the backend's plain `{ tag, val? }`, with
   * `{ tag: 'unavailable', val }` for any other failure, and at the request deadline.
   */
  hostCall?: (op: string, args: unknown[]) => Promise<unknown>;
}

/** What a main-thread backend learns of the request a host call belongs to (from the job, never from the guest). */
export interface HostCallScope {
  requestId: string;
  tenantId: string;
  extensionId: string;
  installId: string;
  versionId: string;
  install: InstallSpec;
  deadlineMs: number;
}

export interface HostBackendCall {
  iface: string;
  op: string;
  args: unknown[];
  scope: HostCallScope;
}

/** A main-thread backend for one WIT interface (dev server, test host). Throws plain `{ tag, val? }` objects (witError) for WIT errors. */
export type HostBackend = (call: HostBackendCall) => Promise<unknown>;

/** Main-thread services a provider's `prepare` may use (built once by `createRunner`). */
export interface RunnerServices {
  secretCache: SecretCache | undefined;
}

export interface PrepareContext {
  body: ExecuteBody;
  /** The component's manifest (verified with its bundle). */
  manifest: Manifest;
  operator: OperatorSettings;
  services: RunnerServices;
  /** This provider's own capability is effective for the request. */
  granted: boolean;
  /** Every capability effective for the request: declared ∩ granted ∩ token (a modifier such as cap:secrets.use is one of these). */
  capabilities: ReadonlySet<string>;
  /** True when the component imports this provider's interface. */
  imported: boolean;
  signal: AbortSignal;
}

export interface CapabilityProvider<Configured = unknown> {
  readonly capability: CapabilityId;
  readonly witInterface: WitInterfaceName;
  /** WIT function names whose host side returns a Promise (JSPI suspends the guest). */
  readonly asyncFunctions: readonly string[];
  configure(install: InstallSpec): Configured;
  bind(scope: RequestScope, configured: Configured): HostFunctions;
  denied(): HostFunctions;
  prepare?(ctx: PrepareContext): Promise<unknown>;
}

/** jco's guest-side error for a WIT `result` err: `{ tag, val }` thrown from the host function. */
export function witError(tag: string, val?: unknown): { tag: string; val?: unknown } {
  return val === undefined ? { tag } : { tag, val };
}

/** A WIT error variant's cases: tag → default message when the case carries a `string`, or null when it carries nothing. */
export type WitErrorCases = Readonly<Record<string, string | null>>;

/**
 * `e` as a well-formed case of a WIT error variant, or undefined. Only a plain `{ tag, val? }` with a
 * known tag qualifies; its payload is made to fit the case (a bounded string, or none), because a
 * value of the wrong shape handed to jco's glue would trap the guest instead of failing the call.
 * Backends outside the provider's control (a host backend, a future store) are normalised here.
 */
export function asWitError(e: unknown, cases: WitErrorCases): { tag: string; val?: unknown } | undefined {
  if (typeof e !== 'object' || e === null || e instanceof Error) return undefined;
  const { tag, val } = e as { tag?: unknown; val?: unknown };
  if (typeof tag !== 'string' || !Object.hasOwn(cases, tag)) return undefined;
  const fallback = cases[tag];
  if (fallback === null) return { tag };
  return { tag, val: typeof val === 'string' && val !== '' ? val.slice(0, 500) : fallback };
}
