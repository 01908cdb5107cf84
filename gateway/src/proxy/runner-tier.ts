/**
 * The runner tier: any number of runners (RUNNER_URLS), each request routed by its component's
 * content hash with rendezvous hashing, so a component is compiled and warm on few runners and
 * its requests find them; when a runner leaves, only its hashes move, and they come back with it.
 *
 * - Health: every runner's `/readyz` is polled; one that fails it, or refuses a connection, is
 *   ejected until it answers again. With every runner ejected, all are tried in hash order.
 * - Retry: ONLY when the request provably did not start (a refused connection, or 503
 *   E_OVERLOADED from the runner's admission control), on the next runner in the hash order. A
 *   timeout or a connection lost after the request was written is never retried: the request may
 *   have run, and it must not run twice.
 * - Publish pre-warms the runner the hash maps to (`prepare`).
 *
 * @example
 *   const tier = new RunnerTier(['http://runner-0:8081', 'http://runner-1:8081'], {}, { healthIntervalMs: 2000 });
 *   const answer = await tier.execute(token, bodyJson, timeoutMs, headers, contentHash);
 */
import { createHash } from 'node:crypto';
import { AlgaError, type ExecuteBody } from '@alga-psa/extension-contracts';
import { RunnerClient, type RunnerAnswer, type RunnerTlsFiles } from './runner-client.ts';

interface Member {
  url: string;
  client: RunnerClient;
  healthy: boolean;
}

export interface RunnerTierOptions {
  /** How often each runner's /readyz is polled (0: never; passive ejection only). */
  healthIntervalMs?: number;
  healthTimeoutMs?: number;
  onEjected?(url: string): void;
  onRestored?(url: string): void;
}

/** The rendezvous weight of `url` for `key`: the first 8 bytes of sha256(url NUL key). */
function weight(url: string, key: string): bigint {
  return createHash('sha256').update(url).update('\u0000').update(key).digest().readBigUInt64BE(0);
}

export class RunnerTier {
  private readonly members: Member[];
  private readonly options: RunnerTierOptions;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(urls: readonly string[], tls: RunnerTlsFiles = {}, options: RunnerTierOptions = {}) {
    if (urls.length === 0) throw new Error('invalid gateway configuration: RUNNER_URLS names no runner');
    const unique = [...new Set(urls)];
    this.members = unique.map((url) => ({ url, client: new RunnerClient(url, tls), healthy: true }));
    this.options = options;
    const interval = options.healthIntervalMs ?? 2_000;
    if (interval > 0 && this.members.length > 1) {
      this.timer = setInterval(() => void this.checkHealth(), interval);
      this.timer.unref();
    }
  }

  get urls(): string[] {
    return this.members.map((m) => m.url);
  }

  /** The runners in the order `contentHash` prefers them: healthy ones first, each group by rendezvous weight. */
  order(contentHash: string): Member[] {
    const ranked = [...this.members].sort((a, b) => {
      const wa = weight(a.url, contentHash);
      const wb = weight(b.url, contentHash);
      return wa === wb ? 0 : wa > wb ? -1 : 1;
    });
    return [...ranked.filter((m) => m.healthy), ...ranked.filter((m) => !m.healthy)];
  }

  async execute(token: string, body: ExecuteBody | string, timeoutMs: number, extraHeaders: Record<string, string>, contentHash: string): Promise<RunnerAnswer> {
    const deadline = Date.now() + timeoutMs;
    let last: RunnerAnswer | undefined;
    for (const member of this.order(contentHash)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const answer = await member.client.execute(token, body, left, extraHeaders);
      if (answer.ok || !answer.notStarted) return answer;
      // Refused before it started: safe to try the next runner. A refused connection also ejects.
      if (answer.error.code === 'E_RUNNER_UNAVAILABLE') this.eject(member);
      last = answer;
    }
    return last ?? { ok: false, error: new AlgaError('E_DEADLINE', 'the request deadline passed before a runner could take it') };
  }

  /** Pre-warms the runner the hash maps to (best effort, as RunnerClient.prepare). */
  prepare(token: string, contentHash: string, timeoutMs: number) {
    return this.order(contentHash)[0].client.prepare(token, contentHash, timeoutMs);
  }

  async checkHealth(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      const ready = await m.client.ready(this.options.healthTimeoutMs ?? 1_000);
      if (ready && !m.healthy) { m.healthy = true; this.options.onRestored?.(m.url); }
      else if (!ready) this.eject(m);
    }));
  }

  private eject(member: Member): void {
    if (!member.healthy) return;
    member.healthy = false;
    this.options.onEjected?.(member.url);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.members.map((m) => m.client.close()));
  }
}
