/**
 * The gateway's execution-token signing keys: a JSON file `{ active, keys: [private JWK…] }`,
 * created on first start only when the caller allows it (a development setup; production
 * refuses to start without the file). Rotation adds a key and makes it active; the old one
 * stays trusted by runners (two active) until it is removed.
 *
 * @example
 *   const keys = await ExecutionKeys.load('./data/execution-keys.json', { createIfMissing: true });
 *   const token = await keys.mintForExecute(executeBody, capabilities); // what the proxy sends
 *   const token = await keys.mint(claims, deadlineMs);
 *   runnerConfig.trustedKeys = keys.publicJwks();
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { executeBodyDigest, generateExecutionSigningKey, importExecutionSigningKey, mintExecutionToken, mintPrepareToken, type ExecutionClaims, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import type { ExecuteBody } from '@alga-psa/extension-contracts';

interface KeyFile { active: string; keys: JWK[] }

export class ExecutionKeys {
  private signers: ExecutionSigningKey[];
  private activeKid: string;
  /** The file the keys came from (`load`), which `reload` reads again. */
  private readonly path: string | undefined;
  /** Moves on every reload: whoever derived something from the keys (a verifier) knows to derive it again. */
  generation = 0;

  private constructor(signers: ExecutionSigningKey[], activeKid: string, path?: string) {
    this.signers = signers;
    this.activeKid = activeKid;
    this.path = path;
  }

  /**
   * Without `createIfMissing`, a missing file is an error: new keys would not be the ones the
   * runners trust (RUNNER_TRUSTED_KEYS), so every request would fail with 401.
   */
  static async load(path: string, opts: { createIfMissing: boolean } = { createIfMissing: false }): Promise<ExecutionKeys> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read execution keys ${path}: ${(err as Error).message}`);
      if (!opts.createIfMissing) throw new Error(`execution keys file ${path} does not exist: set ALGA_EXECUTION_KEYS_FILE to the path of the gateway's signing keys { active, keys }`);
    }
    let file: KeyFile;
    if (text === undefined) {
      const fresh = await generateExecutionSigningKey(`exec-${randomUUID().slice(0, 8)}`);
      file = { active: fresh.kid, keys: [fresh.privateJwk] };
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, JSON.stringify(file, null, 2), { mode: 0o600 });
      await chmod(path, 0o600);
    } else {
      try {
        file = JSON.parse(text) as KeyFile;
      } catch {
        // JSON.parse's message quotes the input, which is private key material.
        throw new Error(`execution keys file ${path} is not valid JSON`);
      }
    }
    const { signers, active } = await importKeys(file.keys, file.active);
    return new ExecutionKeys(signers, active, path);
  }

  static async fromJwks(privateJwks: JWK[], activeKid: string): Promise<ExecutionKeys> {
    const { signers, active } = await importKeys(privateJwks, activeKid);
    return new ExecutionKeys(signers, active);
  }

  /**
   * Key rotation (README "Key rotation"): reads the keys file again. A file that does not parse
   * or whose active key is missing changes nothing and throws, naming the problem.
   */
  async reload(): Promise<{ active: string; kids: string[] }> {
    if (!this.path) throw new Error('these execution keys were not loaded from a file (ALGA_EXECUTION_KEYS_FILE): there is nothing to reload');
    const next = await ExecutionKeys.load(this.path, { createIfMissing: false });
    this.signers = next.signers;
    this.activeKid = next.activeKid;
    this.generation++;
    return this.describe();
  }

  describe(): { active: string; kids: string[] } {
    return { active: this.activeKid, kids: this.signers.map((s) => s.kid) };
  }

  get kid(): string {
    return this.activeKid;
  }

  publicJwks(): JWK[] {
    return this.signers.map((s) => s.publicJwk);
  }

  mint(claims: ExecutionClaims, deadlineMs: number): Promise<string> {
    return mintExecutionToken(this.active(), claims, deadlineMs);
  }

  /** The token for `POST /v1/prepare` of one component (another audience: it executes nothing). */
  mintPrepare(contentHash: string): string {
    return mintPrepareToken(this.active(), contentHash);
  }

  private active(): ExecutionSigningKey {
    return this.signers.find((s) => s.kid === this.activeKid)!;
  }

  /**
   * The token for one execute body, expiring at its deadline. Build the body first and send
   * exactly this object: the digest covers its install and secrets sections as serialised.
   */
  mintForExecute(body: Pick<ExecuteBody, 'context' | 'install' | 'secrets' | 'limits'>, capabilities: string[]): Promise<string> {
    const { requestId, tenantId, installId, extensionId, versionId, contentHash } = body.context;
    const bodyDigest = executeBodyDigest({ install: body.install, secrets: body.secrets });
    return this.mint({ requestId, tenantId, installId, extensionId, versionId, contentHash, bodyDigest, capabilities }, body.limits.deadlineMs);
  }
}

