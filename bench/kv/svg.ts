/**
 * svg: a hand-written SVG plot of the latency series — for each series (put sequential,
 * put ×16/64/256, get, watch ×1/×N, fan-out lag) a group of bars, p50 and p99 for each system,
 * on a logarithmic millisecond axis. Pure: returns the document as a string.
 */
import { SYSTEMS, type LatencySeries, type SystemName, type WorkloadResult } from './types.js';

/** PlotSeries is one latency distribution of one system. */
export interface PlotSeries {
  readonly system: SystemName;
  readonly label: string;
  readonly p50: number;
  readonly p99: number;
}

/** SvgOptions title the plot. */
export interface SvgOptions {
  readonly title: string;
  readonly subtitle?: string;
}

const COLORS: Record<SystemName, { readonly p50: string; readonly p99: string }> = {
  raftkube: { p50: '#1f5fa8', p99: '#8fb5e0' },
  etcd: { p50: '#c2551b', p99: '#f0b48f' },
};

/** plotSeries picks the latency series to plot out of workload results (skipping empty ones). */
export function plotSeries(results: readonly WorkloadResult[]): PlotSeries[] {
  return results.flatMap((r) => r.latencies.filter((l: LatencySeries) => l.summary.count > 0 && r.workload !== 'memory').map((l) => ({ system: r.system, label: l.label, p50: l.summary.p50, p99: l.summary.p99 })));
}

/** escapeXml escapes text for an SVG text node or attribute. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function tickLabel(ms: number): string {
  return ms >= 1 ? `${ms} ms` : `${ms.toFixed(ms >= 0.1 ? 1 : 2)} ms`;
}

/** renderSvg draws the bars; an empty series list gives a plot saying there is nothing to show. */
export function renderSvg(series: readonly PlotSeries[], o: SvgOptions): string {
  const labels = [...new Set(series.map((s) => s.label))];
  const systems = SYSTEMS.filter((sys) => series.some((s) => s.system === sys));
  const barW = 14;
  const groupW = Math.max(60, systems.length * 2 * barW + 24);
  const left = 70;
  const top = 70;
  const plotH = 320;
  const bottom = 120;
  // Room on the right for the last slanted label.
  const width = Math.max(480, left + labels.length * groupW + 170);
  const height = top + plotH + bottom;
  const values = series.flatMap((s) => [s.p50, s.p99]).filter((v) => v > 0);
  // The axis starts a decade below any value within a factor of 2 of a power of ten, so no bar is a sliver.
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1) / 2)));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 1) * 1.05)));
  const y = (v: number): number => top + plotH - (plotH * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  if (o.subtitle !== undefined) out.push(`<text x="${left}" y="42" fill="#555555">${escapeXml(o.subtitle)}</text>`);
  if (series.length === 0) {
    out.push(`<text x="${left}" y="${top + 20}">No latency series to plot.</text>`);
    out.push('</svg>');
    return `${out.join('\n')}\n`;
  }
  // Decade grid lines and labels on the log axis.
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const yy = fmt(y(d));
    out.push(`<line x1="${left}" y1="${yy}" x2="${width - 20}" y2="${yy}" stroke="#dddddd"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeXml(tickLabel(d))}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333333"/>`);
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - 20}" y2="${top + plotH}" stroke="#333333"/>`);
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`);
  labels.forEach((label, g) => {
    const gx = left + g * groupW + 12;
    let k = 0;
    for (const sys of systems) {
      const s = series.find((x) => x.system === sys && x.label === label);
      for (const pct of ['p50', 'p99'] as const) {
        const x = gx + k * barW;
        k++;
        if (s === undefined) continue;
        const v = s[pct];
        const yy = y(v);
        out.push(`<rect class="bar" data-series="${sys}-${pct}" data-label="${escapeXml(label)}" x="${x}" y="${fmt(yy)}" width="${barW - 2}" height="${fmt(Math.max(0.5, top + plotH - yy))}" fill="${COLORS[sys][pct]}"><title>${escapeXml(`${sys} ${label} ${pct}: ${v.toFixed(3)} ms`)}</title></rect>`);
      }
    }
    const cx = gx + (k * barW) / 2;
    out.push(`<text transform="translate(${fmt(cx)} ${top + plotH + 12}) rotate(35)" text-anchor="start">${escapeXml(label)}</text>`);
  });
  // Legend.
  let lx = left;
  for (const sys of systems) {
    for (const pct of ['p50', 'p99'] as const) {
      out.push(`<rect x="${lx}" y="52" width="10" height="10" fill="${COLORS[sys][pct]}"/>`);
      out.push(`<text x="${lx + 14}" y="61">${escapeXml(`${sys} ${pct}`)}</text>`);
      lx += 100;
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
