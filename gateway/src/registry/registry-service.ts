/**
 * The extension registry: publishers and their keys, publish (validate → store → precompute
 * the transpile), and read-only listings.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { AlgaError, effectiveCapabilities, parseBundleSourceMap, readBundle, sha256Hex, verifyBundleSignature, type BundleLimits } from '@alga-psa/extension-contracts';
import { MANIFEST_NAME_RE, parseManifest, type Manifest } from '@alga-psa/extension-contracts/manifest';
import type { BundleStore } from '@alga-psa/extension-host/component/bundle-store';
import type { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { checkComponentWorld } from '@alga-psa/extension-host/component/import-check';
import { compareSemver } from './version-order.ts';

export { compareSemver } from './version-order.ts';

export interface PublishInput {
  bytes: Uint8Array;
  keyId: string | undefined;
  signature: string | undefined;
}

export interface PublishedVersion {
  extensionId: string;
  name: string;
  versionId: string;
  version: string;
  contentHash: string;
  imports: string[];
  capabilities: string[];
}

export interface ExtensionSummary {
  id: string;
  name: string;
  publisher: string;
  /** Newest first. `manifest`: what the version asks for (capabilities, hosts, namespaces, routes), for a consent screen. */
  versions: Array<{ id: string; version: string; contentHash: string; description?: string; capabilities: string[]; manifest: Manifest; createdAt: Date }>;
}

export class RegistryService {
  private readonly knex: Knex;
  private readonly bundleStore: BundleStore;
  private readonly transpileCache: TranspileCache;
  private readonly limits: BundleLimits;
  private readonly onPublished: ((contentHash: string) => Promise<void>) | undefined;

  /**
   * `onPublished`: awaited after a version is stored, before publish answers: the gateway has the
   * runners compile the component and make instances ready, so the first request after publish
   * pays none of it. It must not throw (a runner that is down prepares on first need instead).
   */
  constructor(deps: { knex: Knex; bundleStore: BundleStore; transpileCache: TranspileCache; limits: BundleLimits; onPublished?: (contentHash: string) => Promise<void> }) {
    this.knex = deps.knex;
    this.bundleStore = deps.bundleStore;
    this.transpileCache = deps.transpileCache;
    this.limits = deps.limits;
    this.onPublished = deps.onPublished;
  }

  async createPublisher(name: string): Promise<{ id: string; name: string }> {
    if (!/^[\w .,&'-]{2,128}$/.test(name)) throw new AlgaError('E_VALIDATION', 'publisher name must be 2-128 characters of letters, digits, spaces and .,&\'-');
    const existing = await this.knex('publisher').where({ name }).first();
    if (existing) throw new AlgaError('E_CONFLICT', `publisher ${name} already exists`);
    const row = { id: randomUUID(), name };
    await this.knex('publisher').insert(row);
    return row;
  }

  async addPublisherKey(publisherId: string, kid: string, publicKeyB64: string): Promise<{ id: string; kid: string }> {
    if (!/^[\w.-]{1,64}$/.test(kid)) throw new AlgaError('E_VALIDATION', 'kid must be 1-64 characters of letters, digits, _ . -');
    if (Buffer.from(publicKeyB64, 'base64').length !== 32) throw new AlgaError('E_VALIDATION', 'publicKey must be the base64 of a raw 32-byte Ed25519 public key');
    if (!(await this.knex('publisher').where({ id: publisherId }).first())) throw new AlgaError('E_NOT_FOUND', 'no such publisher');
    if (await this.knex('publisher_key').where({ kid }).first()) throw new AlgaError('E_CONFLICT', `key id ${kid} is already registered`);
    const row = { id: randomUUID(), publisher_id: publisherId, kid, public_key: publicKeyB64 };
    await this.knex('publisher_key').insert(row);
    return { id: row.id, kid };
  }

  /**
   * Reserves a reverse-DNS prefix (`com.alga` covers `com.alga` and `com.alga.*`) for one
   * publisher: nobody else may publish under it. Refused while another publisher owns a name there.
   */
  async reserveNamePrefix(publisherId: string, prefix: string): Promise<{ prefix: string; publisherId: string }> {
    if (!MANIFEST_NAME_RE.test(prefix) || prefix.length > 128) throw new AlgaError('E_VALIDATION', 'prefix must be reverse-DNS in lower case with at least 2 segments, e.g. "com.acme"');
    if (!(await this.knex('publisher').where({ id: publisherId }).first())) throw new AlgaError('E_NOT_FOUND', 'no such publisher');
    const taken = await this.knex('publisher_name_prefix').where({ prefix }).first();
    if (taken) throw new AlgaError('E_CONFLICT', `prefix ${prefix} is already reserved`);
    const others = await this.knex('extension_registry').whereNot({ publisher_id: publisherId })
      .where((q) => q.where({ name: prefix }).orWhere('name', 'like', `${prefix}.%`)).pluck('name');
    if (others.length > 0) throw new AlgaError('E_CONFLICT', `another publisher already owns ${others.slice(0, 5).join(', ')} under ${prefix}`, { names: others });
    await this.knex('publisher_name_prefix').insert({ prefix, publisher_id: publisherId });
    return { prefix, publisherId };
  }

  async releaseNamePrefix(prefix: string): Promise<void> {
    if ((await this.knex('publisher_name_prefix').where({ prefix }).delete()) === 0) throw new AlgaError('E_NOT_FOUND', 'no such reserved prefix');
  }

  /** The publisher a name is reserved for: the longest reserved prefix that covers it. */
  private async reservedFor(name: string, trx: Knex | Knex.Transaction = this.knex): Promise<{ prefix: string; publisher_id: string } | undefined> {
    const segments = name.split('.');
    const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('.')).slice(1);
    const rows = await trx('publisher_name_prefix').whereIn('prefix', candidates).select('prefix', 'publisher_id');
    return rows.sort((a, b) => b.prefix.length - a.prefix.length)[0];
  }

