/**
 * Who gets the next free worker thread: one FIFO queue per install, served by least worker
 * time used (start-time fair queueing), and a cap on how many threads one install may hold
 * while others wait.
 *
 * A CPU-bound guest holds its whole worker thread and cannot be preempted, so fairness is
 * decided before dispatch:
 * - share: an install may have at most `maxWorkers` requests executing (dispatched and not
 *   parked on host I/O) while another install has requests waiting. With nobody else waiting it
 *   may use every thread, unless one of its guests was stopped for running past its CPU budget
 *   (or its deadline, while executing) in the last `heavyHoldMs`: a runaway install must not
 *   grab the idle thread the next newcomer would need.
 * - order: each install has a virtual time, advanced by the CPU its requests used (plus a small
 *   charge per dispatch, so installs of cheap requests take turns); among installs allowed a
 *   thread, the lowest goes first. A flood from one install waits behind its own requests, and
 *   an install whose requests each burn a whole budget gets a turn only after the others have
 *   used as much. A new (or long idle) install starts at the current floor, not at zero, so it
 *   cannot starve the others to catch up.
 * - bounds: `maxQueued` waiting requests per install (beyond them, E_OVERLOADED), so one
 *   install cannot fill the pool-wide queue either.
 *
 * @example
 *   const s = new InstallScheduler<Job>();
 *   const install = s.install('tenant|install', { maxWorkers: 1, maxQueued: 250 });
 *   s.enqueue(install, job);
 *   const next = s.next((state) => workerFor(state));   // fairest install with a worker to go to
 *   if (next) { s.dispatched(next.state); dispatch(s.take(next.state), next.place); }
 *   s.departed(next.state, true, cpuMsItUsed);
 */
export interface InstallLimits {
  /** Threads the install may hold while other installs wait. */
  maxWorkers: number;
  /** Requests the install may have waiting. */
  maxQueued: number;
}

export interface InstallState<T> {
  readonly key: string;
  limits: InstallLimits;
  readonly queue: T[];
  /** Dispatched requests not known to be parked on host I/O: the threads it may be holding. */
  executing: number;
  /** Dispatched requests, parked or not. */
  inFlight: number;
  /** Worker time it has been charged, in ms: the lowest eligible install goes first. */
  vtime: number;
  /** Moving average of its requests' CPU, in ms (how deep its requests may be pipelined). */
  avgCpuMs: number;
  /** Date.now() until which it gets no more than its share even with nobody else waiting. */
  heavyUntil: number;
}

/**
 * How long an install whose guest was stopped stays held to its share. A flooding install is
 * stopped again every budget + worker replacement (measured 0.1-1 s apart at a 100 ms budget on
 * 2 cores), so 10 s spans many stops, and an install that stopped misbehaving is free again soon.
 */
export const heavyHoldMs = 10_000;

/**
 * Charged per dispatch on top of the CPU used, so installs whose requests cost ~nothing still
 * take turns; about one hello (0.3-1 ms of guest CPU measured on 2 cores).
 */
export const dispatchChargeMs = 1;

export class InstallScheduler<T> {
  private readonly installs = new Map<string, InstallState<T>>();
  private readonly waiting = new Set<InstallState<T>>();
  /** Virtual time of the latest dispatch: where a new install starts. */
  private floor = 0;
  /** Requests waiting across all installs. */
  queued = 0;

  install(key: string, limits: InstallLimits): InstallState<T> {
    let state = this.installs.get(key);
    if (!state) {
      state = { key, limits, queue: [], executing: 0, inFlight: 0, vtime: this.floor, avgCpuMs: dispatchChargeMs, heavyUntil: 0 };
      this.installs.set(key, state);
    } else state.limits = limits;
    return state;
  }

  enqueue(state: InstallState<T>, item: T): void {
    state.queue.push(item);
    this.queued++;
    this.waiting.add(state);
  }

