/**
 * The worker pool: dispatches jobs to worker threads, shares the threads fairly between
 * installs, enforces deadlines and CPU budgets by terminating the worker that runs an overdue
 * guest (a `while(true){}` cannot be interrupted any other way), and replaces dead workers.
 *
 * - A worker's thread runs one guest at a time. It may hold up to `concurrencyPerWorker`
 *   requests, but a new one is dispatched only to a worker none of whose requests is executing
 *   (all parked on async host I/O, or none): a request never waits on a thread behind another
 *   install's guest, where a runaway would take it down too. The one exception is pipelining
 *   while no other install is waiting: more requests of the install already executing there,
 *   so the thread does not idle while the main thread answers the last one, as many as fit in
 *   `pipelineWorkMs` of its average CPU. A runaway then delays only its own install's requests,
 *   re-dispatched when it is stopped; and as soon as another install waits, pipelines drain
 *   (within about `pipelineWorkMs`) and a thread comes free for it.
 * - Which request goes next, and how many threads one install may hold: InstallScheduler.
 * - CPU budget: a dispatched request has a timer for the rest of its budget, cleared while its
 *   guest is parked on host I/O and re-armed when it resumes (GuestClock messages). Wall time
 *   bounds CPU time from above, so a timer armed for the rest of the budget in wall time fires
 *   no later than the guest can have used it up. When it fires, the worker's
 *   SegmentBoard says whether that request's guest is still executing; if so the worker
 *   thread's own CPU clock (`Worker#cpuUsage()`, readable while the guest loops) says how much
 *   it used, and only past the budget is the worker stopped (508 E_CPU_LIMIT); otherwise the
 *   timer is re-armed for the rest.
 * - A stopped worker's other requests: those whose guest had not run yet go back to the head
 *   of their install's queue and are re-dispatched; those whose guest had run get 503
 *   E_OVERLOADED (running them again could repeat their side effects).
 * - Host calls: a provider whose WIT interface has a main-thread backend (`hostBackends`: a dev
 *   server or test host) posts `host-call` messages; they are answered here by interface name
 *   (host-call-server.ts), scoped by the job in flight under that id, and dropped with a dead worker.
 * - A spare worker is kept started, so a stopped one is replaced at once: starting a worker
 *   (evaluating the runner's modules) takes 0.3-1.4 s on a loaded 2-core machine, during which
 *   every request would otherwise wait on the workers left.
 *
 * @example
 *   const pool = new WorkerPool({ size: 2, ...defaults });
 *   await pool.start();
 *   const outcome = await pool.execute(component, job, { cpuMs: 1000 });   // JobResult | pool error
 */
import { Worker } from 'node:worker_threads';
import type { FromWorker, JobResult, WorkerData, WorkerJob, WorkerSettings } from './messages.ts';
import type { HostBackend } from '../providers/provider.ts';
import { answerHostCall } from './host-call-server.ts';
import { InstallScheduler, type InstallState } from './install-scheduler.ts';
import { monotonicMs, SegmentBoard, segmentBoardBytes, type RunningSegment } from './segment-board.ts';

export interface PoolComponent {
  contentHash: string;
  glueUrl: string;
  modules: Record<string, WebAssembly.Module>;
  interfaces: string[];
}

export interface PoolOptions extends Omit<WorkerSettings, 'hostBackendInterfaces'> {
  size: number;
  /** Main-thread backends by WIT interface name (dev server, test host); workers relay their providers' calls here. */
  hostBackends?: Readonly<Record<string, HostBackend>>;
  /** Requests a worker may hold at once (guests suspended on I/O let others run). */
  concurrencyPerWorker: number;
  /** Requests waiting for a worker before new ones get E_OVERLOADED. */
  maxQueue: number;
}

/** What one request may use of the pool. */
export interface PoolLimits {
  /** CPU budget in ms: time its guest executes, not time it waits on host I/O. */
  cpuMs: number;
  /** Threads its install may hold while other installs wait; default max(1, floor(size / 2)). */
  maxWorkersPerInstall?: number;
  /** Requests its install may have waiting; default a quarter of maxQueue (at least 1). */
  maxQueuePerInstall?: number;
}

export type PoolOutcome =
  | JobResult
  | { ok: false; code: 'E_DEADLINE' | 'E_OVERLOADED' | 'E_CPU_LIMIT'; message: string; logs: []; hostCalls: 0; durationMs: number; cpuMs: number };

