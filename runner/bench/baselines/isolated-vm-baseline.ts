/**
 * isolated-vm baselines: hello's bundled handler JS in a V8 isolate, three ways that bracket
 * the runner's isolation modes: (a) one context reused for every request (like a pooled
 * instance), (b) a fresh context per request in a kept isolate, (c) a fresh isolate per
 * request (like `fresh` isolation; the script is compiled from V8's code cache, as the runner
 * posts precompiled modules). The request and answer cross the boundary as JSON strings.
 */
import type { Arm } from '../../../test-setup/bench/scenario.ts';
import type { Context, Isolate, IsolatedVm, Reference, Script } from '../../../test-setup/bench/isolated-vm-types.ts';
import { helloGuestRequest, isolateEntry, isolatePrelude } from './hello-handler-bundle.ts';

const requestJson = JSON.stringify(helloGuestRequest);
const memoryLimitMb = 64;

export const isolatedVmScenarios = [
  { id: 'baseline-ivm-reused-context', title: 'isolated-vm, one context reused' },
  { id: 'baseline-ivm-fresh-context', title: 'isolated-vm, fresh context per request' },
  { id: 'baseline-ivm-fresh-isolate', title: 'isolated-vm, fresh isolate per request' },
] as const;

function check(answer: unknown): void {
  if (typeof answer !== 'string' || !answer.startsWith('{"status":200')) throw new Error(`unexpected answer from the isolate: ${String(answer).slice(0, 200)}`);
}

interface Compiled { prelude: Script; guest: Script; entry: Script }

/** Compiled once per isolate; `cache` holds V8 code caches so a new isolate skips parsing. */
function compile(isolate: Isolate, guestScript: string, cache?: Map<string, unknown>): Compiled {
  const one = (name: string, code: string) => {
    const cachedData = cache?.get(name);
    const script = isolate.compileScriptSync(code, { filename: `${name}.js`, ...(cachedData ? { cachedData } : { produceCachedData: Boolean(cache) }) });
    if (cache && !cachedData && script.cachedData) cache.set(name, script.cachedData);
    return script;
  };
  return { prelude: one('prelude', isolatePrelude), guest: one('guest', guestScript), entry: one('entry', isolateEntry) };
}

function newContext(isolate: Isolate, compiled: Compiled): { context: Context; handle: Reference } {
  const context = isolate.createContextSync();
  compiled.prelude.runSync(context);
  compiled.guest.runSync(context);
  compiled.entry.runSync(context);
  return { context, handle: context.global.getSync('__algaHandle', { reference: true }) };
}

function call(handle: Reference): void {
  check(handle.applySync(undefined, [requestJson], { result: { copy: true } }));
}

export interface IsolatedVmArms { arms: Arm[]; close(): void }

/** Each arm is called once here, so a setup problem surfaces before measuring. */
export function isolatedVmArms(ivm: IsolatedVm, guestScript: string): IsolatedVmArms {
  const kept = new ivm.Isolate({ memoryLimit: memoryLimitMb });
  const compiled = compile(kept, guestScript);
  const reused = newContext(kept, compiled);

  const freshContext = () => {
    const { context, handle } = newContext(kept, compiled);
    try { call(handle); } finally { handle.release(); context.release(); }
  };

  const codeCache = new Map<string, unknown>();
  const freshIsolate = () => {
    const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
    try {
      const { handle } = newContext(isolate, compile(isolate, guestScript, codeCache));
      call(handle);
    } finally {
      isolate.dispose();
    }
  };

  const arms: Arm[] = [
    { id: 'baseline-ivm-reused-context', callSync: () => call(reused.handle) },
    { id: 'baseline-ivm-fresh-context', callSync: freshContext },
    { id: 'baseline-ivm-fresh-isolate', callSync: freshIsolate },
  ];
  for (const arm of arms) arm.callSync!();
  return { arms, close: () => { reused.handle.release(); reused.context.release(); kept.dispose(); } };
}
