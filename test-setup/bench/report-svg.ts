/**
 * A line chart as an inline SVG string (the HTML report must be self-contained: no CDN, no
 * chart library). Both axes may be logarithmic; latencies and rates span decades.
 */

export interface Series { name: string; points: Array<[number, number]> }

export interface ChartSpec {
  title: string;
  series: Series[];
  xTicks: Array<{ value: number; label: string }>;
  xLabel: string;
  yLabel: string;
  /** Map a data x to the axis scale (e.g. log2 of concurrency, "nines" of a percentile). */
  xScale?: (x: number) => number;
  width?: number;
  height?: number;
}

export const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#637939'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** 1, 2, 5 × powers of ten across [lo, hi]; fewer when the range is wide. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(hi / lo);
  const steps = decades > 4 ? [1] : decades > 2 ? [1, 3] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of steps) { const v = m * 10 ** e; if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v); }
  }
  return ticks;
}

const tickLabel = (v: number) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1000 ? `${v / 1000}k` : String(Number(v.toPrecision(2))));

export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 520;
  const height = spec.height ?? 300;
  const m = { top: 28, right: 12, bottom: 40, left: 56 };
  // One legend row per series: scenario titles are long, and cut short they stop saying which is which.
  const legendRows = spec.series.length;
  const plotH = height - m.top - m.bottom;
  const plotW = width - m.left - m.right;
  const totalH = height + legendRows * 16 + 6;
  const xs = spec.xScale ?? ((x: number) => x);
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0 && Number.isFinite(v));
  if (ys.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="60"><text x="8" y="30" font-size="13">${escapeXml(spec.title)}: no data</text></svg>`;
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const xVals = spec.xTicks.map((t) => xs(t.value));
  const xLo = Math.min(...xVals);
  const xHi = Math.max(...xVals);
  const px = (x: number) => m.left + ((xs(x) - xLo) / (xHi - xLo || 1)) * plotW;
  const py = (y: number) => m.top + plotH - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo) || 1)) * plotH;
  const parts: string[] = [];
  parts.push(`<text x="${m.left}" y="16" font-size="13" font-weight="600">${escapeXml(spec.title)}</text>`);
  for (const v of logTicks(yLo, yHi)) {
    const y = py(v).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" stroke="#e4e4e4"/><text x="${m.left - 6}" y="${y}" font-size="10" text-anchor="end" dominant-baseline="middle">${tickLabel(v)}</text>`);
  }
  for (const t of spec.xTicks) {
    const x = px(t.value).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + plotH}" stroke="#efefef"/><text x="${x}" y="${m.top + plotH + 14}" font-size="10" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 32}" font-size="11" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" font-size="11" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    const color = palette[i % palette.length];
    const pts = s.points.filter((p) => p[1] > 0 && Number.isFinite(p[1]));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${pts.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2.6" fill="${color}"><title>${escapeXml(`${s.name}: ${p[1]}`)}</title></circle>`);
    const maxChars = Math.floor((width - m.left) / 5.6);
    const ly = height + 4 + i * 16;
    parts.push(`<rect x="${m.left}" y="${ly}" width="10" height="10" fill="${color}"/><text x="${m.left + 14}" y="${ly + 9}" font-size="10">${escapeXml(s.name.length > maxChars ? `${s.name.slice(0, maxChars - 1)}…` : s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${totalH}" viewBox="0 0 ${width} ${totalH}" font-family="system-ui, sans-serif">${parts.join('')}</svg>`;
}
