/**
 * What the gateway's JSON answers look like on the wire (dates are ISO strings). Mirrors the
 * gateway's views (`gateway/src/installs/install-service.ts`, `registry-service.ts`,
 * `identity/api-keys.ts`, `installs/activity-service.ts`); extend here when a page needs a field.
 */
import type { Manifest } from '@alga-psa/extension-contracts/manifest';
import type { Role } from '../../../src/identity/roles.ts';

/** The manifest's `settings` declaration (the shared contract, browser-safe). */
export type Settings = Manifest['settings'];

export type { Role };

/** `GET /api/v1/auth/me` (session): who is signed in. */
export interface Me {
  tenantId: string;
  tenantName: string;
  keyName: string;
  apiKeyId: string;
  roles: Role[];
  via: 'api-key' | 'session';
  csrfToken?: string;
}

/** `POST /api/v1/auth/login` */
export interface LoginAnswer {
  tenantId: string;
  roles: Role[];
  csrfToken: string;
  expiresAt: string;
}

/** `GET /api/v1/installs` → `{ installs: Install[] }`, `GET /api/v1/installs/:id` → `Install` */
export interface Install {
  id: string;
  tenantId: string;
  extensionId: string;
  extensionName: string;
  /** The verified publisher (owner of the key that signed the bundle). */
  publisher: string;
  version: string;
  versionId: string;
  contentHash: string;
  /** The sandboxed iframe UI, or null when the extension has none. */
  uiUrl: string | null;
  status: 'enabled' | 'disabled';
  grantedCapabilities: string[];
  pendingVersion: string | null;
  /** The installed version's manifest: its settings, what it was granted for, its UI's menu label. */
  manifest: Manifest;
  configVersion: number;
  secretsVersion: number;
  createdAt: string;
  updatedAt: string;
}

/** `GET /api/v1/registry/extensions` → `{ extensions: RegistryExtension[] }` (versions newest first) */
export interface RegistryExtension {
  id: string;
  name: string;
  publisher: string;
  versions: Array<{ id: string; version: string; contentHash: string; description?: string; capabilities: string[]; createdAt: string }>;
}

/** `GET /api/v1/api-keys` → `{ apiKeys: ApiKey[] }` */
export interface ApiKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  roles: Role[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** `GET /api/v1/installs/:id/executions[?limit&before]` → `{ executions: Execution[], nextBefore: number | null }` (newest first) */
export interface Execution {
  id: number;
  requestId: string;
  method: string;
  route: string;
  status: number | null;
  durationMs: number | null;
  errorCode: string | null;
  at: string;
}

/** `GET /api/v1/installs/:id/logs[?limit&before&requestId]` → `{ logs: GuestLogLine[], nextBefore: number | null }` */
export interface GuestLogLine {
  id: number;
  requestId: string;
  level: string;
  message: string;
  fields: Record<string, string>;
  at: string;
  mappedStack?: string;
}

/** `GET /api/v1/installs/:id/settings` (admin): `settings` is the manifest's declaration. */
export interface InstallSettings {
  config: Record<string, unknown>;
  configVersion: number;
  settings: Settings;
  updatedAt: string | null;
}
