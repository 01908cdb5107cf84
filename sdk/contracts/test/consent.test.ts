import { describe, expect, it } from 'vitest';
import { hasGrowth, isNewPermission, permissionGrowth, permissionsOf, type ConsentManifest } from '../src/consent.ts';

const v1: ConsentManifest = { capabilities: ['cap:storage.kv'], storage: { namespaces: ['notes'] } };
const v2: ConsentManifest = {
  capabilities: ['cap:storage.kv', 'cap:http.fetch', 'cap:secrets.get'],
  http: { allowedHosts: ['https://api.example.com'] },
  storage: { namespaces: ['notes', 'cache'] },
  uiProxy: { routes: [] },
};

describe('consent', () => {
  it('lists every permission of a version in plain words', () => {
    expect(permissionsOf(v2).map((p) => p.text)).toEqual([
      "can keep its own data in this install's storage",
      'can call the web addresses listed below',
      'can read the secrets you set on its settings page',
      'can call https://api.example.com',
      'can keep data under "notes"',
      'can keep data under "cache"',
    ]);
    expect(permissionsOf({ capabilities: ['cap:storage.kv'] }).map((p) => p.id)).toEqual(['cap:storage.kv', '*']);
  });

  it('names exactly what a new version adds beyond the grants, and nothing for the same version', () => {
    const growth = permissionGrowth(v1, v2, new Set(['cap:storage.kv', 'cap:context.read', 'cap:log.emit']));
    expect(growth).toEqual({ addedCapabilities: ['cap:http.fetch', 'cap:secrets.get'], addedHosts: ['https://api.example.com'], addedUiProxyRoutes: [], addedStorageNamespaces: ['cache'], addedSecretUses: [] });
    expect(hasGrowth(growth)).toBe(true);
    expect(permissionsOf(v2).filter((p) => isNewPermission(p, growth)).map((p) => p.id)).toEqual(['cap:http.fetch', 'cap:secrets.get', 'https://api.example.com', 'cache']);
    expect(hasGrowth(permissionGrowth(v2, v2, new Set(v2.capabilities)))).toBe(false);
  });

  it('cap:secrets.use: each secret and the host it may be sent to is a permission; a secret bound to a new host is growth', () => {
    const use = (hosts?: string[]): ConsentManifest => ({
      capabilities: ['cap:http.fetch', 'cap:secrets.use'],
      http: { allowedHosts: ['https://api.example.com', 'https://cdn.example.com'] },
      settings: [
        { key: 'apiToken', label: 'API token', type: 'secret', ...(hosts ? { hosts } : {}) },
        { key: 'region', label: 'Region', type: 'text' },
      ],
    });
    const bound = use(['https://api.example.com']);
    expect(permissionsOf(bound).filter((p) => p.kind === 'secret-use')).toEqual([
      { kind: 'secret-use', id: 'apiToken https://api.example.com', text: 'uses API token to call https://api.example.com; cannot read it' },
    ]);
    // Without `hosts`, the secret may go to every allowed host.
    expect(permissionsOf(use()).filter((p) => p.kind === 'secret-use').map((p) => p.id)).toEqual(['apiToken https://api.example.com', 'apiToken https://cdn.example.com']);
    const granted = new Set(['cap:http.fetch', 'cap:secrets.use']);
    const growth = permissionGrowth(bound, use(), granted);
    expect(growth.addedSecretUses).toEqual(['apiToken https://cdn.example.com']);
    expect(growth.addedHosts).toEqual([]);
    expect(hasGrowth(growth)).toBe(true);
    expect(hasGrowth(permissionGrowth(use(), bound, granted))).toBe(false);
    // cap:secrets.get reads the value: there is no per-host use to list.
    expect(permissionsOf({ ...bound, capabilities: ['cap:http.fetch', 'cap:secrets.get'] }).some((p) => p.kind === 'secret-use')).toBe(false);
  });

  it('a version that drops its namespace list may use any name: that is growth', () => {
    expect(permissionGrowth(v1, { capabilities: ['cap:storage.kv'] }, new Set(['cap:storage.kv'])).addedStorageNamespaces).toEqual(['*']);
    // Without the storage grant, every namespace of the new version is new.
    expect(permissionGrowth({ capabilities: [] }, v1, new Set()).addedStorageNamespaces).toEqual(['notes']);
  });
});
