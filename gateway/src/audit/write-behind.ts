/**
 * Write-behind rows for an append-only table (the audit log `extension_execution_log` and the
 * guest log `extension_log`): a proxied request queues its row and answers; the queue is written
 * as ONE multi-row INSERT per flush, at most `flushIntervalMs` after the first row queued (and
 * at once when a full batch is waiting). Measured (issue 11): the proxy paid 2 round trips per
 * request for the audit row (insert before the runner, update after) and 1 for its guest log
 * lines; on PGlite every statement also costs main-thread CPU.
 *
 * What is promised instead of the old "row written before the answer":
 * - Nothing is lost silently. Rows the database refuses for good (a value it cannot store) are
 *   isolated by bisecting the batch, so one bad row never takes other installs' rows with it,
 *   and those left are counted (`alga_gateway_write_behind_rows_total{result="dropped"}`) and
 *   logged: one line per failed write, with the table, row count and the driver's error code —
 *   never the values (knex puts the bound values into its error messages; they are cut off).
 * - A database that is unreachable keeps the rows queued and retried every `retryDelayMs` until
 *   it answers again, up to `maxQueueRows`.
 * - The queue is bounded. When it is full, `add` writes the rows itself (a single INSERT) and
 *   returns that promise, which the proxy awaits before it answers: an overloaded database
 *   slows requests down to its pace, as before batching, instead of losing audit rows (dropping
 *   would let a flood of requests blind the audit trail). `refusesWrites` tells the proxy when
 *   the queue is full AND the database unreachable, so it stops running requests it could not
 *   record (503 E_DATABASE_UNAVAILABLE) instead.
 * - `flush()` writes everything queued before it; readers of the table call it first, so a
 *   client that made a request and then reads the activity API sees its row. `close()` flushes
 *   on shutdown.
 * What remains: rows queued when the process dies (at most ~`flushIntervalMs` of requests, or
 * the rows waiting out a database outage) are lost.
 *
 * @example
 *   const auditLog = new WriteBehindTable({ knex, table: 'extension_execution_log', logger, metrics });
 *   const written = auditLog.add(row);   // undefined: queued; a promise: the queue was full, await it
 *   if (written) await written;
 *   await auditLog.flush();               // before reading the table
 *   await auditLog.close();               // on shutdown
 */
import type { Knex } from 'knex';
import type { Counter, Gauge } from 'prom-client';
import { isDatabaseUnavailable } from '../db/database.ts';

export interface WriteBehindMetrics {
  /** Rows by table and result (`written`, `dropped`). */
  rows: Counter<'table' | 'result'>;
  /** Rows waiting in the queue, by table. */
  queued: Gauge<'table'>;
}

export interface WriteBehindOptions {
  knex: Knex;
  table: string;
  logger: { warn(obj: object, msg: string): void };
  metrics: WriteBehindMetrics;
  /** A row waits at most this long before its batch is written (while the database answers). */
  flushIntervalMs?: number;
  /** Rows per INSERT: ~10 columns each stays far below PostgreSQL's 65 535 bind parameters. */
  maxBatchRows?: number;
  /** Rows held in memory; past it `add` writes through (see above). */
  maxQueueRows?: number;
  /** Wait between attempts while the database is unreachable. */
  retryDelayMs?: number;
}

type Row = Record<string, unknown>;

