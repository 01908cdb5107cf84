/**
 * Two gateway replicas on one PostgreSQL database (issue 13): a settings change or an operator
 * switch made through gateway A is seen through gateway B on its next request, through LISTEN/
 * NOTIFY (installs/change-feed.ts), although B caches install configs for 10 minutes. On PGlite
 * there is one process and no feed: the test runs on PostgreSQL (CI) only.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBundleStore } from '@alga-psa/extension-host/component/bundle-store';
import { TranspileCache } from '@alga-psa/extension-host/component/transpile-cache';
import { operatorCaller, startGatewayHarness, type GatewayHarness } from '../../test-setup/gateway-harness.ts';
import { createGateway, gatewayConfigFromEnv, type Gateway } from '../src/index.ts';

const onPostgres = Boolean(process.env.ALGA_TEST_DATABASE_URL);

describe.runIf(onPostgres)('install changes between gateway replicas (PostgreSQL LISTEN/NOTIFY)', () => {
  let h: GatewayHarness;
  let b: Gateway;
  let bUrl: string;
  let t: Awaited<ReturnType<GatewayHarness['tenant']>>;

  beforeAll(async () => {
    h = await startGatewayHarness({ gateway: { installConfigCacheTtlMs: 600_000 }, adminWeb: false });
    // Gateway B: the same database, runner, keys and bundle store; its own caches.
    const config = gatewayConfigFromEnv({}, { dataDir: h.dir, runnerUrl: h.runnerUrl, operatorToken: h.operatorToken, runnerServiceToken: h.runnerServiceToken, installConfigCacheTtlMs: 600_000, logLevel: 'info' } as never);
    b = await createGateway(config, {
      db: h.db, secretCipher: h.secretCipher, bundleStore: new FileBundleStore(join(h.dir, 'bundles')), transpileCache: new TranspileCache(join(process.cwd(), '.alga-cache', 'transpile')),
      executionKeys: h.gateway.executionKeys, logger: pino({ level: 'silent' }),
    });
    bUrl = (await b.listen(0, '127.0.0.1')).url;
    await h.publishSample('hello');
    t = await h.tenant();
    const install = (await t.call('POST', '/api/v1/extensions/install', { extension: 'com.alga.samples.hello' })).body;
    await t.call('PUT', `/api/v1/installs/${install.id}/settings`, { greeting: 'One' });
  });
  afterAll(async () => { await b?.close(); await h?.close(); });

  const helloOn = async (url: string) => {
    const res = await fetch(`${url}/api/ext/com.alga.samples.hello/hello`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    return { status: res.status, body: (await res.json()) as { greeting?: string; error?: { code: string } } };
  };

  /** Polls B until `ok`, returning how long it took (it must be far below the 10-minute TTL). */
  async function seenOnB(ok: (r: Awaited<ReturnType<typeof helloOn>>) => boolean): Promise<number> {
    const started = performance.now();
    for (;;) {
      if (ok(await helloOn(bUrl))) return performance.now() - started;
      if (performance.now() - started > 2_000) throw new Error('gateway B still serves the old install config after 2 s');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('a settings change through A is seen through B at once, not after its cache TTL', async () => {
    expect((await helloOn(bUrl)).body.greeting).toBe('One'); // now cached in B
    const install = (await t.call('GET', '/api/v1/installs')).body.installs[0];
    expect((await t.call('PUT', `/api/v1/installs/${install.id}/settings`, { greeting: 'Two' })).status).toBe(200);
    const ms = await seenOnB((r) => r.body.greeting === 'Two');
    process.stdout.write(`[change-feed] settings change through A seen through B after ${ms.toFixed(1)} ms\n`);
    expect(ms).toBeLessThan(2_000);
  });

  it('disabling the install through A refuses it through B at once, and enabling restores it', async () => {
    const install = (await t.call('GET', '/api/v1/installs')).body.installs[0];
    await t.call('POST', `/api/v1/installs/${install.id}/disable`);
    await seenOnB((r) => r.status === 404 && r.body.error?.code === 'E_INSTALL_DISABLED');
    await t.call('POST', `/api/v1/installs/${install.id}/enable`);
    await seenOnB((r) => r.status === 200);
  });

  it("an operator's switch for the tenant through A reaches B's cached config", async () => {
    const operator = operatorCaller(h);
    expect((await helloOn(bUrl)).status).toBe(200);
    const warm = b.installConfigCache.misses;
    expect((await helloOn(bUrl)).status).toBe(200);
    expect(b.installConfigCache.misses).toBe(warm); // served from B's cache
    // hello uses no capability to switch: what B must show is that it dropped the tenant's cached config.
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: false, tenantId: t.tenantId });
    await seenOnB(() => b.installConfigCache.misses > warm);
    await operator('PUT', '/api/v1/operator/capabilities/cap:storage.kv', { enabled: true, tenantId: t.tenantId });
  });
});
