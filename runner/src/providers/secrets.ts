/**
 * `alga:extension/secrets` (cap:secrets.get). The values are decrypted in `prepare`, on the main
 * thread (`decryptRequestSecrets`: one decrypt per install and secrets version for all workers);
 * when the backend is down or slow `get` answers `unavailable`. Every value is marked sensitive,
 * so guest log lines containing it are redacted before they leave the worker.
 */
import { witError, type CapabilityProvider } from './provider.ts';
import { SecretValues } from '@alga-psa/extension-host/secrets/secret-values';
import { decryptRequestSecrets, type PreparedSecrets } from '../secrets/request-secrets.ts';

export type { PreparedSecrets } from '../secrets/request-secrets.ts';

export const secretsProvider: CapabilityProvider<null> = {
  capability: 'cap:secrets.get',
  witInterface: 'secrets',
  asyncFunctions: [],
  configure: () => null,

  async prepare(ctx): Promise<PreparedSecrets | undefined> {
    if (!ctx.granted) return undefined;
    return decryptRequestSecrets(ctx);
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
