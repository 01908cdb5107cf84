/**
 * A pool worker: owns component instances and runs one request per instance at a time.
 * Instances are keyed by (install, component) so guest globals never cross installs.
 * Any trap or throw discards the instance (it is poisoned: DESIGN.md §11).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { providerForInterface } from '../providers/index.ts';
import type { HostFunctions, GuestLogLine, LogLevel, RequestScope } from '../providers/provider.ts';
import { instantiateComponent, type ComponentInstance, type GuestResponse, type LoadedGlue } from '../component/instance-builder.ts';
import type { FromWorker, JobResult, LoadMessage, ToWorker, WorkerData, WorkerJob, WorkerSettings } from './messages.ts';
import { GuestClock } from './guest-clock.ts';
import { SegmentBoard } from './segment-board.ts';
import { HostCallClient } from './host-call-client.ts';

const { settings, board: boardBuffer } = workerData as WorkerData;
const board = new SegmentBoard(boardBuffer);
const port = parentPort!;
/** Calls of providers to the runner's main-thread backends (only for `settings.hostBackendInterfaces`). */
const hostCallClient = new HostCallClient((message) => port.postMessage(message));
const hostBackendInterfaces = new Set(settings.hostBackendInterfaces ?? []);

const glues = new Map<string, Promise<LoadedGlue>>();
const interfacesByHash = new Map<string, string[]>();
/** key `${installId}|${contentHash}` → idle instances one install has used (insertion order = LRU for eviction). */
const idle = new Map<string, ComponentInstance[]>();
/**
 * contentHash → never-used instances (insertion order = LRU). No guest code has run in them, so
 * they hold nothing of any install: whichever install needs one first takes it.
 */
const unused = new Map<string, ComponentInstance[]>();
const reserving = new Set<string>();
/** Configured provider state by `${installId}|${configVersion}|${iface}`. */
const configured = new Map<string, unknown>();
let instancesLive = 0;
/**
 * A guest OOM and a guest throw both end in the same `unreachable` trap, so a trap counts as
 * the memory limit when the instance stopped within this headroom of it: an allocation fails
 * when current + request > ceiling (measured: 8 MiB chunks stop at 121 of 128 MiB; 1 MB
 * arrays at 127). Either way the instance is discarded; only the error code differs.
 */
function oomHeadroom(limitBytes: number): number {
  return Math.max(16 * 1024 * 1024, limitBytes / 8);
}

function post(message: FromWorker): void {
  port.postMessage(message);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'load') load(message);
  else if (message.type === 'execute') void execute(message.id, message.job, message.reportStart);
  else if (message.type === 'warm') void reserve(message.contentHash).then(() => post({ type: 'warmed', contentHash: message.contentHash, ready: unused.get(message.contentHash)?.length ?? 0 }));
  else if (message.type === 'host-result') hostCallClient.settle(message);
});
post({ type: 'ready' });

function load(message: LoadMessage): void {
  interfacesByHash.set(message.contentHash, message.interfaces);
  glues.set(message.contentHash, import(message.glueUrl).then((mod: { instantiate: LoadedGlue['instantiate'] }) => ({
    instantiate: mod.instantiate,
    modules: message.modules,
    interfaces: message.interfaces,
  })));
}

async function newInstance(contentHash: string): Promise<ComponentInstance> {
  const glue = glues.get(contentHash);
  if (!glue) throw new Error(`component ${contentHash} was not loaded into this worker`);
  const instance = await instantiateComponent(await glue);
  instancesLive++;
  return instance;
}

function discard(_instance: ComponentInstance): void {
  instancesLive--;
}

function keyOf(installId: string, contentHash: string): string {
  return `${installId}|${contentHash}`;
}

type InstanceLists = Map<string, ComponentInstance[]>;

/** Pops an instance from `lists[key]`, touching the key (insertion order = LRU). */
function take(lists: InstanceLists, key: string): ComponentInstance | undefined {
  const list = lists.get(key);
  const instance = list?.pop();
  if (list) { lists.delete(key); lists.set(key, list); }
  return instance;
}

/** Pushes onto `lists[key]` and touches it; past `maxKeysPerWorker` keys, the oldest key's instances are discarded. */
function put(lists: InstanceLists, key: string, instance: ComponentInstance): void {
  const list = lists.get(key) ?? [];
  list.push(instance);
  lists.delete(key);
  lists.set(key, list);
  while (lists.size > settings.maxKeysPerWorker) {
    const [oldest, instances] = lists.entries().next().value!;
    lists.delete(oldest);
    instances.forEach(discard);
  }
}

