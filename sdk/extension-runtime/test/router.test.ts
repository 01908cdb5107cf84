import { beforeEach, describe, expect, it } from 'vitest';
import { createRouter, jsonResponse, textResponse, HostError, CapabilityNotDeclaredError } from '../src/index.ts';
import { resetHost, state } from './support/host-double.ts';

const decoder = new TextDecoder();
const req = (method: string, path: string, extra: { query?: Array<[string, string]>; headers?: Array<[string, string]>; body?: string } = {}) => ({
  method, path, query: extra.query ?? [], headers: extra.headers ?? [], body: extra.body === undefined ? undefined : new TextEncoder().encode(extra.body),
});
const json = (res: { body?: Uint8Array }) => JSON.parse(decoder.decode(res.body!)) as any;
const header = (res: { headers: Array<[string, string]> }, name: string) => res.headers.find(([k]) => k === name)?.[1];

beforeEach(() => { resetHost(); });

describe('router', () => {
  const app = createRouter()
    .get('/tickets/:id', (r) => jsonResponse(200, { id: r.params.id, q: r.query.get('q'), all: r.query.getAll('tag'), ua: r.headers.get('user-agent') }))
    .post('/tickets/:id/notes', (r) => jsonResponse(201, { got: r.json() }))
    .delete('/tickets/:id/notes/:noteId', (r) => jsonResponse(200, r.params))
    .get('/files/*', (r) => textResponse(200, r.params['*']));

  it('matches params (percent-decoded), query (repeated keys) and headers (lower-cased names)', async () => {
    const res = await app.handle(req('GET', '/tickets/a%20b', { query: [['q', 'x'], ['tag', '1'], ['tag', '2']], headers: [['User-Agent', 't']] }));
    expect(res.status).toBe(200);
    expect(json(res)).toEqual({ id: 'a b', q: 'x', all: ['1', '2'], ua: 't' });
  });

  it('routes by method, several params, wildcards; HEAD is served by GET routes', async () => {
    expect(json(await app.handle(req('DELETE', '/tickets/7/notes/9')))).toEqual({ id: '7', noteId: '9' });
    expect(decoder.decode((await app.handle(req('GET', '/files/a/b/c.txt'))).body!)).toBe('a/b/c.txt');
    expect((await app.handle(req('HEAD', '/tickets/1'))).status).toBe(200);
  });

  it('parses a JSON body and writes JSON and text responses with their content types', async () => {
    const res = await app.handle(req('POST', '/tickets/1/notes', { body: '{"text":"hi"}' }));
    expect(res.status).toBe(201);
    expect(header(res, 'content-type')).toBe('application/json');
    expect(json(res)).toEqual({ got: { text: 'hi' } });
    expect(header(textResponse(200, 'x'), 'content-type')).toBe('text/plain; charset=utf-8');
  });

  it('an unknown path is 404 E_NOT_FOUND; a known path with another method is 405 with Allow', async () => {
    const missing = await app.handle(req('GET', '/nope'));
    expect(missing.status).toBe(404);
    expect(json(missing).error.code).toBe('E_NOT_FOUND');
    const wrong = await app.handle(req('PUT', '/tickets/1'));
    expect(wrong.status).toBe(405);
    expect(header(wrong, 'allow')).toBe('GET');
    expect(json(wrong).error.code).toBe('E_METHOD_NOT_ALLOWED');
  });

  it('a route that throws or rejects answers 500 E_EXTENSION_ERROR with the request id and logs the stack, instead of trapping', async () => {
    resetHost({ context: { ...state.context, requestId: 'req-42' } });
    const failing = createRouter()
      .get('/sync', () => { throw new TypeError('boom'); })
      .get('/async', async () => { await Promise.resolve(); throw new Error('later'); });
    for (const [path, message] of [['/sync', 'boom'], ['/async', 'later']]) {
      const res = await failing.handle(req('GET', path));
      expect(res.status).toBe(500);
      expect(json(res).error).toEqual({ code: 'E_EXTENSION_ERROR', message, requestId: 'req-42' });
    }
    expect(state.logs.map((l) => l.level)).toEqual(['error', 'error']);
    expect(Object.fromEntries(state.logs[0].fields).stack).toContain('boom');
  });

  it('logs ONE error line per unhandled error: "unhandled error in <METHOD> <route>: <message>" with the raw stack and the error name', async () => {
    const thrown = new RangeError('no ticket 7');
    const failing = createRouter()
      .get('/tickets/:id', () => { throw thrown; })
      .post('/tickets/:id/notes', async () => { await Promise.resolve(); throw new Error('cannot note'); })
      .fallback((r) => { throw new Error(`no ${r.path}`); });
    expect((await failing.handle(req('GET', '/tickets/7'))).status).toBe(500);
    expect((await failing.handle(req('POST', '/tickets/7/notes'))).status).toBe(500);
    expect((await failing.handle(req('HEAD', '/tickets/8'))).status).toBe(500);
    expect((await failing.handle(req('GET', '/elsewhere'))).status).toBe(500);
    expect(state.logs.map((l) => [l.level, l.message])).toEqual([
      ['error', 'unhandled error in GET /tickets/:id: no ticket 7'],
      ['error', 'unhandled error in POST /tickets/:id/notes: cannot note'],
      ['error', 'unhandled error in HEAD /tickets/:id: no ticket 7'],
      ['error', 'unhandled error in GET /elsewhere: no /elsewhere'],
    ]);
    expect(Object.fromEntries(state.logs[0].fields)).toEqual({ stack: thrown.stack, name: 'RangeError' });
  });

  it('bounds the logged stack (8 KiB) and message (1 KiB); the answer keeps the whole message', async () => {
    const huge = new Error('m'.repeat(5000));
    huge.stack = `Error: x\n${'frame@guest.js:1:1\n'.repeat(2000)}`;
    const res = await createRouter().get('/', () => { throw huge; }).handle(req('GET', '/'));
    expect(json(res).error.message).toHaveLength(5000);
    const [line] = state.logs;
    const stack = Object.fromEntries(line.fields).stack;
    expect(stack.length).toBeLessThanOrEqual(8 * 1024 + 1);
    expect(huge.stack.startsWith(stack.slice(0, -1))).toBe(true);
    expect(line.message.length).toBeLessThanOrEqual('unhandled error in GET /: '.length + 1024 + 1);
  });

  it('a thrown non-Error (a string, a null-prototype object) is still one error line and a 500, with an empty stack', async () => {
    const failing = createRouter().get('/s', () => { throw 'plain'; }).get('/o', () => { throw Object.create(null); });
    expect(json(await failing.handle(req('GET', '/s'))).error.message).toBe('plain');
    expect((await failing.handle(req('GET', '/o'))).status).toBe(500);
    expect(state.logs.map((l) => l.message)).toEqual(['unhandled error in GET /s: plain', 'unhandled error in GET /o: a thrown object that has no string form']);
    expect(Object.fromEntries(state.logs[0].fields)).toEqual({ stack: '', name: 'string' });
  });

  it('running out of memory is not caught: it reaches the host, which answers 507 and discards the instance', async () => {
    // SpiderMonkey throws its OOM as a bare string.
    const app = createRouter().get('/oom', () => { throw 'out of memory'; }).get('/oom2', () => { throw new RangeError('out of memory'); });
    expect(() => app.handle(req('GET', '/oom'))).toThrow('out of memory');
    expect(() => app.handle(req('GET', '/oom2'))).toThrow('out of memory');
  });
});

