/**
 * `npm run bench`: every performance scenario in one run, with its baselines measured in the
 * same run; writes bench-results/bench.json and bench-results/report.html, prints the tables,
 * and (unless --quick) regenerates README's Performance figures.
 *
 *   node test-setup/bench/run.ts [--quick] [--no-ivm] [--only <substring>]
 *
 * --quick: short levels (~1.5 min), README left alone. --no-ivm: skip the isolated-vm
 * baselines (otherwise built once into the user cache, ~3 min). --only: run only the steps
 * whose name or scenario ids contain the substring (development of the bench itself).
 * PostgreSQL scenarios run when DATABASE_URL is set. The exit code is 1 when a scenario failed
 * (threw or timed out); failed requests are reported per scenario and level, and the outputs
 * are written either way.
 */
import { buildCached } from '../../sdk/cli/src/build/build-cache.ts';
import { engineStep } from '../../runner/bench/engine-scenarios.ts';
import { hundredInstallsStep, runnerFreshStep, runnerPooledStep } from '../../runner/bench/runner-scenarios.ts';
import { secretCacheStep } from '../../runner/bench/secret-cache-scenario.ts';
import { gatewayStep } from '../../gateway/bench/gateway-scenarios.ts';
import { loadIsolatedVm, type IsolatedVmLoad } from './isolated-vm-cache.ts';
import { machineInfo } from './machine.ts';
import { repoRoot } from './paths.ts';
import { buildReport, writeReportJson } from './report.ts';
import { writeReportHtml } from './report-html.ts';
import { renderMarkdown } from './report-markdown.ts';
import { updateReadme } from './readme-section.ts';
import { runStep, type BenchSettings, type ScenarioResult, type Step } from './scenario.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const noIvm = args.includes('--no-ivm');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const postgres = Boolean(process.env.DATABASE_URL);
const started = performance.now();
const log = (line: string) => console.log(line);

const settings: BenchSettings = quick
  ? { quick, levelMs: 500, warmupMs: 150, firstWarmupMs: 400, concurrencies: [1, 8, 32] }
  : { quick, levelMs: 2500, warmupMs: 400, firstWarmupMs: 1500, concurrencies: [1, 8, 32] };
const machine = machineInfo();
log(`alga bench${quick ? ' (quick)' : ''}: ${machine.cores} cores, ${machine.cpuModel}, load ${machine.loadAverageAtStart.join(' / ')}, Node ${machine.node}${postgres ? ', PostgreSQL from DATABASE_URL' : ', PGlite only (set DATABASE_URL for PostgreSQL)'}`);

// Everything CPU-heavy that is not measured happens first: componentize builds, the isolated-vm build.
for (const sample of ['hello', 'ticket-enricher', 'misbehaving']) await buildCached(`${repoRoot}samples/${sample}`, { onProgress: (m) => log(`  build ${sample}: ${m}`) });
const ivm: IsolatedVmLoad = noIvm ? { ok: false, reason: 'skipped (--no-ivm)' } : await loadIsolatedVm({ onProgress: log });
if (!ivm.ok) log(`isolated-vm baseline unavailable: ${ivm.reason}`);

const coldStartRepeats = quick ? 2 : 5;
const steps: Step[] = [
  runnerPooledStep(),
  runnerFreshStep(),
  engineStep(async () => ivm),
  hundredInstallsStep(),
  secretCacheStep(),
  gatewayStep({ database: 'pglite', runner: 'in-process' }, { coldStartRepeats }),
  gatewayStep({ database: 'pglite', runner: 'external' }, { logHeavy: true, coldStart: true, coldStartRepeats }),
  ...(postgres ? [
    gatewayStep({ database: 'postgres', runner: 'in-process' }, { coldStartRepeats }),
    gatewayStep({ database: 'postgres', runner: 'external' }, { coldStartRepeats }),
  ] : []),
].filter((s) => !only || s.name.includes(only) || s.scenarios.some((sc) => sc.id.includes(only)));

// Set-ups side by side, before anything is measured: their failures surface in their own steps.
const prepared = steps.filter((s) => s.prepare);
if (prepared.length) {
  const t = performance.now();
  log(`setting up ${prepared.map((s) => s.name).join('; ')}`);
  await Promise.allSettled(prepared.map((s) => s.prepare!()));
  log(`  set up in ${Math.round((performance.now() - t) / 100) / 10} s`);
}

const scenarios: ScenarioResult[] = [];
for (const step of steps) scenarios.push(...(await runStep(step, { settings, log })));

const totalSeconds = Math.round((performance.now() - started) / 1000);
const report = buildReport(machine, { ...settings, postgres, isolatedVm: ivm.ok }, scenarios, totalSeconds);
const json = await writeReportJson(report);
const html = await writeReportHtml(report);
log(`\n${renderMarkdown(report)}\n`);
log(`wrote ${json} and ${html} (${totalSeconds} s)`);
if (!quick && !only) log((await updateReadme(report)) ? 'README.md Performance figures regenerated' : 'README.md Performance figures unchanged');

const failed = scenarios.filter((s) => s.status === 'failed');
const withErrors = scenarios.filter((s) => s.status === 'errors');
if (withErrors.length) log(`scenarios with failed requests: ${withErrors.map((s) => s.id).join(', ')}`);
if (failed.length) log(`scenarios that failed: ${failed.map((s) => `${s.id} (${s.reason})`).join('; ')}`);
process.exit(failed.length ? 1 : 0);
