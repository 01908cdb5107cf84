/**
 * Real components that no sample should be: built with componentize-js from inline WIT and
 * JS, cached in .alga-cache/fixtures by content, and packed into bundles on demand.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packBundle } from '@alga-psa/extension-contracts';
import { openBuildPreopens } from '../sdk/cli/src/build/preopens.ts';

const cacheDir = fileURLToPath(new URL('../.alga-cache/fixtures/', import.meta.url));
const realWit = fileURLToPath(new URL('../wit/alga-extension.wit', import.meta.url));

export interface FixtureSpec {
  /** WIT text; `@ALGA_INTERFACES@` is replaced by the real interfaces of wit/ (without its world). */
  wit: string;
  world: string;
  source: string;
  disableFeatures?: Array<'stdio' | 'random' | 'clocks' | 'http' | 'fetch-event'>;
}

export async function fixtureComponent(spec: FixtureSpec): Promise<Uint8Array> {
  const real = (await readFile(realWit, 'utf8')).replace(/\n(\/\/\/[^\n]*\n)*world extension \{[^}]*\}\s*$/, '\n');
  const wit = spec.wit.replace('@ALGA_INTERFACES@', real);
  const key = createHash('sha256').update(JSON.stringify({ ...spec, wit })).digest('hex').slice(0, 24);
  const path = join(cacheDir, `${key}.wasm`);
  if (await stat(path).then(() => true, () => false)) return new Uint8Array(await readFile(path));
  const work = await mkdtemp(join(tmpdir(), 'alga-fixture-'));
  try {
    await writeFile(join(work, 'world.wit'), wit);
    await writeFile(join(work, 'guest.js'), spec.source);
    await openBuildPreopens();
    const { componentize } = await import('@bytecodealliance/componentize-js');
    const { component } = await componentize({
      sourcePath: join(work, 'guest.js'), witPath: join(work, 'world.wit'), worldName: spec.world,
      disableFeatures: spec.disableFeatures ?? ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
    });
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path, component);
    return component;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function bundleOf(manifest: unknown, component: Uint8Array, ui?: Record<string, string>): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'alga-fixture-bundle-'));
  try {
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'component.wasm'), component);
    for (const [path, text] of Object.entries(ui ?? {})) {
      await mkdir(join(dir, 'ui', path, '..'), { recursive: true });
      await writeFile(join(dir, 'ui', path), text);
    }
    return await packBundle(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}


/** Exports something other than alga:extension/handler. */
export const foreignWorld: FixtureSpec = {
  wit: 'package acme:other@1.0.0;\ninterface run { go: func() -> string; }\nworld foreign { export run; }\n',
  world: 'foreign',
  source: `export const run = { go() { return 'hi'; } };`,
};

/** A real alga handler that imports storage (to pair with a manifest that does not declare it). */
export const importsStorage: FixtureSpec = {
  wit: '@ALGA_INTERFACES@\nworld sneaky { import types; import context; import log; import storage; export handler; }\n',
  world: 'sneaky',
  source: `import { get } from 'alga:extension/storage@0.1.0';\nexport const handler = { handle() { get('a', 'b'); return { status: 200, headers: [], body: undefined }; } };`,
};

/** Built with WASI features left on: it imports wasi:* interfaces the runner never links. */
export const importsWasi: FixtureSpec = {
  wit: '@ALGA_INTERFACES@\nworld plain { import types; import context; import log; export handler; }\n',
  world: 'plain',
  source: `export const handler = { handle() { console.log(Math.random()); return { status: 200, headers: [], body: undefined }; } };`,
  disableFeatures: [],
};


/**
 * Calls a host route through ui-proxy: `GET /ticket/:id` → `GET /host/tickets/:id`, `GET /admin` →
 * `GET /host/admin/users`, `POST /ticket/:id/note` → `POST /host/tickets/:id/notes` with the request
 * body. Answers 200 `{ status, body }` with the host's answer, or 200 `{ error: <WIT tag>, message }`.
 */
export const callsUiProxy: FixtureSpec = {
  wit: '@ALGA_INTERFACES@\nworld uiproxy { import types; import context; import log; import ui-proxy; export handler; }\n',
  world: 'uiproxy',
  source: `import { callRoute } from 'alga:extension/ui-proxy@0.1.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (status, value) => ({ status, headers: [['content-type', 'application/json']], body: enc.encode(JSON.stringify(value)) });
export const handler = {
  handle(req) {
    let method = 'GET';
    let route;
    let body;
    let m;
    if ((m = /^\\/ticket\\/([^/]+)$/.exec(req.path))) route = '/host/tickets/' + m[1];
    else if ((m = /^\\/ticket\\/([^/]+)\\/note$/.exec(req.path))) { method = 'POST'; route = '/host/tickets/' + m[1] + '/notes'; body = req.body; }
    else if (req.path === '/admin') route = '/host/admin/users';
    else if (req.path === '/raw') route = (req.query.find(([k]) => k === 'route') || [])[1];
    else return json(404, { error: 'no such endpoint' });
    try {
      const res = callRoute(method, route, body);
      return json(200, { status: res.status, body: res.body ? dec.decode(res.body) : null, headers: res.headers });
    } catch (e) {
      const tag = (e && e.payload && e.payload.tag) || (e && e.tag) || String(e);
      const val = (e && e.payload && e.payload.val) || (e && e.val);
      return json(200, { error: tag, message: typeof val === 'string' ? val : null });
    }
  },
};
`,
};

