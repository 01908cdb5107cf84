/**
 * Requests through the gateway end to end (API key → install → execution token → runner →
 * answer, audit row and guest logs written), one gateway process per (database, runner
 * topology): hello; ticket-enricher (secret read + storage put + a loopback HTTP call);
 * optionally guest-log-heavy requests (samples/misbehaving's /log-flood) and the cold start of
 * newly published versions.
 */
import type { Pool } from 'undici';
import { sampleBundle } from '../../test-setup/samples.ts';
import { sampleVariant } from '../../test-setup/bundles.ts';
import { benchPool, request } from '../../test-setup/bench/http-client.ts';
import { measureArms, statusOf, type ScenarioResult, type Step, type StepContext } from '../../test-setup/bench/scenario.ts';
import { startBenchGateway, type BenchGateway, type Tenant } from './bench-gateway.ts';
import { startEnrichmentApi } from './enrichment-api.ts';
import type { GatewaySpec } from './gateway-process.ts';

export interface GatewayStepOptions {
  /** Also the log-heavy and cold-start scenarios (they are run on one topology only, to keep the bench short). */
  logHeavy?: boolean;
  coldStart?: boolean;
  coldStartRepeats: number;
}

const hello = 'com.alga.samples.hello';
const enricher = 'com.alga.samples.ticket-enricher';
const misbehaving = 'com.alga.samples.misbehaving';

export function gatewayScenarioIds(spec: GatewaySpec, options: Pick<GatewayStepOptions, 'logHeavy' | 'coldStart'>) {
  const suffix = `${spec.database}-${spec.runner}`;
  const where = `${spec.database === 'pglite' ? 'PGlite' : 'PostgreSQL'}, ${spec.runner === 'external' ? 'external runner process' : 'in-process runner'}`;
  return [
    { id: `gateway-hello-${suffix}`, title: `hello via gateway (${where})`, group: 'gateway' as const },
    { id: `ticket-enricher-${suffix}`, title: `ticket-enricher: secret + storage put + loopback HTTP via gateway (${where})`, group: 'gateway' as const },
    ...(options.logHeavy ? [{ id: `log-heavy-${suffix}`, title: `guest-log-heavy (/log-flood: 10 000 lines, 200 kept) via gateway (${where})`, group: 'gateway' as const }] : []),
    ...(options.coldStart ? [{ id: `cold-start-${suffix}`, title: `cold start: first request after publishing a new version (${where})`, group: 'gateway' as const }] : []),
  ];
}

function get(pool: Pool, tenant: Tenant, path: string, contains?: string): Promise<string> {
  return request(pool, { path, method: 'GET', headers: { authorization: `Bearer ${tenant.adminKey}` } }, { contains });
}

/** A gateway set up for the scenarios: one tenant with hello, ticket-enricher (and misbehaving) installed. */
interface PreparedGateway {
  gw: BenchGateway;
  pool: Pool;
  tenant: Tenant;
  helloInstallId: string;
  close(): Promise<void>;
}

/** Start the gateway process and install what the scenarios call, through the public API. */
async function setUpGateway(spec: GatewaySpec, options: GatewayStepOptions): Promise<PreparedGateway> {
  const api = await startEnrichmentApi();
  let gw: BenchGateway | undefined;
  try {
    gw = await startBenchGateway(spec);
    const tenant = await gw.api.tenant('Bench tenant');
    await gw.api.publish((await sampleBundle('hello')).bytes);
    const helloInstall = await gw.api.install(tenant, hello);
    await gw.api.publish(await sampleVariant('ticket-enricher', { http: { allowedHosts: [api.origin] } }));
    const enricherInstall = await gw.api.install(tenant, enricher);
    await gw.api.settings(tenant, enricherInstall.id, { apiBaseUrl: api.origin, cacheSeconds: 300 });
    await gw.api.secrets(tenant, enricherInstall.id, { apiToken: 'bench-token-123' });
    if (options.logHeavy) {
      await gw.api.publish((await sampleBundle('misbehaving')).bytes);
      await gw.api.install(tenant, misbehaving);
    }
    const pool = benchPool(gw.url);
    const started = gw;
    return {
      gw, pool, tenant, helloInstallId: helloInstall.id,
      async close() {
        await pool.close();
        await started.stop();
        await api.close();
      },
    };
  } catch (err) {
    await gw?.stop();
    await api.close();
    throw err;
  }
}

