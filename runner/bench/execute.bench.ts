/**
 * `npm run bench`: latency and throughput of samples/hello through POST /v1/execute in pooled
 * and fresh isolation, cold first request, and baselines measured in the same run (the same
 * handler called directly in Node; an express endpoint with the same HTTP path and no guest).
 * Prints a table and writes bench-results/execute.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import * as esbuild from 'esbuild';
import { Pool } from 'undici';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken } from '@alga-psa/extension-contracts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { buildCached } from '../../sdk/cli/src/build/build-cache.ts';
import { sequential, startProcess, throughput, type LatencyStats } from './bench-lib.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const SEQ = quick ? 300 : 2000;
const DURATION = quick ? 1500 : 5000;
const CONCURRENCY = 32;

const work = await mkdtemp(join(tmpdir(), 'alga-bench-'));
const hello = await buildCached(join(root, 'samples/hello'), { onProgress: (m) => console.log(`  build: ${m}`) });
const store = new FileBundleStore(join(work, 'bundles'));
await store.put(hello.bytes);
const signer = await generateExecutionSigningKey('bench');
await writeFile(join(work, 'jwks.json'), JSON.stringify({ keys: [signer.publicJwk] }));

async function executeBody() {
  const requestId = randomUUID();
  const deadlineMs = Date.now() + 10 * 60_000;
  const body = {
    context: { requestId, tenantId: 'bench-tenant', extensionId: 'bench-ext', installId: 'bench-install', versionId: 'v1', contentHash: hello.contentHash },
    request: { method: 'GET', path: '/hello', query: [], headers: [] },
    install: { config: { greeting: 'Hi' }, configVersion: 1, grantedCapabilities: [], httpAllowedHosts: [], storageNamespaces: null, uiProxyRoutes: [] },
    secrets: { secretsVersion: 0, envelope: {} },
    limits: { deadlineMs },
  };
  const token = await mintExecutionToken(signer, {
    requestId, tenantId: 'bench-tenant', installId: 'bench-install', extensionId: 'bench-ext', versionId: 'v1', contentHash: hello.contentHash,
    bodyDigest: executeBodyDigest({ install: body.install, secrets: body.secrets }), capabilities: [],
  }, deadlineMs);
  return { token, body: JSON.stringify(body) };
}

/**
 * The runner executes each token once, so every request needs its own: they are minted ahead
 * (`n`, then on demand) so the timings hold the runner's work, not the client's signing.
 */
async function executeBodies(n: number): Promise<() => Promise<{ token: string; body: string }>> {
  const ready: Array<{ token: string; body: string }> = [];
  for (let i = 0; i < n; i++) ready.push(await executeBody());
  let next = 0;
  return () => (next < ready.length ? Promise.resolve(ready[next++]) : executeBody());
}

function client(url: string) {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  return {
    pool,
    async post(token: string, body: string, expectStatus = 200) {
      const res = await pool.request({ path: '/v1/execute', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
      const text = await res.body.text();
      if (res.statusCode !== expectStatus) throw new Error(`status ${res.statusCode}: ${text.slice(0, 300)}`);
    },
  };
}

async function startRunner(isolation: 'pooled' | 'fresh', cacheDir: string) {
  const { child, match } = await startProcess(join(root, 'runner/src/main.ts'), {
    RUNNER_PORT: '0', RUNNER_ISOLATION: isolation, BUNDLE_STORE_DIR: join(work, 'bundles'), RUNNER_CACHE_DIR: cacheDir,
    RUNNER_TRUSTED_KEYS: join(work, 'jwks.json'), LOG_LEVEL: 'info',
  }, /"url":"(http:\/\/[^"]+)"/);
  return { child, url: match[1] };
}

interface ModeResult { sequential: LatencyStats; throughput: { rps: number; latency: LatencyStats; errors: number } }

async function measureRunner(isolation: 'pooled' | 'fresh', cacheDir: string): Promise<ModeResult> {
  const { child, url } = await startRunner(isolation, cacheDir);
  const c = client(url);
  try {
    const nextBody = await executeBodies(SEQ + 50 + (isolation === 'pooled' ? 4 : 0.5) * DURATION);
    const seq = await sequential(SEQ, 50, async () => { const { token, body } = await nextBody(); await c.post(token, body); });
    const tp = await throughput(CONCURRENCY, DURATION, async () => { const { token, body } = await nextBody(); await c.post(token, body); });
    return { sequential: seq, throughput: tp };
  } finally {
    await c.pool.close();
    child.kill('SIGTERM');
  }
}

async function coldFirstRequest(cacheDir: string): Promise<number> {
  const { child, url } = await startRunner('pooled', cacheDir);
  const c = client(url);
  try {
    const { token, body } = await executeBody();
    const t = performance.now();
    await c.post(token, body);
    return Math.round((performance.now() - t) * 10) / 10;
  } finally {
    await c.pool.close();
    child.kill('SIGTERM');
  }
}

/** The same router and handler code, bundled for Node with a JS host instead of the component. */
async function directBaseline(): Promise<LatencyStats> {
  const outfile = join(work, 'direct.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'samples/hello/src/index.ts')], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'silent',
    plugins: [{ name: 'host', setup(b) {
      b.onResolve({ filter: /^alga:host$/ }, () => ({ path: 'host', namespace: 'host' }));
      b.onLoad({ filter: /.*/, namespace: 'host' }, () => ({ loader: 'js', contents: `export const host = { context: { get: () => ({ tenantId: 'bench-tenant', extensionId: 'e', installId: 'i', versionId: 'v', requestId: 'r', deadlineMs: 0n }), config: () => '{"greeting":"Hi"}' }, log: { emit() {} } };` }));
    } }],
  });
  const mod = (await import(pathToFileURL(outfile).href)) as { handler: { handle(req: unknown): unknown } };
  const req = { method: 'GET', path: '/hello', query: [], headers: [], body: undefined };
  return sequential(SEQ * 5, 500, async () => { await mod.handler.handle(req); });
}

