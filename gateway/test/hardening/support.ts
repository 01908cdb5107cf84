/**
 * What the hardening suite's files share: the known secret values every file sets and then
 * looks for everywhere, a closed-loop load generator whose every response is checked against
 * its own request, and the figures each file reports (printed as `[hardening] …` lines and
 * written to `bench-results/hardening/<file>.json`, which the issue notes quote).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { GatewayHarness } from '../../../test-setup/gateway-harness.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Secret values that must never show up outside the guest's outgoing requests. */
export function knownSecrets(label: string): { apiToken: string; token: string; all: string[] } {
  const apiToken = `hz_${label}_apiToken_7Qm2Xv9Lp4`;
  const token = `hz_${label}_token_R8t1Kd6Wn3`;
  return { apiToken, token, all: [apiToken, token] };
}

/** Everything a hardening file collected that the outside world can see, checked for the known secrets. */
export async function expectNoSecretAnywhere(h: GatewayHarness, secrets: readonly string[], extra: { responses?: string[]; other?: Record<string, string> } = {}): Promise<{ places: number; found: number }> {
  const knex = h.db.knex;
  const places: Record<string, string> = {
    'gateway and runner log lines': h.logs.join('\n'),
    responses: (extra.responses ?? []).join('\n'),
    'audit rows (extension_execution_log)': JSON.stringify(await knex('extension_execution_log').select()),
    'guest log rows (extension_log)': JSON.stringify(await knex('extension_log').select()),
    'storage rows': JSON.stringify(await knex('ext_storage_records').select()),
    'secret rows (ciphertext only)': JSON.stringify(await knex('tenant_extension_install_secrets').select()),
    'gateway /metrics': await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${h.operatorToken}` } })).text(),
    ...(extra.other ?? {}),
  };
  let found = 0;
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) {
      if (text.includes(secret)) found++;
      expect(text.includes(secret), `a known secret value appears in ${place}`).toBe(false);
    }
  }
  return { places: Object.keys(places).length, found };
}

/**
 * The shared PostgreSQL server's own log, when the suite runs on one (CI: Debian's cluster logs
 * to /var/log/postgresql) and this process may read it; undefined otherwise.
 */
export async function sharedPostgresServerLog(): Promise<string | undefined> {
  if (!process.env.ALGA_TEST_DATABASE_URL) return undefined;
  const dir = '/var/log/postgresql';
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^postgresql-.*\.log$/.test(f));
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8').catch(() => undefined)));
  const readable = texts.filter((t): t is string => t !== undefined);
  return readable.length > 0 ? readable.join('\n') : undefined;
}

export interface Outcome {
  ok: boolean;
  /** HTTP status, or `network` (refused, reset, timed out) */
  status: number | 'network';
  /** The error code of a non-200 answer, when it had one. */
  code?: string;
  /** The response was another request's (another tenant's, another client's). */
  misrouted?: boolean;
}

export interface Sample extends Outcome {
  /** ms since the load started, when the answer arrived */
  at: number;
  latencyMs: number;
}

export interface LoadResult {
  clients: number;
  durationMs: number;
  requests: number;
  ok: number;
  misrouted: number;
  /** Requests that got no answer at all (network errors, timeouts). */
  lost: number;
  byStatus: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: Sample[];
}

/**
 * `clients` concurrent clients, each sending its next request as soon as the previous one is
 * answered, until `durationMs` has passed or `signal` aborts (closed loop: a stalled system
 * slows the load down instead of piling it up). `send` checks the answer against its own request.
 */
export async function runLoad(opts: { clients: number; durationMs: number; signal?: AbortSignal; send(client: number, seq: number): Promise<Outcome> }): Promise<LoadResult> {
  const started = performance.now();
  const samples: Sample[] = [];
  await Promise.all(Array.from({ length: opts.clients }, async (_, client) => {
    for (let seq = 0; performance.now() - started < opts.durationMs && !opts.signal?.aborted; seq++) {
      const t0 = performance.now();
      let outcome: Outcome;
      try {
        outcome = await opts.send(client, seq);
      } catch {
        outcome = { ok: false, status: 'network' };
      }
      const now = performance.now();
      samples.push({ ...outcome, at: now - started, latencyMs: now - t0 });
    }
  }));
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const byStatus: Record<string, number> = {};
  for (const s of samples) {
    const key = s.ok ? '200' : `${s.status}${s.code ? ` ${s.code}` : ''}`;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }
  return {
    clients: opts.clients,
    durationMs: Math.round(performance.now() - started),
    requests: samples.length,
    ok: samples.filter((s) => s.ok).length,
    misrouted: samples.filter((s) => s.misrouted).length,
    lost: samples.filter((s) => s.status === 'network').length,
    byStatus,
    p50Ms: round(pct(0.5)),
    p99Ms: round(pct(0.99)),
    maxMs: round(latencies.at(-1) ?? 0),
    samples,
  };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The figures without the per-request samples. */
export function summary(result: LoadResult): Omit<LoadResult, 'samples'> {
  const { samples: _samples, ...rest } = result;
  return rest;
}

const figures: Record<string, unknown> = {};

/** Records a figure for this file's report and prints it, so CI's log carries it too. */
export function report(file: string, name: string, value: unknown): void {
  figures[name] = value;
  process.stdout.write(`[hardening] ${file} · ${name}: ${JSON.stringify(value)}\n`);
  void mkdir(join(repoRoot, 'bench-results', 'hardening'), { recursive: true })
    .then(() => writeFile(join(repoRoot, 'bench-results', 'hardening', `${file}.json`), `${JSON.stringify(figures, null, 2)}\n`))
    .catch(() => undefined);
}

/**
 * A POST to hello's `/echo/*` that must come back as its own: the path and body it sent, and
 * the config (greeting) of the tenant whose key it used.
 */
export async function echoThrough(h: GatewayHarness, tenant: { adminKey: string; greeting: string }, marker: string, timeoutMs = 15_000): Promise<Outcome> {
  const res = await fetch(`${h.url}/api/ext/com.alga.samples.hello/echo/${marker}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.adminKey}`, 'content-type': 'text/plain' },
    body: marker,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) {
    let code: string | undefined;
    try { code = (JSON.parse(text) as { error?: { code?: string } }).error?.code; } catch { /* not JSON */ }
    return { ok: false, status: res.status, code };
  }
  const body = JSON.parse(text) as { path?: string; body?: string; config?: { greeting?: string } };
  const own = body.path === `/echo/${marker}` && body.body === marker && body.config?.greeting === tenant.greeting;
  return { ok: own, status: 200, misrouted: !own };
}
