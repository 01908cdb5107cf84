/**
 * Capability benchmarks (issue 4), part of `npm run bench`:
 *  1. secret cache: 10 000 execute requests across 100 installs, each with its own Vault-transit
 *     envelope; reports cache hits/misses and Vault decrypt calls (expect one per install and
 *     secrets version per TTL).
 *  2. a full request through the gateway that reads a secret, writes storage (CAS) and makes one
 *     loopback HTTP call (ticket-enricher, ?refresh=1), with hello through the gateway as the
 *     baseline from the same run.
 * Writes bench-results/capabilities.json.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { executeBodyDigest, generateExecutionSigningKey, mintExecutionToken } from '@alga-psa/extension-contracts';
import { createRunner, runnerConfigFromEnv } from '../src/index.ts';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { sampleBundle } from '../../test-setup/samples.ts';
import { startVaultTransitServer } from '../../test-setup/vault-transit-server.ts';
import { startGatewayHarness } from '../../test-setup/gateway-harness.ts';
import { sampleVariant } from '../../test-setup/bundles.ts';
import { createSecretCipher } from '@alga-psa/extension-host/secrets/secret-cipher';
import { sequential, throughput } from './bench-lib.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const REQUESTS = quick ? 2000 : 10_000;
const INSTALLS = 100;

console.log(`alga bench: capabilities${quick ? ' (quick)' : ''}`);

// 1. Secret cache through the runner.
const vault = await startVaultTransitServer();
const cipher = await createSecretCipher({ backend: 'vault', endpoint: vault.url, token: vault.rootToken });
const dir = await mkdtemp(join(tmpdir(), 'alga-capbench-'));
const signer = await generateExecutionSigningKey('capbench');
const store = new FileBundleStore(join(dir, 'bundles'));
const misbehaving = await store.put((await sampleBundle('misbehaving')).bytes);
const runner = await createRunner(runnerConfigFromEnv({}, { bundleDir: join(dir, 'bundles'), cacheDir: join(root, '.alga-cache', 'transpile'), workers: 2, trustedKeys: [signer.publicJwk], logLevel: 'silent' } as never), { bundleStore: store, logger: pino({ level: 'silent' }), secretCipher: cipher });
const { url: runnerUrl } = await runner.listen(0, '127.0.0.1');
const envelopes: Array<{ installId: string; envelope: Record<string, string> }> = [];
for (let i = 0; i < INSTALLS; i++) {
  const installId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const encrypted = await cipher.encrypt({ tenantId: 'bench-tenant', installId }, { token: `token-${i}` });
  envelopes.push({ installId, envelope: { token: encrypted.token.ciphertext } });
}
vault.resetCounters();
const pool = new Pool(runnerUrl, { connections: 16 });
const started = performance.now();
let failures = 0;
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < REQUESTS) {
    const i = next++;
    const { installId, envelope } = envelopes[i % INSTALLS];
    const requestId = randomUUID();
    const deadlineMs = Date.now() + 10_000;
    const body = {
      context: { requestId, tenantId: 'bench-tenant', extensionId: 'ext', installId, versionId: 'v1', contentHash: misbehaving },
      request: { method: 'GET', path: '/leak-secret', query: [], headers: [] },
      install: { config: {}, configVersion: 1, grantedCapabilities: ['cap:secrets.get'], httpAllowedHosts: [], storageNamespaces: null, uiProxyRoutes: [] },
      secrets: { secretsVersion: 1, envelope }, limits: { deadlineMs },
    };
    const token = await mintExecutionToken(signer, {
      requestId, tenantId: 'bench-tenant', installId, extensionId: 'ext', versionId: 'v1', contentHash: misbehaving,
      bodyDigest: executeBodyDigest({ install: body.install, secrets: body.secrets }), capabilities: ['cap:secrets.get'],
    }, deadlineMs);
    const res = await pool.request({ path: '/v1/execute', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const answer = (await res.body.json()) as { bodyB64?: string };
    // The guest answers { logged: true } only when its secret decrypted.
    if (res.statusCode !== 200 || Buffer.from(answer.bodyB64 ?? '', 'base64').toString() !== '{"logged":true}') failures++;
  }
}));
const secretElapsed = (performance.now() - started) / 1000;
const cacheStats = runner.secretCache!.stats();
const secretCache = { requests: REQUESTS, installs: INSTALLS, failures, seconds: Math.round(secretElapsed * 10) / 10, rps: Math.round(REQUESTS / secretElapsed), ...cacheStats, hitRate: Math.round((cacheStats.hits / (cacheStats.hits + cacheStats.misses)) * 10000) / 100, vaultDecryptCalls: vault.requestCount('transit/decrypt/') };
console.log(`  secret cache: ${REQUESTS} requests over ${INSTALLS} installs → ${secretCache.vaultDecryptCalls} Vault decrypt calls, hit rate ${secretCache.hitRate}% (${cacheStats.hits} hits / ${cacheStats.misses} misses), ${secretCache.rps} req/s, ${failures} failures`);
await pool.close();
await runner.close();
await vault.close();

// 2. secret + storage + HTTP through the gateway, against hello through the gateway.
const api = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ priority: 'high', path: req.url })); });
await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
const apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
const h = await startGatewayHarness({ gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'warn' } });
const t = await h.tenant();
await h.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [apiOrigin] } }));
await h.publishSample('hello');
const enricher = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.ticket-enricher' })).body;
await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' });
await t.call('PUT', `/api/v1/installs/${enricher.id}/settings`, { apiBaseUrl: apiOrigin, cacheSeconds: 300 });
await t.call('PUT', `/api/v1/installs/${enricher.id}/secrets`, { set: { apiToken: 'bench-token-123' } });
const gw = new Pool(h.url, { connections: 8 });
const get = (path: string) => async () => {
  const res = await gw.request({ path, method: 'GET', headers: { authorization: `Bearer ${t.adminKey}` } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)}`);
};
const n = quick ? 200 : 1000;
const full = await sequential(n, 30, get('/api/ext/com.alga.samples.ticket-enricher/tickets/B-1/enrich?refresh=1'));
const helloViaGateway = await sequential(n, 30, get('/api/ext/com.alga.samples.hello/hello'));
const fullTp = await throughput(8, quick ? 1500 : 4000, get('/api/ext/com.alga.samples.ticket-enricher/tickets/B-2/enrich?refresh=1'));
console.log(`  secret + storage put + loopback HTTP via gateway: p50 ${full.p50} ms, p99 ${full.p99} ms; ${fullTp.rps} req/s at c=8 (errors ${fullTp.errors})`);
console.log(`  baseline, hello via gateway:                      p50 ${helloViaGateway.p50} ms, p99 ${helloViaGateway.p99} ms`);
await gw.close();
await h.close();
await new Promise<void>((r) => api.close(() => r()));

await mkdir(join(root, 'bench-results'), { recursive: true });
await writeFile(join(root, 'bench-results', 'capabilities.json'), JSON.stringify({ at: new Date().toISOString(), quick, secretCache, fullRequest: { sequential: full, throughput: fullTp }, baselines: { helloViaGateway } }, null, 2));
console.log(`wrote ${join(root, 'bench-results', 'capabilities.json')}`);
process.exit(0);