/**
 * Exercises storage: `PUT /kv/:key?ns=&expect=` (body = value), `GET /kv/:key?ns=`, `DELETE /kv/:key?ns=&expect=`,
 * `GET /list?ns=&prefix=&cursor=&limit=`, and `POST /scenario` (a CAS sequence in one request). Answers 200 with
 * JSON; a storage-error becomes `{ error: <WIT tag>, message }`. Revisions travel as decimal strings.
 */
export const storageGuest: FixtureSpec = {
  wit: '@ALGA_INTERFACES@\nworld storageguest { import types; import context; import log; import storage; export handler; }\n',
  world: 'storageguest',
  source: `import { get, put, delete as del, list } from 'alga:extension/storage@0.1.0';
const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (status, value) => ({ status, headers: [['content-type', 'application/json']], body: enc.encode(JSON.stringify(value)) });
const q = (req, name) => { const p = req.query.find(([k]) => k === name); return p ? p[1] : undefined; };
const rev = (s) => (s === undefined || s === '' ? undefined : BigInt(s));
const failure = (e) => {
  const tag = (e && e.payload && e.payload.tag) || (e && e.tag) || String(e);
  const val = e && e.payload ? e.payload.val : e && e.val;
  return { error: tag, message: typeof val === 'string' ? val : null };
};
const attempt = (fn) => { try { return fn(); } catch (e) { return failure(e); } };
const entryOut = (e) => (e ? { found: true, key: e.key, value: dec.decode(e.value), revision: String(e.revision) } : { found: false });
export const handler = {
  handle(req) {
    const ns = q(req, 'ns') || 'state';
    let m;
    if ((m = /^\\/kv\\/([^/]+)$/.exec(req.path))) {
      const key = decodeURIComponent(m[1]);
      if (req.method === 'GET') return json(200, attempt(() => entryOut(get(ns, key))));
      if (req.method === 'PUT') return json(200, attempt(() => ({ revision: String(put(ns, key, req.body || new Uint8Array(0), rev(q(req, 'expect')))) })));
      if (req.method === 'DELETE') return json(200, attempt(() => ({ deleted: del(ns, key, rev(q(req, 'expect'))) })));
    }
    if (req.path === '/list') {
      const limit = q(req, 'limit');
      return json(200, attempt(() => { const p = list(ns, q(req, 'prefix'), q(req, 'cursor'), limit ? Number(limit) : 100); return { keys: p.keys, nextCursor: p.nextCursor === undefined ? null : p.nextCursor }; }));
    }
    if (req.path === '/scenario' && req.method === 'POST') {
      const key = 'scenario:' + (q(req, 'id') || 'x');
      const steps = [];
      steps.push(attempt(() => ({ create: String(put(ns, key, enc.encode('one'), 0n)) })));
      steps.push(attempt(() => ({ createAgain: String(put(ns, key, enc.encode('two'), 0n)) })));
      steps.push(attempt(() => ({ update: String(put(ns, key, enc.encode('two'), 1n)) })));
      steps.push(attempt(() => ({ stale: String(put(ns, key, enc.encode('three'), 1n)) })));
      steps.push(attempt(() => entryOut(get(ns, key))));
      steps.push(attempt(() => ({ keys: list(ns, 'scenario:', undefined, 10).keys })));
      steps.push(attempt(() => ({ deleteStale: del(ns, key, 1n) })));
      steps.push(attempt(() => ({ deleted: del(ns, key, 2n) })));
      steps.push(attempt(() => entryOut(get(ns, key))));
      steps.push(attempt(() => ({ undeclared: String(put('undeclared', key, enc.encode('x'), undefined)) })));
      steps.push(attempt(() => ({ badKey: String(put(ns, '', enc.encode('x'), undefined)) })));
      return json(200, { steps });
    }
    return json(404, { error: 'no such endpoint' });
  },
};
`,
};

/** Built by global setup: componentize needs ~800 MB of wasm memory, above the runner's ceiling in test processes. */
export const allFixtures: FixtureSpec[] = [foreignWorld, importsStorage, importsWasi, callsUiProxy, storageGuest];