export type ReplaceReason = 'deadline' | 'cpu' | 'crash';

export interface PoolEvents {
  onWorkerReplaced?(reason: ReplaceReason): void;
}

interface Pending {
  id: number;
  job: WorkerJob;
  component: PoolComponent;
  install: InstallState<Pending>;
  cpuBudgetMs: number;
  enqueuedAt: number;
  /** Its guest may have run (re-running it could repeat side effects). */
  started: boolean;
  /** Dispatched and not parked on host I/O: it may be holding its worker's thread. */
  executing: boolean;
  /** CPU used as of the worker's last segment message. */
  cpuMs: number;
  slot?: WorkerSlot;
  deadlineTimer?: NodeJS.Timeout;
  cpuTimer?: NodeJS.Timeout;
  done: boolean;
  resolve(outcome: PoolOutcome): void;
}

interface WorkerSlot {
  worker: Worker;
  board: SegmentBoard;
  inFlight: Map<number, Pending>;
  /** In-flight requests not parked on host I/O. */
  executing: number;
  /** Those, by install: pipelining is only behind requests of the same install. */
  executingBy: Map<InstallState<Pending>, number>;
  loaded: Map<string, PoolComponent>;
  instancesLive: number;
  /** `warm` calls waiting for this worker's `warmed` answer, in the order they were sent. */
  warmWaiters: Array<{ contentHash: string; answer(ready: number): void }>;
  dead: boolean;
}

/**
 * A worker whose board shows a guest segment running longer than this takes no new request,
 * even when the pool believes all its requests are parked (the resume message may still be on
 * its way). Routes of the samples run whole segments in 0.2-2 ms (GuestClock, 2 cores).
 */
const busySegmentMs = 5;

/**
 * Guest work a worker may have lined up for one install (executing and queued, by that install's
 * average CPU per request) when nobody else waits, i.e. about how long an install that starts
 * waiting may wait for a pipeline to drain. Hello (~0.5 ms) then pipelines up to the worker's
 * concurrency: measured through pool.execute (2 workers, 32 in flight, 2 cores), one request per
 * thread gave 4 600 req/s, 4: 6 050, 8: 6 300-6 600, the old unbounded pool 6 200-6 900.
 */
const pipelineWorkMs = 8;

const workerUrl = new URL('./worker.ts', import.meta.url);

export class WorkerPool {
  private readonly options: PoolOptions;
  private readonly events: PoolEvents;
  private slots: WorkerSlot[] = [];
  /** Started and idle, to take a stopped worker's place at once. */
  private spare: WorkerSlot | undefined;
  private spareStarting = false;
  private readonly scheduler = new InstallScheduler<Pending>();
  private nextId = 1;
  private closed = false;

  constructor(options: PoolOptions, events: PoolEvents = {}) {
    this.options = options;
    this.events = events;
  }

