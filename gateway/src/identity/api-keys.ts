/**
 * Tenant API keys: `alga_<prefix>_<secret>`. Only the sha256 of the whole key is stored; the
 * prefix finds the row. Keys always expire and can be revoked.
 *
 * Verified keys are remembered for `cacheTtlMs` (ALGA_INSTALL_CONFIG_CACHE_TTL_MS, the bound the
 * gateway already gives other replicas' writes): a proxied request used to spend a database
 * round trip on its key (issue 11). The cache is keyed by the key's sha256, never the key, and
 * holds only the principal and when the key expires. A revocation through this process evicts
 * at once; one made through another replica takes effect here within `cacheTtlMs`; an expired key
 * stops at its expiry whatever the cache holds. Failed verifications are never cached (a caller
 * spraying keys must not fill it). `cacheTtlMs: 0` turns the cache off.
 *
 * @example
 *   const { key, record } = await apiKeys.create({ tenantId, name: 'ci', roles: ['extension:read'] });
 *   const principal = await apiKeys.verify(key);   // throws E_AUTH when unknown, expired or revoked
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { AlgaError } from '@alga-psa/extension-contracts';
import { isRole, type Role } from './roles.ts';

export interface Principal {
  tenantId: string;
  roles: Role[];
  apiKeyId: string;
  via: 'api-key' | 'session';
}

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  roles: Role[];
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

const keyPattern = /^alga_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function toRecord(row: Record<string, any>): ApiKeyRecord {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, prefix: row.key_prefix, roles: row.roles, createdAt: row.created_at, expiresAt: row.expires_at, revokedAt: row.revoked_at };
}

export interface ApiKeyCacheOptions {
  /** How long a verified key is trusted without the database; 0 = always ask it. */
  cacheTtlMs?: number;
  /** Verified keys remembered at most (least recently used go first). */
  cacheMax?: number;
}

interface VerifiedKey {
  principal: Readonly<Principal>;
  expiresAtMs: number;
}

export class ApiKeys {
  private readonly knex: Knex;
  private readonly defaultTtlDays: number;
  /** sha256(key) hex → what verifying it found. */
  private readonly verified: LRUCache<string, VerifiedKey> | undefined;
  private readonly revokedListeners: Array<(apiKeyId: string) => void> = [];
  /** Moves on every revocation here: a verification that read the row before one is not cached. */
  private revocations = 0;

  constructor(knex: Knex, defaultTtlDays: number, cache: ApiKeyCacheOptions = {}) {
    this.knex = knex;
    this.defaultTtlDays = defaultTtlDays;
    const ttl = cache.cacheTtlMs ?? 0;
    this.verified = ttl > 0 ? new LRUCache<string, VerifiedKey>({ max: cache.cacheMax ?? 10_000, ttl }) : undefined;
  }

  /** Called after a key is revoked through this process (sessions of the key drop their cached state). */
  onRevoked(listener: (apiKeyId: string) => void): void {
    this.revokedListeners.push(listener);
  }

  async create(input: { tenantId: string; name: string; roles: string[]; ttlDays?: number }): Promise<{ key: string; record: ApiKeyRecord }> {
    if (input.roles.length === 0 || !input.roles.every(isRole)) {
      throw new AlgaError('E_VALIDATION', 'roles must be a non-empty list of extension:read, extension:write, extension:admin');
    }
    const ttlDays = input.ttlDays ?? this.defaultTtlDays;
    if (!Number.isInteger(ttlDays) || ttlDays < 1 || ttlDays > 3650) throw new AlgaError('E_VALIDATION', 'ttlDays must be an integer from 1 to 3650');
    const prefix = randomBytes(9).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 12);
    const key = `alga_${prefix}_${randomBytes(32).toString('base64url')}`;
    const [row] = await this.knex('api_key').insert({
      id: randomUUID(),
      tenant_id: input.tenantId,
      name: input.name,
      key_prefix: prefix,
      key_hash: sha256(key),
      roles: JSON.stringify(input.roles),
      expires_at: new Date(Date.now() + ttlDays * 86_400_000),
    }).returning('*');
    return { key, record: toRecord(row) };
  }

  async verify(key: string): Promise<Principal> {
    const m = keyPattern.exec(key);
    if (!m) throw new AlgaError('E_AUTH', 'invalid API key');
    const hash = sha256(key);
    const cached = this.verified?.get(hash);
    if (cached) {
      if (cached.expiresAtMs > Date.now()) return { ...cached.principal, roles: [...cached.principal.roles] };
      this.verified!.delete(hash);
      throw new AlgaError('E_AUTH', 'API key has expired');
    }
    const revocationsBefore = this.revocations;
    const row = await this.knex('api_key').where({ key_prefix: m[1] }).first();
    const presented = Buffer.from(hash, 'hex');
    if (!row || !timingSafeEqual(presented, Buffer.from(row.key_hash, 'hex'))) throw new AlgaError('E_AUTH', 'invalid API key');
    if (row.revoked_at) throw new AlgaError('E_AUTH', 'API key has been revoked');
    const expiresAtMs = new Date(row.expires_at).getTime();
    if (expiresAtMs <= Date.now()) throw new AlgaError('E_AUTH', 'API key has expired');
    const principal: Principal = { tenantId: row.tenant_id, roles: (row.roles as string[]).filter(isRole), apiKeyId: row.id, via: 'api-key' };
    if (revocationsBefore === this.revocations) this.verified?.set(hash, { principal: Object.freeze({ ...principal, roles: Object.freeze([...principal.roles]) as Role[] }), expiresAtMs });
    return principal;
  }

  /** Still valid (not revoked or expired)? Sessions re-check their key on every request. */
  async isActive(apiKeyId: string): Promise<boolean> {
    const row = await this.knex('api_key').where({ id: apiKeyId }).first('revoked_at', 'expires_at');
    return Boolean(row && !row.revoked_at && new Date(row.expires_at).getTime() > Date.now());
  }

  /** Display names for the signed-in header: the tenant's name and the key's. */
  async describe(principal: Pick<Principal, 'tenantId' | 'apiKeyId'>): Promise<{ tenantName: string; keyName: string }> {
    const row = await this.knex('api_key as k').join('tenant as t', 't.id', 'k.tenant_id')
      .where({ 'k.id': principal.apiKeyId, 'k.tenant_id': principal.tenantId }).first('t.name as tenant_name', 'k.name as key_name');
    return { tenantName: row?.tenant_name ?? '', keyName: row?.key_name ?? '' };
  }

  async list(tenantId: string): Promise<ApiKeyRecord[]> {
    return (await this.knex('api_key').where({ tenant_id: tenantId }).orderBy('created_at')).map(toRecord);
  }

  async revoke(tenantId: string, id: string): Promise<void> {
    const updated = await this.knex('api_key').where({ tenant_id: tenantId, id }).update({ revoked_at: new Date() });
    if (updated === 0) throw new AlgaError('E_NOT_FOUND', 'no such API key');
    this.forget(id);
  }

  /** Drops what this process remembers of a key (revoked here: effective at once). */
  private forget(apiKeyId: string): void {
    this.revocations++;
    if (this.verified) {
      for (const [hash, entry] of this.verified.entries()) if (entry.principal.apiKeyId === apiKeyId) this.verified.delete(hash);
    }
    for (const listener of this.revokedListeners) listener(apiKeyId);
  }
}