/**
 * Keep `prewarmPerKey` never-used instances of the component ready, instantiated while the worker
 * has nothing else to run (after an answer, or on `warm`); bounded to `maxKeysPerWorker` components.
 */
async function reserve(contentHash: string): Promise<void> {
  if (reserving.has(contentHash) || !glues.has(contentHash)) return reportStats();
  reserving.add(contentHash);
  try {
    while ((unused.get(contentHash)?.length ?? 0) < settings.prewarmPerKey) {
      board.setInstantiating(true);
      put(unused, contentHash, await newInstance(contentHash).finally(() => board.setInstantiating(false)));
    }
  } catch {
    // A component that cannot instantiate fails the next request with a clear error instead.
  } finally {
    reserving.delete(contentHash);
    reportStats();
  }
}

let reportedInstances = -1;
/** Only changes are posted: a message per request would wake the main thread for nothing. */
function reportStats(): void {
  if (instancesLive === reportedInstances) return;
  reportedInstances = instancesLive;
  post({ type: 'stats', instancesLive });
}

async function execute(id: number, job: WorkerJob, reportStart: boolean): Promise<void> {
  const started = performance.now();
  const logs = new GuestLogBuffer(settings.logLimits);
  const key = keyOf(job.install.installId, job.contentHash);
  let instance: ComponentInstance | undefined;
  let coldInstance = false;
  const finish = (result: JobResult) => {
    hostCallClient.dropRequest(id);
    post({ type: 'result', id, result });
    // After answering, so the next request finds a never-used instance ready.
    setImmediate(() => void reserve(job.contentHash));
  };
  try {
    // The install's own idle instance (pooled), else a never-used one; a warm-up takes neither.
    instance = job.warmUp ? undefined : (settings.isolation === 'pooled' ? take(idle, key) : undefined) ?? take(unused, job.contentHash);
    if (!instance) { instance = await newInstance(job.contentHash); coldInstance = true; }
  } catch (err) {
    return finish({ ok: false, code: 'E_BUNDLE_INVALID', message: `component failed to instantiate: ${errorText(err)}`, logs: logs.lines, hostCalls: 0, durationMs: performance.now() - started, cpuMs: 0 });
  }
  instance.slot.hostCalls = 0;
  instance.slot.bindings = bindProviders(id, job, logs);
  instance.uses++;
  const clock = new GuestClock(id, board, (running, cpuMs) => post({ type: 'segment', id, running, cpuMs }));
  instance.slot.clock = clock;
  // Only from here on has guest code run: until then the pool may safely re-run this request elsewhere.
  if (reportStart) post({ type: 'started', id });
  let response: GuestResponse;
  let cpuMs = 0;
  try {
    clock.start();
    response = await instance.handle(job.request);
    cpuMs = clock.finish();
  } catch (err) {
    cpuMs = clock.finish();
    const tooBig = instance.memoryBytes() >= job.memoryLimitBytes - oomHeadroom(job.memoryLimitBytes) || isOutOfMemory(err);
    discard(instance);
    return finish({
      ok: false,
      code: tooBig ? 'E_MEMORY_LIMIT' : 'E_GUEST_TRAP',
      message: tooBig ? `the extension exceeded its memory limit of ${Math.round(job.memoryLimitBytes / 1048576)} MiB` : `the extension trapped: ${errorText(err)}`,
      logs: logs.lines,
      hostCalls: instance.slot.hostCalls,
      durationMs: performance.now() - started,
      cpuMs,
    });
  } finally {
    // Drop request-scoped bindings so nothing of this request stays reachable from the instance.
    instance.slot.bindings = {};
    instance.slot.clock = undefined;
  }
  const hostCalls = instance.slot.hostCalls;
  const memoryBytes = instance.memoryBytes();
  const overLimit = memoryBytes > job.memoryLimitBytes;
  if (settings.isolation === 'fresh' || job.warmUp || overLimit || instance.uses >= settings.maxUsesPerInstance) discard(instance);
  else put(idle, key, instance);
  if (overLimit) {
    // The install's limit can sit below the process-wide ceiling: a call that ends above it fails too.
    return finish({ ok: false, code: 'E_MEMORY_LIMIT', message: `the extension grew to ${Math.round(memoryBytes / 1048576)} MiB, past its limit of ${Math.round(job.memoryLimitBytes / 1048576)} MiB`, logs: logs.lines, hostCalls, durationMs: performance.now() - started, cpuMs });
  }
  const invalid = invalidResponse(response);
  if (invalid) return finish({ ok: false, code: 'E_GUEST_TRAP', message: invalid, logs: logs.lines, hostCalls, durationMs: performance.now() - started, cpuMs });
  finish({ ok: true, status: response.status, headers: response.headers, body: response.body, logs: logs.lines, hostCalls, durationMs: performance.now() - started, coldInstance, cpuMs });
}

