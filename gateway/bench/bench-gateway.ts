/**
 * The bench's side of a gateway under test (gateway-process.ts): start it, then set it up
 * through its public API as an operator and a tenant admin would (tenant, signed publish,
 * install, settings, secrets, upgrade).
 */
import { join } from 'node:path';
import { signBundle } from '@alga-psa/extension-contracts';
import { startProcess } from '../../test-setup/bench/measure.ts';
import { childUsage, combinedUsage, type UsageProbe } from '../../test-setup/bench/process-usage.ts';
import { isLocalDatabase, postgresBackendUsage } from '../../test-setup/bench/postgres-usage.ts';
import { repoRoot } from '../../test-setup/bench/paths.ts';
import type { GatewayReady, GatewaySpec } from './gateway-process.ts';

export interface BenchGateway {
  url: string;
  spec: GatewaySpec;
  /** Gateway process, plus the runner process when it is external (and local PostgreSQL backends). */
  usage: UsageProbe;
  /** What the CPU figures leave out, for the report. */
  usageNotes: string[];
  api: GatewayApi;
  stop(): Promise<void>;
}

export async function startBenchGateway(spec: GatewaySpec): Promise<BenchGateway> {
  const started = await startProcess(join(repoRoot, 'gateway/bench/gateway-process.ts'), { ALGA_BENCH_GATEWAY: JSON.stringify(spec) }, /(\{"benchGatewayReady":true.*\})\n/, { cwd: repoRoot, timeoutMs: 120_000 });
  const ready = JSON.parse(started.match[1]) as GatewayReady;
  const pids = [started.child.pid!, ...(ready.runnerPid ? [ready.runnerPid] : [])];
  if (spec.runner === 'external' && !ready.runnerPid) throw new Error('the external runner process was not found among the gateway\'s children');
  const processes = childUsage(pids, spec.runner === 'external' ? 'gateway process + runner process' : 'gateway process (runner in it)');
  const databaseUrl = process.env.DATABASE_URL;
  // On PostgreSQL the database server does part of each request's work: its backends count too, when they run here.
  const database = spec.database === 'postgres' && databaseUrl && isLocalDatabase(databaseUrl) ? await postgresBackendUsage(databaseUrl, pids[0]) : undefined;
  const usage = database ? combinedUsage(`${processes.covers} + PostgreSQL backends (RSS without them)`, [processes, database]) : processes;
  return {
    url: ready.url, spec, usage, api: new GatewayApi(ready),
    usageNotes: spec.database === 'postgres' && !database ? ['CPU leaves out the PostgreSQL server (not on this machine)'] : [],
    async stop() {
      await database?.close();
      await started.stop();
    },
  };
}

export interface Tenant { tenantId: string; adminKey: string }
export interface Published { name: string; version: string; contentHash: string }

export class GatewayApi {
  private readonly gw: GatewayReady;

  constructor(gw: GatewayReady) {
    this.gw = gw;
  }

  private async call<T>(method: string, path: string, auth: string, body?: unknown, expect = [200, 201]): Promise<T> {
    const res = await fetch(`${this.gw.url}${path}`, { method, headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  tenant(name: string): Promise<Tenant> {
    return this.call('POST', '/api/v1/tenants', this.gw.operatorToken, { name });
  }

  /** Signed with the harness's publisher key for the samples' publisher. */
  async publish(bytes: Uint8Array): Promise<Published> {
    const res = await fetch(`${this.gw.url}/api/v1/registry/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/gzip', 'x-alga-key-id': this.gw.publisherKeyId, 'x-alga-signature': signBundle(bytes, this.gw.publisherKeyPem) },
      body: Buffer.from(bytes),
    });
    const text = await res.text();
    if (res.status !== 201) throw new Error(`publish: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as Published;
  }

  install(t: Tenant, extension: string): Promise<{ id: string }> {
    return this.call('POST', '/api/v1/extensions/install', t.adminKey, { extension });
  }

  settings(t: Tenant, installId: string, values: Record<string, unknown>): Promise<unknown> {
    return this.call('PUT', `/api/v1/installs/${installId}/settings`, t.adminKey, values);
  }

  secrets(t: Tenant, installId: string, set: Record<string, string>): Promise<unknown> {
    return this.call('PUT', `/api/v1/installs/${installId}/secrets`, t.adminKey, { set });
  }

  upgrade(t: Tenant, installId: string, version: string): Promise<unknown> {
    return this.call('POST', `/api/v1/installs/${installId}/upgrade`, t.adminKey, { version });
  }
}