  async start(): Promise<void> {
    this.slots = await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()));
    this.refillSpare();
  }

  get instancesLive(): number {
    return this.slots.reduce((n, s) => n + s.instancesLive, 0);
  }

  get queued(): number {
    return this.scheduler.queued;
  }

  get busy(): number {
    return this.slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  get size(): number {
    return this.slots.filter((s) => !s.dead).length;
  }

  execute(component: PoolComponent, job: WorkerJob, limits: PoolLimits): Promise<PoolOutcome> {
    return new Promise<PoolOutcome>((resolve) => {
      const install = this.scheduler.install(`${job.install.tenantId}|${job.install.installId}`, {
        maxWorkers: limits.maxWorkersPerInstall ?? Math.max(1, Math.floor(this.options.size / 2)),
        maxQueued: limits.maxQueuePerInstall ?? Math.max(1, Math.ceil(this.options.maxQueue / 4)),
      });
      const pending: Pending = {
        id: this.nextId++, job, component, install, cpuBudgetMs: limits.cpuMs, enqueuedAt: performance.now(),
        started: false, executing: false, cpuMs: 0, done: false, resolve,
      };
      if (this.closed) return this.settle(pending, overloaded(pending, 'the runner is shutting down'));
      pending.deadlineTimer = setTimeout(() => this.onDeadline(pending), Math.max(0, job.deadlineMs - Date.now()));
      this.scheduler.enqueue(install, pending);
      this.drain();
      if (pending.slot || pending.done) return;
      // Still waiting: within the bounds, or refused now rather than left to time out.
      if (this.scheduler.queued > this.options.maxQueue) {
        this.scheduler.remove(install, pending);
        this.settle(pending, overloaded(pending, `all ${this.options.size} workers are busy and ${this.options.maxQueue} requests are waiting`));
      } else if (install.queue.length > install.limits.maxQueued) {
        this.scheduler.remove(install, pending);
        this.settle(pending, overloaded(pending, `this install already has ${install.limits.maxQueued} requests waiting for a worker (its share of the queue)`));
      }
    });
  }

  /**
   * Load the component into every worker and have each make never-used instances ready; resolves
   * when they all have (or after `timeoutMs`, with what was ready by then), with the ready count.
   */
  warm(component: PoolComponent, timeoutMs = 30_000): Promise<number> {
    const live = this.slots.filter((s) => !s.dead);
    return new Promise<number>((resolve) => {
      let waiting = live.length;
      let ready = 0;
      const done = () => { clearTimeout(timer); resolve(ready); };
      const timer = setTimeout(done, timeoutMs);
      if (waiting === 0) return done();
      for (const slot of live) {
        this.ensureLoaded(slot, component);
        slot.warmWaiters.push({ contentHash: component.contentHash, answer: (n) => { ready += n; if (--waiting === 0) done(); } });
        slot.worker.postMessage({ type: 'warm', contentHash: component.contentHash });
      }
      if (this.spare) this.spare.worker.postMessage({ type: 'warm', contentHash: component.contentHash });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.scheduler.takeAll()) this.settle(p, overloaded(p, 'the runner is shutting down'));
    await Promise.all([...this.slots, ...(this.spare ? [this.spare] : [])].map((s) => s.worker.terminate()));
  }

  private async spawn(): Promise<WorkerSlot> {
    const { size: _s, concurrencyPerWorker: _c, maxQueue: _q, hostBackends, ...rest } = this.options;
    // The backends stay on this thread (functions cannot cross): workers only learn which interfaces have one.
    const settings: WorkerSettings = { ...rest, hostBackendInterfaces: Object.keys(hostBackends ?? {}) };
    const board = new SegmentBoard(new SharedArrayBuffer(segmentBoardBytes));
    const worker = new Worker(workerUrl, { workerData: { settings, board: board.buffer } satisfies WorkerData });
    const slot: WorkerSlot = { worker, board, inFlight: new Map(), executing: 0, executingBy: new Map(), loaded: new Map(), instancesLive: 0, warmWaiters: [], dead: false };
    await new Promise<void>((resolve, reject) => {
      const ready = (message: FromWorker) => {
        if (message.type !== 'ready') return;
        worker.off('message', ready);
        resolve();
      };
      worker.on('message', ready);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} while starting`)));
    });
    worker.on('message', (message: FromWorker) => this.onMessage(slot, message));
    worker.on('error', () => this.onWorkerGone(slot));
    worker.on('exit', () => this.onWorkerGone(slot));
    return slot;
  }

  /** Keep one started worker in reserve, with the components the others have loaded. */
  private refillSpare(): void {
    if (this.closed || this.spare || this.spareStarting) return;
    this.spareStarting = true;
    this.spawn().then((slot) => {
      this.spareStarting = false;
      if (this.closed) { void slot.worker.terminate(); return; }
      this.spare = slot;
      for (const live of this.slots) for (const component of live.loaded.values()) this.ensureLoaded(slot, component);
    }, () => { this.spareStarting = false; });
  }

  /** Dispatch waiting requests, fairest install first, while one of them has a worker to go to. */
  private drain(): void {
    const now = Date.now();
    while (this.scheduler.queued > 0) {
      const next = this.scheduler.next((state) => this.pickSlot(state, now));
      if (!next) return;
      this.dispatch(this.scheduler.take(next.state), next.place);
    }
  }

  /**
   * Where the install's next request may go: a worker with a free thread (if the install may take
   * one) or, failing that, one already executing only this install's requests (pipelining).
   * Then one that is not instantiating ahead (a request sent there waits for it), the fewest
   * requests held, and a worker that already has the component.
   */
  private pickSlot(install: InstallState<Pending>, now: number): WorkerSlot | undefined {
    const contentHash = install.queue[0].component.contentHash;
    const mayTakeThread = this.scheduler.mayTakeThread(install, now);
    let best: WorkerSlot | undefined;
    let bestPipelined = false;
    let bestInstantiating = false;
    let mono: number | undefined;
    for (const slot of this.slots) {
      if (slot.dead || slot.inFlight.size >= this.options.concurrencyPerWorker) continue;
      const pipelined = slot.executing > 0;
      if (pipelined) {
        if (slot.executingBy.size !== 1 || !slot.executingBy.has(install) || this.scheduler.othersWaiting(install)) continue;
        if (slot.executing * Math.max(install.avgCpuMs, 0.1) >= pipelineWorkMs) continue;
      } else if (!mayTakeThread) continue;
      // A long segment on the board: a runaway, or a resumption the pool has not heard of yet.
      if (slot.inFlight.size > 0 && slot.board.runningForMs(mono ??= monotonicMs()) > busySegmentMs) continue;
      const instantiating = slot.board.instantiating();
      if (!best || (bestPipelined && !pipelined) || (bestPipelined === pipelined && ((bestInstantiating && !instantiating) ||
        (bestInstantiating === instantiating && (slot.inFlight.size < best.inFlight.size ||
          (slot.inFlight.size === best.inFlight.size && slot.loaded.has(contentHash) && !best.loaded.has(contentHash))))))) {
        best = slot;
        bestPipelined = pipelined;
        bestInstantiating = instantiating;
      }
    }
    return best;
  }

  /** A request of `install` started (+1) or stopped (-1) executing on `slot`. */
  private countExecuting(slot: WorkerSlot, install: InstallState<Pending>, delta: 1 | -1): void {
    slot.executing += delta;
    const n = (slot.executingBy.get(install) ?? 0) + delta;
    if (n > 0) slot.executingBy.set(install, n);
    else slot.executingBy.delete(install);
  }

  private dispatch(pending: Pending, slot: WorkerSlot): void {
    pending.slot = slot;
    const alone = slot.inFlight.size === 0;
    // Alone on its worker, a request starts as soon as the message arrives: count it as started.
    pending.started = alone;
    pending.executing = true;
    slot.inFlight.set(pending.id, pending);
    this.countExecuting(slot, pending.install, 1);
    this.scheduler.dispatched(pending.install);
    this.ensureLoaded(slot, pending.component);
    slot.worker.postMessage({ type: 'execute', id: pending.id, job: pending.job, reportStart: !alone });
    // Guest time since dispatch cannot exceed wall time since dispatch: the earliest it can overrun.
    this.armCpuTimer(pending, pending.cpuBudgetMs - pending.cpuMs);
  }

  private ensureLoaded(slot: WorkerSlot, component: PoolComponent): void {
    if (slot.loaded.has(component.contentHash)) return;
    // Compiled modules are posted, never recompiled: the worker shares V8's compiled code.
    slot.worker.postMessage({ type: 'load', contentHash: component.contentHash, glueUrl: component.glueUrl, modules: component.modules, interfaces: component.interfaces });
    slot.loaded.set(component.contentHash, component);
    // The spare imports it too, so a replacement does not start with a cold import.
    if (this.spare && slot !== this.spare) this.ensureLoaded(this.spare, component);
  }

  private onMessage(slot: WorkerSlot, message: FromWorker): void {
    if (message.type === 'ready') return;
    if (message.type === 'stats') { slot.instancesLive = message.instancesLive; return; }
    if (message.type === 'warmed') {
      const i = slot.warmWaiters.findIndex((w) => w.contentHash === message.contentHash);
      if (i >= 0) slot.warmWaiters.splice(i, 1)[0].answer(message.ready);
      return;
    }
    if (message.type === 'host-call') {
      // Scoped by the job in flight on this worker under that id; a dead worker's answers are dropped.
      answerHostCall(this.options.hostBackends ?? {}, slot.inFlight.get(message.id)?.job, message, (m) => slot.worker.postMessage(m), () => !slot.dead);
      return;
    }
    const pending = slot.inFlight.get(message.id);
    if (!pending) return;
    if (message.type === 'started') { pending.started = true; return; }
    if (message.type === 'segment') { this.onSegment(pending, message.running, message.cpuMs); return; }
    this.detach(pending, message.result.cpuMs);
    this.settle(pending, message.result);
    this.drain();
  }

  /** The guest parked on host I/O (its thread is free for another request) or resumed. */
  private onSegment(pending: Pending, running: boolean, cpuMs: number): void {
    pending.started = true;
    pending.cpuMs = cpuMs;
    if (running !== pending.executing) {
      pending.executing = running;
      this.countExecuting(pending.slot!, pending.install, running ? 1 : -1);
      this.scheduler.executingChanged(pending.install, running);
    }
    if (running) { this.armCpuTimer(pending, pending.cpuBudgetMs - cpuMs); return; }
    clearTimeout(pending.cpuTimer);
    pending.cpuTimer = undefined;
    this.drain();
  }

  private armCpuTimer(pending: Pending, remainingMs: number): void {
    clearTimeout(pending.cpuTimer);
    pending.cpuTimer = setTimeout(() => this.checkCpu(pending), Math.max(1, Math.ceil(remainingMs)));
  }

  /** The request's budget may be used up: stop its worker only if its guest is executing past it now. */
  private checkCpu(pending: Pending): void {
    pending.cpuTimer = undefined;
    const slot = pending.slot;
    if (pending.done || !slot || slot.dead) return;
    const segment = slot.board.read();
    if (segment === 'changing') return this.armCpuTimer(pending, 1);
    if (segment?.id === pending.id) {
      // Worker#cpuUsage() is Node >= 24.6 (the repo pins 26); before it, wall time is the (upper) bound.
      if (typeof slot.worker.cpuUsage !== 'function') return this.judgeCpu(pending, slot, segment, segment.threadCpuAtStartMs + monotonicMs() - segment.startedAt);
      slot.worker.cpuUsage().then((usage) => this.judgeCpu(pending, slot, segment, (usage.user + usage.system) / 1000), () => {
        // The worker is gone: its exit handler settles the request.
      });
      return;
    }
    // Not executing right now: not started yet, or its parked/resumed message is on its way.
    if (pending.executing) this.armCpuTimer(pending, pending.cpuBudgetMs - pending.cpuMs);
  }

  /** `threadCpuNowMs`: the worker thread's CPU clock, read while `segment` was running. */
  private judgeCpu(pending: Pending, slot: WorkerSlot, segment: RunningSegment, threadCpuNowMs: number): void {
    if (pending.done || pending.slot !== slot || slot.dead || pending.cpuTimer) return;
    const current = slot.board.read();
    if (current === 'changing' || current?.id !== segment.id || current.startedAt !== segment.startedAt) {
      // That segment ended while the clock was read: the worker's messages re-arm the timer.
      if (pending.executing) this.armCpuTimer(pending, pending.cpuBudgetMs - pending.cpuMs);
      return;
    }
    const used = segment.cpuBeforeMs + (threadCpuNowMs - segment.threadCpuAtStartMs);
    if (used >= pending.cpuBudgetMs) return this.stopForCpu(pending, used);
    this.armCpuTimer(pending, pending.cpuBudgetMs - used);
  }

  private stopForCpu(pending: Pending, usedMs: number): void {
    const slot = pending.slot!;
    this.scheduler.markHeavy(pending.install, Date.now());
    this.detach(pending, usedMs);
    this.settle(pending, {
      ok: false, code: 'E_CPU_LIMIT', logs: [], hostCalls: 0, cpuMs: usedMs,
      message: `the extension used ${Math.floor(usedMs)} ms of CPU, over its budget of ${pending.cpuBudgetMs} ms`,
      durationMs: performance.now() - pending.enqueuedAt,
    });
    this.replace(slot, 'cpu', pending.install);
  }

  private onDeadline(pending: Pending): void {
    if (pending.done) return;
    const slot = pending.slot;
    const segment = slot?.board.read();
    const running = typeof segment === 'object' && segment.id === pending.id;
    // Guest code still running at its deadline is a runaway too (parked on slow I/O is not).
    if (running) this.scheduler.markHeavy(pending.install, Date.now());
    // Charged at the running segment's wall time: an upper bound, and no need to wait for the clock.
    const cpuMs = running ? segment.cpuBeforeMs + (monotonicMs() - segment.startedAt) : pending.cpuMs;
    if (!slot) this.scheduler.remove(pending.install, pending);
    else this.detach(pending, cpuMs);
    this.settle(pending, {
      ok: false, code: 'E_DEADLINE', logs: [], hostCalls: 0, cpuMs,
      message: 'the extension did not answer before its deadline', durationMs: performance.now() - pending.enqueuedAt,
    });
    if (slot && !slot.dead) this.replace(slot, 'deadline', pending.install);
  }

  private onWorkerGone(slot: WorkerSlot): void {
    if (slot.dead) return;
    if (!this.slots.includes(slot)) {
      // The spare died idle: only the reserve is lost.
      slot.dead = true;
      if (slot === this.spare) { this.spare = undefined; this.refillSpare(); }
      return;
    }
    this.replace(slot, 'crash');
  }

  /**
   * Kill a worker, put the spare in its place (or start a replacement), re-queue its requests
   * whose guest had not run, and fail the others. `culprit`: the install whose guest was stopped.
   */
  private replace(slot: WorkerSlot, reason: ReplaceReason, culprit?: InstallState<Pending>): void {
    slot.dead = true;
    for (const waiter of slot.warmWaiters.splice(0)) waiter.answer(0);
    void slot.worker.terminate();
    const orphans = [...slot.inFlight.values()];
    this.events.onWorkerReplaced?.(reason);
    if (this.closed) {
      for (const orphan of orphans) { this.detach(orphan, orphan.cpuMs); this.settle(orphan, overloaded(orphan, 'the runner is shutting down')); }
      return;
    }
    const index = this.slots.indexOf(slot);
    const spare = this.spare;
    if (spare) {
      this.spare = undefined;
      this.slots[index] = spare;
      for (const component of slot.loaded.values()) this.ensureLoaded(spare, component);
    } else {
      // No spare: the thread it cost stays charged to the culprit until its replacement is up.
      if (culprit) this.scheduler.chargeReplacement(culprit, true);
      void this.spawn().then((fresh) => {
        if (culprit) this.scheduler.chargeReplacement(culprit, false);
        if (this.closed) { void fresh.worker.terminate(); return; }
        this.slots[index] = fresh;
        this.drain();
      });
    }
    this.refillSpare();
    // Re-queued before they are detached, so an install whose last request this was is not forgotten meanwhile.
    const rerun = new Map<InstallState<Pending>, Pending[]>();
    for (const orphan of orphans) if (!orphan.started) rerun.set(orphan.install, [...(rerun.get(orphan.install) ?? []), orphan]);
    // Dispatch order within an install is kept: they go back to the head of its queue.
    for (const [install, items] of rerun) this.scheduler.requeueFront(install, items);
    for (const orphan of orphans) {
      if (!orphan.started) { this.detach(orphan, 0); continue; }
      this.detach(orphan, orphan.cpuMs);
      this.settle(orphan, reason === 'crash'
        ? { ok: false, code: 'E_GUEST_TRAP', message: 'the worker running this request crashed', logs: [], hostCalls: 0, durationMs: performance.now() - orphan.enqueuedAt, cpuMs: orphan.cpuMs }
        : overloaded(orphan, `the worker running this request was stopped because another request on its worker ${reason === 'cpu' ? 'exceeded its CPU budget' : 'overran its deadline'}; this request had already run extension code, so it was not run again: retry`));
    }
    this.drain();
  }

  /** Take a dispatched request off its worker (answered, stopped or orphaned), charging its install `cpuMs`. */
  private detach(pending: Pending, cpuMs: number): void {
    const slot = pending.slot;
    if (!slot) return;
    slot.inFlight.delete(pending.id);
    if (pending.executing) this.countExecuting(slot, pending.install, -1);
    this.scheduler.departed(pending.install, pending.executing, cpuMs);
    pending.executing = false;
    pending.slot = undefined;
    clearTimeout(pending.cpuTimer);
    pending.cpuTimer = undefined;
  }

  private settle(pending: Pending, outcome: PoolOutcome): void {
    if (pending.done) return;
    pending.done = true;
    clearTimeout(pending.deadlineTimer);
    clearTimeout(pending.cpuTimer);
    pending.resolve(outcome);
  }
}

function overloaded(pending: Pending, message: string): PoolOutcome {
  return { ok: false, code: 'E_OVERLOADED', message, logs: [], hostCalls: 0, durationMs: performance.now() - pending.enqueuedAt, cpuMs: pending.cpuMs };
}
