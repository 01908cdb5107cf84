/**
 * Per-install rate limits that hold across gateway replicas: one token bucket per install in
 * PostgreSQL (`rate_limit_bucket`), from which each replica leases a few tokens at a time and
 * spends them locally. The database is touched once per lease, not once per request, and the
 * replicas together can never take more than the bucket holds: a lease is taken from the shared
 * bucket under its row lock in one statement. The cost of leasing is that tokens a replica has
 * leased and not spent are unavailable to the others until they lapse (LEASE_TTL_MS), so with R
 * replicas an install may briefly get up to R × lease fewer than its limit, never more.
 *
 * If the database cannot be reached the replica falls back to its own in-memory bucket (the
 * whole limit on each replica) and says so in the log: the request path needs the database for
 * little else once install configs are cached, and refusing every request would turn a
 * database blip into an outage.
 *
 * @example
 *   const limiter = new SharedRateLimiter(knex, 600, { logger });
 *   const retryAfterSeconds = await limiter.take(installId);   // 0: allowed
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { LRUCache } from 'lru-cache';
import { RateLimiter, type InstallRateLimiter } from './rate-limiter.ts';

/** Leased tokens a replica has not spent lapse after this long, returning the budget to the others. */
export const LEASE_TTL_MS = 2_000;

interface Lease {
  tokens: number;
  expiresAt: number;
  /** While refused: when the shared bucket will hold a token again. */
  deniedUntil: number;
  pending?: Promise<void>;
}

export class SharedRateLimiter implements InstallRateLimiter {
  private readonly knex: Knex;
  private readonly perMinute: number;
  private readonly leaseSize: number;
  private readonly leases = new LRUCache<string, Lease>({ max: 100_000 });
  private readonly fallback: RateLimiter;
  private readonly logger: Pick<Logger, 'warn' | 'info'> | undefined;
  private degraded = false;
  /** Database round trips taken (tests and metrics read it). */
  leasesTaken = 0;

  constructor(knex: Knex, perMinute: number, options: { leaseSize?: number; logger?: Pick<Logger, 'warn' | 'info'> } = {}) {
    this.knex = knex;
    this.perMinute = perMinute;
    // About 1% of the limit per lease (a database round trip per ~100th of a minute's budget),
    // at least 1, at most 1000: small enough that unspent leases cost little.
    this.leaseSize = options.leaseSize ?? Math.min(1000, Math.max(1, Math.ceil(perMinute / 100)));
    this.fallback = new RateLimiter(perMinute);
    this.logger = options.logger;
  }

  async take(key: string): Promise<number> {
    // Each round either spends a token, learns a refusal, or waits for one lease round trip;
    // a waiter whose lease others spent first tries again, a few times at most.
    for (let round = 0; round < 8; round++) {
      const now = Date.now();
      let lease = this.leases.get(key);
      if (lease && lease.expiresAt <= now && !lease.pending) lease = undefined;
      if (lease && lease.tokens >= 1) { lease.tokens -= 1; return 0; }
      if (lease && !lease.pending && lease.deniedUntil > now) return Math.max(1, Math.ceil((lease.deniedUntil - now) / 1000));
      if (!lease) { lease = { tokens: 0, expiresAt: now + LEASE_TTL_MS, deniedUntil: 0 }; this.leases.set(key, lease); }
      const current = lease;
      // Concurrent requests of one install share one round trip.
      current.pending ??= this.renew(key, current).finally(() => { current.pending = undefined; });
      try {
        await current.pending;
      } catch (err) {
        this.noteDegraded(err);
        return this.fallback.take(key);
      }
      if (this.degraded) { this.degraded = false; this.logger?.info({}, 'rate limits are shared through the database again'); }
    }
    return 1;
  }

  private async renew(key: string, lease: Lease): Promise<void> {
    this.leasesTaken += 1;
    const { granted, left } = await this.leaseFromBucket(key, this.leaseSize);
    const now = Date.now();
    lease.tokens += granted;
    lease.expiresAt = now + LEASE_TTL_MS;
    // Refused: the bucket is below one token; it refills at perMinute / 60 000 per ms.
    lease.deniedUntil = granted > 0 ? 0 : now + Math.ceil((1 - left) / (this.perMinute / 60_000));
  }

  /**
   * One statement under the bucket row's lock: refill by the time since the last lease, take up
   * to `want` whole tokens, and remember what was taken (RETURNING sees only the new row).
   */
  private async leaseFromBucket(key: string, want: number): Promise<{ granted: number; left: number }> {
    const cap = this.perMinute;
    const refilled = `least(${cap}::float8, b.tokens + greatest(0, extract(epoch from (now() - b.updated_at))) * ${cap / 60}::float8)`;
    const first = Math.min(want, cap);
    const { rows } = await this.knex.raw<{ rows: Array<{ last_granted: number; tokens: number }> }>(
      `insert into rate_limit_bucket as b (key, tokens, last_granted, updated_at) values (?, ?, ?, now())
       on conflict (key) do update set
         last_granted = least(?::float8, floor(${refilled})),
         tokens = ${refilled} - least(?::float8, floor(${refilled})),
         updated_at = now()
       returning last_granted, tokens`,
      [key, cap - first, first, want, want],
    );
    return { granted: Number(rows[0].last_granted), left: Number(rows[0].tokens) };
  }

  private noteDegraded(err: unknown): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger?.warn({ err }, 'the shared rate-limit bucket is unreachable: each gateway replica applies the whole limit on its own until it is back');
  }
}
