/**
 * Installs of extensions per tenant: lifecycle, consent, settings and write-only secrets.
 * Every write bumps the relevant version and invalidates the install-config cache, so the
 * next request (on this replica at once, on others within the cache TTL) sees it.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AlgaError, alwaysGrantedCapabilities, hasGrowth, isCapabilityId, permissionGrowth } from '@alga-psa/extension-contracts';
import type { Manifest } from '@alga-psa/extension-contracts/manifest';
import { refuseDisabled } from '../operator/capability-policy.ts';
import { defaultConfig, secretKeys, validateConfig, validateSecretKeys } from '@alga-psa/extension-contracts/settings';
import type { SecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import type { RegistryService } from '../registry/registry-service.ts';
import { latestVersion } from '../registry/version-order.ts';

export interface InstallView {
  id: string;
  tenantId: string;
  extensionId: string;
  extensionName: string;
  /** The verified publisher (the owner of the key that signed the bundle). */
  publisher: string;
  version: string;
  versionId: string;
  contentHash: string;
  /** Where the extension's iframe UI is served (sandboxed; see README "Security model"), or null. */
  uiUrl: string | null;
  status: 'enabled' | 'disabled';
  grantedCapabilities: string[];
  pendingVersion: string | null;
  /** The installed version's manifest: what it was granted for, its settings, its UI's menu label. */
  manifest: Manifest;
  configVersion: number;
  secretsVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What the proxy and the runner need to execute a request for an install (DESIGN.md §6). */
export interface InstallRuntime {
  tenantId: string;
  installId: string;
  extensionId: string;
  extensionName: string;
  versionId: string;
  contentHash: string;
  status: 'enabled' | 'disabled';
  manifest: Manifest;
  config: Record<string, unknown>;
  configVersion: number;
  grantedCapabilities: string[];
  httpAllowedHosts: string[];
  storageNamespaces: string[] | null;
  uiProxyRoutes: string[];
  secretsVersion: number;
  secretEnvelope: Record<string, string>;
  updatedAt: Date;
}

export interface SecretsMetadata {
  secretsVersion: number;
  keys: Array<{ key: string; updatedAt: Date }>;
  /** Declared secret settings that have no value yet. */
  missing: string[];
  updatedAt: Date | null;
}

export interface InstallServiceDeps {
  knex: Knex;
  registry: RegistryService;
  secretCipher: SecretCipher;
  /** ALGA_EXT_UI_ORIGIN: the separate origin extension UIs are served from ('' = the platform's). */
  extUiOrigin?: string;
  /** Called after every committed write to an install. */
  onInstallChanged(tenantId: string, installId: string): void;
  /** The operator's switches: what is switched off for a tenant (globally or for it). */
  capabilityPolicy: { disabledFor(tenantId: string): Promise<ReadonlySet<string>> };
}

const installColumns = [
  'i.id', 'i.tenant_id', 'i.registry_id', 'i.version_id', 'i.status', 'i.granted_capabilities', 'i.granted_http_hosts',
  'i.pending_version_id', 'i.secrets_version', 'i.created_at', 'i.updated_at',
  'r.name as extension_name', 'p.name as publisher', 'v.version', 'v.content_hash', 'v.manifest', 'c.config', 'c.config_version', 'c.updated_at as config_updated_at',
  'pv.version as pending_version',
];

export class InstallService {
  private readonly deps: InstallServiceDeps;

  constructor(deps: InstallServiceDeps) {
    this.deps = deps;
  }

  private get knex(): Knex {
    return this.deps.knex;
  }

  private baseQuery(trx: Knex | Knex.Transaction = this.knex) {
    return trx('tenant_extension_install as i')
      .join('extension_registry as r', 'r.id', 'i.registry_id')
      .join('publisher as p', 'p.id', 'r.publisher_id')
      .join('extension_version as v', 'v.id', 'i.version_id')
      .join('tenant_extension_install_config as c', 'c.install_id', 'i.id')
      .leftJoin('extension_version as pv', 'pv.id', 'i.pending_version_id')
      .select(installColumns);
  }

