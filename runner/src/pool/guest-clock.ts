/**
 * A request's guest CPU clock, in the worker. It runs while the guest executes and stops while
 * the guest is suspended on an async host call (JSPI: the host function returned a promise and
 * the guest's stack is parked until it settles), so waiting on http or storage costs no budget.
 *
 * It counts the worker thread's CPU time (`process.threadCpuUsage()`), not wall time: on a
 * loaded machine a descheduled guest would otherwise be charged for other processes' work (at
 * load average 12 on 2 cores, wall-time accounting stopped an /ok and a fetch waiting on I/O at
 * a 250 ms budget; both use under 2 ms of CPU). That clock advances in steps of up to 4 ms
 * (scheduler ticks), so one short request reads 0 or ~4 ms; long segments and sums are exact.
 *
 * Each segment is published on the worker's SegmentBoard (read by the pool's timer); the pool
 * hears of suspensions and resumptions through `onChange` so it can re-arm or clear that timer.
 * A request's first segment and its end need no message: the pool arms its timer at dispatch,
 * and the result carries the total.
 *
 * If two guests resume in one microtask checkpoint, the board names the later one while the
 * earlier runs first: the thread's time is charged to the most recently resumed guest. Node
 * drains microtasks after every I/O callback, so this needs two host calls settled by one event.
 */
import { monotonicMs, threadCpuMs, type SegmentBoard } from './segment-board.ts';

export class GuestClock {
  private readonly id: number;
  private readonly board: SegmentBoard;
  private readonly onChange: (running: boolean, cpuMs: number) => void;
  private usedMs = 0;
  /** Thread CPU time when the running segment started; undefined while none runs. */
  private since: number | undefined;
  private done = false;

  constructor(id: number, board: SegmentBoard, onChange: (running: boolean, cpuMs: number) => void) {
    this.id = id;
    this.board = board;
    this.onChange = onChange;
  }

  /** The guest's first segment starts (no message: the pool counts from dispatch). */
  start(): void {
    this.since = threadCpuMs();
    this.board.enter(this.id, this.usedMs, monotonicMs(), this.since);
  }

  /** The guest called an async host function and is suspended until it settles. */
  suspend(): void {
    if (this.since === undefined || this.done) return;
    this.pause();
    this.onChange(false, this.usedMs);
  }

  /** The host call settled: the guest runs again. */
  resume(): void {
    if (this.since !== undefined || this.done) return;
    this.start();
    this.onChange(true, this.usedMs);
  }

  /** The guest returned or threw: the total, in ms. */
  finish(): number {
    if (this.since !== undefined) this.pause();
    this.done = true;
    return this.usedMs;
  }

  private pause(): void {
    this.usedMs += threadCpuMs() - this.since!;
    this.since = undefined;
    this.board.leave(this.id);
  }
}
