/**
 * bundle (by sha256) → verify hash → manifest → jco transpile (disk cache) → check world and
 * imports → `WebAssembly.compile` once per process. The result is what the pool posts to workers.
 *
 * @example
 *   const loader = new ComponentLoader({ bundleStore, transpileCache });
 *   const component = await loader.load(contentHash);   // throws AlgaError E_BUNDLE_*
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LRUCache } from 'lru-cache';
import { AlgaError, effectiveCapabilities, readBundle, sha256Hex, type CapabilityId } from '@alga-psa/extension-contracts';
import { parseManifest, type Manifest } from '@alga-psa/extension-contracts/manifest';
import { checkComponentWorld } from '@alga-psa/extension-host/component/import-check';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import type { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import type { PoolComponent } from '../pool/worker-pool.ts';

export interface LoadedComponent extends PoolComponent {
  manifest: Manifest;
  /** Capabilities the manifest declares (plus the always-granted ones). */
  declaredCapabilities: Set<CapabilityId>;
}

export interface ComponentLoaderOptions {
  bundleStore: BundleStore;
  transpileCache: TranspileCache;
  /** Compiled components kept in memory (each holds ~12 MB of compiled SpiderMonkey). */
  maxComponents?: number;
  onCacheResult?(hit: boolean): void;
}

export class ComponentLoader {
  private readonly options: ComponentLoaderOptions;
  private readonly cache: LRUCache<string, LoadedComponent>;

  constructor(options: ComponentLoaderOptions) {
    this.options = options;
    this.cache = new LRUCache<string, LoadedComponent>({
      max: options.maxComponents ?? 64,
      // fetch() shares one load between concurrent callers; failures are not cached.
      fetchMethod: (hash) => this.loadUncached(hash),
    });
  }

  async load(contentHash: string): Promise<LoadedComponent> {
    const cached = this.cache.get(contentHash);
    this.options.onCacheResult?.(cached !== undefined);
    if (cached) return cached;
    const loaded = await this.cache.fetch(contentHash);
    if (!loaded) throw new AlgaError('E_INTERNAL', 'component load returned nothing');
    return loaded;
  }

  private async loadUncached(contentHash: string): Promise<LoadedComponent> {
    const bytes = await this.options.bundleStore.get(contentHash);
    if (!bytes) throw new AlgaError('E_BUNDLE_NOT_FOUND', `no bundle with content hash ${contentHash}`);
    if (sha256Hex(bytes) !== contentHash) {
      throw new AlgaError('E_BUNDLE_INVALID', `bundle ${contentHash} does not match its content hash (corrupt or tampered store)`);
    }
    const bundle = await readBundle(bytes);
    const parsed = parseManifest(bundle.manifestJson);
    if (!parsed.ok) {
      const first = parsed.issues[0];
      throw new AlgaError('E_BUNDLE_INVALID', `bundle manifest is invalid at ${first.path}: ${first.message}`, { issues: parsed.issues });
    }
    const manifest = parsed.manifest;
    // Off the event loop: a cache miss (~0.5-1 s of jco) would otherwise stall every other
    // install's requests on this runner (issue 8, isolation).
    const transpiled = await this.options.transpileCache.get(contentHash, async () => bundle.component, { offThread: true });
    const declared = effectiveCapabilities(manifest.capabilities, manifest.capabilities);
    const interfaces = checkComponentWorld(transpiled, declared, 'E_CAPABILITY_DENIED');
    const modules: Record<string, WebAssembly.Module> = {};
    for (const file of transpiled.coreFiles) {
      modules[file] = await WebAssembly.compile(await readFile(join(transpiled.dir, file)));
    }
    return {
      contentHash,
      glueUrl: pathToFileURL(transpiled.glueFile).href,
      modules,
      interfaces,
      manifest,
      declaredCapabilities: declared,
    };
  }
}
