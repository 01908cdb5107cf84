/**
 * The runner's cache of decrypted secrets, keyed by (tenantId, installId, secretsVersion).
 *
 * @example
 *   const secretCache = new SecretCache(cipher, { ttlMs: 60_000, maxEntries: 5000 });
 *   const { values, failed } = await secretCache.get({ tenantId, installId, secretsVersion }, envelope, signal);
 *   try { use(values.get('API_KEY')); } finally { values.wipe(); }
 *
 * - A new secretsVersion is a new cache key, so a rotated secret is never served stale.
 * - Concurrent misses for one key share ONE decrypt; a waiter whose signal fires stops waiting at once
 *   (E_SECRETS_UNAVAILABLE) while the shared decrypt carries on for the others.
 * - Rejections (E_SECRETS_UNAVAILABLE: Vault down, sealed, timed out) are not cached; the next call tries again.
 *   Per-key failures (tampered or misplaced ciphertexts) are part of the result and are cached with it.
 * - Each get() returns its own copy of the values (copied Buffers, microseconds for a handful of keys). The cache
 *   wipes its master copy when the entry is evicted or expires (`dispose`); a copy belongs to the caller, who should
 *   wipe() it at the end of the request. Handing out the master instead would let an eviction triggered by another
 *   request zero the secrets of an execution still running.
 */
import { LRUCache } from 'lru-cache';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { DecryptResult, SecretCipher, SecretScope } from '@alga-psa/extension-host/secrets/secret-cipher';

export interface SecretCacheOptions {
  /** default 60_000 */
  ttlMs?: number;
  /** default 5000 */
  maxEntries?: number;
}

export interface SecretCacheStats {
  hits: number;
  misses: number;
  /** calls to the cipher */
  decrypts: number;
  size: number;
}

export class SecretCache {
  readonly #cipher: SecretCipher;
  readonly #entries: LRUCache<string, DecryptResult>;
  readonly #inFlight = new Map<string, InFlight>();
  #hits = 0;
  #misses = 0;
  #decrypts = 0;

  constructor(cipher: SecretCipher, opts: SecretCacheOptions = {}) {
    this.#cipher = cipher;
    this.#entries = new LRUCache<string, DecryptResult>({
      max: opts.maxEntries ?? 5000,
      ttl: opts.ttlMs ?? 60_000,
      // Expired plaintext is wiped on time, not whenever the entry happens to be touched again.
      ttlAutopurge: true,
      dispose: (result) => result.values.wipe(),
    });
  }

  get(scope: SecretScope & { secretsVersion: number }, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult> {
    if (signal?.aborted) return Promise.reject(aborted());
    const key = JSON.stringify([scope.tenantId, scope.installId, scope.secretsVersion]);
    const cached = this.#entries.get(key);
    if (cached) {
      this.#hits += 1;
      return Promise.resolve(copyOf(cached));
    }
    this.#misses += 1;
    let flight = this.#inFlight.get(key);
    if (!flight) flight = this.#startDecrypt(key, { tenantId: scope.tenantId, installId: scope.installId }, envelope);
    const joined = flight;
    joined.waiters += 1;
    return waitFor(joined.promise, signal).then(
      (seed) => {
        const copy = copyOf(seed);
        release(joined);
        return copy;
      },
      (err: unknown) => {
        release(joined);
        throw err;
      },
    );
  }

  #startDecrypt(key: string, scope: SecretScope, envelope: Record<string, string>): InFlight {
    this.#decrypts += 1;
    const state: FlightState = { waiters: 0, seed: undefined };
    // No signal: the decrypt is shared, and one waiter's deadline must not cancel it for the others.
    const promise = new Promise<DecryptResult>((resolve) => resolve(this.#cipher.decrypt(scope, envelope))).then(
      (result) => {
        this.#inFlight.delete(key);
        // The cache keeps its own copy (wiped on eviction); the waiters copy the seed, and the last one wipes it.
        // An eviction between here and a waiter's copy can therefore never hand that waiter wiped values.
        this.#entries.set(key, copyOf(result));
        state.seed = result;
        if (state.waiters === 0) result.values.wipe();
        return result;
      },
      (err: unknown) => {
        this.#inFlight.delete(key);
        throw err instanceof AlgaError ? err : new AlgaError('E_SECRETS_UNAVAILABLE');
      },
    );
    // Every waiter may have given up; the rejection is still observed here.
    promise.catch(() => {});
    const flight: InFlight = Object.assign(state, { promise });
    this.#inFlight.set(key, flight);
    return flight;
  }

  stats(): SecretCacheStats {
    return { hits: this.#hits, misses: this.#misses, decrypts: this.#decrypts, size: this.#entries.size };
  }

  /** Drops (and wipes) every cached entry. */
  clear(): void {
    this.#entries.clear();
  }
}

interface FlightState {
  /** get() calls still waiting on this decrypt */
  waiters: number;
  /** the decrypt's own result, wiped once no waiter needs it any more */
  seed: DecryptResult | undefined;
}

interface InFlight extends FlightState {
  promise: Promise<DecryptResult>;
}

function release(flight: InFlight): void {
  flight.waiters -= 1;
  if (flight.waiters === 0) flight.seed?.values.wipe();
}

function copyOf(result: DecryptResult): DecryptResult {
  return { values: result.values.clone(), failed: [...result.failed] };
}

function aborted(): AlgaError {
  return new AlgaError('E_SECRETS_UNAVAILABLE', 'secret decryption was aborted at the request deadline');
}

function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
