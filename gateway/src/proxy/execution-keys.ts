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
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import { executeBodyDigest, generateExecutionSigningKey, importExecutionSigningKey, mintExecutionToken, mintPrepareToken, type ExecutionClaims, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import type { ExecuteBody } from '@alga-psa/extension-contracts';

interface KeyFile { active: string; keys: JWK[] }

export class ExecutionKeys {
  private readonly signers: ExecutionSigningKey[];
  private readonly activeKid: string;

  private constructor(signers: ExecutionSigningKey[], activeKid: string) {
    this.signers = signers;
    this.activeKid = activeKid;
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
    return ExecutionKeys.fromJwks(file.keys, file.active);
  }

  static async fromJwks(privateJwks: JWK[], activeKid: string): Promise<ExecutionKeys> {
    const signers = await Promise.all(privateJwks.map(importExecutionSigningKey));
    if (!signers.some((s) => s.kid === activeKid)) throw new Error(`active execution key ${activeKid} is not in the keyring`);
    return new ExecutionKeys(signers, activeKid);
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
