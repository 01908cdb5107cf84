/**
 * Browser sessions for the admin UI and the iframe proxy routes: an API key is exchanged once
 * (`POST /api/v1/auth/login`) for an opaque random cookie value whose sha256 is a row in
 * `api_session`. Logout revokes the row, and verifying joins the API key, so revoking or
 * expiring the key ends its sessions (issue 7: a signed cookie that outlived logout still
 * authenticated).
 *
 * A verified session is remembered for `cacheTtlMs` by the sha256 of its cookie value, as API
 * keys are (api-keys.ts, the same bound, ALGA_INSTALL_CONFIG_CACHE_TTL_MS): logout or the key's
 * revocation through this process ends it on the very next request; through another replica
 * within `cacheTtlMs`. The session's and its key's expiry hold whatever the cache holds.
 *
 * Each session has a CSRF token derived from the cookie value (HMAC-SHA256 keyed by it): it is
 * handed to the platform page in the login and `/auth/me` answers, which only same-origin
 * script can read, and costs no storage.
 *
 * @example
 *   const { token, csrfToken } = await sessions.issue(principal);   // token → Set-Cookie
 *   const session = await sessions.verify(token);                   // throws E_AUTH when ended
 *   sessions.csrfTokenFor(token) === csrfToken;
 *   await sessions.revoke(token);
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { Principal } from './api-keys.ts';
import { isRole, type Role } from './roles.ts';

export const sessionCookie = 'alga_session';
/** The header the platform page sends its session's CSRF token in. */
export const csrfHeader = 'x-alga-csrf';

const tokenPattern = /^alga_s_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface SessionPrincipal extends Principal {
  via: 'session';
  sessionId: string;
}

interface VerifiedSession {
  principal: Readonly<SessionPrincipal>;
  /** The earlier of the session's and its key's expiry. */
  expiresAtMs: number;
}

export class Sessions {
  private readonly knex: Knex;
  private readonly ttlMinutes: number;
  /** sha256(cookie value) hex → the session it verified as. */
  private readonly verified: LRUCache<string, VerifiedSession> | undefined;
  /** Moves on every logout or key revocation here: a verification that read before one is not cached. */
  private endings = 0;

  constructor(knex: Knex, ttlMinutes: number, cache: { cacheTtlMs?: number; cacheMax?: number } = {}) {
    this.knex = knex;
    this.ttlMinutes = ttlMinutes;
    const ttl = cache.cacheTtlMs ?? 0;
    this.verified = ttl > 0 ? new LRUCache<string, VerifiedSession>({ max: cache.cacheMax ?? 10_000, ttl }) : undefined;
  }

  get maxAgeMs(): number {
    return this.ttlMinutes * 60_000;
  }

  async issue(principal: Principal): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = `alga_s_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + this.maxAgeMs);
    await this.knex('api_session').insert({ id: randomUUID(), tenant_id: principal.tenantId, api_key_id: principal.apiKeyId, token_hash: sha256(token), expires_at: expiresAt });
    return { token, csrfToken: this.csrfTokenFor(token), expiresAt };
  }

  /** The session behind a cookie value, with the roles its API key has now. */
  async verify(token: string): Promise<SessionPrincipal> {
    const ended = new AlgaError('E_AUTH', 'session is invalid or has ended; log in again');
    if (!tokenPattern.test(token)) throw ended;
    const hash = sha256(token);
    const cached = this.verified?.get(hash);
    if (cached) {
      if (cached.expiresAtMs > Date.now()) return { ...cached.principal, roles: [...cached.principal.roles] };
      this.verified!.delete(hash);
    }
    const endingsBefore = this.endings;
    const now = new Date();
    const row = await this.knex('api_session as s').join('api_key as k', 'k.id', 's.api_key_id')
      .where('s.token_hash', hash).whereNull('s.revoked_at').where('s.expires_at', '>', now)
      .first('s.id', 's.tenant_id', 's.api_key_id', 's.expires_at', 'k.roles', 'k.revoked_at as key_revoked_at', 'k.expires_at as key_expires_at');
    if (!row) throw ended;
    const keyExpiresAtMs = new Date(row.key_expires_at).getTime();
    if (row.key_revoked_at || keyExpiresAtMs <= now.getTime()) {
      throw new AlgaError('E_AUTH', 'the API key behind this session was revoked or expired');
    }
    const principal: SessionPrincipal = { tenantId: row.tenant_id, roles: (row.roles as string[]).filter(isRole), apiKeyId: row.api_key_id, via: 'session', sessionId: row.id };
    if (endingsBefore === this.endings) {
      this.verified?.set(hash, { principal: Object.freeze({ ...principal, roles: Object.freeze([...principal.roles]) as Role[] }), expiresAtMs: Math.min(new Date(row.expires_at).getTime(), keyExpiresAtMs) });
    }
    return principal;
  }

  /** The key was revoked through this process: its sessions end here at once. */
  forgetApiKey(apiKeyId: string): void {
    this.endings++;
    if (!this.verified) return;
    for (const [hash, entry] of this.verified.entries()) if (entry.principal.apiKeyId === apiKeyId) this.verified.delete(hash);
  }

  csrfTokenFor(token: string): string {
    return createHmac('sha256', token).update('alga-csrf-v1').digest('base64url');
  }

  /** Ends the session; ending one that is already gone is not an error (logout twice). */
  async revoke(token: string): Promise<void> {
    if (!tokenPattern.test(token)) return;
    const hash = sha256(token);
    await this.knex('api_session').where({ token_hash: hash }).whereNull('revoked_at').update({ revoked_at: new Date() });
    this.endings++;
    this.verified?.delete(hash);
  }

  /** Drops rows that can never authenticate again. */
  async sweep(): Promise<void> {
    await this.knex('api_session').where('expires_at', '<=', new Date()).delete();
  }
}
