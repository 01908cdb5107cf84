/** The one result file of `npm run bench` (bench-results/bench.json): every scenario and what is derived from them. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { addDerivedFacts, layerRows, ratioRows, type LayerRow, type RatioRow } from './comparisons.ts';
import type { MachineInfo } from './machine.ts';
import { benchJsonFile } from './paths.ts';
import type { BenchSettings, ScenarioResult } from './scenario.ts';
import { checkTargets, type TargetCheck } from './targets.ts';

export interface BenchReport {
  schema: 1;
  machine: MachineInfo;
  settings: BenchSettings & { postgres: boolean; isolatedVm: boolean };
  totalSeconds: number;
  scenarios: ScenarioResult[];
  targets: TargetCheck[];
  ratios: RatioRow[];
  layers: LayerRow[];
}

export function buildReport(machine: MachineInfo, settings: BenchReport['settings'], scenarios: ScenarioResult[], totalSeconds: number): BenchReport {
  addDerivedFacts(scenarios);
  return { schema: 1, machine, settings, totalSeconds, scenarios, targets: checkTargets(scenarios), ratios: ratioRows(scenarios), layers: layerRows(scenarios) };
}

export async function writeReportJson(report: BenchReport, file = benchJsonFile): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

export async function readReportJson(file = benchJsonFile): Promise<BenchReport> {
  const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
  if (report.schema !== 1) throw new Error(`${file}: not a bench report of this version (schema ${String(report.schema)})`);
  return report;
}
