/**
 * What an extension version asks a tenant for, in the words a consent screen shows, and what a
 * new version asks for beyond the installed one. One definition for the gateway (an upgrade
 * that asks for more needs `consent: true`, E_CONSENT_REQUIRED) and the admin console (which
 * highlights exactly those items).
 *
 * @example
 *   permissionsOf(manifest);
 *   // [{ kind: 'capability', id: 'cap:http.fetch', text: 'can call the web addresses listed below' },
 *   //  { kind: 'host', id: 'https://api.example.com', text: 'can call https://api.example.com' }, …]
 *   permissionGrowth(installed, next, new Set(install.grantedCapabilities));
 *   // { addedCapabilities: ['cap:secrets.get'], addedHosts: [], addedUiProxyRoutes: [], addedStorageNamespaces: [] }
 */
import { alwaysGrantedCapabilities, type CapabilityId } from './capabilities.ts';

/** The parts of a manifest consent is about (a parsed manifest, or the JSON of one). */
export interface ConsentManifest {
  capabilities: readonly string[];
  http?: { allowedHosts?: readonly string[] };
  storage?: { namespaces?: readonly string[] };
  uiProxy?: { routes?: readonly string[] };
  settings?: readonly { key: string; label?: string; type: string; hosts?: readonly string[] }[];
}

export interface PermissionGrowth {
  addedCapabilities: string[];
  addedHosts: string[];
  addedUiProxyRoutes: string[];
  /** `['*']`: the new version may use any namespace, where the installed one listed them. */
  addedStorageNamespaces: string[];
  /** `<key> <origin>`: a secret the new version may send to a host the installed one could not send it to (cap:secrets.use). */
  addedSecretUses: string[];
}

/** With cap:secrets.use, each secret setting and the hosts its value may be sent to (its `hosts`, else http.allowedHosts). */
function secretUses(manifest: ConsentManifest): Array<{ key: string; label: string; host: string }> {
  if (!manifest.capabilities.includes('cap:secrets.use')) return [];
  const out: Array<{ key: string; label: string; host: string }> = [];
  for (const field of manifest.settings ?? []) {
    if (field.type !== 'secret') continue;
    for (const host of field.hosts ?? manifest.http?.allowedHosts ?? []) out.push({ key: field.key, label: field.label ?? field.key, host });
  }
  return out;
}

const secretUseId = (use: { key: string; host: string }) => `${use.key} ${use.host}`;

export function permissionGrowth(current: ConsentManifest, next: ConsentManifest, granted: ReadonlySet<string>): PermissionGrowth {
  const added = (before: readonly string[], after: readonly string[]) => after.filter((x) => !before.includes(x));
  let addedStorageNamespaces: string[] = [];
  if (next.capabilities.includes('cap:storage.kv')) {
    // `before` undefined: the install could already use any namespace, so nothing can be added.
    const before = granted.has('cap:storage.kv') ? current.storage?.namespaces : [];
    const after = next.storage?.namespaces;
    if (before !== undefined) addedStorageNamespaces = after === undefined ? ['*'] : added(before, after);
  }
  return {
    addedCapabilities: next.capabilities.filter((c) => !granted.has(c) && !(alwaysGrantedCapabilities as readonly string[]).includes(c)),
    addedHosts: added(current.http?.allowedHosts ?? [], next.http?.allowedHosts ?? []),
    addedUiProxyRoutes: added(current.uiProxy?.routes ?? [], next.uiProxy?.routes ?? []),
    addedStorageNamespaces,
    addedSecretUses: added(secretUses(current).map(secretUseId), secretUses(next).map(secretUseId)),
  };
}

export function hasGrowth(growth: PermissionGrowth): boolean {
  return growth.addedCapabilities.length + growth.addedHosts.length + growth.addedUiProxyRoutes.length + growth.addedStorageNamespaces.length + growth.addedSecretUses.length > 0;
}

/** Plain words for each capability an admin grants. */
export const capabilityWords: Record<CapabilityId, string> = {
  'cap:context.read': 'can see which tenant and install a request is for',
  'cap:log.emit': 'can write log lines you see under Activity',
  'cap:secrets.get': 'can read the secrets you set on its settings page',
  'cap:secrets.use': 'can send the secrets you set to the hosts named below, without reading them',
  'cap:http.fetch': 'can call the web addresses listed below',
  'cap:storage.kv': 'can keep its own data in this install\'s storage',
  'cap:ui.proxy': 'can call the platform routes listed below as you',
};

export type PermissionKind = 'capability' | 'host' | 'storage-namespace' | 'ui-proxy-route' | 'secret-use';

export interface Permission {
  kind: PermissionKind;
  /** The capability id, host origin, namespace, route, or `<secret key> <origin>`. */
  id: string;
  text: string;
}

/** Every permission a version asks for (the capabilities its manifest declares, its hosts, namespaces and routes), in a stable order. */
export function permissionsOf(manifest: ConsentManifest): Permission[] {
  const out: Permission[] = [];
  for (const cap of manifest.capabilities) {
    out.push({ kind: 'capability', id: cap, text: capabilityWords[cap as CapabilityId] ?? `uses ${cap}` });
  }
  for (const host of manifest.http?.allowedHosts ?? []) out.push({ kind: 'host', id: host, text: `can call ${host}` });
  if (manifest.capabilities.includes('cap:storage.kv')) {
    const namespaces = manifest.storage?.namespaces;
    if (namespaces === undefined) out.push({ kind: 'storage-namespace', id: '*', text: 'can keep data under any storage name' });
    else for (const ns of namespaces) out.push({ kind: 'storage-namespace', id: ns, text: `can keep data under "${ns}"` });
  }
  for (const route of manifest.uiProxy?.routes ?? []) out.push({ kind: 'ui-proxy-route', id: route, text: `can call the platform route ${route}` });
  for (const use of secretUses(manifest)) out.push({ kind: 'secret-use', id: secretUseId(use), text: `uses ${use.label} to call ${use.host}; cannot read it` });
  return out;
}

/** Whether `permission` is one the growth lists (what a consent screen highlights as new). */
export function isNewPermission(permission: Permission, growth: PermissionGrowth): boolean {
  switch (permission.kind) {
    case 'capability': return growth.addedCapabilities.includes(permission.id);
    case 'host': return growth.addedHosts.includes(permission.id);
    case 'storage-namespace': return growth.addedStorageNamespaces.includes(permission.id);
    case 'ui-proxy-route': return growth.addedUiProxyRoutes.includes(permission.id);
    case 'secret-use': return growth.addedSecretUses.includes(permission.id);
  }
}
