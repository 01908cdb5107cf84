/**
 * `alga:extension/secrets` (cap:secrets.get). Decryption runs in `prepare`, on the main
 * thread, through the runner's one SecretCache: one decrypt per (tenant, install,
 * secretsVersion) per TTL for all workers, and a new secretsVersion is never served an old value.
 *
 * When the backend is down or slow the guest still runs and `get` answers `unavailable`
 * (the extension decides how to degrade); the wait for it is bounded by the request deadline,
 * and nothing ever falls back to plaintext. Every value is marked sensitive, so guest log lines
 * containing it are redacted before they leave the worker.
 */
import { AlgaError } from '@alga-psa/extension-contracts';
import { witError, type CapabilityProvider } from './provider.ts';
import { SecretValues } from '@alga-psa/extension-host/secrets/secret-values';

/** What crosses from the main thread to the worker for one request. */
export type PreparedSecrets =
  | { state: 'ready'; values: Record<string, string>; undecryptable: string[] }
  | { state: 'unavailable'; reason: string };

/** Leave the guest this much of its budget to answer after a slow backend. */
const guestReserveMs = 100;

export const secretsProvider: CapabilityProvider<null> = {
  capability: 'cap:secrets.get',
  witInterface: 'secrets',
  asyncFunctions: [],
  configure: () => null,

  async prepare(ctx): Promise<PreparedSecrets | undefined> {
    if (!ctx.granted) return undefined;
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
  },

  bind(scope) {
    const prepared = scope.prepared as PreparedSecrets | undefined;
    if (!prepared || prepared.state === 'unavailable') {
      const reason = prepared?.reason ?? 'secrets were not prepared';
      return { get: () => { throw witError('unavailable', reason); }, listKeys: () => { throw witError('unavailable', reason); } };
    }
    // Held as SecretValues from here on (never printed by util.inspect or JSON); the plain copy
    // that crossed the thread boundary is dropped.
    const values = SecretValues.from(prepared.values);
    const undecryptable = prepared.undecryptable;
    for (const key of values.keys()) scope.markSensitive(values.get(key)!);
    prepared.values = {};
    return {
      get: (key: string) => {
        if (undecryptable.includes(key)) throw witError('unavailable', `secret ${key} could not be decrypted; ask an admin to set it again`);
        const value = values.get(key);
        if (value === undefined) throw witError('not-found');
        return value;
      },
      listKeys: () => [...values.keys(), ...undecryptable].sort(),
    };
  },

  denied: () => ({
    get: () => { throw witError('denied'); },
    listKeys: () => { throw witError('denied'); },
  }),
};