describe('ctx host calls', () => {
  it('config comes from the host as JSON; install info from context.get', async () => {
    resetHost({ config: { greeting: 'Hi', n: 3 } });
    const app = createRouter().get('/', (_r, ctx) => jsonResponse(200, { config: ctx.config, tenant: ctx.install.tenantId }));
    expect(json(await app.handle(req('GET', '/')))).toEqual({ config: { greeting: 'Hi', n: 3 }, tenant: 't1' });
  });

  it('WIT errors become HostError with the capability and kind; a missing secret is undefined', async () => {
    resetHost({ storage: new Map(), storageError: { tag: 'quota-exceeded', val: 'total bytes' }, secrets: { a: '1' } });
    const app = createRouter().get('/', async (_r, ctx) => {
      const out: Record<string, unknown> = { missing: await ctx.secrets.get('nope'), a: await ctx.secrets.get('a') };
      try { await ctx.storage.put('ns', 'k', 1); } catch (err) { out.error = err instanceof HostError ? [err.capability, err.kind, err.detail] : String(err); }
      return jsonResponse(200, out);
    });
    expect(json(await app.handle(req('GET', '/')))).toEqual({ a: '1', error: ['storage', 'quota-exceeded', 'total bytes'] });
  });

  it('secrets.ref gives the placeholder the host fills in (cap:secrets.use), and refuses anything that is not a setting key', async () => {
    resetHost({});
    const app = createRouter().get('/', (_r, ctx) => {
      const refused = ['', 'a b', '1abc', 'x}}{{secret:y', 'a'.repeat(65)].map((k) => { try { ctx.secrets.ref(k); return 'accepted'; } catch (err) { return err instanceof TypeError ? 'TypeError' : String(err); } });
      return jsonResponse(200, { ref: ctx.secrets.ref('apiToken'), dotted: ctx.secrets.ref('api.v2-token_1'), refused });
    });
    expect(json(await app.handle(req('GET', '/')))).toEqual({ ref: '{{secret:apiToken}}', dotted: '{{secret:api.v2-token_1}}', refused: Array(5).fill('TypeError') });
  });

  it('storage round-trips JSON values with revisions, and a stale revision is a conflict', async () => {
    resetHost({ storage: new Map() });
    const app = createRouter().get('/', async (_r, ctx) => {
      const r1 = await ctx.storage.put('ns', 'k', { v: 1 }, 0n);
      const got = await ctx.storage.get<{ v: number }>('ns', 'k');
      let conflict = '';
      try { await ctx.storage.put('ns', 'k', { v: 2 }, 0n); } catch (err) { conflict = (err as HostError).kind; }
      return jsonResponse(200, { r1: String(r1), got: got?.value, rev: String(got?.revision), conflict, keys: (await ctx.storage.list('ns')).keys });
    });
    expect(json(await app.handle(req('GET', '/')))).toEqual({ r1: '1', got: { v: 1 }, rev: '1', conflict: 'conflict', keys: ['k'] });
  });

  it('a capability the manifest does not declare throws CapabilityNotDeclaredError (answered as 500, never a trap)', async () => {
    const app = createRouter().get('/', async (_r, ctx) => {
      try { await ctx.http.fetch('https://x.example'); } catch (err) { return jsonResponse(200, { notDeclared: err instanceof CapabilityNotDeclaredError, message: (err as Error).message }); }
      return jsonResponse(200, {});
    });
    const out = json(await app.handle(req('GET', '/')));
    expect(out.notDeclared).toBe(true);
    expect(out.message).toContain('cap:http.fetch');
  });
});
