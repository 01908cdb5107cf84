/**
 * Which request's guest a worker's thread is executing right now, shared with the main thread
 * through a SharedArrayBuffer. A guest in `for(;;){}` runs no JavaScript, so it can answer no
 * message: the main thread reads what the worker wrote just before entering the guest, and
 * decides on its own whether to stop it.
 *
 * Layout: Int32 `seq` (odd while the worker writes) | Int32 `instantiating` | Float64 id, startedAt,
 * cpuBeforeMs, threadCpuAtStartMs.
 * One writer (the worker), one reader (the pool); a read that overlaps a write is reported as
 * `changing` and retried, never half-used.
 *
 * @example
 *   const board = new SegmentBoard(new SharedArrayBuffer(segmentBoardBytes));
 *   board.enter(42, 0, monotonicMs(), threadCpuMs());   // worker: request 42 starts executing
 *   board.read();                     // pool: { id: 42, startedAt, cpuBeforeMs: 0, threadCpuAtStartMs }
 */
export const segmentBoardBytes = 40;

/** One wall clock for every thread: `performance.now()` counts from each thread's own start. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** CPU time of the calling thread, in ms (the same clock `Worker#cpuUsage()` reads from outside). */
export function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

export interface RunningSegment {
  /** The pool's request id. */
  id: number;
  /** monotonicMs() when this segment started. */
  startedAt: number;
  /** CPU the request had used in its earlier segments. */
  cpuBeforeMs: number;
  /** The worker thread's CPU time (threadCpuMs) when this segment started. */
  threadCpuAtStartMs: number;
}

export class SegmentBoard {
  readonly buffer: SharedArrayBuffer;
  private readonly seq: Int32Array;
  private readonly instantiatingFlag: Int32Array;
  private readonly slots: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.seq = new Int32Array(buffer, 0, 1);
    this.instantiatingFlag = new Int32Array(buffer, 4, 1);
    this.slots = new Float64Array(buffer, 8, 4);
  }

  /** Worker: request `id` starts executing guest code. */
  enter(id: number, cpuBeforeMs: number, now: number, threadCpuNowMs: number): void {
    Atomics.add(this.seq, 0, 1);
    this.slots[0] = id;
    this.slots[1] = now;
    this.slots[2] = cpuBeforeMs;
    this.slots[3] = threadCpuNowMs;
    Atomics.add(this.seq, 0, 1);
  }

  /** Worker: request `id` stopped executing (unless another request has entered since). */
  leave(id: number): void {
    if (this.slots[0] !== id) return;
    Atomics.add(this.seq, 0, 1);
    this.slots[0] = 0;
    Atomics.add(this.seq, 0, 1);
  }

  /**
   * Worker: it is instantiating ahead (a never-used instance for later requests). A request sent
   * to it now would wait those 5-10 ms: the pool prefers a worker that is not.
   */
  setInstantiating(on: boolean): void {
    Atomics.store(this.instantiatingFlag, 0, on ? 1 : 0);
  }

  /** Pool: is the worker instantiating ahead right now? */
  instantiating(): boolean {
    return Atomics.load(this.instantiatingFlag, 0) === 1;
  }

  /** Pool: the segment running now, `undefined` when none is, `'changing'` mid-write. */
  read(): RunningSegment | undefined | 'changing' {
    const before = Atomics.load(this.seq, 0);
    const id = this.slots[0];
    const startedAt = this.slots[1];
    const cpuBeforeMs = this.slots[2];
    const threadCpuAtStartMs = this.slots[3];
    if (before % 2 === 1 || Atomics.load(this.seq, 0) !== before) return 'changing';
    return id === 0 ? undefined : { id, startedAt, cpuBeforeMs, threadCpuAtStartMs };
  }

  /** Pool: how long the running segment has run (0 when none), without allocating. */
  runningForMs(now: number): number {
    if (this.slots[0] === 0) return 0;
    return Math.max(0, now - this.slots[1]);
  }
}
