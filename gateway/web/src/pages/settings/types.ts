/**
 * Wire types of the settings page beyond `InstallSettings` (src/api/types.ts), mirroring
 * `gateway/src/installs/install-service.ts`. No type here carries a secret value: the gateway
 * never returns one.
 */

/** `GET /api/v1/installs/:id/secrets` (admin): which secrets are set, never their values. */
export interface SecretsMetadata {
  secretsVersion: number;
  keys: Array<{ key: string; updatedAt: string }>;
  /** Declared secret keys that are not set. */
  missing: string[];
  updatedAt: string | null;
}

/** `PUT /api/v1/installs/:id/settings` */
export interface PutSettingsAnswer {
  config: Record<string, unknown>;
  configVersion: number;
}

/** `PUT /api/v1/installs/:id/secrets { set, remove }` */
export interface PutSecretsAnswer {
  secretsVersion: number;
  keys: string[];
  updatedAt: string;
}

/** `POST /api/v1/installs/:id/reset` */
export interface ResetAnswer {
  config: Record<string, unknown>;
  configVersion: number;
  secretsVersion: number;
}
