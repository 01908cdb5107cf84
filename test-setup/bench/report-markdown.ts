/**
 * The report as Markdown tables: printed on stdout at the end of a run, and (with the machine
 * line) the generated part of README's Performance section.
 */
import type { BenchReport } from './report.ts';
import type { LevelResult, ScenarioResult } from './scenario.ts';

/** 3 significant figures, fewer decimals as values grow: 0.0031, 0.412, 12.3, 1234. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return String(Math.round(v));
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return String(Number(v.toPrecision(3)));
}

/** Request rates: whole requests per second. */
const fmtRate = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : String(Math.round(v)));

function table(head: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

const at = (s: ScenarioResult, c: number): LevelResult | undefined => s.levels.find((l) => l.concurrency === c);

function perLevel(s: ScenarioResult, concurrencies: number[], pick: (l: LevelResult) => number | undefined, format = fmt): string {
  return concurrencies.map((c) => { const l = at(s, c); return l ? format(pick(l)) : '–'; }).join(' · ');
}

export function scenarioTable(report: BenchReport): string {
  const cs = report.settings.concurrencies;
  const top = cs[cs.length - 1];
  const rows = report.scenarios.filter((s) => s.levels.length > 0 || s.status === 'failed' || s.status === 'skipped').map((s) => {
    if (s.status === 'failed' || s.status === 'skipped') return [s.title, `${s.status.toUpperCase()}: ${s.reason ?? ''}`, '', '', '', '', ''];
    const one = at(s, 1);
    const errors = s.levels.reduce((n, l) => n + l.errors, 0);
    return [
      s.title,
      one ? `${fmt(one.latency.p50)} / ${fmt(one.latency.p90)} / ${fmt(one.latency.p99)}` : '–',
      perLevel(s, cs, (l) => l.rps, fmtRate),
      at(s, top) ? fmt(at(s, top)!.latency.p99) : '–',
      perLevel(s, cs, (l) => l.cpuMsPerRequest),
      fmt(s.levels[s.levels.length - 1]?.rssMb),
      errors === 0 ? '0' : `${errors}: ${s.levels.find((l) => l.firstError)?.firstError?.slice(0, 80) ?? ''}`,
    ];
  });
  return table(['scenario', 'p50 / p90 / p99 ms (c=1)', `req/s c=${cs.join(' · ')}`, `p99 ms c=${top}`, `CPU ms/req c=${cs.join(' · ')}`, 'RSS MB', 'errors'], rows);
}

export function targetTable(report: BenchReport): string {
  return table(['target', 'scenario', 'bound', 'figure', 'verdict'], report.targets.map((t) => [
    t.label, t.scenario, t.bound, t.figure === undefined ? '–' : t.bound.endsWith('req/s') ? fmtRate(t.figure) : fmt(t.figure), t.verdict === 'not measured' ? `not measured (${t.reason ?? ''})` : t.verdict,
  ]));
}

export function ratioTable(report: BenchReport): string {
  const title = (id: string) => report.scenarios.find((s) => s.id === id)?.title ?? id;
  const cs = report.settings.concurrencies;
  return table(['baseline', 'against', 'baseline p50 ms', 'ours p50 ms', 'latency ours ÷ baseline', `throughput baseline ÷ ours (c=${cs.join(' · ')})`], report.ratios.map((r) => [
    title(r.baseline), title(r.ours), fmt(r.baselineP50Ms), fmt(r.oursP50Ms), r.latencyRatio === undefined ? '–' : `${fmt(r.latencyRatio)}×`,
    cs.map((c) => (r.throughputRatio[`c${c}`] === undefined ? '–' : `${fmt(r.throughputRatio[`c${c}`])}×`)).join(' · '),
  ]));
}

export function layerTable(report: BenchReport): string {
  return table(['layer (hello, c=1)', 'p50 ms', 'added ms'], report.layers.map((l) => [l.layer, fmt(l.p50Ms), l.addedMs === undefined ? '' : `${l.addedMs >= 0 ? '+' : ''}${fmt(l.addedMs)}`]));
}

/** The scenarios whose result is a handful of figures rather than levels, and the facts of the others. */
export function factLines(report: BenchReport): string {
  const lines: string[] = [];
  for (const s of report.scenarios) {
    const f = s.facts;
    if (s.status === 'failed' && s.levels.length === 0 && s.id.startsWith('cold-start')) lines.push(`- ${s.title}: FAILED: ${s.reason}`);
    if (!f) continue;
    if (typeof f.gatewayOverheadP50Ms === 'number') lines.push(`- ${s.title}: gateway overhead = its p50 − runner pooled p50 (${fmt(f.runnerPooledP50Ms as number)} ms) = ${fmt(f.gatewayOverheadP50Ms)} ms`);
    if (Array.isArray(f.coldStartMs)) {
      lines.push(`- ${s.title}: ${f.coldStartMs.map((v) => `${fmt(v)} ms`).join(', ')}; median ${fmt(f.coldStartMedianMs as number)} ms (upgrade ${fmt(f.upgradeMedianMs as number)} + first request ${fmt(f.firstRequestMedianMs as number)}; the request after it ${fmt(f.secondRequestMedianMs as number)} ms; publish itself ${fmt(f.publishMedianMs as number)} ms)`);
    }
    if (typeof f.vaultDecryptCalls === 'number') {
      lines.push(`- ${s.title}: ${f.vaultDecryptCalls} Vault decrypt calls for ${(f.cacheHits as number) + (f.cacheMisses as number)} secret reads over ${f.installs} installs (hit rate ${fmt(f.hitRatePercent as number)}%)`);
    }
    if (typeof f.rssPerWarmInstanceMb === 'number') {
      lines.push(`- ${s.title}: runner RSS ${fmt(f.rssStartMb as number)} MB at start, ${fmt(f.rssAfterFirstInstallMb as number)} MB after the first install, ${fmt(f.rssWarmMb as number)} MB with all ${f.installs} warm (${f.instancesLive} instances live on ${f.workers} workers): ${fmt(f.rssPerWarmInstanceMb)} MB per warm instance; first call of an install ${fmt(f.firstCallOfOtherInstallsP50Ms as number)} ms p50 (the very first, which loads the component: ${fmt(f.firstCallOfFirstInstallMs as number)} ms)`);
    }
  }
  return lines.join('\n');
}

export function machineLine(report: BenchReport): string {
  const m = report.machine;
  return `${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, load average ${m.loadAverageAtStart.join(' / ')} at start; Node ${m.node}; ${m.date.slice(0, 16).replace('T', ' ')} UTC; ${report.settings.quick ? 'quick run' : 'full run'}, ${report.totalSeconds} s`;
}

/** Every table, in reading order. */
export function renderMarkdown(report: BenchReport): string {
  const notes = report.scenarios.flatMap((s) => (s.notes ?? []).map((n) => `- ${s.id}: ${n}`));
  return [
    `Measured: ${machineLine(report)}.`,
    '',
    scenarioTable(report),
    '',
    factLines(report),
    '',
    'Targets:',
    '',
    targetTable(report),
    '',
    'Baselines, same run (ratios > 1: the baseline is faster):',
    '',
    ratioTable(report),
    '',
    'Where the time goes:',
    '',
    layerTable(report),
    ...(notes.length ? ['', 'Notes:', '', ...notes] : []),
  ].join('\n');
}
