/**
 * Execute requests as the gateway would send them: body + execution token. The runner runs
 * each token once, so every request needs its own; `TokenSupply` mints them ahead of a level
 * so the timings hold the runner's work, not the client's signing (any it runs out of are
 * minted on demand and counted).
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'undici';
import { executeBodyDigest, mintExecutionToken, type ExecutionSigningKey } from '@alga-psa/extension-contracts';
import { request } from '../../test-setup/bench/http-client.ts';

export interface ExecuteTarget {
  tenantId: string;
  installId: string;
  extensionId: string;
  versionId: string;
  contentHash: string;
  path: string;
  config: Record<string, unknown>;
  /** Granted to the install and named in the token (default none). */
  capabilities?: string[];
  /** The install's encrypted secrets, as the gateway sends them. */
  secrets?: { secretsVersion: number; envelope: Record<string, string> };
}

export interface ExecuteRequest { token: string; body: string; parsed: ExecuteBodyObject }

/** The execute body as an object (what the HTTP layer would parse), for in-process callers. */
export type ExecuteBodyObject = ReturnType<typeof executeBody>;

/** Valid for the whole bench: tokens are minted before they are used. */
const tokenLifetimeMs = 15 * 60_000;

function executeBody(target: ExecuteTarget, requestId: string, deadlineMs: number) {
  return {
    context: { requestId, tenantId: target.tenantId, extensionId: target.extensionId, installId: target.installId, versionId: target.versionId, contentHash: target.contentHash },
    request: { method: 'GET', path: target.path, query: [] as Array<[string, string]>, headers: [] as Array<[string, string]> },
    install: { config: target.config, configVersion: 1, grantedCapabilities: target.capabilities ?? [], httpAllowedHosts: [] as string[], storageNamespaces: null, uiProxyRoutes: [] as string[] },
    secrets: target.secrets ?? { secretsVersion: 0, envelope: {} as Record<string, string> },
    limits: { deadlineMs },
  };
}

export async function executeRequest(signer: ExecutionSigningKey, target: ExecuteTarget): Promise<ExecuteRequest> {
  const requestId = randomUUID();
  const deadlineMs = Date.now() + tokenLifetimeMs;
  const parsed = executeBody(target, requestId, deadlineMs);
  const token = await mintExecutionToken(signer, {
    requestId, tenantId: target.tenantId, installId: target.installId, extensionId: target.extensionId, versionId: target.versionId,
    contentHash: target.contentHash, bodyDigest: executeBodyDigest({ install: parsed.install, secrets: parsed.secrets }), capabilities: target.capabilities ?? [],
  }, deadlineMs);
  return { token, body: JSON.stringify(parsed), parsed };
}

/** Requests for `targets` in round robin (one target: always it), minted ahead in batches. */
export class TokenSupply {
  private ready: ExecuteRequest[] = [];
  private nextTarget = 0;
  /** Requests that had to be minted while a level was being measured. */
  mintedOnDemand = 0;

  private readonly signer: ExecutionSigningKey;
  private readonly targets: ExecuteTarget[];

  constructor(signer: ExecutionSigningKey, targets: ExecuteTarget[]) {
    this.signer = signer;
    this.targets = targets;
  }

  /** At least `n` ready (older ones stay usable: their deadline is far). */
  async ensure(n: number): Promise<void> {
    while (this.ready.length < n) this.ready.push(await this.mint());
  }

  next(): Promise<ExecuteRequest> {
    const r = this.ready.pop();
    if (r) return Promise.resolve(r);
    this.mintedOnDemand++;
    return this.mint();
  }

  private mint(): Promise<ExecuteRequest> {
    const target = this.targets[this.nextTarget++ % this.targets.length];
    return executeRequest(this.signer, target);
  }
}

/** One POST /v1/execute with the next request of `supply`; rejects unless the answer contains `contains`. */
export function executeCall(pool: Pool, supply: TokenSupply, contains = '"status":200'): (i: number) => Promise<void> {
  return async () => {
    const { token, body } = await supply.next();
    await request(pool, { path: '/v1/execute', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body }, { contains });
  };
}
