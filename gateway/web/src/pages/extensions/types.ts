/**
 * Wire types of the extensions page beyond the shared ones in `api/types.ts`: the installs list
 * carries each install's manifest and its last hour of activity (`GET /api/v1/installs`), and
 * every registry version carries its manifest (`GET /api/v1/registry/extensions`), which the
 * consent screen reads.
 */
import type { Manifest } from '@alga-psa/extension-contracts/manifest';
import type { Install, RegistryExtension } from '../../api/types.ts';

/** Requests in the last hour and the most recent failure (which may be older than an hour). */
export interface InstallActivity {
  requestsLastHour: number;
  errorsLastHour: number;
  lastError: { code: string | null; status: number | null; route: string; at: string } | null;
}

/** One row of `GET /api/v1/installs`. */
export interface ListedInstall extends Install {
  manifest: Manifest;
  activity: InstallActivity;
}

export type RegistryVersion = RegistryExtension['versions'][number] & { manifest: Manifest };

/** One entry of `GET /api/v1/registry/extensions`, versions newest first. */
export interface RegistryEntry extends Omit<RegistryExtension, 'versions'> {
  versions: RegistryVersion[];
}

/** What the consent screen is asked to show: a new install, or an upgrade of an existing one. */
export type ConsentRequest =
  | { mode: 'install'; extension: RegistryEntry; choices: RegistryVersion[]; initialVersion: string }
  | { mode: 'upgrade'; extension: RegistryEntry; install: ListedInstall; choices: RegistryVersion[]; initialVersion: string };
