/**
 * Browser sessions for the admin UI and iframe proxy routes: an API key is exchanged once
 * (`POST /api/v1/auth/login`) for a short-lived HS256 cookie. Every request re-checks that the
 * key behind the session is still active, so revoking a key ends its sessions.
 */
import { SignJWT, jwtVerify } from 'jose';
import { AlgaError } from '@alga-psa/extension-contracts';
import type { Principal } from './api-keys.ts';
import { isRole } from './roles.ts';

export const sessionCookie = 'alga_session';

export class Sessions {
  private readonly secret: Uint8Array;
  private readonly ttlMinutes: number;

  constructor(secret: Uint8Array, ttlMinutes: number) {
    if (secret.byteLength < 32) throw new Error('session secret must be at least 32 bytes');
    this.secret = secret;
    this.ttlMinutes = ttlMinutes;
  }

  get maxAgeMs(): number {
    return this.ttlMinutes * 60_000;
  }

  async issue(principal: Principal): Promise<string> {
    return new SignJWT({ tid: principal.tenantId, roles: principal.roles, kid: principal.apiKeyId })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('alga-session')
      .setIssuedAt()
      .setExpirationTime(`${this.ttlMinutes}m`)
      .sign(this.secret);
  }

  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { audience: 'alga-session', algorithms: ['HS256'] });
      const roles = Array.isArray(payload.roles) ? payload.roles.filter(isRole) : [];
      if (typeof payload.tid !== 'string' || typeof payload.kid !== 'string') throw new Error('claims');
      return { tenantId: payload.tid, roles, apiKeyId: payload.kid, via: 'session' };
    } catch {
      throw new AlgaError('E_AUTH', 'session is invalid or has expired; log in again');
    }
  }
}
