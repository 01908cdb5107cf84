/**
 * Secrets sealed by Vault (or OpenBao) transit, through the real `node-vault` client.
 *
 * @example
 *   const cipher = new VaultTransitCipher({ endpoint: 'https://vault:8200', tokenFile: '/var/run/vault/token' });
 *   const sealed = await cipher.encrypt({ tenantId, installId }, { API_KEY: 'sk-…', OTHER: '…' }); // one batch call
 *   // sealed.API_KEY.ciphertext === 'vault:v1:…' (exactly what Vault returned)
 *   const { values, failed } = await cipher.decrypt({ tenantId, installId }, envelope, signal);  // one batch call
 *
 * Binding (wire contract: /work/shared/VAULT-TRANSIT.md; design: DESIGN.md §5):
 *  - Every item carries `associated_data` = base64("<tenantId>:<installId>:<key name>"). This is the binding that
 *    always holds: Vault authenticates associated data with the AEAD tag whether or not the key is derived, so a
 *    ciphertext replayed into another tenant, another install or under another key name fails with
 *    `message authentication failed` and lands in `failed`. Neither id may contain ":", so the string is unambiguous.
 *  - Every item also carries `context` = base64("<tenantId>:<installId>"): with a DERIVED key (the one this class
 *    creates) Vault derives a per-install key (HKDF), so install separation does not rest on one mechanism only.
 *    A non-derived key ignores `context`.
 *
 * What the cipher checks, and what it cannot confirm (it fails closed on everything it can see):
 *  - On the first encrypt it reads the key's config. A readable key must be an AEAD type (otherwise
 *    `associated_data` could not bind), derived, and not convergent (a convergent key's nonce is an HMAC of the
 *    plaintext alone, so one value stored under two key names of an install would reuse a GCM nonce with different
 *    associated data). A config without a recognisable type is refused too. A missing key is created derived.
 *  - A least-privilege writer (§7) may not read the config (403): then derivation, convergence and type cannot be
 *    confirmed, and the write proceeds on the associated-data binding alone. That still fails closed for a
 *    non-AEAD key, because Vault (since 1.13, the release that added `associated_data`; every OpenBao) refuses
 *    associated data for non-AEAD types. What stays unconfirmed: a Vault older than 1.13 ignores the field, and
 *    then only a derived key separates installs; and a convergent key is not detected.
 *  - Decrypt never reads the config (a §7 reader may not): the ciphertext's tag authenticates the associated data,
 *    so a value sealed for another scope or key name fails on its own, derived key or not.
 *  Ciphertexts sealed before the binding included the tenant and install (associated_data = key name only) no
 *  longer decrypt: they land in `failed` (re-enter the secret) rather than being accepted under a weaker binding.
 *
 * Failures: unreachable, timed out, sealed (503), other 5xx, 403 → `AlgaError('E_SECRETS_UNAVAILABLE')` whose message
 * names the endpoint, path and HTTP status only: node-vault's errors carry the request body (plaintexts on encrypt)
 * and the response body (plaintexts of the other batch items on a partial decrypt failure), so they are never
 * propagated, wrapped or logged. A per-item decrypt failure (wrong context, tampered, wrong key name) puts that key
 * in `failed`.
 */
import { readFile } from 'node:fs/promises';
import vaultFactory from 'node-vault';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { DecryptResult, EncryptedSecret, SecretCipher, SecretScope } from './secret-cipher.ts';
import { SecretValues, takeOwnership } from './secret-values.ts';

export interface VaultTransitOptions {
  /** e.g. https://vault.internal:8200 */
  endpoint: string;
  token?: string;
  /** Read on first use and again whenever Vault answers 403, so a token rotated by an agent is picked up. Wins over `token`. */
  tokenFile?: string;
  /** default `transit` */
  mount?: string;
  /** default `alga-extension-secrets` */
  keyName?: string;
  namespace?: string;
  /** Per request; default 5000. */
  timeoutMs?: number;
}

