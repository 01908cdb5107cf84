/**
 * One request's decrypted secrets, on the main thread, through the runner's one SecretCache:
 * one decrypt per (tenant, install, secretsVersion) per TTL for all workers and for every
 * provider that needs the values (`secrets` hands them to the guest, `http` substitutes them
 * into placeholders), and a new secretsVersion is never served an old value.
 *
 * When the backend is down or slow the guest still runs and the providers answer `unavailable`
 * (the extension decides how to degrade); the wait is bounded by the request deadline, and
 * nothing ever falls back to plaintext.
 */
import { AlgaError } from '@alga-psa/extension-contracts';
import type { PrepareContext } from '../providers/provider.ts';

/** What crosses from the main thread to the worker for one request. */
export type PreparedSecrets =
  | { state: 'ready'; values: Record<string, string>; undecryptable: string[] }
  | { state: 'unavailable'; reason: string };

/** Leave the guest this much of its budget to answer after a slow backend. */
const guestReserveMs = 100;

export async function decryptRequestSecrets(ctx: Pick<PrepareContext, 'body' | 'services' | 'signal'>): Promise<PreparedSecrets> {
  const cache = ctx.services.secretCache;
  const { body } = ctx;
  if (Object.keys(body.secrets.envelope).length === 0) return { state: 'ready', values: {}, undecryptable: [] };
  if (!cache) return { state: 'unavailable', reason: 'this runner has no secrets backend configured' };
  const budget = AbortSignal.timeout(Math.max(1, body.limits.deadlineMs - Date.now() - guestReserveMs));
  try {
    const result = await cache.get(
      { tenantId: body.context.tenantId, installId: body.context.installId, secretsVersion: body.secrets.secretsVersion },
      body.secrets.envelope,
      AbortSignal.any([ctx.signal, budget]),
    );
    try {
      const values: Record<string, string> = {};
      for (const key of result.values.keys()) values[key] = result.values.get(key)!;
      return { state: 'ready', values, undecryptable: result.failed };
    } finally {
      // This request's copy; the strings handed to the worker cannot be zeroed by JS.
      result.values.wipe();
    }
  } catch (err) {
    const reason = err instanceof AlgaError && err.code === 'E_SECRETS_UNAVAILABLE' ? 'the secrets backend is unavailable' : 'secrets could not be decrypted';
    return { state: 'unavailable', reason };
  }
}