export class WriteBehindTable<R extends Row = Row> {
  private readonly knex: Knex;
  private readonly table: string;
  private readonly logger: WriteBehindOptions['logger'];
  private readonly metrics: WriteBehindMetrics;
  private readonly flushIntervalMs: number;
  private readonly maxBatchRows: number;
  private readonly maxQueueRows: number;
  private readonly retryDelayMs: number;
  private queue: R[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Writes run one after another: one batch in flight per table. */
  private chain: Promise<unknown> = Promise.resolve();
  private kicked = false;
  /** The last write found the database unreachable (cleared by the next write that succeeds). */
  private unreachable = false;
  private closed = false;

  constructor(options: WriteBehindOptions) {
    this.knex = options.knex;
    this.table = options.table;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxBatchRows = options.maxBatchRows ?? 500;
    this.maxQueueRows = Math.max(options.maxQueueRows ?? 10_000, this.maxBatchRows);
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The queue is full and the database unreachable: a new row could not be kept. */
  get refusesWrites(): boolean {
    return this.unreachable && this.queue.length >= this.maxQueueRows;
  }

  /**
   * Queues rows (undefined), or — queue full, or after `close()` — writes them now and returns
   * that write; it never rejects (a failure is counted and logged like any other).
   */
  add(...rows: R[]): Promise<void> | undefined {
    if (rows.length === 0) return undefined;
    if (this.closed || this.queue.length + rows.length > this.maxQueueRows) return this.writeThrough(rows);
    for (const row of rows) this.queue.push(row);
    this.metrics.queued.set({ table: this.table }, this.queue.length);
    if (this.queue.length >= this.maxBatchRows && !this.unreachable) this.kick();
    else this.schedule(this.flushIntervalMs);
    return undefined;
  }

  /**
   * Writes every row queued before this call. Rows the database refuses are counted as dropped;
   * while it is unreachable the rest stay queued for the retry timer and this returns early (the
   * caller's own query will meet the same outage).
   */
  flush(): Promise<void> {
    this.clearTimer();
    return this.exclusive(() => this.drain(true)).then(() => this.afterWrite());
  }

  /** Flushes and then writes any later row straight through. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    this.clearTimer();
    void this.exclusive(async () => {
      this.kicked = false;
      await this.drain(false);
    }).then(() => this.afterWrite());
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exclusive(() => this.drain(true)).then(() => this.afterWrite());
    }, delayMs);
    // A process with nothing else to do may exit; close() is what flushes on shutdown.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private afterWrite(): void {
    this.metrics.queued.set({ table: this.table }, this.queue.length);
    if (this.queue.length === 0) return;
    if (this.unreachable) this.schedule(this.retryDelayMs);
    else if (this.queue.length >= this.maxBatchRows) this.kick();
    else this.schedule(this.flushIntervalMs);
  }

  private exclusive(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** `all`: until the queue is empty; else only while a full batch is waiting. Stops when the database is unreachable. */
  private async drain(all: boolean): Promise<void> {
    while (this.queue.length > 0 && (all || this.queue.length >= this.maxBatchRows)) {
      const batch = this.queue.splice(0, this.maxBatchRows);
      const retry = await this.write(batch);
      if (retry.length > 0) {
        // Back at the head, in their order: they were queued before anything that came since.
        this.queue.unshift(...retry);
        return;
      }
    }
  }

  /** Writes rows; returns those to retry (the database was unreachable). One log line per call, whatever it dropped. */
  private async write(rows: R[]): Promise<R[]> {
    const outcome = { dropped: 0, error: undefined as unknown };
    const retry = await this.insert(rows, outcome);
    if (outcome.dropped > 0) {
      this.metrics.rows.inc({ table: this.table, result: 'dropped' }, outcome.dropped);
      this.logFailure(outcome.error, outcome.dropped, 'rows refused by the database; dropped');
    }
    return retry;
  }

  /**
   * A value the database cannot store (SQLSTATE class 22, 23, 54: a NUL byte, a bad uuid…) fails
   * the whole INSERT: the batch is bisected until the refused rows stand alone, so one guest's
   * bad line costs ~2·log2(batch) statements and only its own row. Any other error (a missing
   * table, permissions) would refuse every row alike: the batch is dropped in one go.
   */
  private async insert(rows: R[], outcome: { dropped: number; error: unknown }): Promise<R[]> {
    try {
      await this.knex(this.table).insert(rows);
      this.unreachable = false;
      this.metrics.rows.inc({ table: this.table, result: 'written' }, rows.length);
      return [];
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        if (!this.unreachable) this.logFailure(err, rows.length, 'database unreachable; rows kept and retried');
        this.unreachable = true;
        return rows;
      }
      if (rows.length === 1 || !isRowSpecific(err)) {
        outcome.dropped += rows.length;
        outcome.error ??= err;
        return [];
      }
      const half = Math.ceil(rows.length / 2);
      const retryFirst = await this.insert(rows.slice(0, half), outcome);
      if (retryFirst.length > 0) return [...retryFirst, ...rows.slice(half)];
      return this.insert(rows.slice(half), outcome);
    }
  }

  /** The queue was full (or closed): these rows are written now, by the caller's request. */
  private async writeThrough(rows: R[]): Promise<void> {
    try {
      await this.knex(this.table).insert(rows);
      this.unreachable = false;
      this.metrics.rows.inc({ table: this.table, result: 'written' }, rows.length);
    } catch (err) {
      if (isDatabaseUnavailable(err)) this.unreachable = true;
      this.logFailure(err, rows.length, 'write-through failed (queue full); rows dropped');
      this.metrics.rows.inc({ table: this.table, result: 'dropped' }, rows.length);
    }
  }

  private logFailure(err: unknown, rows: number, what: string): void {
    this.logger.warn({ table: this.table, rows, code: errorCode(err), reason: driverMessage(err) }, `${this.table}: ${what}`);
  }
}

function isRowSpecific(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * knex prefixes the driver's message with the statement AND its bound values
 * (`insert into … values (…) - <message>`): only the driver's part is kept, shortened.
 */
function driverMessage(err: unknown): string {
  const message = String((err as { message?: unknown } | null)?.message ?? err);
  const cut = message.lastIndexOf(' - ');
  return (cut >= 0 ? message.slice(cut + 3) : message).slice(0, 200);
}
