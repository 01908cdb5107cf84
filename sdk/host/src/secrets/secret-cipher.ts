/**
 * The secret cipher the gateway encrypts with (writes) and the runner decrypts with (reads).
 *
 * @example
 *   const cipher = await createSecretCipher(secretBackendConfigFromEnv());
 *   const sealed = await cipher.encrypt({ tenantId, installId }, { API_KEY: 'sk-…' });
 *   const envelope = Object.fromEntries(Object.entries(sealed).map(([k, s]) => [k, s.ciphertext]));
 *   const { values, failed } = await cipher.decrypt({ tenantId, installId }, envelope, signal);
 *   values.get('API_KEY');
 *
 * Envelope values dispatch by prefix: `local:v1:` → local keyring, `vault:v` → Vault transit. Anything else,
 * or a prefix whose backend is not configured, is reported in `failed` (never treated as plaintext or base64).
 */
import { AlgaError, missingInProduction, runtimeMode } from '@alga-psa/extension-contracts';
import { LOCAL_PREFIX, LocalKeyringCipher, loadKeyring } from './local-keyring.ts';
import { VAULT_PREFIX, VaultTransitCipher, type VaultTransitOptions } from './vault-transit-cipher.ts';
import { SecretValues } from './secret-values.ts';

export { SecretValues } from './secret-values.ts';

export interface SecretScope {
  tenantId: string;
  installId: string;
}

export interface EncryptedSecret {
  ciphertext: string;
  algorithm: 'local-aes-256-gcm' | 'vault-transit';
  /** kid, or `${mount}/${keyName}` */
  keyRef: string;
}

export interface DecryptResult {
  values: SecretValues;
  /** keys that could not be decrypted */
  failed: string[];
}

export interface SecretCipher {
  readonly algorithm: EncryptedSecret['algorithm'];
  encrypt(scope: SecretScope, entries: Record<string, string>): Promise<Record<string, EncryptedSecret>>;
  /** Decrypts an envelope key -> ciphertext; dispatches by prefix, so an envelope may mix local: and vault: values (after a backend switch) if both are configured. */
  decrypt(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult>;
  /**
   * Key rotation: each value under the backend's current key (the keyring's active kid; Vault's
   * latest key version), so an old key can be retired. Values it cannot re-encrypt are in
   * `failed` and unchanged.
   */
  reencrypt?(scope: SecretScope, envelope: Record<string, string>): Promise<{ sealed: Record<string, EncryptedSecret>; failed: string[] }>;
  /** Key rotation: read the keyring file(s) again (a new active kid, a retired one); Vault needs nothing. */
  reload?(): Promise<void>;
  /** What new values are encrypted with: `local:<kid>` or `vault:<mount>/<key>`. */
  describeWriter?(): string;
}

export type SecretBackendConfig =
  | { backend: 'local'; keyringFile: string; createIfMissing?: boolean }
  | ({
      backend: 'vault';
      /** local keyring still used to decrypt old local: values during a migration */
      keyringFile?: string;
    } & VaultTransitOptions);

export const DEFAULT_KEYRING_FILE = './data/keyring.json';

/** Encrypts with the configured backend; decrypts with whichever configured backend each value's prefix names. */
class DispatchingSecretCipher implements SecretCipher {
  readonly algorithm: EncryptedSecret['algorithm'];
  #writer: LocalKeyringCipher | VaultTransitCipher;
  #local: LocalKeyringCipher | undefined;
  readonly #vault: VaultTransitCipher | undefined;
  readonly #keyringFile: string | undefined;

  constructor(writer: LocalKeyringCipher | VaultTransitCipher, local: LocalKeyringCipher | undefined, vault: VaultTransitCipher | undefined, keyringFile: string | undefined) {
    this.#writer = writer;
    this.#local = local;
    this.#vault = vault;
    this.#keyringFile = keyringFile;
    this.algorithm = writer.algorithm;
  }

  describeWriter(): string {
    return this.#writer instanceof LocalKeyringCipher ? `local:${this.#writer.activeKid}` : `vault:${this.#writer.keyRef}`;
  }

