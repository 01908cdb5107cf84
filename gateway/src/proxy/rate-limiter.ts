/** Per-install token bucket: `perMinute` requests per minute with bursts up to the same amount. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMinute: number;

  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Takes a token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string, now = Date.now()): number {
    const refillPerMs = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) { bucket.tokens -= 1; return 0; }
    if (this.buckets.size > 100_000) this.buckets.clear();
    return Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
  }
}
