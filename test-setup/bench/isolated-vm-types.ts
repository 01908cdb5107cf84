/**
 * The part of isolated-vm's API the bench uses. The package lives in the user cache, not in
 * the repo's node_modules (it must not become a dependency), so its own typings are not
 * resolvable here.
 */
export interface IsolatedVm {
  Isolate: new (options?: { memoryLimit?: number }) => Isolate;
}

export interface Isolate {
  createContextSync(): Context;
  /** `produceCachedData` fills `script.cachedData`; passing it back skips V8's parse and compile. */
  compileScriptSync(code: string, options?: { filename?: string; produceCachedData?: boolean; cachedData?: unknown }): Script;
  dispose(): void;
}

export interface Context {
  global: Reference;
  evalSync(code: string, options?: { filename?: string }): unknown;
  release(): void;
}

export interface Script {
  cachedData?: unknown;
  cachedDataRejected?: boolean;
  runSync(context: Context, options?: { release?: boolean }): unknown;
  release(): void;
}

export interface Reference {
  getSync(property: string, options?: { reference?: boolean }): Reference;
  applySync(receiver: undefined, args: unknown[], options?: { result?: { copy?: boolean } }): unknown;
  release(): void;
}