  async revokePublisherKey(kid: string): Promise<void> {
    const updated = await this.knex('publisher_key').where({ kid }).whereNull('revoked_at').update({ revoked_at: new Date() });
    if (updated === 0) throw new AlgaError('E_NOT_FOUND', 'no such active key');
  }

  async publish(input: PublishInput): Promise<PublishedVersion> {
    if (input.bytes.byteLength > this.limits.maxBundleBytes) {
      throw new AlgaError('E_BUNDLE_TOO_LARGE', `bundle is ${input.bytes.byteLength} bytes; the limit is ${this.limits.maxBundleBytes}`);
    }
    if (!input.keyId || !input.signature) {
      throw new AlgaError('E_AUTH', 'publishing needs x-alga-key-id and x-alga-signature headers from a registered publisher key (see `alga component sign`)');
    }
    const key = await this.knex('publisher_key').where({ kid: input.keyId }).whereNull('revoked_at').first();
    if (!key) throw new AlgaError('E_AUTH', `publisher key ${input.keyId} is not registered or was revoked`);
    if (!verifyBundleSignature(input.bytes, key.public_key, input.signature)) {
      throw new AlgaError('E_SIGNATURE_INVALID', `the signature does not match this bundle and key ${input.keyId}`);
    }
    const contentHash = sha256Hex(input.bytes);
    const bundle = await readBundle(input.bytes, this.limits, { sourceMap: true });
    // The logs API maps guest stacks with it: a map that is not one is refused now, not then.
    if (bundle.sourceMap) parseBundleSourceMap(bundle.sourceMap);
    const parsed = parseManifest(bundle.manifestJson);
    if (!parsed.ok) {
      const first = parsed.issues[0];
      throw new AlgaError('E_MANIFEST_INVALID', `manifest.json is invalid at ${first.path}: ${first.message}`, { issues: parsed.issues });
    }
    const manifest = parsed.manifest;
    checkUiEntry(manifest, bundle.uiFiles);
    // What admins see as the publisher is the verified one: the manifest may not claim another.
    const publisher = await this.knex('publisher').where({ id: key.publisher_id }).first('name');
    if (manifest.publisher !== publisher.name) {
      throw new AlgaError('E_PUBLISHER_MISMATCH', `manifest.json names publisher "${manifest.publisher}" but the bundle is signed by a key of "${publisher.name}"; set "publisher": "${publisher.name}"`);
    }
    const reserved = await this.reservedFor(manifest.name);
    if (reserved && reserved.publisher_id !== key.publisher_id) {
      throw new AlgaError('E_NAME_RESERVED', `names under ${reserved.prefix} are reserved for another publisher; choose a name under your own reverse-DNS domain`);
    }
    const registry = await this.knex('extension_registry').where({ name: manifest.name }).first();
    if (registry && registry.publisher_id !== key.publisher_id) {
      throw new AlgaError('E_FORBIDDEN', `${manifest.name} belongs to another publisher`);
    }
    if (registry && (await this.knex('extension_version').where({ registry_id: registry.id, version: manifest.version }).first())) {
      throw new AlgaError('E_VERSION_EXISTS', `${manifest.name}@${manifest.version} is already published; versions are immutable, bump the version`);
    }
    // Transpiling reads the component's real imports and leaves the runner's cache warm:
    // the first request for this version skips the ~1 s step. It runs in a worker thread: in
    // the gateway's thread it held every other request 0.5-1.5 s per publish.
    const transpiled = await this.transpileCache.get(contentHash, async () => bundle.component, { offThread: true });
    checkComponentWorld(transpiled, effectiveCapabilities(manifest.capabilities, manifest.capabilities), 'E_UNDECLARED_IMPORT');
    await this.bundleStore.put(input.bytes);

    const published = await this.knex.transaction(async (trx) => {
      let registryId = registry?.id as string | undefined;
      if (!registryId) {
        registryId = randomUUID();
        await trx('extension_registry').insert({ id: registryId, name: manifest.name, publisher_id: key.publisher_id });
      }
      await trx('extension_bundle').insert({ content_hash: contentHash, size_bytes: input.bytes.byteLength }).onConflict('content_hash').ignore();
      const versionId = randomUUID();
      try {
        await trx('extension_version').insert({
          id: versionId, registry_id: registryId, version: manifest.version, content_hash: contentHash,
          manifest: JSON.stringify(manifest), signature: input.signature, publisher_key_id: key.id, imports: JSON.stringify(transpiled.imports),
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new AlgaError('E_VERSION_EXISTS', `${manifest.name}@${manifest.version} is already published`);
        throw err;
      }
      return { extensionId: registryId, name: manifest.name, versionId, version: manifest.version, contentHash, imports: transpiled.imports, capabilities: manifest.capabilities };
    });
    await this.onPublished?.(contentHash);
    return published;
  }

  async listExtensions(): Promise<ExtensionSummary[]> {
    const rows = await this.knex('extension_registry as r')
      .join('publisher as p', 'p.id', 'r.publisher_id')
      .join('extension_version as v', 'v.registry_id', 'r.id')
      .select('r.id', 'r.name', 'p.name as publisher', 'v.id as version_id', 'v.version', 'v.content_hash', 'v.manifest', 'v.created_at')
      .orderBy('r.name');
    const byId = new Map<string, ExtensionSummary>();
    for (const row of rows) {
      const summary: ExtensionSummary = byId.get(row.id) ?? { id: row.id, name: row.name, publisher: row.publisher, versions: [] };
      const manifest = row.manifest as Manifest;
      summary.versions.push({ id: row.version_id, version: row.version, contentHash: row.content_hash, description: manifest.description, capabilities: manifest.capabilities, manifest, createdAt: row.created_at });
      byId.set(row.id, summary);
    }
    for (const s of byId.values()) s.versions.sort((a, b) => compareSemver(b.version, a.version));
    return [...byId.values()];
  }

  async getExtension(ref: string): Promise<ExtensionSummary & { latest: { manifest: Manifest } }> {
    const registry = await this.findRegistry(ref);
    const summary = (await this.listExtensions()).find((s) => s.id === registry.id)!;
    const latest = await this.knex('extension_version').where({ id: summary.versions[0].id }).first();
    return { ...summary, latest: { manifest: latest.manifest as Manifest } };
  }

  /** By uuid or by name. */
  async findRegistry(ref: string): Promise<{ id: string; name: string }> {
    const isUuid = /^[0-9a-f-]{36}$/i.test(ref);
    const row = await this.knex('extension_registry').where(isUuid ? { id: ref } : { name: ref }).first();
    if (!row) throw new AlgaError('E_NOT_FOUND', `no extension ${ref} in the registry`);
    return { id: row.id, name: row.name };
  }
}

function checkUiEntry(manifest: Manifest, uiFiles: Map<string, Uint8Array>): void {
  if (!manifest.ui) return;
  const entry = manifest.ui.entry.replace(/^ui\//, '');
  if (!uiFiles.has(entry)) throw new AlgaError('E_MANIFEST_INVALID', `manifest ui.entry ${manifest.ui.entry} is not in the bundle`, { issues: [{ path: '$.ui.entry', message: 'not in the bundle' }] });
}
