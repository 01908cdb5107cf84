/**
 * preview2-shim ≥ 0.25 starts with no filesystem preopens, which breaks componentize and
 * jco's WIT reading ("os error 44", DESIGN.md §11). Build tools (never the runner) open the
 * host filesystem on every copy npm installed: componentize-js resolves the root one,
 * jco-transpile carries its own.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

let done = false;

export async function openBuildPreopens(): Promise<void> {
  if (done) return;
  const require = createRequire(import.meta.url);
  const anchors = [import.meta.url, pathToFileURL(require.resolve('@bytecodealliance/jco-transpile')).href];
  for (const anchor of anchors) {
    const shim = createRequire(anchor).resolve('@bytecodealliance/preview2-shim/filesystem');
    const mod = (await import(pathToFileURL(shim).href)) as { _setPreopens(p: Record<string, string>): void };
    mod._setPreopens({ '/': '/' });
  }
  done = true;
}
