/**
 * Execution-token ids already used on this runner (DESIGN.md §7): each token executes once.
 * An id is kept until its token could no longer verify (expiry plus the verifier's clock
 * tolerance); after that the verifier refuses the token, so forgetting the id is safe.
 *
 * @example
 *   const replay = new ReplayCache({ max: 100_000, clockToleranceMs: 2000 });
 *   replay.claim(claims.tokenId, claims.expiresAtMs); // throws E_AUTH the second time
 */
import { LRUCache } from 'lru-cache';
import { AlgaError } from '@alga-psa/extension-contracts';

export interface ReplayCacheOptions {
  /** Most ids held at once. */
  max: number;
  /** The verifier's clock tolerance: a token verifies until `exp + tolerance`. */
  clockToleranceMs: number;
}

export class ReplayCache {
  private readonly seen: LRUCache<string, true>;
  private readonly max: number;
  private readonly clockToleranceMs: number;

  constructor(options: ReplayCacheOptions) {
    this.max = options.max;
    this.clockToleranceMs = options.clockToleranceMs;
    // Wall-clock time, like the verifier's `exp` check: the id lives as long as the token verifies.
    // Staleness reads a clock cached for up to 100 ms (fewer timers on the hot path): an id may
    // outlive its token by that much, never the reverse.
    this.seen = new LRUCache<string, true>({ max: options.max, perf: Date, ttlResolution: 100 });
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records a verified token's id; throws 401 E_AUTH when it was recorded before. Call only
   * after the token verified and the body matched it, so unsigned input never takes a slot.
   */
  claim(tokenId: string, expiresAtMs: number): void {
    if (this.seen.has(tokenId)) throw new AlgaError('E_AUTH', 'execution token was already used');
    const ttl = expiresAtMs + this.clockToleranceMs - Date.now();
    if (this.seen.size >= this.max) {
      // At the bound the LRU would evict the oldest id, and a still-live token could then run
      // again. Instead expired ids are dropped, and if every slot still holds a live token the
      // request is shed (503, like a full queue): the once-only guarantee never weakens.
      // Only gateway-signed tokens reach here, so this takes more live requests than `max`.
      this.seen.purgeStale();
      if (this.seen.size >= this.max) throw new AlgaError('E_OVERLOADED', 'the runner is holding as many live execution tokens as it can track; retry shortly');
    }
    this.seen.set(tokenId, true, { ttl: Math.max(1, ttl) });
  }
}
