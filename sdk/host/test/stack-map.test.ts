/**
 * createStackMapper against a REAL esbuild source map (the build's options: esm bundle,
 * external map) of a small TypeScript project, with stacks in the format a componentize-js
 * (SpiderMonkey) guest really produces, and real V8 stacks from running the same bundle.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStackMapper, guestScriptName } from '../src/component/stack-map.ts';

const helpers = `export function parseTicket(raw: string): { id: number } {
  const value = JSON.parse(raw) as { id?: number };
  if (typeof value.id !== 'number') {
    throw new TypeError(\`ticket has no numeric id: \${raw}\`);
  }
  return { id: value.id };
}

export class Thing {
  method(): never {
    throw new RangeError('from a method');
  }
}

export async function later(): Promise<never> {
  await Promise.resolve();
  throw new Error('after an await');
}
`;

const index = `import { parseTicket, Thing, later } from './helpers.ts';

interface Req { path: string }

export function handle(req: Req): unknown {
  if (req.path === '/method') return new Thing().method();
  if (req.path === '/later') return later();
  return parseTicket('{}');
}
`;

let dir: string;
let js: string;
let mapText: string;

/** 1-based line and column of `needle` in the bundled JS, as SpiderMonkey reports positions. */
function at(needle: string): { line: number; column: number } {
  const lines = js.split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  expect(line, needle).toBeGreaterThanOrEqual(0);
  return { line: line + 1, column: lines[line].indexOf(needle) + 1 };
}
const sm = (fn: string, needle: string, file = guestScriptName) => { const p = at(needle); return `${fn}@${file}:${p.line}:${p.column}`; };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alga-stack-map-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src/helpers.ts'), helpers);
  await writeFile(join(dir, 'src/index.ts'), index);
  const out = await esbuild.build({
    entryPoints: [join(dir, 'src/index.ts')], bundle: true, format: 'esm', platform: 'neutral', target: 'es2022',
    outfile: join(dir, guestScriptName), sourcemap: 'external', sourcesContent: true, write: false, absWorkingDir: dir, logLevel: 'silent',
  });
  js = out.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  mapText = out.outputFiles.find((f) => f.path.endsWith('.map'))!.text;
  await writeFile(join(dir, guestScriptName), js);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('createStackMapper', () => {
  it('the source map names the TypeScript files relative to the project', () => {
    expect(JSON.parse(mapText).sources).toEqual(['src/helpers.ts', 'src/index.ts']);
  });

  it('maps a SpiderMonkey (componentize-js) stack to src/<file>.ts:line:col, keeping names and the frames it cannot map', () => {
    const stack = [
      sm('parseTicket', 'new TypeError'),
      sm('method', 'new RangeError'),
      sm('handle', 'parseTicket("{}")'),
      sm('async*handle', 'later();'),
      sm('', 'new Thing()'),
      'export_handler_0_1_0$handle@/tmp/d3ea03170f7f/sources/initializer.js:835:15',
      '',
    ].join('\n');
    const mapped = createStackMapper(mapText)(stack);
    expect(mapped.split('\n')).toEqual([
      'parseTicket@src/helpers.ts:4:11',
      'method@src/helpers.ts:11:11',
      'handle@src/index.ts:8:10',
      'async*handle@src/index.ts:7:37',
      '@src/index.ts:6:38',
      'export_handler_0_1_0$handle@/tmp/d3ea03170f7f/sources/initializer.js:835:15',
      '',
    ]);
  });

  it('takes the map as parsed JSON too, and the map\'s own file name (component.js) as the bundle', () => {
    const map = { ...JSON.parse(mapText), file: 'component.js' };
    expect(createStackMapper(map)(sm('parseTicket', 'new TypeError', 'component.js'))).toBe('parseTicket@src/helpers.ts:4:11');
    expect(createStackMapper(map)(sm('parseTicket', 'new TypeError', '/srv/x/guest.js'))).toBe('parseTicket@src/helpers.ts:4:11');
    expect(createStackMapper(map, { generatedFiles: ['bundle.mjs'] })(sm('parseTicket', 'new TypeError'))).toBe(sm('parseTicket', 'new TypeError'));
  });

  it('maps real V8 stacks from running the same bundle in Node (sync, method, async)', async () => {
    const mod = await import(pathToFileURL(join(dir, guestScriptName)).href) as { handle(req: { path: string }): unknown };
    const mapStack = createStackMapper(mapText);
    const stackOf = async (path: string) => { try { await mod.handle({ path }); } catch (err) { return (err as Error).stack!; } throw new Error('no throw'); };
    const sync = mapStack(await stackOf('/'));
    expect(sync).toMatch(/^TypeError: ticket has no numeric id: \{\}\n/);
    expect(sync).toContain('    at parseTicket (src/helpers.ts:4:11)');
    expect(sync).toContain('    at Module.handle (src/index.ts:8:10)');
    expect(mapStack(await stackOf('/method'))).toContain('    at Thing.method (src/helpers.ts:11:11)');
    expect(mapStack(await stackOf('/later'))).toContain('    at later (src/helpers.ts:17:9)');
    // Frames of other files (vitest's own) are kept as V8 wrote them.
    expect(sync.split('\n').filter((l) => l.includes('node_modules')).length).toBeGreaterThan(0);
  });

  it('leaves a frame alone when its line has no mapping of its own (findEntry would answer an earlier line)', () => {
    const lines = js.split('\n');
    const comment = lines.findIndex((l) => l.startsWith('// src/index.ts')) + 1;
    expect(comment).toBeGreaterThan(1);
    const mapStack = createStackMapper(mapText);
    for (const frame of [`x@guest.js:${comment}:1`, `x@guest.js:${lines.length + 50}:1`, 'x@guest.js:0:0', 'x@guest.js:999999999:999999999']) {
      expect(mapStack(frame)).toBe(frame);
    }
  });

  it('never throws on garbage: maps and stacks that are not what they should be come back unchanged', () => {
    const stack = sm('parseTicket', 'new TypeError');
    for (const map of ['', 'not json', '[]', 'null', '{}', '{"version":3,"sources":[],"mappings":"!!!!"}', { mappings: 42 }, { version: 3, sources: 'x', mappings: '' }, []]) {
      const mapStack = createStackMapper(map as string);
      expect(mapStack(stack), JSON.stringify(map)).toBe(stack);
    }
    const mapStack = createStackMapper(mapText);
    for (const garbage of ['', '\n\n', '@', '@:1:1', 'guest.js:1:1', '    at (guest.js:1:1', '    at guest.js:x:1', '@guest.js:1:', '\u0000\uffff@guest.js:1:1\r', 'a@b@guest.js:1:1']) {
      expect(() => mapStack(garbage)).not.toThrow();
    }
    expect(mapStack(undefined as unknown as string)).toBe('');
    expect(mapStack({ toString() { throw new Error('no'); } } as unknown as string)).toBe('');
    expect(mapStack(`${stack}\r\n${stack}\r\n`)).toBe('parseTicket@src/helpers.ts:4:11\r\nparseTicket@src/helpers.ts:4:11\r\n');
  });

  it('bounds its work: 200 frames mapped, the rest kept; a huge stack is cut with a note; an overlong line is not parsed', () => {
    const frame = sm('parseTicket', 'new TypeError');
    const mapStack = createStackMapper(mapText);
    const many = Array.from({ length: 1000 }, () => frame).join('\n');
    let started = performance.now();
    const out = mapStack(many).split('\n');
    expect(performance.now() - started).toBeLessThan(500);
    expect(out.slice(0, 200).every((l) => l === 'parseTicket@src/helpers.ts:4:11')).toBe(true);
    expect(out.slice(200).every((l) => l === frame)).toBe(true);

    const huge = `${frame}\n${'x'.repeat(50 * 1024 * 1024)}`;
    started = performance.now();
    const cut = mapStack(huge);
    expect(performance.now() - started).toBeLessThan(500);
    expect(cut.length).toBeLessThan(70 * 1024);
    expect(cut.startsWith('parseTicket@src/helpers.ts:4:11\n')).toBe(true);
    expect(cut).toMatch(/\[stack cut at 65536 of 52428\d+ characters\]$/);

    const long = `${'a'.repeat(10_000)}@guest.js:4:11`;
    expect(mapStack(long)).toBe(long);
    const colons = `x@${':1'.repeat(1000)}`;
    expect(mapStack(colons)).toBe(colons);
  });
});
