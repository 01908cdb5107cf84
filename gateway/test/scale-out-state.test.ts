/**
 * Scale-out state shared through the database (issue 13): a bundle published through one gateway
 * replica is served by another that never saw the publish, and reaches a runner that never had
 * it through that replica's internal bundle API (service token, sha256-checked, kept on the
 * runner's disk); per-install rate limits hold across replicas that lease from one bucket.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import knexFactory from 'knex';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { createRunner, runnerConfigFromEnv, type Runner } from '@alga-psa/runner';
import { startGatewayHarness, freePort, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { helloVariant } from '../../test-setup/bundles.ts';
import { createGateway, gatewayConfigFromEnv } from '../src/index.ts';
import { SharedRateLimiter } from '../src/proxy/shared-rate-limiter.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('bundles across replicas', () => {
  let h: GatewayHarness;
  let replica: Awaited<ReturnType<typeof createGateway>>;
  let replicaUrl: string;
  let runner: Runner;
  let runnerDir: string;

  beforeAll(async () => {
    h = await startGatewayHarness({ adminWeb: false });
    runnerDir = await mkdtemp(join(tmpdir(), 'alga-runner-own-'));
    // Gateway B: the same database and keys, a bundle directory of its own that starts empty.
    const config = gatewayConfigFromEnv({}, { dataDir: join(runnerDir, 'gw-b'), runnerUrl: h.runnerUrl, operatorToken: h.operatorToken, runnerServiceToken: h.runnerServiceToken, logLevel: 'silent' } as never);
    replica = await createGateway(config, {
      db: h.db, secretCipher: h.secretCipher, bundleStore: new FileBundleStore(join(runnerDir, 'gw-b', 'bundles')),
      transpileCache: new TranspileCache(join(process.cwd(), '.alga-cache', 'transpile')), executionKeys: h.gateway.executionKeys,
    });
    replicaUrl = (await replica.listen(await freePort(), '127.0.0.1')).url;
    // A runner with its own empty bundle directory, fetching from gateway B.
    runner = await createRunner(runnerConfigFromEnv({}, {
      bundleDir: join(runnerDir, 'bundles'), cacheDir: join(process.cwd(), '.alga-cache', 'transpile'), workers: 1,
      trustedKeys: h.gateway.executionKeys.publicJwks(), logLevel: 'silent', gatewayUrl: replicaUrl, serviceToken: h.runnerServiceToken,
    } as never));
  });
  afterAll(async () => {
    await runner?.close();
    await replica?.close();
    await h?.close();
    await rm(runnerDir, { recursive: true, force: true });
  });

  it('gateway B serves a bundle published through A, to the runner service token only', async () => {
    const bytes = await helloVariant({ name: 'com.acme.replicated', version: '1.0.0' });
    const published = await h.publish(bytes);
    expect(published.status).toBe(201);
    const { contentHash } = (await published.json()) as { contentHash: string };
    expect(existsSync(join(runnerDir, 'gw-b', 'bundles', contentHash.slice(0, 2), `${contentHash}.tgz`))).toBe(false);

    const get = (hash: string, token?: string) => fetch(`${replicaUrl}/api/internal/ext-runner/bundles/${hash}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const res = await get(contentHash, h.runnerServiceToken);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(contentHash);
    // B keeps a copy on its own disk after the first read from the database.
    expect(existsSync(join(runnerDir, 'gw-b', 'bundles', contentHash.slice(0, 2), `${contentHash}.tgz`))).toBe(true);

    expect((await (await get(contentHash)).json()).error.code).toBe('E_AUTH');
    expect((await (await get(contentHash, h.operatorToken)).json()).error.code).toBe('E_AUTH');
    expect((await (await get('0'.repeat(64), h.runnerServiceToken)).json()).error.code).toBe('E_BUNDLE_NOT_FOUND');
    expect((await (await get('..%2f..%2fetc', h.runnerServiceToken)).json()).error.code).toMatch(/^E_(BAD_REQUEST|NOT_FOUND)$/);
  });

  it('a runner that never had the bundle fetches it from B, checks it and keeps it', async () => {
    const bytes = await helloVariant({ name: 'com.acme.fetched', version: '1.0.0' });
    const { contentHash } = (await (await h.publish(bytes)).json()) as { contentHash: string };
    const onDisk = join(runnerDir, 'bundles', contentHash.slice(0, 2), `${contentHash}.tgz`);
    expect(existsSync(onDisk)).toBe(false);
    const component = await runner.loader.load(contentHash);
    expect(component.manifest.name).toBe('com.acme.fetched');
    expect(existsSync(onDisk)).toBe(true);
  });

  it('a tampered copy in the shared store is refused and never cached', async () => {
    const bytes = await helloVariant({ name: 'com.acme.tampered', version: '1.0.0' });
    const { contentHash } = (await (await h.publish(bytes)).json()) as { contentHash: string };
    const other = await helloVariant({ name: 'com.acme.tampered', version: '2.0.0' });
    await h.db.knex('extension_bundle_blob').where({ content_hash: contentHash }).update({ bytes: Buffer.from(other) });
    // A's own disk still has the true copy; B and the runner only see the database's.
    await expect(runner.loader.load(contentHash)).rejects.toMatchObject({ code: 'E_BUNDLE_INVALID' });
    expect(existsSync(join(runnerDir, 'bundles', contentHash.slice(0, 2), `${contentHash}.tgz`))).toBe(false);
    expect(existsSync(join(runnerDir, 'gw-b', 'bundles', contentHash.slice(0, 2), `${contentHash}.tgz`))).toBe(false);
  });
});

describe('rate limits shared by replicas (SharedRateLimiter)', () => {
  let h: GatewayHarness;
  beforeAll(async () => { h = await startGatewayHarness({ runner: false, adminWeb: false }); });
  afterAll(() => h?.close());

  it('two replicas together never grant more than the bucket, and lease instead of asking per request', async () => {
    const a = new SharedRateLimiter(h.db.knex, 60, { leaseSize: 5 });
    const b = new SharedRateLimiter(h.db.knex, 60, { leaseSize: 5 });
    const key = `install-${Date.now()}`;
    let allowed = 0;
    let lastRefusal = 0;
    for (let i = 0; i < 200; i++) {
      const wait = await (i % 2 ? a : b).take(key);
      if (wait === 0) allowed++; else lastRefusal = wait;
    }
    // 60 per minute across both; at most one lease (5) may sit unspent on a replica.
    expect(allowed).toBeLessThanOrEqual(60);
    expect(allowed).toBeGreaterThanOrEqual(55);
    expect(lastRefusal).toBeGreaterThanOrEqual(1);
    expect(a.leasesTaken + b.leasesTaken).toBeLessThan(allowed);
    // Another install has its own bucket.
    expect(await a.take(`${key}-other`)).toBe(0);
  });

  it('concurrent requests of one install share one lease round trip', async () => {
    const a = new SharedRateLimiter(h.db.knex, 6000, { leaseSize: 50 });
    const key = `burst-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 40 }, () => a.take(key)));
    expect(answers.every((w) => w === 0)).toBe(true);
    expect(a.leasesTaken).toBe(1);
  });

  it('with the database unreachable each replica applies the whole limit itself (a real refused connection)', async () => {
    const port = await freePort();
    const dead = knexFactory({ client: 'pg', connection: { host: '127.0.0.1', port, user: 'x', database: 'x' }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2000 });
    const warnings: string[] = [];
    const limiter = new SharedRateLimiter(dead, 3, { logger: { warn: (_o: object, m: string) => warnings.push(m), info: () => {} } as never });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await limiter.take('k'));
      expect(answers.slice(0, 3)).toEqual([0, 0, 0]);
      expect(answers[3]).toBeGreaterThan(0);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/whole limit on its own/);
    } finally {
      await dead.destroy();
    }
  });
});
