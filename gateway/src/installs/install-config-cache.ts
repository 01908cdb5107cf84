/**
 * Install runtime views cached by (tenant, extension): invalidated on every write to that
 * install in this process, and bounded by a short TTL for writes made by other replicas.
 */
import { LRUCache } from 'lru-cache';
import type { InstallRuntime, InstallService } from './install-service.ts';

type Entry = { runtime: InstallRuntime | null };

export class InstallConfigCache {
  private readonly cache: LRUCache<string, Entry>;
  private readonly installs: InstallService;
  hits = 0;
  misses = 0;
  /** Counts invalidations, so a fetch they aborted is told from one that failed. */
  private invalidations = 0;

  constructor(installs: InstallService, options: { ttlMs: number; max?: number }) {
    this.installs = installs;
    this.cache = new LRUCache<string, Entry>({
      max: options.max ?? 10_000,
      ttl: Math.max(1, options.ttlMs),
      fetchMethod: async (key) => {
        const [tenantId, ref] = splitKey(key);
        return { runtime: (await this.installs.runtime(tenantId, ref)) ?? null };
      },
    });
  }

  async get(tenantId: string, extensionRef: string): Promise<InstallRuntime | undefined> {
    const key = `${tenantId}\u0000${extensionRef}`;
    const cached = this.cache.get(key);
    if (cached) { this.hits++; return cached.runtime ?? undefined; }
    this.misses++;
    for (;;) {
      const seen = this.invalidations;
      try {
        return (await this.cache.fetch(key))?.runtime ?? undefined;
      } catch (err) {
        // An invalidation aborts a fetch in flight (lru-cache), whose answer could predate the
        // change: read again rather than fail the request. Anything else is a real failure.
        if (this.invalidations === seen) throw err;
      }
    }
  }

  /** Every install of a tenant, or (`null`) of every tenant: after an operator switch. */
  invalidateTenant(tenantId: string | null): void {
    this.invalidations++;
    if (tenantId === null) { this.cache.clear(); return; }
    for (const key of [...this.cache.keys()]) if (key.startsWith(`${tenantId}\u0000`)) this.cache.delete(key);
  }

  /** The same install may be cached under its extension id and its name: drop every entry of it. */
  invalidate(tenantId: string, installId: string): void {
    this.invalidations++;
    for (const [key, entry] of this.cache.entries()) {
      if (!key.startsWith(`${tenantId}\u0000`)) continue;
      if (!entry.runtime || entry.runtime.installId === installId) this.cache.delete(key);
    }
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('\u0000');
  return [key.slice(0, i), key.slice(i + 1)];
}