async function importKeys(privateJwks: JWK[], activeKid: string): Promise<{ signers: ExecutionSigningKey[]; active: string }> {
  if (!Array.isArray(privateJwks)) throw new Error('execution keys file must hold { active, keys: [private JWK…] }');
  const signers = await Promise.all(privateJwks.map(importExecutionSigningKey));
  if (!signers.some((s) => s.kid === activeKid)) throw new Error(`active execution key ${activeKid} is not in the keyring`);
  return { signers, active: activeKid };
}

// ---------------------------------------------------------------------------------------------
// Key files, for the rotation steps (`npm run keys -- execution-keys …`, README "Key rotation")
// ---------------------------------------------------------------------------------------------

async function readKeyFile(path: string): Promise<KeyFile> {
  let file: KeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as KeyFile;
  } catch (err) {
    // Never JSON.parse's message: it quotes private key material.
    throw new Error(`cannot read execution keys ${path}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`);
  }
  await importKeys(file.keys, file.active);
  return file;
}

/** Atomically (write, then rename), mode 0600. */
async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  await importKeys(file.keys, file.active);
  const tmp = `${path}.${randomUUID().slice(0, 8)}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2), { mode: 0o600 });
  await rename(tmp, path);
}

/** Step 1: a new signing key, not yet active. Its public key goes to every runner before step 2. */
export async function addExecutionKey(path: string): Promise<{ kid: string; publicJwks: JWK[] }> {
  const file = await readKeyFile(path);
  const fresh = await generateExecutionSigningKey(`exec-${randomUUID().slice(0, 8)}`);
  await writeKeyFile(path, { active: file.active, keys: [...file.keys, fresh.privateJwk] });
  return { kid: fresh.kid, publicJwks: await executionPublicJwks(path) };
}

/** Step 2: the gateway signs with `kid` (after a reload). */
export async function activateExecutionKey(path: string, kid: string): Promise<void> {
  const file = await readKeyFile(path);
  if (!file.keys.some((k) => k.kid === kid)) throw new Error(`no execution key ${kid} in ${path}`);
  await writeKeyFile(path, { ...file, active: kid });
}

/** Step 4: the old key gone from the gateway's file; never the active one. */
export async function retireExecutionKey(path: string, kid: string): Promise<void> {
  const file = await readKeyFile(path);
  if (file.active === kid) throw new Error(`${kid} is the active execution key: activate another one first`);
  if (!file.keys.some((k) => k.kid === kid)) throw new Error(`no execution key ${kid} in ${path}`);
  await writeKeyFile(path, { ...file, keys: file.keys.filter((k) => k.kid !== kid) });
}

/** The public keys of the file, as runners take them (RUNNER_TRUSTED_KEYS: a JWKS document). */
export async function executionPublicJwks(path: string): Promise<JWK[]> {
  const file = await readKeyFile(path);
  return (await importKeys(file.keys, file.active)).signers.map((s) => s.publicJwk);
}