  /** Put requests back at the head of their install's queue, in the given order (orphans of a stopped worker). */
  requeueFront(state: InstallState<T>, items: T[]): void {
    if (items.length === 0) return;
    state.queue.unshift(...items);
    this.queued += items.length;
    this.waiting.add(state);
  }

  remove(state: InstallState<T>, item: T): boolean {
    const index = state.queue.indexOf(item);
    if (index < 0) return false;
    state.queue.splice(index, 1);
    this.queued--;
    if (state.queue.length === 0) this.waiting.delete(state);
    this.forgetIfIdle(state);
    return true;
  }

  /** Do other installs have requests waiting? */
  othersWaiting(state: InstallState<T>): boolean {
    return this.queued - state.queue.length > 0;
  }

  /** May this install start one more executing request on a free thread now? */
  mayTakeThread(state: InstallState<T>, now: number): boolean {
    if (state.executing < state.limits.maxWorkers) return true;
    return !this.othersWaiting(state) && now >= state.heavyUntil;
  }

  /**
   * The waiting install with the least virtual time that `place` finds room for (the pool: a
   * worker to go to, which consults `mayTakeThread`), with that room; ties go to the longest
   * waiting. The room is returned as found: asking again a moment later may answer otherwise.
   */
  next<P>(place: (state: InstallState<T>) => P | undefined): { state: InstallState<T>; place: P } | undefined {
    let best: { state: InstallState<T>; place: P } | undefined;
    for (const state of this.waiting) {
      if (best && state.vtime >= best.state.vtime) continue;
      const found = place(state);
      if (found !== undefined) best = { state, place: found };
    }
    return best;
  }

  /** The head of an install's queue, for dispatch. */
  take(state: InstallState<T>): T {
    const item = state.queue.shift()!;
    this.queued--;
    if (state.queue.length === 0) this.waiting.delete(state);
    return item;
  }

  /** A request of this install was dispatched. */
  dispatched(state: InstallState<T>): void {
    this.floor = Math.max(this.floor, state.vtime);
    state.vtime += dispatchChargeMs;
    state.inFlight++;
    state.executing++;
  }

  /** A dispatched request parked on host I/O (`executing: false`) or resumed from it (`true`). */
  executingChanged(state: InstallState<T>, executing: boolean): void {
    state.executing += executing ? 1 : -1;
  }

  /**
   * A dispatched request left its worker (answered, stopped or orphaned): `executing` as it was
   * then, `cpuMs` the worker time it used (charged to the install's virtual time).
   */
  departed(state: InstallState<T>, executing: boolean, cpuMs: number): void {
    state.inFlight--;
    if (executing) state.executing--;
    state.vtime += cpuMs;
    // A fifth per request: a few requests show a change, and single clock steps (4 ms) are smoothed out.
    state.avgCpuMs += (cpuMs - state.avgCpuMs) / 5;
    this.forgetIfIdle(state);
  }

  /**
   * Its runaway's worker is being replaced: that thread counts against its share until the
   * replacement is up (`charged: false`), so it cannot move on to the next free thread meanwhile.
   */
  chargeReplacement(state: InstallState<T>, charged: boolean): void {
    state.executing += charged ? 1 : -1;
    if (!charged) this.forgetIfIdle(state);
  }

  /** One of its guests was stopped as a runaway: held to its share for a while. */
  markHeavy(state: InstallState<T>, now: number): void {
    state.heavyUntil = now + heavyHoldMs;
  }

  /** Empty every queue (shutdown): the requests that were waiting. */
  takeAll(): T[] {
    const all: T[] = [];
    for (const state of this.waiting) all.push(...state.queue.splice(0));
    this.waiting.clear();
    this.queued = 0;
    return all;
  }

  get size(): number {
    return this.installs.size;
  }

  /** Idle installs are dropped so the map stays as small as the active set (a heavy one is kept until its hold ends). */
  private forgetIfIdle(state: InstallState<T>): void {
    if (state.queue.length === 0 && state.inFlight === 0 && state.executing === 0 && Date.now() >= state.heavyUntil) this.installs.delete(state.key);
  }
}
