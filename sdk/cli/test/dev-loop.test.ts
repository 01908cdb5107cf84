/**
 * The developer loop end to end, for each template, as a developer runs it: `alga component new`
 * into a temp dir outside the repository → `alga component dev` (a real process) → calls over
 * HTTP → an edit hot-swapped while a request is in flight → a broken build that leaves the old
 * one serving → `alga component test` → publish to a real gateway → a call through the proxy
 * route with a browser session.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorCaller, startGatewayHarness, type GatewayHarness } from '../../../test-setup/gateway-harness.ts';
import { login } from '../../../test-setup/sessions.ts';
import { alga, startAlgaDev, type AlgaDev } from './support/alga-process.ts';

let work: string;
let h: GatewayHarness;
let publishKey: { kid: string; privateKeyFile: string };

/** An upstream that holds each request until the test releases it: a request stays in flight as long as the test wants. */
interface HeldUpstream { url: string; held: ServerResponse[]; arrived(): Promise<void>; releaseAll(): void; close(): Promise<void> }

async function heldUpstream(): Promise<HeldUpstream> {
  const held: ServerResponse[] = [];
  let wake: (() => void) | undefined;
  const server: Server = createServer((_req: IncomingMessage, res: ServerResponse) => { held.push(res); wake?.(); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    arrived: () => (held.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => { wake = resolve; })),
    releaseAll: () => { for (const res of held.splice(0)) res.end('released'); },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const json = async (res: Response) => ({ status: res.status, body: await res.json() as any });

/** node:http, because fetch may not send the headers an attacker's page or DNS name would (Host, Origin). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject).end();
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'alga-dev-loop-'));
  h = await startGatewayHarness();
  const keys = (await alga(['keys', 'generate', '--out', join(work, 'keys'), '--json'], work)).json;
  const publisherId = (await h.db.knex('publisher').where({ name: 'Alga Samples' }).first('id')).id;
  expect((await operatorCaller(h)('POST', `/api/v1/registry/publishers/${publisherId}/keys`, { kid: 'dev-loop', publicKey: keys.publicKey })).status).toBe(201);
  publishKey = { kid: 'dev-loop', privateKeyFile: keys.privateKeyFile };
}, 180_000);
afterAll(async () => {
  await h?.close();
  await rm(work, { recursive: true, force: true });
});

async function publishAndCallThroughProxy(dir: string, name: string, path: string): Promise<{ status: number; body: any }> {
  const tenant = await h.tenant();
  const published = await alga(['component', 'publish', '--gateway', h.url, '--key-id', publishKey.kid, '--key', publishKey.privateKeyFile, '--install', '--api-key', tenant.adminKey, '--json'], dir);
  expect(published.code, published.stderr + published.stdout).toBe(0);
  const session = await login(h.url, tenant.adminKey);
  return json(await fetch(`${h.url}/api/ext-proxy/${name}${path}`, { headers: { ...session.headers, 'sec-fetch-site': 'same-origin' } }));
}

describe('component-basic: new → dev → hot swap → broken build → test → publish', () => {
  const name = 'com.acme.loop-basic';
  let dir: string;
  let dev: AlgaDev | undefined;
  let upstream: HeldUpstream;

  beforeAll(async () => {
    dir = join(work, 'loop-basic');
    upstream = await heldUpstream();
    expect((await alga(['component', 'new', dir, '--name', name, '--publisher', 'Alga Samples', '--json'], work)).code).toBe(0);
    // A route that waits on an upstream the test controls, so a request is provably in flight across the swap.
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    manifest.capabilities.push('cap:http.fetch');
    manifest.http = { allowedHosts: [upstream.url] };
    manifest.api.endpoints.push({ method: 'GET', path: '/slow' }, { method: 'GET', path: '/boom' });
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const source = await readFile(join(dir, 'src/index.ts'), 'utf8');
    await writeFile(join(dir, 'src/index.ts'), source.replace('const app = createRouter()', `const app = createRouter()
  .get('/slow', async (_req, ctx) => {
    const upstream = await ctx.http.fetch('${upstream.url}/wait');
    return jsonResponse(200, { build: 'first', upstream: upstream.text() });
  })
  .get('/boom', () => {
    throw new Error('kaboom');
  })`));
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
    await upstream?.close();
  });

  it('dev serves the declared endpoints from the real runner, with one log line per request', async () => {
    dev = startAlgaDev(['--port', '0', '--allow-private', '127.0.0.1/32'], dir);
    const ready = await dev.waitFor((e) => e.event === 'ready', 120_000);
    expect(ready.endpoints).toContainEqual({ method: 'GET', path: '/hello' });
    expect(await json(await fetch(`${ready.url}/hello`))).toEqual({ status: 200, body: { greeting: 'Hello' } });
    expect((await json(await fetch(`${ready.url}/visits/ada`, { method: 'POST' }))).body).toEqual({ who: 'ada', visits: 1 });
    const logged = await dev.waitFor((e) => e.event === 'request' && e.path === '/hello');
    expect(logged).toMatchObject({ method: 'GET', status: 200 });
    expect(logged.logs.map((l: { message: string }) => l.message)).toEqual(['greeted']);
    // A guest error: a 500 with the request id, and its stack mapped to the project's TypeScript.
    const boom = await json(await fetch(`${ready.url}/boom`));
    expect(boom).toMatchObject({ status: 500, body: { error: { code: 'E_EXTENSION_ERROR' } } });
    const throwLine = (await readFile(join(dir, 'src/index.ts'), 'utf8')).split('\n').findIndex((l) => l.includes("throw new Error('kaboom')")) + 1;
    const crashed = await dev.waitFor((e) => e.event === 'request' && e.path === '/boom');
    const unhandled = crashed.logs.find((l: { level: string }) => l.level === 'error');
    expect(unhandled.message).toContain('kaboom');
    expect(unhandled.fields.stack.split('\n')[0]).toMatch(new RegExp(`@src/index\\.ts:${throwLine}:\\d+$`));
    // Production's checks: an undeclared route is refused; a Host that is not loopback is refused.
    expect((await json(await fetch(`${ready.url}/admin`))).body.error.code).toBe('E_ENDPOINT_NOT_DECLARED');
    const rebinding = await rawGet(`${ready.url}/hello`, { host: 'attacker.example' });
    expect(rebinding).toMatchObject({ status: 403, body: { error: { code: 'E_FORBIDDEN' } } });
  }, 150_000);

  it('an edit is swapped in without a restart; the request in flight finishes on the build it started on', async () => {
    const url = dev!.events.find((e) => e.event === 'ready')!.url as string;
    const inFlight = fetch(`${url}/slow`).then(json);
    await upstream.arrived();
    const pid = dev!.process.pid;
    const mark = dev!.events.length - 1;
    const source = join(dir, 'src/index.ts');
    const original = await readFile(source, 'utf8');
    await writeFile(source, original.replace("build: 'first'", "build: 'second'").replace('return jsonResponse(200, { greeting });', 'return jsonResponse(200, { greeting, edited: true });'));
    const deployed = await dev!.waitFor((e) => e.event === 'deployed' && e.swapped === true, 90_000, mark);
    expect(deployed.reason).toBe('src/index.ts');
    expect((await json(await fetch(`${url}/hello`))).body).toEqual({ greeting: 'Hello', edited: true });
    upstream.releaseAll();
    expect(await inFlight).toEqual({ status: 200, body: { build: 'first', upstream: 'released' } });
    const next = fetch(`${url}/slow`).then(json);
    await upstream.arrived();
    upstream.releaseAll();
    expect((await next).body.build).toBe('second');
    expect(dev!.process.pid).toBe(pid);
    expect(dev!.process.exitCode).toBeNull();
  }, 150_000);

  it('a broken build is reported and the previous build keeps answering', async () => {
    const url = dev!.events.find((e) => e.event === 'ready')!.url as string;
    const source = join(dir, 'src/index.ts');
    const edited = await readFile(source, 'utf8');
    const mark = dev!.events.length - 1;
    await writeFile(source, `${edited}\nconst broken: number = 'text';\n`);
    const failed = await dev!.waitFor((e) => e.event === 'build-failed', 90_000, mark);
    expect(failed.code).toBe('E_TYPECHECK_FAILED');
    expect(failed.message).toMatch(/src\/index\.ts:\d+:\d+ - error TS2322/);
    expect((await json(await fetch(`${url}/hello`))).body).toEqual({ greeting: 'Hello', edited: true });
    // Back to the template's behaviour for the tests below.
    const restored = dev!.events.length - 1;
    await writeFile(source, edited.replace('{ greeting, edited: true }', '{ greeting }'));
    await dev!.waitFor((e) => e.event === 'deployed', 90_000, restored);
    expect((await json(await fetch(`${url}/hello`))).body).toEqual({ greeting: 'Hello' });
    expect(await dev!.stop()).toBe(0);
    dev = undefined;
  }, 150_000);

  it('storage is kept between dev runs; --reset clears it', async () => {
    const again = startAlgaDev(['--port', '0', '--allow-private', '127.0.0.1/32'], dir);
    try {
      const { url } = await again.waitFor((e) => e.event === 'ready', 120_000);
      expect((await json(await fetch(`${url}/visits/ada`, { method: 'POST' }))).body.visits).toBe(2);
    } finally {
      expect(await again.stop()).toBe(0);
    }
    const reset = startAlgaDev(['--port', '0', '--reset'], dir);
    try {
      const { url } = await reset.waitFor((e) => e.event === 'ready', 120_000);
      expect((await json(await fetch(`${url}/visits/ada`, { method: 'POST' }))).body.visits).toBe(1);
    } finally {
      await reset.stop();
    }
  }, 150_000);

  it('alga component test runs the template test against the built component, and fails when a test does', async () => {
    const passed = await alga(['component', 'test', '--json'], dir);
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.json).toMatchObject({ ok: true, files: 1, passed: 3, failed: 0 });
    const testFile = join(dir, 'test/index.test.ts');
    const original = await readFile(testFile, 'utf8');
    try {
      await writeFile(testFile, original.replace("toEqual({ greeting: 'Howdy!' })", "toEqual({ greeting: 'Howdy?' })"));
      const failed = await alga(['component', 'test', '--json'], dir);
      expect(failed.code).toBe(1);
      expect(failed.json).toMatchObject({ ok: false, error: { code: 'E_TEST_FAILED', details: { failed: 1, passed: 2 } } });
      expect(failed.stderr).toContain('Howdy?');
      // A test edit is not a component change: the build is reused.
      expect(failed.stderr).toContain('unchanged since the last build');
    } finally {
      await writeFile(testFile, original);
    }
  }, 150_000);

  it('publishes to a gateway, installs, and answers through the proxy route', async () => {
    expect(await publishAndCallThroughProxy(dir, name, '/hello')).toEqual({ status: 200, body: { greeting: 'Hello' } });
  }, 150_000);
});

describe('component-with-ui: new → dev → hot swap → broken build → test → publish', () => {
  const name = 'com.acme.loop-notes';
  let dir: string;
  let dev: AlgaDev | undefined;

  beforeAll(async () => {
    dir = join(work, 'loop-notes');
    expect((await alga(['component', 'new', dir, '--template', 'component-with-ui', '--name', name, '--publisher', 'Alga Samples', '--json'], work)).code).toBe(0);
  });
  afterAll(async () => { await dev?.stop(); });

  it('dev serves the handler, the dev shell and the sandboxed UI; edits and broken builds behave as for any project', async () => {
    dev = startAlgaDev(['--port', '0'], dir);
    const ready = await dev.waitFor((e) => e.event === 'ready', 120_000);
    expect(ready.shell).toBe(`${ready.url}/`);
    const added = await json(await fetch(`${ready.url}/notes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'toner' }) }));
    expect(added.status).toBe(200);
    expect((await json(await fetch(`${ready.url}/notes`))).body.notes.map((n: { text: string }) => n.text)).toEqual(['toner']);
    const shell = await fetch(`${ready.url}/`);
    expect(shell.headers.get('content-type')).toContain('text/html');
    expect(await shell.text()).toContain('/_alga/host.js');
    const state = await (await fetch(`${ready.url}/_alga/state`)).json() as { uiUrl: string };
    const page = await fetch(`${ready.url}${state.uiUrl}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts allow-forms;/);
    // The proxy route answers the shell's bridge (same origin) and nobody else.
    expect((await fetch(`${ready.url}/api/ext-proxy/${name}/notes`, { headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(200);
    expect((await rawGet(`${ready.url}/api/ext-proxy/${name}/notes`, { 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example' })).body.error.code).toBe('E_CSRF');

    const source = join(dir, 'src/index.ts');
    const original = await readFile(source, 'utf8');
    let mark = dev.events.length - 1;
    await writeFile(source, original.replace("'GET /notes': async ({ ctx }) => ({ notes: await allNotes(ctx) }),", "'GET /notes': async ({ ctx }) => ({ notes: (await allNotes(ctx)).map((n) => ({ ...n, text: n.text.toUpperCase() })) }),"));
    await dev.waitFor((e) => e.event === 'deployed' && e.swapped === true, 90_000, mark);
    expect((await json(await fetch(`${ready.url}/notes`))).body.notes.map((n: { text: string }) => n.text)).toEqual(['TONER']);
    mark = dev.events.length - 1;
    await writeFile(source, original.replace("'GET /notes': async", "'GET /nope': async"));
    expect((await dev.waitFor((e) => e.event === 'build-failed', 90_000, mark)).code).toBe('E_TYPECHECK_FAILED');
    expect((await json(await fetch(`${ready.url}/notes`))).body.notes.map((n: { text: string }) => n.text)).toEqual(['TONER']);
    mark = dev.events.length - 1;
    await writeFile(source, original);
    await dev.waitFor((e) => e.event === 'deployed', 90_000, mark);
    expect(await dev.stop()).toBe(0);
    dev = undefined;
  }, 300_000);

  it('alga component test passes; the bundle publishes and answers through the proxy route', async () => {
    const tested = await alga(['component', 'test', '--json'], dir);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.json).toMatchObject({ ok: true, passed: 2, failed: 0 });
    expect(await publishAndCallThroughProxy(dir, name, '/notes')).toEqual({ status: 200, body: { notes: [] } });
  }, 150_000);
});