  private toView(row: Record<string, any>): InstallView {
    return {
      id: row.id, tenantId: row.tenant_id, extensionId: row.registry_id, extensionName: row.extension_name, publisher: row.publisher, version: row.version,
      versionId: row.version_id, contentHash: row.content_hash, uiUrl: this.uiUrl(row), status: row.status, grantedCapabilities: row.granted_capabilities,
      pendingVersion: row.pending_version ?? null, manifest: row.manifest as Manifest, configVersion: row.config_version, secretsVersion: row.secrets_version,
      createdAt: row.created_at, updatedAt: row.updated_at,
    };
  }

  private uiUrl(row: Record<string, any>): string | null {
    const ui = (row.manifest as Manifest).ui;
    if (!ui) return null;
    return `${this.deps.extUiOrigin ?? ''}/ext-ui/${row.registry_id}/${row.content_hash}/${ui.entry.replace(/^ui\//, '')}`;
  }

  /** Tenant-scoped lookup: another tenant's install is indistinguishable from a missing one. */
  private async row(tenantId: string, installId: string, trx?: Knex.Transaction): Promise<Record<string, any>> {
    if (!/^[0-9a-f-]{36}$/i.test(installId)) throw new AlgaError('E_NOT_FOUND', 'no such install');
    const row = await this.baseQuery(trx).where({ 'i.tenant_id': tenantId, 'i.id': installId }).first();
    if (!row) throw new AlgaError('E_NOT_FOUND', 'no such install');
    return row;
  }

  private changed(tenantId: string, installId: string): void {
    this.deps.onInstallChanged(tenantId, installId);
  }