export function gatewayStep(spec: GatewaySpec, options: GatewayStepOptions): Step {
  const scenarios = gatewayScenarioIds(spec, options);
  const [helloMeta, enricherMeta] = scenarios;
  let prepared: Promise<PreparedGateway> | undefined;
  const prepare = () => (prepared ??= setUpGateway(spec, options));
  return {
    name: `gateway on ${spec.database}, ${spec.runner} runner`,
    scenarios,
    timeoutMs: 300_000,
    // Tens of seconds of start-up (PGlite migrations, workers, publish-time transpiles): done before anything is measured, beside the other gateways'.
    prepare: async () => { await prepare(); },
    async run(ctx) {
      const { gw, pool, tenant, helloInstallId, close } = await prepare();
      try {
        const results: ScenarioResult[] = [];
        // Each scenario on its own: one that throws is reported failed, and the next still runs on this gateway.
        const attempt = async (meta: Pick<ScenarioResult, 'id' | 'title' | 'group'>, run: () => Promise<ScenarioResult>) => {
          try {
            results.push(await run());
          } catch (err) {
            ctx.log(`  ✗ ${meta.id} failed: ${(err as Error).message}`);
            results.push({ ...meta, status: 'failed', reason: (err as Error).message, levels: [] });
          }
        };

        await attempt(helloMeta, async () => {
          const levels = (await measureArms([{ id: 'hello', probe: gw.usage, call: () => get(pool, tenant, `/api/ext/${hello}/hello`, '"greeting"').then(() => undefined) }], ctx.settings, { rounds: 1 })).get('hello')!;
          return { ...helloMeta, status: statusOf(levels), cpuCovers: gw.usage.covers, levels };
        });

        // refresh=1: every request reads the secret, calls the API and writes storage. Tickets
        // rotate over 256 keys: concurrent writers rarely race on one key, and storage stays far below its key quota.
        await attempt(enricherMeta, async () => {
          const levels = (await measureArms([{
            id: 'enricher', probe: gw.usage,
            call: (i) => get(pool, tenant, `/api/ext/${enricher}/tickets/B-${i % 256}/enrich?refresh=1`, '"ticketId"').then(() => undefined),
          }], ctx.settings, { rounds: 1 })).get('enricher')!;
          return { ...enricherMeta, status: statusOf(levels), cpuCovers: gw.usage.covers, levels };
        });

        const logMeta = scenarios.find((s) => s.id.startsWith('log-heavy'));
        if (logMeta) await attempt(logMeta, () => logHeavy(ctx, gw, pool, tenant, logMeta));
        const coldMeta = scenarios.find((s) => s.id.startsWith('cold-start'));
        if (coldMeta) await attempt(coldMeta, () => coldStart(gw, pool, tenant, helloInstallId, options.coldStartRepeats, coldMeta));
        if (gw.usageNotes.length) for (const r of results) r.notes = [...(r.notes ?? []), ...gw.usageNotes];
        return results;
      } finally {
        await close();
      }
    },
  };
}

/**
 * 10 000 log lines a request (the runner keeps 200 of them, and the gateway writes those to
 * extension_log). Each request uses ~250 ms of guest CPU and one install gets one worker while
 * others may wait, so the levels take no separate warm-up: one call warms the instance.
 */
async function logHeavy(ctx: StepContext, gw: BenchGateway, pool: Pool, tenant: Tenant, meta: Pick<ScenarioResult, 'id' | 'title' | 'group'>): Promise<ScenarioResult> {
  const call = () => get(pool, tenant, `/api/ext/${misbehaving}/log-flood`, '"logged":10000').then(() => undefined);
  // The first call on a fresh instance also compiles the guest's hot paths: near the 1 s CPU budget on a loaded machine.
  for (let tries = 0; tries < 3; tries++) if (await call().then(() => true, () => false)) break;
  // A quick run stops at c=8: at c=32 requests queue behind one worker past the 10 s request budget (504), which takes that long to show.
  const concurrencies = ctx.settings.quick ? ctx.settings.concurrencies.filter((c) => c <= 8) : ctx.settings.concurrencies;
  const levels = (await measureArms([{ id: 'logs', probe: gw.usage, call }], { ...ctx.settings, concurrencies, warmupMs: 0, firstWarmupMs: 0 }, { rounds: 1, expectedRps: 10 })).get('logs')!;
  const notes = ['samples/misbehaving GET /log-flood is the only log-heavy route in samples/ (the others write 0-1 lines)'];
  if (concurrencies.length < ctx.settings.concurrencies.length) notes.push('c=32 is left out of --quick runs');
  return { ...meta, status: statusOf(levels), cpuCovers: gw.usage.covers, levels, notes };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (v: number) => Math.round(v * 10) / 10;

/**
 * Publish a new version of hello (same component, another manifest version: a distinct content
 * hash), then, timed from the moment the publish call returned: upgrade the install to it and
 * make the first request, which loads, compiles and instantiates that version in the runner.
 */
async function coldStart(gw: BenchGateway, pool: Pool, tenant: Tenant, installId: string, repeats: number, meta: Pick<ScenarioResult, 'id' | 'title' | 'group'>): Promise<ScenarioResult> {
  const variants = await Promise.all(Array.from({ length: repeats }, (_, k) => sampleVariant('hello', { version: `1.1.${k}` })));
  const samples: Array<{ publishMs: number; upgradeMs: number; firstRequestMs: number; secondRequestMs: number; totalMs: number }> = [];
  for (const [k, bytes] of variants.entries()) {
    const p0 = performance.now();
    await gw.api.publish(bytes);
    const t0 = performance.now();
    await gw.api.upgrade(tenant, installId, `1.1.${k}`);
    const t1 = performance.now();
    await get(pool, tenant, `/api/ext/${hello}/hello`, '"greeting"');
    const t2 = performance.now();
    await get(pool, tenant, `/api/ext/${hello}/hello`, '"greeting"');
    const t3 = performance.now();
    samples.push({ publishMs: ms(t0 - p0), upgradeMs: ms(t1 - t0), firstRequestMs: ms(t2 - t1), secondRequestMs: ms(t3 - t2), totalMs: ms(t2 - t0) });
  }
  const totals = samples.map((s) => s.totalMs);
  return {
    ...meta, status: 'ok', cpuCovers: gw.usage.covers, levels: [],
    facts: {
      coldStartMedianMs: median(totals),
      coldStartMs: totals,
      upgradeMedianMs: median(samples.map((s) => s.upgradeMs)),
      firstRequestMedianMs: median(samples.map((s) => s.firstRequestMs)),
      secondRequestMedianMs: median(samples.map((s) => s.secondRequestMs)),
      publishMedianMs: median(samples.map((s) => s.publishMs)),
    },
    notes: ['cold start = upgrade call + first request, timed from the moment the publish call returned; the publish call itself (signature check, store, transpile precompute) is not in it'],
  };
}
