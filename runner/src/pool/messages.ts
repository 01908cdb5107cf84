/** Messages between the pool (main thread) and its workers. */
import type { InstallSpec } from '@alga-psa/extension-contracts';
import type { GuestLogLine, OperatorSettings } from '../providers/provider.ts';
import type { GuestRequest } from '../component/instance-builder.ts';

export type Isolation = 'pooled' | 'fresh';

export interface WorkerSettings {
  isolation: Isolation;
  /** Retire a pooled instance after this many requests. */
  maxUsesPerInstance: number;
  /**
   * Never-used instances kept ready per component. No guest code has run in one, so any install
   * may take it: a new install's first request (pooled) and every request (fresh) start without
   * instantiating on their critical path.
   */
  prewarmPerKey: number;
  /** Bound on distinct (install, component) instance pools per worker. */
  maxKeysPerWorker: number;
  logLimits: { maxLines: number; maxBytes: number };
  operator: OperatorSettings;
  /** WIT interfaces the runner has a main-thread backend for: their providers get `scope.hostCall`. */
  hostBackendInterfaces: string[];
}

/** What a worker is started with: its settings and its SegmentBoard's shared memory. */
export interface WorkerData {
  settings: WorkerSettings;
  board: SharedArrayBuffer;
}

export interface LoadMessage {
  type: 'load';
  contentHash: string;
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  interfaces: string[];
}

export interface WorkerJob {
  contentHash: string;
  install: InstallSpec;
  request: GuestRequest;
  requestId: string;
  deadlineMs: number;
  memoryLimitBytes: number;
  executionToken: string;
  /** Capability ids the request may use: declared ∩ granted ∩ token. */
  effectiveCapabilities: string[];
  /** Per-interface `prepare` results. */
  prepared: Record<string, unknown>;
  /**
   * A warm-up call (`/v1/prepare`): runs on an instance of its own that is discarded after, with no
   * install's data, so V8 compiles the code a request uses before the first real one arrives.
   */
  warmUp?: boolean;
}

/**
 * `reportStart`: set when the worker already holds another request. Only then can this one be
 * orphaned before its guest code runs (its worker killed for the other's deadline or CPU budget)
 * and safely re-run elsewhere; the extra message is skipped in the common case.
 */
export interface ExecuteMessage { type: 'execute'; id: number; job: WorkerJob; reportStart: boolean }
/** Make `prewarmPerKey` never-used instances of a loaded component ready; answered with `warmed`. */
export interface WarmMessage { type: 'warm'; contentHash: string }

/** A WIT error relayed from a main-thread backend: a plain `{ tag, val? }`. */
export interface HostCallError { tag: string; val?: unknown }

/**
 * A provider's call to the main-thread backend of its WIT interface, for request `id`. The pool
 * relays it by interface name only; arguments and results cross by structured clone.
 */
export interface HostCallMessage { type: 'host-call'; id: number; callId: number; iface: string; op: string; args: unknown[] }
export type HostResultMessage = { type: 'host-result'; callId: number } & ({ ok: true; value: unknown } | { ok: false; error: HostCallError });

export type ToWorker = LoadMessage | ExecuteMessage | WarmMessage | HostResultMessage;

export type WorkerErrorCode = 'E_GUEST_TRAP' | 'E_MEMORY_LIMIT' | 'E_BUNDLE_INVALID' | 'E_INTERNAL';

export type JobResult =
  | {
      ok: true;
      status: number;
      headers: Array<[string, string]>;
      body: Uint8Array | undefined;
      logs: GuestLogLine[];
      hostCalls: number;
      durationMs: number;
      /** True when this request ran on an instance created for it (not reused). */
      coldInstance: boolean;
      /** Guest CPU time: executing, not suspended on host I/O (GuestClock). */
      cpuMs: number;
    }
  | { ok: false; code: WorkerErrorCode; message: string; logs: GuestLogLine[]; hostCalls: number; durationMs: number; cpuMs: number };

export type FromWorker =
  /** Modules evaluated and listening: a worker is only used (or kept as the spare) from then on. */
  | { type: 'ready' }
  /** The guest is about to run (only with `reportStart`). */
  | { type: 'started'; id: number }
  /** The guest parked on an async host call (`running: false`) or resumed, with its CPU so far. */
  | { type: 'segment'; id: number; running: boolean; cpuMs: number }
  | { type: 'result'; id: number; result: JobResult }
  | HostCallMessage
  | { type: 'stats'; instancesLive: number }
  /** The answer to `warm`: how many never-used instances of the component are ready now. */
  | { type: 'warmed'; contentHash: string; ready: number };