function bindProviders(id: number, job: WorkerJob, logs: GuestLogBuffer): Record<string, HostFunctions> {
  const scopeBase = {
    requestId: job.requestId,
    tenantId: job.install.tenantId,
    extensionId: job.install.extensionId,
    installId: job.install.installId,
    versionId: job.install.versionId,
    deadlineMs: job.deadlineMs,
    install: job.install,
    executionToken: job.executionToken,
    operator: settings.operator,
    log: (level: LogLevel, message: string, fields: Record<string, string>) => logs.push(level, message, fields),
    markSensitive: (value: string) => logs.addSensitive(value),
  };
  const bindings: Record<string, HostFunctions> = {};
  for (const iface of interfacesByHash.get(job.contentHash) ?? []) {
    const provider = providerForInterface(iface);
    if (!provider) continue;
    if (!job.effectiveCapabilities.includes(provider.capability)) {
      bindings[iface] = provider.denied();
      continue;
    }
    const cacheKey = `${job.install.installId}|${job.install.configVersion}|${iface}`;
    let state = configured.get(cacheKey);
    if (state === undefined) {
      state = provider.configure(job.install);
      if (configured.size > 2000) configured.clear();
      configured.set(cacheKey, state);
    }
    const scope: RequestScope = {
      ...scopeBase,
      prepared: job.prepared[iface],
      // Relayed by interface name; the main thread scopes it by this request's job.
      ...(hostBackendInterfaces.has(iface) ? { hostCall: (op: string, args: unknown[]) => hostCallClient.call(id, job.deadlineMs, iface, op, args) } : {}),
    };
    bindings[iface] = provider.bind(scope, state);
  }
  return bindings;
}

function invalidResponse(res: GuestResponse): string | undefined {
  if (!res || typeof res !== 'object') return 'the extension returned no response';
  if (!Number.isInteger(res.status) || res.status < 100 || res.status > 599) return `the extension returned an invalid HTTP status ${String(res.status)}`;
  if (!Array.isArray(res.headers)) return 'the extension returned invalid headers';
  return undefined;
}

function isOutOfMemory(err: unknown): boolean {
  return err instanceof RangeError && /memory|allocation/i.test(err.message);
}

/** Only the first line of an engine error: never a guest-controlled payload of arbitrary size. */
function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split('\n')[0].slice(0, 300);
}

/** Bounded per-request guest log; values marked sensitive are redacted before a line is kept. */
class GuestLogBuffer {
  readonly lines: GuestLogLine[] = [];
  private bytes = 0;
  private dropped = 0;
  private readonly sensitive = new Set<string>();
  private readonly limits: WorkerSettings['logLimits'];

  constructor(limits: WorkerSettings['logLimits']) {
    this.limits = limits;
  }

  addSensitive(value: string): void {
    if (value.length >= 4) this.sensitive.add(value);
  }

  private redact(text: string): string {
    let out = text;
    for (const value of this.sensitive) out = out.split(value).join('[REDACTED]');
    return out;
  }

  push(level: LogLevel, message: string, fields: Record<string, string>): void {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) clean[this.redact(k)] = this.redact(v);
    const line: GuestLogLine = { level, message: this.redact(message), fields: clean, ts: Date.now() };
    const size = line.message.length + Object.entries(clean).reduce((n, [k, v]) => n + k.length + v.length, 0);
    if (this.lines.length >= this.limits.maxLines || this.bytes + size > this.limits.maxBytes) {
      if (this.dropped++ === 0) this.lines.push({ level: 'warn', message: `log limit reached (${this.limits.maxLines} lines / ${this.limits.maxBytes} bytes per request); further lines dropped`, fields: {}, ts: Date.now() });
      return;
    }
    this.bytes += size;
    this.lines.push(line);
  }
}
