/**
 * Bundles this runner lacks, fetched from a gateway's internal bundle API with the runner service
 * token (`GET {GATEWAY_URL}/api/internal/ext-runner/bundles/<sha256>`). It is the shared side of
 * the runner's TieredBundleStore: a runner that never saw a publish gets the bytes on first need,
 * checks them against their content hash and keeps them on its own disk.
 *
 * @example
 *   const store = new TieredBundleStore(new FileBundleStore(dir), new GatewayBundleSource({ gatewayUrl, serviceToken }));
 */
import { Pool, request } from 'undici';
import { AlgaError, contentHashPattern, readBodyCapped, type DestroyableBody } from '@alga-psa/extension-contracts';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';

export interface GatewayBundleSourceOptions {
  gatewayUrl: string;
  serviceToken: string;
  /** Answers larger than this are cut off (a bundle is at most the gateway's GATEWAY_MAX_BUNDLE_BYTES). */
  maxBundleBytes: number;
  timeoutMs?: number;
}

export class GatewayBundleSource implements BundleStore {
  private readonly options: GatewayBundleSourceOptions;
  private readonly base: URL;
  private readonly pool: Pool;

  constructor(options: GatewayBundleSourceOptions) {
    this.options = options;
    this.base = new URL(options.gatewayUrl);
    this.pool = new Pool(this.base.origin, { connections: 4, keepAliveTimeout: 10_000 });
  }

  put(): Promise<string> {
    return Promise.reject(new AlgaError('E_INTERNAL', 'a runner never publishes bundles: they reach the gateway through the registry'));
  }

  async has(contentHash: string): Promise<boolean> {
    return (await this.get(contentHash)) !== undefined;
  }

  async get(contentHash: string): Promise<Uint8Array | undefined> {
    if (!contentHashPattern.test(contentHash)) throw new AlgaError('E_BAD_REQUEST', 'content hash must be 64 lowercase hex characters');
    const url = new URL(this.base);
    // The base URL's own path is kept: a gateway may be mounted below a prefix.
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/internal/ext-runner/bundles/${contentHash}`;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const unreachable = (why: string) => new AlgaError('E_HOST_UNAVAILABLE', `bundle ${contentHash} is not on this runner and the gateway's bundle API ${why}; check GATEWAY_URL and RUNNER_SERVICE_TOKEN`);
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        dispatcher: this.pool,
        headers: { authorization: `Bearer ${this.options.serviceToken}`, accept: 'application/gzip' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw unreachable(`is unreachable (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`);
    }
    res.body.on('error', () => {});
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode === 422) {
      await res.body.dump();
      throw new AlgaError('E_BUNDLE_INVALID', `bundle ${contentHash}: the gateway refused its stored copy, which does not match its content hash (corrupt or tampered store)`);
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw unreachable(res.statusCode === 401 ? 'refused the runner service token (401)' : `answered ${res.statusCode}`);
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await readBodyCapped(res.body as unknown as DestroyableBody, this.options.maxBundleBytes, res.headers['content-length']);
    } catch (err) {
      throw unreachable(`broke off its answer (${(err as Error).message})`);
    }
    if (!bytes) throw new AlgaError('E_BUNDLE_TOO_LARGE', `bundle ${contentHash} from the gateway is larger than RUNNER_MAX_BUNDLE_BYTES (${this.options.maxBundleBytes})`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
