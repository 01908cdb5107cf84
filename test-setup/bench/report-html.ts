/**
 * bench-results/report.html: one self-contained page (inline CSS and SVG, no script, nothing
 * fetched) with the Markdown tables as HTML, throughput against concurrency per group, and
 * each scenario's latency distribution as a percentile curve per concurrency level.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { reportHtmlFile } from './paths.ts';
import type { BenchReport } from './report.ts';
import { renderMarkdown } from './report-markdown.ts';
import { escapeXml, lineChart } from './report-svg.ts';
import type { ScenarioGroup, ScenarioResult } from './scenario.ts';

/** The few Markdown forms renderMarkdown emits: tables, "- " items, paragraphs. */
function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].startsWith('|'); i++) {
        if (/^\|(---\|)+$/.test(lines[i])) continue;
        // Cells were escaped as `\|`, which the ' | ' separator never matches.
        rows.push(lines[i].slice(2, -2).split(' | ').map((c) => c.replace(/\\\|/g, '|')));
      }
      i--;
      const [head, ...body] = rows;
      out.push(`<table><thead><tr>${head.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td class="${/MISSED|FAILED|SKIPPED/.test(c) ? 'bad' : c === 'met' ? 'good' : ''}">${escapeXml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`);
    } else if (line.startsWith('- ')) {
      const items: string[] = [];
      for (; i < lines.length && lines[i].startsWith('- '); i++) items.push(`<li>${escapeXml(lines[i].slice(2))}</li>`);
      i--;
      out.push(`<ul>${items.join('')}</ul>`);
    } else if (line.trim()) {
      out.push(`<p>${escapeXml(line)}</p>`);
    }
  }
  return out.join('\n');
}

/** Percentiles on a "nines" scale, so p99 and p99.9 get as much room as p0-p90. */
const nines = (p: number) => -Math.log10(1 - Math.min(p, 99.97) / 100);
const percentileTicks = [0, 50, 90, 99, 99.9].map((v) => ({ value: v, label: `p${v}` })).concat([{ value: 100, label: 'max' }]);

function latencyChart(s: ScenarioResult): string {
  return lineChart({
    title: s.title,
    series: s.levels.filter((l) => l.curve.length > 0).map((l) => ({ name: `c=${l.concurrency} (${l.requests} requests)`, points: l.curve })),
    xTicks: percentileTicks, xScale: nines, xLabel: 'percentile', yLabel: 'latency ms (log)', width: 460, height: 260,
  });
}

function throughputChart(title: string, scenarios: ScenarioResult[], concurrencies: number[]): string {
  return lineChart({
    title,
    series: scenarios.map((s) => ({ name: s.title, points: s.levels.map((l) => [l.concurrency, l.rps] as [number, number]) })),
    xTicks: concurrencies.map((c) => ({ value: c, label: `c=${c}` })), xScale: (c) => Math.log2(c), xLabel: 'concurrent callers', yLabel: 'req/s (log)', width: 680, height: 320,
  });
}

const groupTitles: Record<ScenarioGroup, string> = {
  runner: 'Runner over HTTP (own process)', engine: 'Engine in-process', gateway: 'Through the gateway', baseline: 'Baselines',
};

export function renderHtml(report: BenchReport): string {
  const measured = report.scenarios.filter((s) => s.levels.some((l) => l.requests > 0));
  const groups = (Object.keys(groupTitles) as ScenarioGroup[]).map((g) => [g, measured.filter((s) => s.group === g)] as const).filter(([, list]) => list.length > 0);
  const throughput = groups.map(([g, list]) => throughputChart(`Throughput: ${groupTitles[g]}`, list, report.settings.concurrencies)).join('\n');
  const latency = measured.map(latencyChart).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>alga bench ${escapeXml(report.machine.date)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.bad { color: #b00020; font-weight: 600; }
td.good { color: #1b7a1b; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts svg { border: 1px solid #eee; background: #fff; }
</style></head><body>
<h1>alga extension runtime: bench</h1>
${markdownToHtml(renderMarkdown(report))}
<h2>Throughput against concurrency</h2>
<div class="charts">${throughput}</div>
<h2>Latency distribution per scenario</h2>
<p>Percentile curves per concurrency level; x on a "nines" scale (p90, p99, p99.9 equally spaced), y logarithmic.</p>
<div class="charts">${latency}</div>
</body></html>
`;
}

export async function writeReportHtml(report: BenchReport, file = reportHtmlFile): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderHtml(report));
  return file;
}
