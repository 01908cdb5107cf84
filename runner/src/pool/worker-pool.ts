/**
 * The worker pool: dispatches jobs to worker threads, enforces deadlines by terminating
 * the worker that runs an overdue guest (a `while(true){}` cannot be interrupted any other
 * way), and replaces dead workers. Jobs on other workers never notice.
 *
 * @example
 *   const pool = new WorkerPool({ size: 2, ...defaults });
 *   await pool.start();
 *   const outcome = await pool.execute(component, job);   // JobResult | deadline/overload error
 */
import { Worker } from 'node:worker_threads';
import type { FromWorker, JobResult, WorkerJob, WorkerSettings } from './messages.ts';

export interface PoolComponent {
  contentHash: string;
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  interfaces: string[];
}

export interface PoolOptions extends WorkerSettings {
  size: number;
  /** Requests a worker may hold at once (guests suspended on I/O let others run). */
  concurrencyPerWorker: number;
  /** Requests waiting for a worker before new ones get E_OVERLOADED. */
  maxQueue: number;
}

export type PoolOutcome =
  | JobResult
  | { ok: false; code: 'E_DEADLINE' | 'E_OVERLOADED'; message: string; logs: []; hostCalls: 0; durationMs: number };

export interface PoolEvents {
  onWorkerReplaced?(reason: 'deadline' | 'crash'): void;
}

interface Pending {
  id: number;
  job: WorkerJob;
  component: PoolComponent;
  enqueuedAt: number;
  started: boolean;
  slot?: WorkerSlot;
  timer: NodeJS.Timeout;
  resolve(outcome: PoolOutcome): void;
}

interface WorkerSlot {
  worker: Worker;
  inFlight: Map<number, Pending>;
  loaded: Set<string>;
  instancesLive: number;
  dead: boolean;
}

const workerUrl = new URL('./worker.ts', import.meta.url);

