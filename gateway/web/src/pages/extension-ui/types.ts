/**
 * What this page reads of an install beyond the shared `Install` wire type: the installed
 * version's manifest (`GET /api/v1/installs/:id` carries it), for the UI's menu label and the
 * endpoints the frame may call.
 */
import type { Manifest } from '@alga-psa/extension-contracts/manifest';
import type { Install } from '../../api/types.ts';

export type InstallWithManifest = Install & { manifest?: Pick<Manifest, 'api' | 'ui'> };

/** The frame's heading and iframe title: the manifest's `ui.menu.label`, else a neutral name. */
export function uiLabel(install: InstallWithManifest): string {
  return install.manifest?.ui?.menu?.label?.trim() || `${install.extensionName} UI`;
}

const frameMethods = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The manifest's API endpoints as the bridge's `allowedRoutes`: the frame may call only what
 * its extension declares (the gateway refuses the rest anyway, E_ENDPOINT_NOT_DECLARED).
 * HEAD/OPTIONS endpoints are not callable through the bridge. No manifest: no narrowing.
 */
export function allowedRoutesOf(install: InstallWithManifest): Array<{ method: string; path: string }> | undefined {
  const endpoints = install.manifest?.api?.endpoints;
  if (!endpoints) return undefined;
  return endpoints.filter((e) => frameMethods.has(e.method)).map((e) => ({ method: e.method, path: e.path }));
}