export const VAULT_PREFIX = 'vault:v';
export const DEFAULT_TRANSIT_MOUNT = 'transit';
export const DEFAULT_TRANSIT_KEY = 'alga-extension-secrets';
export const DEFAULT_VAULT_TIMEOUT_MS = 5_000;

/** Vault's key-name rule (§2). */
const KEY_NAME_PATTERN = /^\w(?:[\w.-]*\w)?$/;
const VAULT_CIPHERTEXT_PATTERN = /^vault:v[1-9]\d{0,9}:[A-Za-z0-9+/]+={0,2}$/;
/** Types for which transit accepts associated_data. */
const AEAD_KEY_TYPES = new Set(['aes256-gcm96', 'aes128-gcm96', 'chacha20-poly1305', 'xchacha20-poly1305']);

type VaultClient = ReturnType<typeof vaultFactory>;
interface VaultFailure {
  response?: { statusCode?: number; body?: unknown };
  code?: string;
}
interface BatchItemResult {
  ciphertext?: unknown;
  plaintext?: unknown;
  error?: unknown;
  reference?: unknown;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
/** Key derivation context (only a derived key uses it). */
const installContext = (scope: SecretScope): string => b64(`${scope.tenantId}:${scope.installId}`);
/** The binding that holds for every AEAD key: scope ids cannot contain ":" (checkScope), so the key name is the rest. */
const associatedData = (scope: SecretScope, key: string): string => b64(`${scope.tenantId}:${scope.installId}:${key}`);

function checkScope(scope: SecretScope): void {
  for (const id of [scope.tenantId, scope.installId]) {
    if (typeof id !== 'string' || id.length === 0 || id.includes(':')) {
      throw new AlgaError('E_BAD_REQUEST', 'secret scope needs a non-empty tenantId and installId without ":"');
    }
  }
}

export class VaultTransitCipher implements SecretCipher {
  readonly algorithm = 'vault-transit' as const;
  /** `${mount}/${keyName}` */
  readonly keyRef: string;
  readonly #endpoint: string;
  /** for error messages: the endpoint without any user:password@ */
  readonly #displayEndpoint: string;
  readonly #mount: string;
  readonly #keyName: string;
  readonly #timeoutMs: number;
  readonly #tokenFile: string | undefined;
  readonly #client: VaultClient;
  #tokenLoaded: boolean;
  /** Set once the key passed the check (or its config may not be read); reset after a failed check so the next write retries. */
  #keyChecked: Promise<void> | undefined;

  constructor(opts: VaultTransitOptions) {
    if (!opts.endpoint) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'Vault transit needs an endpoint (VAULT_ADDR)');
    if (!opts.token && !opts.tokenFile) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'Vault transit needs a token (VAULT_TOKEN) or a token file (VAULT_TOKEN_FILE)');
    this.#mount = (opts.mount ?? DEFAULT_TRANSIT_MOUNT).replace(/^\/+|\/+$/g, '');
    this.#keyName = opts.keyName ?? DEFAULT_TRANSIT_KEY;
    if (!this.#mount) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'Vault transit mount path is empty');
    if (!KEY_NAME_PATTERN.test(this.#keyName)) throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault transit key name "${this.#keyName}" is not a valid key name`);
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS;
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) throw new AlgaError('E_SECRETS_UNAVAILABLE', 'Vault timeout must be a positive number of ms');
    this.#endpoint = opts.endpoint.replace(/\/+$/, '');
    this.#displayEndpoint = withoutCredentials(this.#endpoint);
    this.#tokenFile = opts.tokenFile;
    this.#tokenLoaded = !opts.tokenFile;
    this.keyRef = `${this.#mount}/${this.#keyName}`;
    this.#client = vaultFactory({
      endpoint: this.#endpoint,
      apiVersion: 'v1',
      token: opts.tokenFile ? undefined : opts.token,
      namespace: opts.namespace,
      requestOptions: { timeout: this.#timeoutMs },
      // node-vault's debug output (DEBUG=node-vault) prints request bodies, i.e. plaintexts on encrypt.
      debug: () => {},
    });
    // With a token file the token is set from the file before the first request; never fall back to $VAULT_TOKEN.
    if (opts.tokenFile) this.#client.token = '';
  }

