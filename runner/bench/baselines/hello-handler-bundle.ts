/**
 * samples/hello's router and handler, bundled by esbuild for the baselines that run the same
 * handler logic without a component: as an ES module for a direct Node call, and as a classic
 * script (IIFE) for isolated-vm, whose bare V8 context gets the host object injected along with
 * the few Web APIs the guest SDK uses (StarlingMonkey provides them in the component).
 */
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { repoRoot } from '../../../test-setup/bench/paths.ts';

/** The host the guest SDK imports as `alga:host`: context and config answers, logs dropped. */
export const jsHostSource = `({
  context: {
    get: () => ({ tenantId: 'bench-tenant', extensionId: 'bench-ext', installId: 'bench-install', versionId: 'v1', requestId: 'r', deadlineMs: 0n }),
    config: () => '{"greeting":"Hi"}',
  },
  log: { emit() {} },
})`;

/** The request hello's route is called with (what the runner passes to the guest). */
export const helloGuestRequest = { method: 'GET', path: '/hello', query: [] as Array<[string, string]>, headers: [] as Array<[string, string]>, body: undefined };

function hostPlugin(contents: string): esbuild.Plugin {
  return {
    name: 'alga-host',
    setup(b) {
      b.onResolve({ filter: /^alga:host$/ }, () => ({ path: 'host', namespace: 'alga-host' }));
      b.onLoad({ filter: /.*/, namespace: 'alga-host' }, () => ({ loader: 'js', contents }));
    },
  };
}

const entry = join(repoRoot, 'samples/hello/src/index.ts');

/** An ES module file exporting `handler`, its host built in. */
export async function bundleForNode(outfile: string): Promise<string> {
  await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'silent', plugins: [hostPlugin(`export const host = ${jsHostSource};`)] });
  return outfile;
}

/** A classic script that defines `globalThis.__algaGuest.handler`; it reads its host from `globalThis.__algaHost`. */
export async function bundleAsScript(): Promise<string> {
  const out = await esbuild.build({
    entryPoints: [entry], bundle: true, format: 'iife', globalName: '__algaGuest', platform: 'neutral', target: 'es2022', write: false, logLevel: 'silent',
    plugins: [hostPlugin('export const host = globalThis.__algaHost;')],
  });
  return out.outputFiles[0].text;
}

/**
 * What a bare V8 context lacks and the guest SDK uses (TextEncoder/TextDecoder, URLSearchParams),
 * in plain JS, plus the host object and a JSON-in/JSON-out entry point: the request and the
 * answer cross the isolate boundary as strings, as a real embedding would copy them.
 */
export const isolatePrelude = `
globalThis.TextEncoder = class { encode(s) { const b = unescape(encodeURIComponent(s)); const u = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u; } };
globalThis.TextDecoder = class { decode(u) { if (!u) return ''; let s = ''; for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]); return decodeURIComponent(escape(s)); } };
globalThis.URLSearchParams = class {
  constructor() { this.list = []; }
  append(k, v) { this.list.push([String(k), String(v)]); }
  get(k) { const e = this.list.find((p) => p[0] === k); return e ? e[1] : null; }
  getAll(k) { return this.list.filter((p) => p[0] === k).map((p) => p[1]); }
  has(k) { return this.list.some((p) => p[0] === k); }
  entries() { return this.list[Symbol.iterator](); }
  [Symbol.iterator]() { return this.list[Symbol.iterator](); }
  forEach(f) { for (const [k, v] of this.list) f(v, k, this); }
};
globalThis.__algaHost = ${jsHostSource};
void 0;
`;

/**
 * Defined after the guest script ran: one call = parse the request, route, answer as JSON.
 * Both scripts end in `void 0`: a script whose completion value is a function hands the caller
 * a handle to it, which keeps the whole context alive (fresh contexts then leak until the
 * isolate hits its memory limit).
 */
export const isolateEntry = `
globalThis.__algaHandle = (json) => {
  const r = __algaGuest.handler.handle(JSON.parse(json));
  return JSON.stringify({ status: r.status, headers: r.headers, body: new TextDecoder().decode(r.body) });
};
void 0;
`;
