/**
 * Which registry versions an install can move to. The registry lists versions newest first by
 * semver precedence, so "newer than installed" is everything before the installed one.
 */
import type { RegistryEntry, RegistryVersion } from './types.ts';

/** `1.0.0-beta.1` is a prerelease; `1.0.1+build-5` is not (the '-' is in build metadata). */
export function isPrerelease(version: string): boolean {
  return version.split('+')[0].includes('-');
}

/** What `POST /extensions/install` picks without a version: the newest release, else the newest prerelease. */
export function defaultVersion(versions: readonly RegistryVersion[]): RegistryVersion | undefined {
  return versions.find((v) => !isPrerelease(v.version)) ?? versions[0];
}

/** Versions newer than `installed`, newest first (empty when it is the newest or unknown). */
export function newerVersions(extension: RegistryEntry, installed: string): RegistryVersion[] {
  const at = extension.versions.findIndex((v) => v.version === installed);
  return at === -1 ? [] : extension.versions.slice(0, at);
}

/** The newest release newer than `installed`: what the list offers as "Update available". */
export function updateFor(extension: RegistryEntry | undefined, installed: string): RegistryVersion | undefined {
  if (!extension) return undefined;
  return newerVersions(extension, installed).find((v) => !isPrerelease(v.version));
}