  async reload(): Promise<void> {
    if (!this.#keyringFile || !this.#local) return;
    // Validated before anything is swapped: a broken file leaves the keys in use as they were.
    const local = new LocalKeyringCipher(await loadKeyring(this.#keyringFile, { createIfMissing: false }));
    if (this.#writer === this.#local) this.#writer = local;
    this.#local = local;
  }

  /**
   * Decrypted (with whichever backend and kid each value names) and encrypted again by the writer;
   * the plaintexts are wiped at once. Not Vault's `rewrap`: it takes no `associated_data`
   * (VAULT-TRANSIT.md §5), so it cannot open values bound to their tenant, install and key name.
   */
  async reencrypt(scope: SecretScope, envelope: Record<string, string>): Promise<{ sealed: Record<string, EncryptedSecret>; failed: string[] }> {
    const opened = await this.decrypt(scope, envelope);
    try {
      const plain: Record<string, string> = {};
      for (const key of opened.values.keys()) plain[key] = opened.values.get(key)!;
      return { sealed: Object.keys(plain).length > 0 ? await this.#writer.encrypt(scope, plain) : {}, failed: opened.failed };
    } finally {
      opened.values.wipe();
    }
  }

  encrypt(scope: SecretScope, entries: Record<string, string>): Promise<Record<string, EncryptedSecret>> {
    return this.#writer.encrypt(scope, entries);
  }

  async decrypt(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult> {
    if (signal?.aborted) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'secret decryption was aborted at the request deadline');
    const vaultItems: Record<string, string> = {};
    const local: Array<[string, Buffer]> = [];
    const failed: string[] = [];
    for (const [key, ciphertext] of Object.entries(envelope)) {
      if (typeof ciphertext === 'string' && ciphertext.startsWith(VAULT_PREFIX) && this.#vault) {
        vaultItems[key] = ciphertext;
      } else if (typeof ciphertext === 'string' && ciphertext.startsWith(LOCAL_PREFIX) && this.#local) {
        const plain = this.#local.decryptValue(scope, key, ciphertext);
        if (plain) local.push([key, plain]);
        else failed.push(key);
      } else {
        failed.push(key);
      }
    }
    if (!this.#vault || Object.keys(vaultItems).length === 0) {
      return { values: SecretValues.fromBuffers(local), failed };
    }
    try {
      const fromVault = await this.#vault.decryptToBuffers(scope, vaultItems, signal);
      return { values: SecretValues.fromBuffers([...local, ...fromVault.values]), failed: [...failed, ...fromVault.failed] };
    } catch (err) {
      for (const [, buf] of local) buf.fill(0);
      throw err;
    }
  }
}

/**
 * Builds the cipher for a backend configuration. The local keyring is loaded (and, when allowed, created) here;
 * Vault is not contacted until the first encrypt or decrypt.
 */
export async function createSecretCipher(config: SecretBackendConfig): Promise<SecretCipher> {
  if (config.backend === 'local') {
    const local = new LocalKeyringCipher(await loadKeyring(config.keyringFile, { createIfMissing: config.createIfMissing ?? false }));
    return new DispatchingSecretCipher(local, local, undefined, config.keyringFile);
  }
  if (config.backend === 'vault') {
    const vault = new VaultTransitCipher(config);
    const local = config.keyringFile ? new LocalKeyringCipher(await loadKeyring(config.keyringFile, { createIfMissing: false })) : undefined;
    return new DispatchingSecretCipher(vault, local, vault, config.keyringFile);
  }
  throw new AlgaError('E_SECRETS_UNAVAILABLE', `unknown secrets backend "${String((config as { backend?: unknown }).backend)}"`);
}

/**
 * Reads ALGA_SECRETS_BACKEND (local|vault), ALGA_KEYRING_FILE, ALGA_KEYRING_CREATE, VAULT_ADDR, VAULT_TOKEN,
 * VAULT_TOKEN_FILE, ALGA_VAULT_TRANSIT_MOUNT, ALGA_VAULT_TRANSIT_KEY, VAULT_NAMESPACE, ALGA_VAULT_TIMEOUT_MS, and
 * NODE_ENV for the mode (sdk/contracts runtime-mode.ts). The gateway and a stand-alone runner both call this, so they
 * decrypt with the same backend from the same variables.
 *
 * Local keyring: a file that goes missing (a wrong mount path) must never be replaced by a new key, which would make
 * every stored secret undecryptable without a word. So it is created only in development, and only for the embedded
 * default (`defaults.keyringFile`, else ./data/keyring.json) or with ALGA_KEYRING_CREATE=true. In production,
 * ALGA_KEYRING_FILE must name an existing keyring. With `vault`, ALGA_KEYRING_FILE (if set) names the keyring that
 * still decrypts old `local:` values; it must exist.
 */
export function secretBackendConfigFromEnv(env: NodeJS.ProcessEnv = process.env, defaults: { keyringFile?: string } = {}): SecretBackendConfig {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const mode = runtimeMode(env);
  const backend = value('ALGA_SECRETS_BACKEND') ?? 'local';
  if (backend === 'local') {
    const keyringFile = value('ALGA_KEYRING_FILE');
    const create = keyringCreateFlag(value('ALGA_KEYRING_CREATE'));
    const missing = missingInProduction(mode, [{ variable: 'ALGA_KEYRING_FILE', present: Boolean(keyringFile), meaning: 'the path of the existing local keyring (or set ALGA_SECRETS_BACKEND=vault)' }]);
    if (missing.length > 0) throw new AlgaError('E_VALIDATION', missing.join('; '));
    if (mode === 'production' && create) throw new AlgaError('E_VALIDATION', 'ALGA_KEYRING_CREATE=true is refused in production (NODE_ENV=production): the keyring is never created there; point ALGA_KEYRING_FILE at the existing one');
    if (keyringFile) return { backend: 'local', keyringFile, createIfMissing: create ?? false };
    return { backend: 'local', keyringFile: defaults.keyringFile ?? DEFAULT_KEYRING_FILE, createIfMissing: create ?? true };
  }
  if (backend !== 'vault') throw new AlgaError('E_VALIDATION', `ALGA_SECRETS_BACKEND must be "local" or "vault", not "${backend}"`);
  const endpoint = value('VAULT_ADDR');
  if (!endpoint) throw new AlgaError('E_VALIDATION', 'ALGA_SECRETS_BACKEND=vault needs VAULT_ADDR');
  const token = value('VAULT_TOKEN');
  const tokenFile = value('VAULT_TOKEN_FILE');
  if (!token && !tokenFile) throw new AlgaError('E_VALIDATION', 'ALGA_SECRETS_BACKEND=vault needs VAULT_TOKEN or VAULT_TOKEN_FILE');
  const timeoutText = value('ALGA_VAULT_TIMEOUT_MS');
  const timeoutMs = timeoutText === undefined ? undefined : Number(timeoutText);
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) {
    throw new AlgaError('E_VALIDATION', 'ALGA_VAULT_TIMEOUT_MS must be a positive integer (milliseconds)');
  }
  const config: SecretBackendConfig = { backend: 'vault', endpoint };
  if (token) config.token = token;
  if (tokenFile) config.tokenFile = tokenFile;
  const mount = value('ALGA_VAULT_TRANSIT_MOUNT');
  if (mount) config.mount = mount;
  const keyName = value('ALGA_VAULT_TRANSIT_KEY');
  if (keyName) config.keyName = keyName;
  const namespace = value('VAULT_NAMESPACE');
  if (namespace) config.namespace = namespace;
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  const keyringFile = value('ALGA_KEYRING_FILE');
  if (keyringFile) config.keyringFile = keyringFile;
  return config;
}

/** ALGA_KEYRING_CREATE: true/false (1/0); undefined when unset. */
function keyringCreateFlag(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new AlgaError('E_VALIDATION', `ALGA_KEYRING_CREATE must be "true" or "false", not "${text.slice(0, 20)}"`);
}