  /** Encrypts every entry with ONE batch call. All or nothing: any item error fails the whole write. */
  async encrypt(scope: SecretScope, entries: Record<string, string>): Promise<Record<string, EncryptedSecret>> {
    checkScope(scope);
    const items = Object.entries(entries);
    if (items.length === 0) return {};
    for (const [key, value] of items) {
      if (typeof value !== 'string') throw new AlgaError('E_BAD_REQUEST', `secret "${key}" must be a string`);
    }
    await this.#ensureUsableKey();
    const context = installContext(scope);
    const path = `${this.#mount}/encrypt/${this.#keyName}`;
    const body = {
      batch_input: items.map(([key, value], i) => ({ plaintext: b64(value), context, associated_data: associatedData(scope, key), reference: String(i) })),
    };
    const results = await this.#batch('encrypt', path, body, items.length);
    const out: Record<string, EncryptedSecret> = {};
    results.forEach((result, i) => {
      const key = items[i][0];
      if (typeof result.error === 'string' && result.error !== '') {
        throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault transit refused to encrypt secret "${key}" with ${this.keyRef}: ${describeItemError(result.error)}`);
      }
      if (typeof result.ciphertext !== 'string' || !result.ciphertext.startsWith(VAULT_PREFIX)) {
        throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault transit answered encrypt without a ciphertext for secret "${key}"`);
      }
      out[key] = { ciphertext: result.ciphertext, algorithm: this.algorithm, keyRef: this.keyRef };
    });
    return out;
  }

  /** Decrypts the `vault:` values of the envelope with ONE batch call; any other value is reported as failed. */
  async decrypt(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<DecryptResult> {
    const { values, failed } = await this.decryptToBuffers(scope, envelope, signal);
    return { values: SecretValues.fromBuffers(values), failed };
  }

  /** As `decrypt`, with the plaintexts as owned Buffers (for merging with other backends). */
  async decryptToBuffers(scope: SecretScope, envelope: Record<string, string>, signal?: AbortSignal): Promise<{ values: Array<[string, Buffer]>; failed: string[] }> {
    checkScope(scope);
    if (signal?.aborted) throw aborted();
    const failed: string[] = [];
    const items: Array<[string, string]> = [];
    for (const [key, ciphertext] of Object.entries(envelope)) {
      // Shape-checked here so a malformed value fails alone instead of failing the whole batch (§4: a batch item
      // Vault cannot parse is an internal error for the request).
      if (typeof ciphertext === 'string' && VAULT_CIPHERTEXT_PATTERN.test(ciphertext)) items.push([key, ciphertext]);
      else failed.push(key);
    }
    const values: Array<[string, Buffer]> = [];
    if (items.length === 0) return { values, failed };
    // No key check here (see the file comment): the associated data is verified by Vault with the tag.
    const context = installContext(scope);
    const path = `${this.#mount}/decrypt/${this.#keyName}`;
    const body = {
      batch_input: items.map(([key, ciphertext], i) => ({ ciphertext, context, associated_data: associatedData(scope, key), reference: String(i) })),
    };
    const results = await this.#batch('decrypt', path, body, items.length, signal);
    results.forEach((result, i) => {
      const key = items[i][0];
      const ok = (result.error === undefined || result.error === '') && typeof result.plaintext === 'string';
      if (!ok) {
        failed.push(key);
        return;
      }
      values.push([key, takeOwnership(Buffer.from(result.plaintext as string, 'base64'))]);
    });
    return { values, failed };
  }

  /**
   * On the first encrypt: the key must exist and, when its config is readable, be one the binding works with (see
   * the file comment). A token that may not read the key skips the check (least-privilege writers): the
   * associated data still binds, and Vault's upsert on encrypt creates a derived key, because `context` is sent (§3).
   */
  #ensureUsableKey(): Promise<void> {
    this.#keyChecked ??= this.#checkKey().catch((err: unknown) => {
      this.#keyChecked = undefined;
      throw err;
    });
    return this.#keyChecked;
  }

  async #checkKey(): Promise<void> {
    const keyPath = `${this.#mount}/keys/${this.#keyName}`;
    let data: { derived?: unknown; type?: unknown; convergent_encryption?: unknown } | undefined;
    try {
      data = (await this.#request('read', keyPath)).data;
    } catch (err) {
      const status = (err as VaultFailure).response?.statusCode;
      // May not read keys: nothing about the key can be confirmed, and the associated data is what binds. Encrypt
      // will tell the rest (403 if the key is missing and may not be created; an item error for a non-AEAD key).
      if (status === 403) return;
      if (status !== 404) throw unavailable(this.#displayEndpoint, 'read', keyPath, err);
      try {
        // Older Vaults answer the create with 204 and no body: read the config back rather than trust the answer.
        data = (await this.#request('write', keyPath, { type: 'aes256-gcm96', derived: true }))?.data
          ?? (await this.#request('read', keyPath)).data;
      } catch (createErr) {
        if ((createErr as VaultFailure).response?.statusCode === 403) {
          throw new AlgaError('E_SECRETS_UNAVAILABLE',
            `Vault transit key ${this.keyRef} does not exist and this token may not create it: create it with \`vault write ${keyPath} derived=true\``);
        }
        throw unavailable(this.#displayEndpoint, 'create key', keyPath, createErr);
      }
    }
    // The config was readable: whatever it does not show as expected is refused, a missing type included.
    const type = typeof data?.type === 'string' ? data.type : undefined;
    if (type === undefined || !AEAD_KEY_TYPES.has(type)) {
      throw new AlgaError('E_SECRETS_UNAVAILABLE',
        `Vault transit key ${this.keyRef} has type ${type ?? '(none reported)'}, which cannot encrypt with associated data: secrets need an aes256-gcm96 key`);
    }
    if (data?.derived !== true) {
      throw new AlgaError('E_SECRETS_UNAVAILABLE',
        `Vault transit key ${this.keyRef} is not derived: secrets need a key created with derived=true so each install gets its own key`);
    }
    if (data.convergent_encryption === true) {
      throw new AlgaError('E_SECRETS_UNAVAILABLE',
        `Vault transit key ${this.keyRef} uses convergent encryption, whose nonces repeat for equal values: secrets need a key created with derived=true and without convergent_encryption`);
    }
  }

  /** One batch call; returns one result per input item, in order. */
  async #batch(op: 'encrypt' | 'decrypt', path: string, body: object, count: number, signal?: AbortSignal): Promise<BatchItemResult[]> {
    let response: { data?: { batch_results?: unknown } } | undefined;
    try {
      response = await this.#request('write', path, body, signal);
    } catch (err) {
      if (err instanceof AlgaError) throw err;
      const failure = err as VaultFailure;
      // A batch with item errors answers 400 (500 if only internal item errors) with the success envelope (§4).
      const partial = failure.response?.statusCode === 400 ? (failure.response.body as typeof response) : undefined;
      if (!Array.isArray(partial?.data?.batch_results)) throw unavailable(this.#displayEndpoint, op, path, err);
      response = partial;
    }
    const results = response?.data?.batch_results;
    if (!Array.isArray(results) || results.length !== count) {
      throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault transit ${op} at ${this.#displayEndpoint}/v1/${path} answered without one batch result per item`);
    }
    return results.map((r: BatchItemResult, i) => {
      // References are echoed; a mismatch would pair a plaintext with the wrong key.
      if (typeof r !== 'object' || r === null || (r.reference !== undefined && r.reference !== '' && r.reference !== String(i))) {
        throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault transit ${op} answered batch results out of order`);
      }
      return r;
    });
  }

  /** A node-vault call with the token from the file (re-read once on 403), bounded by the timeout and the signal. */
  async #request(method: 'read' | 'write', path: string, body?: object, signal?: AbortSignal): Promise<any> {
    if (!this.#tokenLoaded) await this.#reloadToken(path);
    try {
      return await this.#send(method, path, body, signal);
    } catch (err) {
      if ((err as VaultFailure).response?.statusCode === 403 && this.#tokenFile && (await this.#reloadToken(path))) {
        return await this.#send(method, path, body, signal);
      }
      throw err;
    }
  }

  /** Reads the token file; true when it held a different token than the one in use. */
  async #reloadToken(path: string): Promise<boolean> {
    let token: string;
    try {
      token = (await readFile(this.#tokenFile!, 'utf8')).trim();
    } catch (err) {
      throw new AlgaError('E_SECRETS_UNAVAILABLE',
        `Vault token file ${this.#tokenFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}) for ${path}`);
    }
    if (!token) throw new AlgaError('E_SECRETS_UNAVAILABLE', `Vault token file ${this.#tokenFile} is empty`);
    this.#tokenLoaded = true;
    if (token === this.#client.token) return false;
    this.#client.token = token;
    return true;
  }

  /**
   * node-vault passes `timeout` to axios (a socket inactivity timeout); the timer here also bounds connecting and
   * anything else, and the signal (the request deadline) ends the wait early. A request abandoned this way finishes
   * in the background and its answer is dropped.
   */
  #send(method: 'read' | 'write', path: string, body: object | undefined, signal?: AbortSignal): Promise<any> {
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => finish(() => reject(aborted()));
      const timer = setTimeout(() => finish(() => reject(new AlgaError('E_SECRETS_UNAVAILABLE',
        `Vault at ${this.#displayEndpoint} did not answer ${method} ${path} within ${this.#timeoutMs} ms`))), this.#timeoutMs + 50);
      signal?.addEventListener('abort', onAbort, { once: true });
      const call = method === 'read' ? this.#client.read(path) : this.#client.write(path, body);
      call.then((res) => finish(() => resolve(res)), (err) => finish(() => reject(err)));
    });
  }
}

function withoutCredentials(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return '<invalid Vault endpoint>';
  }
}

function aborted(): AlgaError {
  return new AlgaError('E_SECRETS_UNAVAILABLE', 'secret decryption was aborted at the request deadline');
}

/** Vault's per-item error strings are fixed texts about the request, never its data; still, only known ones are quoted. */
function describeItemError(error: string): string {
  const known = ['encryption key not found', 'missing \'context\'', 'message authentication failed', 'permission denied', 'too old', 'too new', 'invalid ciphertext'];
  const hit = known.find((k) => error.includes(k));
  return hit ?? 'item error';
}

/**
 * The one place a node-vault/axios failure becomes an error message: status codes and error codes only. Neither
 * err.message (Vault's text) nor the error object (request and response bodies) is carried along.
 */
export function unavailable(endpoint: string, op: string, path: string, err: unknown): AlgaError {
  if (err instanceof AlgaError) return err;
  const failure = err as VaultFailure;
  const where = `Vault transit ${op} at ${endpoint}/v1/${path}`;
  const status = failure?.response?.statusCode;
  if (typeof status === 'number') {
    const errors = (failure.response?.body as { errors?: unknown } | undefined)?.errors;
    const first = Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : '';
    let why: string;
    if (status === 503) why = first.includes('sealed') ? 'Vault is sealed' : 'Vault is unavailable';
    else if (status === 403) why = 'permission denied: the token is invalid, expired or lacks the capability';
    else if (status === 404) why = 'no such mount or key';
    else if (status === 400 && first.includes('not found')) why = 'the transit key does not exist';
    else if (status >= 500) why = 'Vault internal error';
    else why = 'request rejected';
    return new AlgaError('E_SECRETS_UNAVAILABLE', `${where} failed: HTTP ${status} (${why})`);
  }
  const code = typeof failure?.code === 'string' && /^[A-Z_]+$/.test(failure.code) ? failure.code : 'network error';
  const why = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timed out' : 'unreachable';
  return new AlgaError('E_SECRETS_UNAVAILABLE', `${where} failed: Vault ${why} (${code})`);
}
