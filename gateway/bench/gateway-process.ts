/**
 * A gateway under bench, in its own process (so the load generator neither shares its event
 * loop nor shows up in its CPU figures): the test harness's real gateway on PGlite or
 * PostgreSQL, with the in-process runner or an external runner process. Configured by
 * ALGA_BENCH_GATEWAY = {"database":"pglite"|"postgres","runner":"in-process"|"external"};
 * PostgreSQL is DATABASE_URL (a fresh schema, dropped at exit). Prints one JSON line with what
 * the bench needs (URLs, operator token, publisher key, pids), then serves until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { startGatewayHarness } from '../../test-setup/gateway-harness.ts';
import { externalRunnerProcess } from '../../test-setup/external-runner.ts';
import { childPids } from '../../test-setup/bench/process-usage.ts';

export interface GatewaySpec { database: 'pglite' | 'postgres'; runner: 'in-process' | 'external' }

/** The line the parent waits for. */
export interface GatewayReady {
  benchGatewayReady: true;
  url: string;
  runnerUrl: string;
  operatorToken: string;
  publisherKeyId: string;
  publisherKeyPem: string;
  runnerPid?: number;
}

const spec = JSON.parse(process.env.ALGA_BENCH_GATEWAY ?? '{}') as GatewaySpec;
if (spec.database === 'postgres') {
  if (!process.env.DATABASE_URL) throw new Error('database "postgres" needs DATABASE_URL');
  // The harness opens PostgreSQL through the tests' variable: a schema of its own, dropped on close.
  process.env.ALGA_TEST_DATABASE_URL = process.env.DATABASE_URL;
} else {
  delete process.env.ALGA_TEST_DATABASE_URL;
}

const h = await startGatewayHarness({
  // info on both sides, as an operator runs it (the harness's gateway default is debug, for the tests).
  gateway: { rateLimitPerMinute: 1_000_000, logLevel: 'info' },
  adminWeb: false,
  // Guest log lines are part of the cost, debug chatter is not.
  externalRunner: spec.runner === 'external' ? externalRunnerProcess({ env: { LOG_LEVEL: 'info' } }) : undefined,
});
// The harness keeps every log line for the tests' leak checks; a bench would grow it by the million.
setInterval(() => { h.logs.length = 0; }, 500).unref();

const runnerPid = spec.runner === 'external'
  ? childPids(process.pid).find((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('runner/src/main.ts'); } catch { return false; } })
  : undefined;
const ready: GatewayReady = { benchGatewayReady: true, url: h.url, runnerUrl: h.runnerUrl, operatorToken: h.operatorToken, publisherKeyId: h.publisherKeyId, publisherKeyPem: h.publisherKeyPem, runnerPid };
console.log(JSON.stringify(ready));
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void h.close().finally(() => process.exit(0)));
