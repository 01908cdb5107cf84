/**
 * Browser sessions for the admin UI and the iframe proxy routes: an API key is exchanged once
 * (`POST /api/v1/auth/login`) for an opaque random cookie value whose sha256 is a row in
 * `api_session`. Logout revokes the row, and every request joins the API key, so revoking or
 * expiring the key ends its sessions on the very next request (issue 7: a signed cookie that
 * outlived logout still authenticated).
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
import { AlgaError } from '@alga-psa/extension-contracts';
import type { Principal } from './api-keys.ts';
import { isRole } from './roles.ts';

export const sessionCookie = 'alga_session';
/** The header the platform page sends its session's CSRF token in. */
export const csrfHeader = 'x-alga-csrf';

const tokenPattern = /^alga_s_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export interface SessionPrincipal extends Principal {
  via: 'session';
  sessionId: string;
}

export class Sessions {
  private readonly knex: Knex;
  private readonly ttlMinutes: number;

  constructor(knex: Knex, ttlMinutes: number) {
    this.knex = knex;
    this.ttlMinutes = ttlMinutes;
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
    const now = new Date();
    const row = await this.knex('api_session as s').join('api_key as k', 'k.id', 's.api_key_id')
      .where('s.token_hash', sha256(token)).whereNull('s.revoked_at').where('s.expires_at', '>', now)
      .first('s.id', 's.tenant_id', 's.api_key_id', 'k.roles', 'k.revoked_at as key_revoked_at', 'k.expires_at as key_expires_at');
    if (!row) throw ended;
    if (row.key_revoked_at || new Date(row.key_expires_at).getTime() <= now.getTime()) {
      throw new AlgaError('E_AUTH', 'the API key behind this session was revoked or expired');
    }
    return { tenantId: row.tenant_id, roles: (row.roles as string[]).filter(isRole), apiKeyId: row.api_key_id, via: 'session', sessionId: row.id };
  }

  csrfTokenFor(token: string): string {
    return createHmac('sha256', token).update('alga-csrf-v1').digest('base64url');
  }

  /** Ends the session; ending one that is already gone is not an error (logout twice). */
  async revoke(token: string): Promise<void> {
    if (!tokenPattern.test(token)) return;
    await this.knex('api_session').where({ token_hash: sha256(token) }).whereNull('revoked_at').update({ revoked_at: new Date() });
  }

  /** Drops rows that can never authenticate again. */
  async sweep(): Promise<void> {
    await this.knex('api_session').where('expires_at', '<=', new Date()).delete();
  }
}