export class WorkerPool {
  private readonly options: PoolOptions;
  private readonly events: PoolEvents;
  private slots: WorkerSlot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: PoolOptions, events: PoolEvents = {}) {
    this.options = options;
    this.events = events;
  }

  async start(): Promise<void> {
    this.slots = await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()));
  }

  get instancesLive(): number {
    return this.slots.reduce((n, s) => n + s.instancesLive, 0);
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  get size(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  execute(component: PoolComponent, job: WorkerJob): Promise<PoolOutcome> {
    return new Promise<PoolOutcome>((resolve) => {
      const id = this.nextId++;
      const enqueuedAt = performance.now();
      const pending: Pending = {
        id, job, component, enqueuedAt, started: false, resolve,
        timer: setTimeout(() => this.onDeadline(pending), Math.max(0, job.deadlineMs - Date.now())),
      };
      this.dispatch(pending);
    });
  }

  /** Ask every worker to pre-instantiate for an install so its first request does not wait. */
  warm(component: PoolComponent, installId: string): void {
    for (const slot of this.slots) {
      if (slot.dead) continue;
      this.ensureLoaded(slot, component);
      slot.worker.postMessage({ type: 'warm', contentHash: component.contentHash, installId });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, overloaded(p, 'the runner is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private async spawn(): Promise<WorkerSlot> {
    const { size: _s, concurrencyPerWorker: _c, maxQueue: _q, ...settings } = this.options;
    const worker = new Worker(workerUrl, { workerData: settings satisfies WorkerSettings });
    const slot: WorkerSlot = { worker, inFlight: new Map(), loaded: new Set(), instancesLive: 0, dead: false };
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', () => this.onWorkerGone(slot, 'crash'));
    worker.on('exit', () => this.onWorkerGone(slot, 'crash'));
    await new Promise<void>((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return slot;
  }

  private dispatch(pending: Pending): void {
    const slot = this.pickSlot(pending.component.contentHash);
    if (!slot) {
      if (this.queue.length >= this.options.maxQueue) {
        this.settle(pending, overloaded(pending, `all ${this.options.size} workers are busy and ${this.options.maxQueue} requests are waiting`));
      } else this.queue.push(pending);
      return;
    }
    pending.slot = slot;
    const alone = slot.inFlight.size === 0;
    // Alone on its worker, a request starts as soon as the message arrives: count it as started.
    pending.started = alone;
    slot.inFlight.set(pending.id, pending);
    this.ensureLoaded(slot, pending.component);
    slot.worker.postMessage({ type: 'execute', id: pending.id, job: pending.job, reportStart: !alone });
  }

  /** Least-loaded live worker with room; ties go to one that already has the component. */
  private pickSlot(contentHash: string): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    for (const slot of this.slots) {
      if (slot.dead || slot.inFlight.size >= this.options.concurrencyPerWorker) continue;
      if (!best || slot.inFlight.size < best.inFlight.size ||
        (slot.inFlight.size === best.inFlight.size && slot.loaded.has(contentHash) && !best.loaded.has(contentHash))) best = slot;
    }
    return best;
  }

  private ensureLoaded(slot: WorkerSlot, component: PoolComponent): void {
    if (slot.loaded.has(component.contentHash)) return;
    // Compiled modules are posted, never recompiled: the worker shares V8's compiled code.
    slot.worker.postMessage({ type: 'load', contentHash: component.contentHash, glueUrl: component.glueUrl, modules: component.modules, interfaces: component.interfaces });
    slot.loaded.add(component.contentHash);
  }

  private onMessage(slot: WorkerSlot, message: FromWorker): void {
    if (message.type === 'stats') { slot.instancesLive = message.instancesLive; return; }
    const pending = slot.inFlight.get(message.id);
    if (!pending) return;
    if (message.type === 'started') { pending.started = true; return; }
    slot.inFlight.delete(message.id);
    this.settle(pending, message.result);
    this.drain();
  }

  private onDeadline(pending: Pending): void {
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) this.queue.splice(queued, 1);
    const slot = pending.slot;
    this.settle(pending, {
      ok: false, code: 'E_DEADLINE', logs: [], hostCalls: 0,
      message: 'the extension did not answer before its deadline', durationMs: performance.now() - pending.enqueuedAt,
    });
    if (slot && !slot.dead && slot.inFlight.has(pending.id)) {
      slot.inFlight.delete(pending.id);
      this.replace(slot, 'deadline');
    }
  }

  private onWorkerGone(slot: WorkerSlot, reason: 'deadline' | 'crash'): void {
    if (slot.dead) return;
    this.replace(slot, reason);
  }

  /** Kill a worker, re-dispatch its jobs that had not started, fail the ones that had, and spawn a replacement. */
  private replace(slot: WorkerSlot, reason: 'deadline' | 'crash'): void {
    slot.dead = true;
    void slot.worker.terminate();
    const orphans = [...slot.inFlight.values()];
    slot.inFlight.clear();
    this.events.onWorkerReplaced?.(reason);
    if (this.closed) return;
    const index = this.slots.indexOf(slot);
    void this.spawn().then((fresh) => {
      if (this.closed) { void fresh.worker.terminate(); return; }
      this.slots[index] = fresh;
      this.drain();
    });
    for (const orphan of orphans) {
      if (!orphan.started) { orphan.slot = undefined; this.dispatch(orphan); continue; }
      this.settle(orphan, reason === 'crash'
        ? { ok: false, code: 'E_GUEST_TRAP', message: 'the worker running this request crashed', logs: [], hostCalls: 0, durationMs: performance.now() - orphan.enqueuedAt }
        : overloaded(orphan, 'the worker running this request was stopped because another request overran its deadline; retry'));
    }
  }

  private drain(): void {
    while (this.queue.length > 0) {
      const slot = this.pickSlot(this.queue[0].component.contentHash);
      if (!slot) return;
      this.dispatch(this.queue.shift()!);
    }
  }

  private settle(pending: Pending, outcome: PoolOutcome): void {
    clearTimeout(pending.timer);
    pending.resolve(outcome);
    pending.resolve = () => {};
  }
}

function overloaded(pending: Pending, message: string): PoolOutcome {
  return { ok: false, code: 'E_OVERLOADED', message, logs: [], hostCalls: 0, durationMs: performance.now() - pending.enqueuedAt };
}
