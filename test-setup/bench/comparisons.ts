/**
 * Figures that relate scenarios of the same run: baselines as ratios to ours (ours ÷ baseline
 * for latency, baseline ÷ ours for throughput: > 1 means the baseline is faster), the cost of
 * each layer from the engine to the gateway, and the gateway's own overhead.
 */
import type { LevelResult, ScenarioResult } from './scenario.ts';

/** Which of ours each baseline is set against: isolation modes against their nearest kin. */
export const comparisons: Array<{ baseline: string; ours: string[] }> = [
  { baseline: 'baseline-direct', ours: ['engine-pool', 'runner-pooled'] },
  { baseline: 'baseline-express', ours: ['runner-pooled'] },
  { baseline: 'baseline-ivm-reused-context', ours: ['engine-pool', 'runner-pooled'] },
  { baseline: 'baseline-ivm-fresh-context', ours: ['runner-fresh'] },
  { baseline: 'baseline-ivm-fresh-isolate', ours: ['runner-fresh'] },
];

export interface RatioRow {
  baseline: string;
  ours: string;
  baselineP50Ms?: number;
  oursP50Ms?: number;
  /** ours p50 ÷ baseline p50, at c=1. */
  latencyRatio?: number;
  /** baseline req/s ÷ ours, per concurrency both ran at. */
  throughputRatio: Record<string, number>;
}

const level = (s: ScenarioResult | undefined, c: number): LevelResult | undefined => s?.levels.find((l) => l.concurrency === c && l.requests > 0);
const round2 = (v: number) => Math.round(v * 100) / 100;

export function ratioRows(scenarios: ScenarioResult[]): RatioRow[] {
  const byId = new Map(scenarios.map((s) => [s.id, s]));
  const rows: RatioRow[] = [];
  for (const { baseline, ours } of comparisons) {
    const b = byId.get(baseline);
    if (!b || b.levels.length === 0) continue;
    for (const id of ours) {
      const o = byId.get(id);
      if (!o || o.levels.length === 0) continue;
      const b1 = level(b, 1);
      const o1 = level(o, 1);
      if (!b1 || !o1) continue;
      const throughputRatio: Record<string, number> = {};
      for (const bl of b.levels) {
        const ol = level(o, bl.concurrency);
        if (ol && bl.rps > 0 && ol.rps > 0) throughputRatio[`c${bl.concurrency}`] = round2(bl.rps / ol.rps);
      }
      rows.push({ baseline, ours: id, baselineP50Ms: b1.latency.p50, oursP50Ms: o1.latency.p50, latencyRatio: b1.latency.p50 > 0 ? round2(o1.latency.p50 / b1.latency.p50) : undefined, throughputRatio });
    }
  }
  return rows;
}

export interface LayerRow { layer: string; scenario: string; p50Ms?: number; addedMs?: number }

/** From the component call alone up to a request through the gateway, p50 at c=1 each. */
export function layerRows(scenarios: ScenarioResult[]): LayerRow[] {
  const byId = new Map(scenarios.map((s) => [s.id, s]));
  const chain: Array<[string, string]> = [
    ['handler called directly in Node (no Wasm)', 'baseline-direct'],
    ['component call via worker pool (in-process)', 'engine-pool'],
    ['+ token verification, schema, replay check (ExecuteService)', 'engine-service'],
    ['+ HTTP and JSON, runner in its own process', 'runner-pooled'],
    ['+ gateway (PGlite, external runner)', 'gateway-hello-pglite-external'],
  ];
  const rows: LayerRow[] = [];
  let previous: number | undefined;
  for (const [layer, id] of chain) {
    const p50 = level(byId.get(id), 1)?.latency.p50;
    rows.push({ layer, scenario: id, p50Ms: p50, addedMs: p50 !== undefined && previous !== undefined ? round2(p50 - previous) : undefined });
    if (p50 !== undefined) previous = p50;
  }
  return rows;
}

/** Facts one scenario gets from another of the same run: the gateway's overhead over the runner. */
export function addDerivedFacts(scenarios: ScenarioResult[]): void {
  const runnerP50 = level(scenarios.find((s) => s.id === 'runner-pooled'), 1)?.latency.p50;
  if (runnerP50 === undefined) return;
  for (const s of scenarios) {
    if (!s.id.startsWith('gateway-hello-')) continue;
    const p50 = level(s, 1)?.latency.p50;
    if (p50 !== undefined) s.facts = { ...s.facts, gatewayOverheadP50Ms: round2(p50 - runnerP50), runnerPooledP50Ms: runnerP50 };
  }
}
