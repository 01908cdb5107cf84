/**
 * Per-install token bucket: `perMinute` requests per minute with bursts up to the same amount.
 * Buckets live in an LRU with a one-minute TTL: a bucket idle that long has refilled completely,
 * so dropping it changes nothing, and at the size bound only the least recently used go — the
 * old Map was cleared whole at 100 000 keys, resetting every install's budget at once.
 */
import { LRUCache } from 'lru-cache';

/** The rate limit the proxy applies; `take` answers 0 when allowed, else the seconds to wait. */
export interface InstallRateLimiter {
  take(key: string): number | Promise<number>;
}

/** One replica's own buckets (PGlite, one process); replicas on PostgreSQL share theirs (shared-rate-limiter.ts). */
export class RateLimiter implements InstallRateLimiter {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;
  private readonly perMinute: number;

  constructor(perMinute: number, options: { maxBuckets?: number } = {}) {
    this.perMinute = perMinute;
    this.buckets = new LRUCache({ max: options.maxBuckets ?? 100_000, ttl: 60_000, ttlAutopurge: false, updateAgeOnGet: true });
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string, now = Date.now()): number {
    const refillPerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) { bucket.tokens -= 1; return 0; }
    return Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
  }
}
