/**
 * Version precedence for registry listings and installs, by semver.org §11 through the
 * `semver` package: numeric prerelease identifiers compare as numbers (`1.0.0-beta.2` <
 * `1.0.0-beta.10`) and build metadata never decides order (`1.0.0+b` equals `1.0.0+a`).
 *
 * @example
 *   versions.sort((a, b) => compareSemver(b.version, a.version));   // newest first
 *   const row = latestVersion(rows, (r) => r.version);              // newest release
 */
import { compare, prerelease, valid } from 'semver';

/**
 * Manifests are checked with the semver.org pattern, which allows numbers past
 * Number.MAX_SAFE_INTEGER that `semver` refuses; such a version sorts below every valid one
 * (by text among themselves) instead of throwing and breaking every listing of the extension.
 */
export function compareSemver(a: string, b: string): number {
  const okA = valid(a) !== null, okB = valid(b) !== null;
  if (okA && okB) return compare(a, b);
  if (okA !== okB) return okA ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isPrerelease(version: string): boolean {
  return prerelease(version) !== null;
}

/** The highest release; the highest prerelease only when nothing else is published. */
export function latestVersion<T>(items: readonly T[], versionOf: (item: T) => string): T | undefined {
  const newestFirst = [...items].sort((x, y) => compareSemver(versionOf(y), versionOf(x)));
  return newestFirst.find((item) => !isPrerelease(versionOf(item))) ?? newestFirst[0];
}
