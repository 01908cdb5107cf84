/**
 * Assembles a component's import object (the one place that does) and instantiates it.
 * Host functions are bound per request by swapping `slot.bindings`: the import object
 * itself is built once per instance, so pooled requests pay no re-instantiation.
 */
import { witPackage, witVersion, witInterfaceOfImport } from '@alga-psa/extension-contracts';
import { providerForInterface } from '../providers/index.ts';
import type { HostFunctions } from '../providers/provider.ts';

export interface GuestRequest {
  method: string;
  path: string;
  query: Array<[string, string]>;
  headers: Array<[string, string]>;
  body: Uint8Array | undefined;
}

export interface GuestResponse {
  status: number;
  headers: Array<[string, string]>;
  body?: Uint8Array;
}

type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: (module: WebAssembly.Module, imports: WebAssembly.Imports) => Promise<WebAssembly.Instance>,
) => Promise<Record<string, unknown>>;

export interface LoadedGlue {
  instantiate: Instantiate;
  modules: Record<string, WebAssembly.Module>;
  /** Interface names the component imports: `log`, `context`, … */
  interfaces: string[];
}

/** Told when the guest parks on an async host call (JSPI) and when it runs again. */
export interface SuspendListener {
  suspend(): void;
  resume(): void;
}

/** Per-request state the import object delegates to. */
export interface InstanceSlot {
  bindings: Record<string, HostFunctions>;
  hostCalls: number;
  /** The running request's CPU clock: stopped while the guest waits on host I/O. */
  clock?: SuspendListener;
}

export interface ComponentInstance {
  readonly slot: InstanceSlot;
  uses: number;
  handle(req: GuestRequest): Promise<GuestResponse>;
  /** Current size of every linear memory the instance owns. */
  memoryBytes(): number;
}

/** Import keys are read without the version suffix by jco's glue; the .d.ts names them with it: supply both. */
function importKeys(iface: string): string[] {
  return [`${witPackage}/${iface}`, `${witPackage}/${iface}@${witVersion}`];
}

export async function instantiateComponent(glue: LoadedGlue): Promise<ComponentInstance> {
  const slot: InstanceSlot = { bindings: {}, hostCalls: 0 };
  const imports: Record<string, unknown> = {};
  for (const iface of glue.interfaces) {
    if (!providerForInterface(iface)) throw new Error(`no provider for ${iface}`);
    // A Proxy serves whatever function names the glue destructures, and always
    // calls the binding of the request currently running on this instance.
    const delegate = new Proxy({}, {
      get: (_target, name) => {
        if (typeof name !== 'string') return undefined;
        return (...args: unknown[]) => {
          slot.hostCalls++;
          const fn = slot.bindings[iface]?.[name];
          if (!fn) throw new Error(`host function ${iface}#${name} is not bound`);
          const result = fn(...args);
          const clock = slot.clock;
          if (!clock || !isPromiseLike(result)) return result;
          // A promise here parks the guest's stack until it settles: that wait is not guest CPU.
          clock.suspend();
          return result.then((value) => { clock.resume(); return value; }, (err: unknown) => { clock.resume(); throw err; });
        };
      },
    });
    for (const key of importKeys(iface)) imports[key] = delegate;
  }
  const memories: WebAssembly.Memory[] = [];
  const instantiateCore = async (module: WebAssembly.Module, coreImports: WebAssembly.Imports) => {
    const instance = await WebAssembly.instantiate(module, coreImports);
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
    return instance;
  };
  const exports = await glue.instantiate((name) => {
    const module = glue.modules[name];
    if (!module) throw new Error(`glue asked for unknown core module ${name}`);
    return module;
  }, imports, instantiateCore);
  const handler = (exports.handler ?? exports[`${witPackage}/handler@${witVersion}`]) as
    | { handle(req: GuestRequest): Promise<GuestResponse> }
    | undefined;
  if (!handler || typeof handler.handle !== 'function') throw new Error('component does not export alga:extension/handler');
  return {
    slot,
    uses: 0,
    handle: (req) => handler.handle(req),
    memoryBytes: () => memories.reduce((sum, m) => sum + m.buffer.byteLength, 0),
  };
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** `alga:extension/log` → `log`; anything outside the package is returned unchanged (and refused by the loader). */
export function interfaceNames(jcoImports: readonly string[]): string[] {
  return jcoImports.map((name) => witInterfaceOfImport(name) ?? name);
}
