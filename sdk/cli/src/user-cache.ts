/**
 * The CLI's cache shared by every project of this user (as wasmtime keeps componentize's
 * compiled engine in ~/.cache/wasmtime): outputs that depend only on the toolchain, never on
 * a project, so a new project does not pay for them again. `$ALGA_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/alga`, else `~/.cache/alga`. Everything in it may be deleted at any time;
 * whoever reads it falls back to doing the work when an entry is missing or unreadable.
 *
 * @example
 *   const dir = userCacheDir('splice');   // ~/.cache/alga/splice
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function userCacheDir(...parts: string[]): string {
  const root = process.env.ALGA_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'alga');
  return join(root, ...parts);
}
