/**
 * Guest stack traces mapped to the developer's TypeScript, end to end: the real misbehaving
 * sample (componentize-js, SpiderMonkey) throws in a route, the guest SDK answers 500 and logs
 * the raw stack, and the logs API returns it with `mappedStack` computed from the source map
 * packed in that version's bundle.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSourceMapPath, packBundle, readBundle } from '@alga-psa/extension-contracts';
import { startGatewayHarness, type Caller, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { sampleBundle } from '../../test-setup/samples.ts';

const sampleDir = fileURLToPath(new URL('../../samples/misbehaving/', import.meta.url));
const extension = 'com.alga.samples.misbehaving';

let h: GatewayHarness;
let t: { tenantId: string; adminKey: string; call: Caller };
let installId: string;

beforeAll(async () => {
  h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 1000 } });
  await h.publishSample('misbehaving');
  t = await h.tenant();
  installId = (await t.call('POST', '/api/v1/extensions/install', { extension })).body.id;
});
afterAll(() => h?.close());

/** 1-based line and column of `needle` in a sample source file. */
async function positionIn(file: string, needle: string): Promise<string> {
  const lines = (await readFile(join(sampleDir, file), 'utf8')).split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  expect(line, needle).toBeGreaterThanOrEqual(0);
  return `${file}:${line + 1}:${lines[line].indexOf(needle) + 1}`;
}

async function logsOf(requestId: string): Promise<any[]> {
  for (let i = 0; i < 100; i++) {
    const res = await t.call('GET', `/api/v1/installs/${installId}/logs?requestId=${requestId}`);
    expect(res.status).toBe(200);
    if (res.body.logs.length > 0) return res.body.logs;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no logs for ${requestId}`);
}

async function throwingRequest(): Promise<{ requestId: string; line: any }> {
  const res = await t.call('GET', `/api/ext/${extension}/route-throws?ref=oops`);
  expect(res.status).toBe(500);
  const requestId = res.headers.get('x-request-id')!;
  expect(res.body.error).toEqual({ code: 'E_EXTENSION_ERROR', message: 'not a ticket reference: "oops"', requestId });
  const logs = await logsOf(requestId);
  expect(logs).toHaveLength(1);
  return { requestId, line: logs[0] };
}

/** The sample's bundle again under another version, with its source map replaced (or left out). */
async function repacked(version: string, sourceMap: string | undefined): Promise<Uint8Array> {
  const contents = await readBundle((await sampleBundle('misbehaving')).bytes, {}, { sourceMap: true });
  const dir = await mkdtemp(join(tmpdir(), 'alga-stack-bundle-'));
  try {
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...(contents.manifestJson as object), version }));
    await writeFile(join(dir, 'component.wasm'), contents.component);
    for (const [path, bytes] of contents.uiFiles) {
      await mkdir(dirname(join(dir, 'ui', path)), { recursive: true });
      await writeFile(join(dir, 'ui', path), bytes);
    }
    if (sourceMap !== undefined) await writeFile(join(dir, bundleSourceMapPath), sourceMap);
    return await packBundle(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('guest stack traces in the logs API', () => {
  it('the published bundle carries the build\'s source map, naming the project\'s files and the SDK by package', async () => {
    const { sourceMap } = await readBundle((await sampleBundle('misbehaving')).bytes, {}, { sourceMap: true });
    const map = JSON.parse(new TextDecoder().decode(sourceMap));
    expect(map.sources).toEqual(expect.arrayContaining(['src/index.ts', 'src/faults.ts', 'node_modules/@alga-psa/extension-runtime/src/router.ts', 'alga:host']));
    expect(map.sources.filter((s: string) => s.startsWith('..') || s.startsWith('/'))).toEqual([]);
  });

  it('a route that throws: one error line with the raw SpiderMonkey stack, and mappedStack naming src/faults.ts:<line>:<col> of the throw', async () => {
    const { line } = await throwingRequest();
    expect(line.level).toBe('error');
    expect(line.message).toBe('unhandled error in GET /route-throws: not a ticket reference: "oops"');
    expect(line.fields.name).toBe('TypeError');
    // The raw stack names bundled-JS positions, 1-based, as SpiderMonkey writes them.
    const raw: string[] = line.fields.stack.split('\n').filter(Boolean);
    expect(raw[0]).toMatch(/^parseTicketRef@guest\.js:\d+:\d+$/);

    const mapped: string[] = line.mappedStack.split('\n').filter(Boolean);
    expect(mapped).toHaveLength(raw.length);
    expect(mapped[0]).toBe(`parseTicketRef@${await positionIn('src/faults.ts', 'new TypeError')}`);
    expect(mapped[1]).toMatch(new RegExp(`@${(await positionIn('src/index.ts', 'parseTicketRef(req.query')).replace(/:\d+$/, ':\\d+')}$`));
    expect(mapped.some((f) => /@node_modules\/@alga-psa\/extension-runtime\/src\/router\.ts:\d+:\d+$/.test(f))).toBe(true);
    // componentize-js's own frame is not in the bundle: kept as it was.
    expect(mapped.at(-1)).toBe(raw.at(-1));
    expect(mapped.at(-1)).toMatch(/initializer\.js:\d+:\d+$/);
    expect(mapped.filter((f) => f.includes('guest.js'))).toEqual([]);
  });

  it('lines without a stack are returned as they were', async () => {
    const res = await t.call('GET', `/api/ext/${extension}/leak-secret`);
    const [line] = await logsOf(res.headers.get('x-request-id')!);
    expect(line.level).toBe('warn');
    expect(line).not.toHaveProperty('mappedStack');
  });

  it('a version whose bundle has no map returns the line unchanged; lines of the earlier version still map with ITS map', async () => {
    const first = await throwingRequest();
    const res = await h.publish(await repacked('1.0.1', undefined));
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await t.call('POST', `/api/v1/installs/${installId}/upgrade`, { version: '1.0.1' })).status).toBe(200);
    const { line } = await throwingRequest();
    expect(line.fields.stack).toMatch(/^parseTicketRef@guest\.js:\d+:\d+\n/);
    expect(line).not.toHaveProperty('mappedStack');
    const [again] = await logsOf(first.requestId);
    expect(again.mappedStack).toBe(first.line.mappedStack);
  });

  it('publish refuses a bundle whose component.js.map is not a source map (422 E_BUNDLE_INVALID)', async () => {
    for (const [version, map] of [['1.0.2', 'not json'], ['1.0.3', '{"version":3}'], ['1.0.4', '[1,2]']]) {
      const res = await h.publish(await repacked(version, map));
      expect(res.status, map).toBe(422);
      expect(((await res.json()) as any).error.code).toBe('E_BUNDLE_INVALID');
    }
  });
});
