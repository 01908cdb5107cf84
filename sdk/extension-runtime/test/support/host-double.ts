/**
 * A stand-in for the generated `alga:host` module (vitest aliases it here), for unit tests of
 * the SDK's JavaScript: the WIT imports as plain functions with the same shapes jco gives a
 * guest (sync under JSPI, `result` errors thrown as `{ tag, val }`). The SDK against the real
 * runner is tested through built components (runner/test, gateway/test).
 */
export interface HostState {
  context: { tenantId: string; extensionId: string; installId: string; versionId: string; requestId: string; deadlineMs: bigint };
  config: Record<string, unknown>;
  logs: Array<{ level: string; message: string; fields: Array<[string, string]> }>;
  secrets: Record<string, string> | undefined;
  storage: Map<string, { value: Uint8Array; revision: bigint }> | undefined;
  /** When set, every storage call throws this WIT error. */
  storageError: { tag: string; val?: string } | undefined;
  fetch: ((req: { method: string; url: string; headers: Array<[string, string]>; body?: Uint8Array }) => { status: number; headers: Array<[string, string]>; body: Uint8Array }) | undefined;
}

export const state: HostState = freshState();

export function freshState(): HostState {
  return {
    context: { tenantId: 't1', extensionId: 'e1', installId: 'i1', versionId: 'v1', requestId: 'req-1', deadlineMs: 0n },
    config: {}, logs: [], secrets: undefined, storage: undefined, storageError: undefined, fetch: undefined,
  };
}

export function resetHost(overrides: Partial<HostState> = {}): HostState {
  Object.assign(state, freshState(), overrides);
  return state;
}

const storageFns = {
  get(ns: string, key: string) {
    if (state.storageError) throw state.storageError;
    const e = state.storage!.get(`${ns}/${key}`);
    return e ? { key, value: e.value, revision: e.revision } : undefined;
  },
  put(ns: string, key: string, value: Uint8Array, expected?: bigint) {
    if (state.storageError) throw state.storageError;
    const current = state.storage!.get(`${ns}/${key}`);
    if (expected !== undefined && (current?.revision ?? 0n) !== expected) throw { tag: 'conflict' };
    const revision = (current?.revision ?? 0n) + 1n;
    state.storage!.set(`${ns}/${key}`, { value, revision });
    return revision;
  },
  delete(ns: string, key: string) {
    return state.storage!.delete(`${ns}/${key}`);
  },
  list(ns: string, prefix?: string) {
    return { keys: [...state.storage!.keys()].filter((k) => k.startsWith(`${ns}/${prefix ?? ''}`)).map((k) => k.slice(ns.length + 1)), nextCursor: undefined };
  },
};

export const host = {
  context: { get: () => state.context, config: () => JSON.stringify(state.config) },
  log: { emit: (level: string, message: string, fields: Array<[string, string]>) => { state.logs.push({ level, message, fields }); } },
  get secrets() {
    return state.secrets && {
      get: (key: string) => { if (!(key in state.secrets!)) throw { tag: 'not-found' }; return state.secrets![key]; },
      listKeys: () => Object.keys(state.secrets!),
    };
  },
  get http() {
    return state.fetch && { fetch: state.fetch };
  },
  get storage() {
    return state.storage && storageFns;
  },
  'ui-proxy': undefined,
};
