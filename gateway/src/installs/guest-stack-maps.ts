/**
 * Stack mappers per bundle: the source map a version's bundle carries (`component.js.map`,
 * optional) turned into `createStackMapper` once and kept in a small LRU keyed by content hash
 * (bundles are immutable, so an entry never goes stale). A bundle without a map, or one that
 * cannot be read, has no mapper: its log lines are returned as they are.
 *
 * @example
 *   const maps = new GuestStackMaps(bundleStore);
 *   const mapStack = await maps.mapperFor(contentHash);   // undefined: no map
 *   mapStack?.('parseTicket@guest.js:283:11');             // 'parseTicket@src/helpers.ts:4:11'
 */
import { LRUCache } from 'lru-cache';
import { contentHashPattern, defaultBundleLimits, parseBundleSourceMap, readBundle, type BundleLimits } from '@alga-psa/extension-contracts';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { createStackMapper } from '@alga-psa/extension-host/component/stack-map';

export type StackMapper = (stack: string) => string;

interface Entry {
  mapStack: StackMapper | undefined;
  /** The map's size in bytes (what the cache's size bound counts), 1 without a map. */
  size: number;
}

export interface GuestStackMapsOptions {
  /** Bundles with a mapper (or known to have none) kept. Default 16. */
  max?: number;
  /** Source-map bytes the kept mappers were built from, in all. Default 64 MiB. */
  maxMapBytes?: number;
  /** The publish limits (a bundle published under a raised `ALGA_MAX_BUNDLE_BYTES` must still read). */
  limits?: Partial<BundleLimits>;
  onError?(contentHash: string, err: unknown): void;
}

export class GuestStackMaps {
  private readonly cache: LRUCache<string, Entry>;
  private readonly onError: GuestStackMapsOptions['onError'];

  constructor(bundleStore: BundleStore, options: GuestStackMapsOptions = {}) {
    const limits = { ...defaultBundleLimits, ...options.limits };
    this.cache = new LRUCache<string, Entry>({
      max: options.max ?? 16,
      maxSize: options.maxMapBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (entry) => entry.size,
      fetchMethod: async (contentHash) => {
        const bytes = await bundleStore.get(contentHash);
        // Not cached as "no map": a bundle missing here now may be a store hiccup.
        if (!bytes) throw new Error(`bundle ${contentHash} is not in the bundle store`);
        const { sourceMap } = await readBundle(bytes, limits, { sourceMap: true });
        if (!sourceMap) return { mapStack: undefined, size: 1 };
        return { mapStack: createStackMapper(parseBundleSourceMap(sourceMap)), size: Math.max(1, sourceMap.byteLength) };
      },
    });
    this.onError = options.onError;
  }

  /** The mapper for this bundle's source map; undefined when it has none or cannot be read. */
  async mapperFor(contentHash: string): Promise<StackMapper | undefined> {
    if (!contentHashPattern.test(contentHash)) return undefined;
    try {
      return (await this.cache.fetch(contentHash))?.mapStack;
    } catch (err) {
      this.onError?.(contentHash, err);
      return undefined;
    }
  }
}
