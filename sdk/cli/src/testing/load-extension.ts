/**
 * The test host (API and example: api.ts) an extension's own tests use (`import { loadExtension } from
 * '@alga-psa/extension-runtime/testing'`, resolved by `alga component test`): it runs the BUILT
 * component (`dist/`, the bytes you will publish) in the real runner under production's
 * capability checks, with config, secrets, storage and outbound HTTP given by the test.
 *
 * @example
 *   const ext = await loadExtension({
 *     config: { greeting: 'Hi' },
 *     secrets: { API_KEY: 'sk-test' },
 *     http: { 'GET https://api.example.com/tickets/1': { json: { id: 1, title: 'Printer' } } },
 *     storage: { visits: { ada: 2 } },
 *   });
 *   const res = await ext.request('GET', '/tickets/1');
 *   expect(res.status).toBe(200);
 *   expect(res.json()).toEqual({ id: 1, title: 'Printer' });
 *   expect(ext.outbound.map((c) => `${c.method} ${c.url}`)).toEqual(['GET https://api.example.com/tickets/1']);
 *   expect(await ext.storage.get('visits', 'ada')).toBe(3);
 *   expect(res.logs.map((l) => l.message)).toContain('fetched ticket');
 *   await ext.close();
 */
import { dirname, join, resolve } from 'node:path';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { CliError } from '../cli-error.ts';
import { packBuildOutput } from '../build/pack-output.ts';
import { parseFixtures } from '../local-host/fixtures.ts';
import { createLocalHost, type LocalHost, type LocalInstall } from '../local-host/local-host.ts';
import type { GuestLog, LoadExtensionOptions, LoadedExtension } from './api.ts';

export type { FixtureAnswer, FixtureMap, GuestLog, LoadExtensionOptions, LoadedExtension, OutboundCall, RequestInit, TestResponse, TestStorage } from './api.ts';

const decoder = new TextDecoder();

function decode(value: Buffer): unknown {
  const text = decoder.decode(value);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function encode(value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.from(value);
  return Buffer.from(JSON.stringify(value));
}

/** One runner and one in-memory database per test process, shared by its `loadExtension` calls (PGlite takes seconds to start). */
let shared: Promise<LocalHost> | undefined;

function sharedHost(dir: string): Promise<LocalHost> {
  shared ??= createLocalHost({
    // Content-addressed bundles and transpiled components: shared by every test of the project.
    stateDir: join(dir, '.alga', 'test'),
    storage: 'memory',
    outboundHttp: 'fixtures',
  }).catch((err: unknown) => { shared = undefined; throw err; });
  return shared;
}

/** The packed bundle of the build in `dist/`, packed once per build (packing gzips the whole component). */
async function builtBundle(dist: string, stateDir: string): Promise<Uint8Array> {
  const key = (await readFile(join(dist, '.build-key'), 'utf8').catch(() => '')).trim();
  if (!/^[0-9a-f]{8,64}$/.test(key)) return packBuildOutput(dist, { local: true });
  const path = join(stateDir, 'packed', `${key}.tgz`);
  const cached = await readFile(path).catch(() => undefined);
  if (cached) return new Uint8Array(cached);
  const bytes = await packBuildOutput(dist, { local: true });
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, path);
  return bytes;
}

export async function loadExtension(options: LoadExtensionOptions = {}): Promise<LoadedExtension> {
  const dir = resolve(options.dir ?? process.env.ALGA_PROJECT_DIR ?? process.cwd());
  const dist = join(dir, 'dist');
  if (!(await stat(join(dist, 'component.wasm')).then(() => true, () => false))) {
    throw new CliError('E_NOT_BUILT', `no dist/component.wasm in ${dir}`, 'run `alga component test` (it builds first) or `alga component build`');
  }
  const host = await sharedHost(dir);
  const routes = parseFixtures(options.hostRoutes ?? {}, 'host route', 'loadExtension({ hostRoutes })');
  const install: LocalInstall = host.install({
    httpFixtures: parseFixtures(options.http ?? {}, 'http', 'loadExtension({ http })'),
    hostRoutes: () => routes,
  });
  const logs: GuestLog[] = [];
  try {
    await install.deploy(await builtBundle(dist, join(dir, '.alga', 'test')), { config: options.config ?? {}, secrets: options.secrets ?? {} });
    const scope = { ...install.identity, namespaces: null };
    for (const [namespace, entries] of Object.entries(options.storage ?? {})) {
      for (const [key, value] of Object.entries(entries)) await host.storage.service.put(scope, namespace, key, encode(value), null);
    }
  } catch (err) {
    install.remove();
    throw err;
  }
  return {
    logs,
    outbound: install.outbound,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      let body: Uint8Array | string | undefined;
      if (typeof init.body === 'string' || init.body instanceof Uint8Array) body = init.body;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      }
      const res = await install.request({ method, path, headers, query: init.query, body });
      logs.push(...res.logs);
      const headerMap: Record<string, string> = {};
      for (const [k, v] of res.headers) {
        const name = k.toLowerCase();
        headerMap[name] = headerMap[name] === undefined ? v : `${headerMap[name]}, ${v}`;
      }
      return {
        status: res.status, headers: headerMap, body: res.body, logs: res.logs, hostCalls: res.hostCalls,
        text: () => decoder.decode(res.body),
        json: <T>() => JSON.parse(decoder.decode(res.body)) as T,
      };
    },
    storage: {
      async get(namespace, key) {
        const rows = await host.storage.dump(install.identity);
        const row = rows.find((r) => r.namespace === namespace && r.key === key);
        return row ? decode(row.value) : undefined;
      },
      async dump() {
        const out: Record<string, Record<string, unknown>> = {};
        for (const row of await host.storage.dump(install.identity)) (out[row.namespace] ??= {})[row.key] = decode(row.value);
        return out;
      },
    },
    async close() {
      install.remove();
    },
  };
}