async function expressBaseline(): Promise<ModeResult> {
  const { child, match } = await startProcess(join(root, 'runner/bench/express-baseline.ts'), {}, /"url":"(http:\/\/[^"]+)"/);
  const c = client(match[1]);
  try {
    // The baseline checks no token: one request body serves every call.
    const { token, body } = await executeBody();
    return { sequential: await sequential(SEQ, 50, () => c.post(token, body)), throughput: await throughput(CONCURRENCY, DURATION, () => c.post(token, body)) };
  } finally {
    await c.pool.close();
    child.kill('SIGTERM');
  }
}

console.log(`alga bench: samples/hello via POST /v1/execute (${cpus().length} cores, node ${process.version}${quick ? ', quick' : ''})`);
const cacheDir = join(work, 'transpile-cache');
const coldNewBundleMs = await coldFirstRequest(cacheDir);
console.log(`  cold first request, new bundle (transpile + compile + instantiate + first call): ${coldNewBundleMs} ms`);
const coldCachedMs = await coldFirstRequest(cacheDir);
console.log(`  cold first request, transpile cached on disk (fresh process):                  ${coldCachedMs} ms`);
const pooled = await measureRunner('pooled', cacheDir);
console.log('  pooled done');
const fresh = await measureRunner('fresh', cacheDir);
console.log('  fresh done');
const direct = await directBaseline();
const expressOnly = await expressBaseline();

const rows = [
  ['runner pooled', pooled],
  ['runner fresh', fresh],
  ['baseline: express, no guest', expressOnly],
] as const;
console.log('\n| scenario | seq p50 ms | seq p99 ms | req/s (c=32) | p50 ms @c32 | p99 ms @c32 | errors |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.sequential.p50} | ${r.sequential.p99} | ${r.throughput.rps} | ${r.throughput.latency.p50} | ${r.throughput.latency.p99} | ${r.throughput.errors} |`);
console.log(`| baseline: handler called directly in Node | ${direct.p50} | ${direct.p99} | – | – | – | – |`);
console.log(`\ncold first request: new bundle ${coldNewBundleMs} ms; transpile cached ${coldCachedMs} ms`);
const targets = { pooledP50Ms: 1, freshP50Ms: 8, pooledRps: 1500 };
console.log(`targets: pooled p50 ≤ ${targets.pooledP50Ms} ms (${pooled.sequential.p50 <= targets.pooledP50Ms ? 'met' : 'MISSED'}), fresh p50 ≤ ${targets.freshP50Ms} ms (${fresh.sequential.p50 <= targets.freshP50Ms ? 'met' : 'MISSED'}), pooled ≥ ${targets.pooledRps} req/s (${pooled.throughput.rps >= targets.pooledRps ? 'met' : 'MISSED'})`);

const outDir = join(root, 'bench-results');
await mkdir(outDir, { recursive: true });
const result = { at: new Date().toISOString(), node: process.version, cores: cpus().length, quick, cold: { newBundleMs: coldNewBundleMs, transpileCachedMs: coldCachedMs }, pooled, fresh, baselines: { directHandler: direct, expressNoGuest: expressOnly }, targets };
await writeFile(join(outDir, 'execute.json'), JSON.stringify(result, null, 2));
console.log(`wrote ${join(outDir, 'execute.json')}`);
await rm(work, { recursive: true, force: true });

