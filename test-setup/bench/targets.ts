/**
 * The performance targets (issue 11), in one table, and their check against a run. A target
 * names the scenarios it applies to by id prefix (every topology of "gateway hello" is held
 * to it), the figure (a latency percentile or req/s at a concurrency, or a scenario fact), and
 * the bound.
 */
import type { ScenarioResult } from './scenario.ts';

type Figure =
  | { metric: 'p50' | 'p99'; concurrency: number }
  | { metric: 'rps'; concurrency: number }
  | { fact: string };

export interface Target {
  label: string;
  /** Scenario id prefix. */
  scenarios: string;
  figure: Figure;
  op: '<=' | '>=';
  value: number;
  unit: 'ms' | 'req/s' | 'MB';
}

export const targets: Target[] = [
  { label: 'runner pooled hello: p50 at c=1', scenarios: 'runner-pooled', figure: { metric: 'p50', concurrency: 1 }, op: '<=', value: 0.8, unit: 'ms' },
  { label: 'runner pooled hello: req/s at c=32', scenarios: 'runner-pooled', figure: { metric: 'rps', concurrency: 32 }, op: '>=', value: 3000, unit: 'req/s' },
  { label: 'runner pooled hello: p99 at c=32', scenarios: 'runner-pooled', figure: { metric: 'p99', concurrency: 32 }, op: '<=', value: 25, unit: 'ms' },
  { label: 'runner fresh hello: p50 at c=1', scenarios: 'runner-fresh', figure: { metric: 'p50', concurrency: 1 }, op: '<=', value: 2.5, unit: 'ms' },
  { label: 'runner fresh hello: req/s at c=32', scenarios: 'runner-fresh', figure: { metric: 'rps', concurrency: 32 }, op: '>=', value: 500, unit: 'req/s' },
  { label: 'gateway hello: p50 − runner pooled p50 (c=1)', scenarios: 'gateway-hello-', figure: { fact: 'gatewayOverheadP50Ms' }, op: '<=', value: 0.4, unit: 'ms' },
  { label: 'gateway hello: req/s at c=32', scenarios: 'gateway-hello-', figure: { metric: 'rps', concurrency: 32 }, op: '>=', value: 1500, unit: 'req/s' },
  { label: 'ticket-enricher on PostgreSQL: p50 at c=1', scenarios: 'ticket-enricher-postgres-', figure: { metric: 'p50', concurrency: 1 }, op: '<=', value: 4, unit: 'ms' },
  { label: 'ticket-enricher on PostgreSQL: req/s at c=8', scenarios: 'ticket-enricher-postgres-', figure: { metric: 'rps', concurrency: 8 }, op: '>=', value: 600, unit: 'req/s' },
  // "Within 2× of that on PGlite": twice the PostgreSQL bounds.
  { label: 'ticket-enricher on PGlite: p50 at c=1 (2× the PostgreSQL bound)', scenarios: 'ticket-enricher-pglite-', figure: { metric: 'p50', concurrency: 1 }, op: '<=', value: 8, unit: 'ms' },
  { label: 'ticket-enricher on PGlite: req/s at c=8 (½ the PostgreSQL bound)', scenarios: 'ticket-enricher-pglite-', figure: { metric: 'rps', concurrency: 8 }, op: '>=', value: 300, unit: 'req/s' },
  { label: 'cold start after publish returns (median)', scenarios: 'cold-start-', figure: { fact: 'coldStartMedianMs' }, op: '<=', value: 150, unit: 'ms' },
  { label: 'RSS per warm pooled instance', scenarios: 'installs-100', figure: { fact: 'rssPerWarmInstanceMb' }, op: '<=', value: 8, unit: 'MB' },
  { label: '100 installs warm: runner RSS', scenarios: 'installs-100', figure: { fact: 'rssWarmMb' }, op: '<=', value: 1024, unit: 'MB' },
];

export interface TargetCheck {
  label: string;
  scenario: string;
  bound: string;
  figure?: number;
  verdict: 'met' | 'MISSED' | 'not measured';
  /** Why there is no figure (scenario failed, skipped, or never run). */
  reason?: string;
}

function figureOf(s: ScenarioResult, figure: Figure): number | undefined {
  if ('fact' in figure) {
    const v = s.facts?.[figure.fact];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  }
  const level = s.levels.find((l) => l.concurrency === figure.concurrency);
  if (!level || level.requests === 0) return undefined;
  return figure.metric === 'rps' ? level.rps : level.latency[figure.metric];
}

export function checkTargets(scenarios: ScenarioResult[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const t of targets) {
    const bound = `${t.op === '<=' ? '≤' : '≥'} ${t.value} ${t.unit}`;
    const matching = scenarios.filter((s) => s.id.startsWith(t.scenarios));
    if (matching.length === 0) { out.push({ label: t.label, scenario: `${t.scenarios}*`, bound, verdict: 'not measured', reason: t.scenarios.includes('postgres') ? 'no DATABASE_URL' : 'not run' }); continue; }
    for (const s of matching) {
      const figure = figureOf(s, t.figure);
      if (figure === undefined) { out.push({ label: t.label, scenario: s.id, bound, verdict: 'not measured', reason: s.reason ?? s.status }); continue; }
      const met = t.op === '<=' ? figure <= t.value : figure >= t.value;
      out.push({ label: t.label, scenario: s.id, bound, figure, verdict: met ? 'met' : 'MISSED' });
    }
  }
  return out;
}