  async install(tenantId: string, input: { extension: string; version?: string; grants?: string[] }): Promise<InstallView> {
    const registry = await this.deps.registry.findRegistry(input.extension);
    const version = await this.pickVersion(registry.id, input.version);
    const manifest = version.manifest as Manifest;
    const grants = this.checkGrants(manifest, input.grants);
    refuseDisabled(grants, await this.deps.capabilityPolicy.disabledFor(tenantId), registry.name, 'install it without granting them (grants)');
    const id = randomUUID();
    try {
      await this.knex.transaction(async (trx) => {
        await trx('tenant_extension_install').insert({
          id, tenant_id: tenantId, registry_id: registry.id, version_id: version.id, status: 'enabled',
          granted_capabilities: JSON.stringify(grants), granted_http_hosts: null, secrets_version: 0,
        });
        await trx('tenant_extension_install_config').insert({ install_id: id, tenant_id: tenantId, config: JSON.stringify(defaultConfig(manifest.settings)), config_version: 1 });
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new AlgaError('E_CONFLICT', `${registry.name} is already installed for this tenant; upgrade it instead`);
      throw err;
    }
    // A request made before the install may have cached "not installed" for this tenant.
    this.changed(tenantId, id);
    return this.get(tenantId, id);
  }

  private async pickVersion(registryId: string, version?: string): Promise<Record<string, any>> {
    const versions = await this.knex('extension_version').where({ registry_id: registryId });
    if (versions.length === 0) throw new AlgaError('E_NOT_FOUND', 'the extension has no published versions');
    if (version) {
      const found = versions.find((v) => v.version === version);
      if (!found) throw new AlgaError('E_NOT_FOUND', `version ${version} is not published`);
      return found;
    }
    // The newest release by semver precedence (`1.0.1+build-5` is a release; a '-' in its
    // build metadata is not a prerelease), or the newest prerelease when there is no release.
    return latestVersion(versions, (v) => String(v.version))!;
  }

  /** Grants default to everything the manifest declares: the installing admin consents to it. */
  private checkGrants(manifest: Manifest, grants?: string[]): string[] {
    const declared = new Set<string>([...manifest.capabilities, ...alwaysGrantedCapabilities]);
    const chosen = grants ?? [...declared];
    for (const cap of chosen) {
      if (!isCapabilityId(cap)) throw new AlgaError('E_VALIDATION', `unknown capability ${cap}`);
      if (!declared.has(cap)) throw new AlgaError('E_VALIDATION', `${cap} is not declared by the extension's manifest and cannot be granted`);
    }
    return [...new Set([...chosen, ...alwaysGrantedCapabilities])].sort();
  }

  async list(tenantId: string): Promise<InstallView[]> {
    return (await this.baseQuery().where({ 'i.tenant_id': tenantId }).orderBy('r.name')).map((r) => this.toView(r));
  }

  async get(tenantId: string, installId: string): Promise<InstallView> {
    return this.toView(await this.row(tenantId, installId));
  }

  async setStatus(tenantId: string, installId: string, status: 'enabled' | 'disabled'): Promise<InstallView> {
    await this.row(tenantId, installId);
    await this.knex('tenant_extension_install').where({ tenant_id: tenantId, id: installId }).update({ status, updated_at: new Date() });
    this.changed(tenantId, installId);
    return this.get(tenantId, installId);
  }

  /**
   * A version that asks for more than the install allows — capabilities, hosts, ui-proxy routes
   * or storage namespaces — waits for an admin's consent (E_CONSENT_REQUIRED, recorded as the
   * pending version).
   */
  async upgrade(tenantId: string, installId: string, input: { version?: string; consent?: boolean }): Promise<InstallView> {
    const current = await this.row(tenantId, installId);
    const target = await this.pickVersion(current.registry_id, input.version);
    if (target.id === current.version_id) throw new AlgaError('E_CONFLICT', `already on version ${current.version}`);
    const oldManifest = current.manifest as Manifest;
    const manifest = target.manifest as Manifest;
    const granted = new Set<string>(current.granted_capabilities);
    const growth = permissionGrowth(oldManifest, manifest, granted);
    if (hasGrowth(growth) && !input.consent) {
      await this.knex('tenant_extension_install').where({ id: installId }).update({ pending_version_id: target.id, updated_at: new Date() });
      this.changed(tenantId, installId);
      throw new AlgaError('E_CONSENT_REQUIRED', `${manifest.name}@${manifest.version} asks for more than the install allows; an admin must upgrade with consent: true`, { version: manifest.version, ...growth });
    }
    const addedCapabilities = growth.addedCapabilities;
    const stillDeclared = new Set<string>([...manifest.capabilities, ...alwaysGrantedCapabilities]);
    const grants = [...new Set([...[...granted].filter((c) => stillDeclared.has(c)), ...addedCapabilities])].sort();
    // Only what the upgrade adds: a capability switched off after install keeps its grant (and answers denied).
    refuseDisabled(addedCapabilities, await this.deps.capabilityPolicy.disabledFor(tenantId), `the upgrade to ${manifest.name}@${manifest.version}`, 'stay on the current version');
    // Keep the config keys the new version still declares (and still accepts); defaults fill the rest.
    const declaredKeys = new Set(manifest.settings.map((s) => s.key));
    const carried = Object.fromEntries(Object.entries(current.config as Record<string, unknown>).filter(([k]) => declaredKeys.has(k)));
    const validated = validateConfig(manifest.settings, carried);
    const config = validated.ok ? validated.config : defaultConfig(manifest.settings);
    await this.knex.transaction(async (trx) => {
      // secrets_version moves too: the runner caches decrypted secrets by it, and a key the new
      // version drops must not stay readable from that cache.
      await trx('tenant_extension_install').where({ id: installId }).update({
        version_id: target.id, pending_version_id: null, granted_capabilities: JSON.stringify(grants),
        secrets_version: trx.raw('secrets_version + 1'), updated_at: new Date(),
      });
      await trx('tenant_extension_install_config').where({ install_id: installId }).update({ config: JSON.stringify(config), config_version: current.config_version + 1, updated_at: new Date() });
      const secretNames = new Set(secretKeys(manifest.settings));
      await trx('tenant_extension_install_secrets').where({ install_id: installId }).whereNotIn('key', [...secretNames]).delete();
    });
    this.changed(tenantId, installId);
    return this.get(tenantId, installId);
  }

  /** Purges config, secrets and storage with the install (ON DELETE CASCADE). */
  async uninstall(tenantId: string, installId: string): Promise<void> {
    await this.row(tenantId, installId);
    await this.knex('tenant_extension_install').where({ tenant_id: tenantId, id: installId }).delete();
    this.changed(tenantId, installId);
  }

  async getSettings(tenantId: string, installId: string): Promise<{ config: Record<string, unknown>; configVersion: number; settings: Manifest['settings']; updatedAt: Date }> {
    const row = await this.row(tenantId, installId);
    return { config: row.config, configVersion: row.config_version, settings: (row.manifest as Manifest).settings, updatedAt: row.config_updated_at };
  }

  async putSettings(tenantId: string, installId: string, input: unknown): Promise<{ config: Record<string, unknown>; configVersion: number }> {
    const row = await this.row(tenantId, installId);
    const manifest = row.manifest as Manifest;
    const result = validateConfig(manifest.settings, input);
    if (!result.ok) {
      throw new AlgaError('E_VALIDATION', `invalid settings: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues: result.issues });
    }
    // The version moves forward atomically even under concurrent writes.
    const [updated] = await this.knex('tenant_extension_install_config').where({ install_id: installId, tenant_id: tenantId })
      .update({ config: JSON.stringify(result.config), config_version: this.knex.raw('config_version + 1'), updated_at: new Date() })
      .returning(['config', 'config_version']);
    this.changed(tenantId, installId);
    return { config: updated.config, configVersion: updated.config_version };
  }

  async secretsMetadata(tenantId: string, installId: string): Promise<SecretsMetadata> {
    const row = await this.row(tenantId, installId);
    const rows = await this.knex('tenant_extension_install_secrets').where({ tenant_id: tenantId, install_id: installId }).orderBy('key').select('key', 'updated_at');
    const present = new Set(rows.map((r) => r.key as string));
    const keys = rows.map((r) => ({ key: r.key as string, updatedAt: r.updated_at as Date }));
    return {
      secretsVersion: row.secrets_version,
      keys,
      missing: secretKeys((row.manifest as Manifest).settings).filter((k) => !present.has(k)),
      updatedAt: keys.reduce<Date | null>((latest, k) => (!latest || k.updatedAt > latest ? k.updatedAt : latest), null),
    };
  }

  /** Values are encrypted before they touch the database and are never returned. */
  async putSecrets(tenantId: string, installId: string, input: unknown): Promise<{ secretsVersion: number; keys: string[]; updatedAt: Date }> {
    const row = await this.row(tenantId, installId);
    const body = parseSecretsBody(input);
    const manifest = row.manifest as Manifest;
    const check = validateSecretKeys(manifest.settings, [...Object.keys(body.set), ...body.remove]);
    if (!check.ok) throw new AlgaError('E_VALIDATION', `invalid secrets: ${check.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues: check.issues });
    const encrypted: Awaited<ReturnType<SecretCipher['encrypt']>> = Object.keys(body.set).length > 0 ? await this.deps.secretCipher.encrypt({ tenantId, installId }, body.set) : {};
    const now = new Date();
    const secretsVersion = await this.knex.transaction(async (trx) => {
      for (const [key, value] of Object.entries(encrypted)) {
        await trx('tenant_extension_install_secrets')
          .insert({ id: randomUUID(), tenant_id: tenantId, install_id: installId, key, ciphertext: value.ciphertext, algorithm: value.algorithm, key_ref: value.keyRef, updated_at: now })
          .onConflict(['install_id', 'key']).merge(['ciphertext', 'algorithm', 'key_ref', 'updated_at']);
      }
      if (body.remove.length > 0) await trx('tenant_extension_install_secrets').where({ install_id: installId }).whereIn('key', body.remove).delete();
      const [updated] = await trx('tenant_extension_install').where({ id: installId })
        .update({ secrets_version: trx.raw('secrets_version + 1'), updated_at: now }).returning('secrets_version');
      return updated.secrets_version as number;
    });
    this.changed(tenantId, installId);
    const keys = (await this.knex('tenant_extension_install_secrets').where({ install_id: installId }).orderBy('key').pluck('key')) as string[];
    return { secretsVersion, keys, updatedAt: now };
  }

  /** Config back to the manifest's defaults AND every secret cleared, in one transaction. */
  async reset(tenantId: string, installId: string): Promise<{ config: Record<string, unknown>; configVersion: number; secretsVersion: number }> {
    const row = await this.row(tenantId, installId);
    const config = defaultConfig((row.manifest as Manifest).settings);
    const result = await this.knex.transaction(async (trx) => {
      await trx('tenant_extension_install_secrets').where({ install_id: installId }).delete();
      const [cfg] = await trx('tenant_extension_install_config').where({ install_id: installId })
        .update({ config: JSON.stringify(config), config_version: trx.raw('config_version + 1'), updated_at: new Date() }).returning('config_version');
      const [ins] = await trx('tenant_extension_install').where({ id: installId })
        .update({ secrets_version: trx.raw('secrets_version + 1'), updated_at: new Date() }).returning('secrets_version');
      return { config, configVersion: cfg.config_version as number, secretsVersion: ins.secrets_version as number };
    });
    this.changed(tenantId, installId);
    return result;
  }

  /** The runtime view of (tenant, extension by id or name); undefined when not installed. */
  async runtime(tenantId: string, extensionRef: string): Promise<InstallRuntime | undefined> {
    const isUuid = /^[0-9a-f-]{36}$/i.test(extensionRef);
    const row = await this.baseQuery().where({ 'i.tenant_id': tenantId, ...(isUuid ? { 'r.id': extensionRef } : { 'r.name': extensionRef }) }).first();
    if (!row) return undefined;
    const [secrets, disabled] = await Promise.all([
      this.knex('tenant_extension_install_secrets').where({ install_id: row.id }).select('key', 'ciphertext'),
      this.deps.capabilityPolicy.disabledFor(tenantId),
    ]);
    const manifest = row.manifest as Manifest;
    const hosts = (row.granted_http_hosts as string[] | null) ?? manifest.http?.allowedHosts ?? [];
    return {
      tenantId, installId: row.id, extensionId: row.registry_id, extensionName: row.extension_name, versionId: row.version_id,
      contentHash: row.content_hash, status: row.status, manifest, config: row.config, configVersion: row.config_version,
      // What the operator switched off is not granted, whatever the install row says.
      grantedCapabilities: (row.granted_capabilities as string[]).filter((c) => !disabled.has(c)), httpAllowedHosts: hosts,
      storageNamespaces: manifest.storage?.namespaces ?? null, uiProxyRoutes: manifest.uiProxy?.routes ?? [],
      secretsVersion: row.secrets_version, secretEnvelope: Object.fromEntries(secrets.map((s) => [s.key, s.ciphertext])),
      updatedAt: row.updated_at,
    };
  }
}

/** What `next` asks for beyond what `current` (and the install's grants) allowed; absent namespaces mean any ('*'). */
function parseSecretsBody(input: unknown): { set: Record<string, string>; remove: string[] } {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new AlgaError('E_VALIDATION', 'body must be { set?: { key: value }, remove?: [key] }');
  const { set = {}, remove = [], ...rest } = input as { set?: unknown; remove?: unknown };
  if (Object.keys(rest).length > 0) throw new AlgaError('E_VALIDATION', `unknown field ${Object.keys(rest)[0]}; use set and remove`);
  if (!set || typeof set !== 'object' || Array.isArray(set) || !Object.values(set).every((v) => typeof v === 'string')) {
    throw new AlgaError('E_VALIDATION', 'set must map secret keys to string values');
  }
  if (!Array.isArray(remove) || !remove.every((k) => typeof k === 'string')) throw new AlgaError('E_VALIDATION', 'remove must be a list of secret keys');
  const values = set as Record<string, string>;
  for (const [key, value] of Object.entries(values)) {
    if (value.length === 0) throw new AlgaError('E_VALIDATION', `secret ${key} is empty; use remove to delete it`);
    if (value.length > 16_384) throw new AlgaError('E_VALIDATION', `secret ${key} is longer than 16384 characters`);
  }
  const overlap = remove.find((k) => k in values);
  if (overlap) throw new AlgaError('E_VALIDATION', `secret ${overlap} is both set and removed`);
  return { set: values, remove: remove as string[] };
}
