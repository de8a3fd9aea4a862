/**
 * svg: hand-written SVG plots. The latency series — for each series (put sequential,
 * put ×16/64/256, get, watch ×1/×N, fan-out lag) a group of bars, p50 and p99 for each system,
 * on a logarithmic millisecond axis — and, for runs without any (memory, recovery), their
 * figures side by side, each on its own linear scale; and several runs' ratios on one chart
 * (`bench kv-summary`). Pure: returns the document as a string.
 */
import { figureKey } from './report.js';
import type { SummaryGroup } from './summary.js';
import { SYSTEMS, type Better, type LatencySeries, type SystemName, type WorkloadResult } from './types.js';

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

/** svgStart opens a plot: the document, its white background, the title and the subtitle. */
function svgStart(width: number, height: number, left: number, o: SvgOptions): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="24" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  ];
  if (o.subtitle !== undefined) out.push(`<text x="${left}" y="42" fill="#555555">${escapeXml(o.subtitle)}</text>`);
  return out;
}

/** svgEnd closes a plot's lines into the document. */
function svgEnd(out: string[]): string {
  out.push('</svg>');
  return `${out.join('\n')}\n`;
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
  const out = svgStart(width, height, left, o);
  if (series.length === 0) {
    out.push(`<text x="${left}" y="${top + 20}">No latency series to plot.</text>`);
    return svgEnd(out);
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
  return svgEnd(out);
}

/** FigureBars is one figure (a row of the table) with each system's value. */
export interface FigureBars {
  /** group and name are the figure's row in the table ("recovery of a follower after kill -9", "until serving s"). */
  readonly group: string;
  readonly name: string;
  readonly better: Better;
  readonly values: Partial<Record<SystemName, number>>;
}

/** FIGURE_COLORS are the bars of renderFiguresSvg: each system's p50 colour. */
const FIGURE_COLORS: Record<SystemName, string> = { raftkube: COLORS.raftkube.p50, etcd: COLORS.etcd.p50 };

/** figureBars picks the figures of the workloads that have no latency series (memory, recovery), in table order. */
export function figureBars(results: readonly WorkloadResult[]): FigureBars[] {
  const out: { group: string; name: string; better: Better; values: Partial<Record<SystemName, number>> }[] = [];
  for (const r of results) {
    if (r.workload !== 'memory' && r.workload !== 'recovery') continue;
    for (const f of r.figures) {
      let bars = out.find((b) => b.group === f.group && b.name === f.name);
      if (bars === undefined) {
        bars = { group: f.group, name: f.name, better: f.better, values: {} };
        out.push(bars);
      }
      bars.values[r.system] = f.value;
    }
  }
  return out;
}

/**
 * renderFiguresSvg draws each figure as a group of bars, one per system, scaled to that figure's
 * largest value (units differ from figure to figure), with the value written above each bar.
 */
export function renderFiguresSvg(figures: readonly FigureBars[], o: SvgOptions): string {
  const systems = SYSTEMS.filter((sys) => figures.some((f) => f.values[sys] !== undefined));
  const barW = 44;
  // Room for the group's name on one line under its bars.
  const groupW = Math.max(230, systems.length * barW + 40);
  const left = 30;
  const top = 90;
  const plotH = 240;
  const bottom = 60;
  const width = Math.max(480, left + figures.length * groupW + 20);
  const height = top + plotH + bottom;
  const out = svgStart(width, height, left, o);
  if (figures.length === 0) {
    out.push(`<text x="${left}" y="${top}">No figures to plot.</text>`);
    return svgEnd(out);
  }
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${width - 20}" y2="${top + plotH}" stroke="#333333"/>`);
  figures.forEach((f, g) => {
    const label = `${f.group}: ${f.name}`;
    const gx = left + g * groupW + (groupW - systems.length * barW) / 2; // bars centred in their group
    const max = Math.max(...systems.map((sys) => f.values[sys] ?? 0));
    systems.forEach((sys, k) => {
      const v = f.values[sys];
      if (v === undefined) return;
      const h = max > 0 ? (plotH * v) / max : 0;
      const x = gx + k * barW;
      const yy = top + plotH - h;
      out.push(`<rect class="bar" data-series="${sys}" data-label="${escapeXml(label)}" x="${x}" y="${fmt(yy)}" width="${barW - 6}" height="${fmt(Math.max(0.5, h))}" fill="${FIGURE_COLORS[sys]}"><title>${escapeXml(`${sys} ${label}: ${v}`)}</title></rect>`);
      out.push(`<text x="${fmt(x + (barW - 6) / 2)}" y="${fmt(yy - 4)}" text-anchor="middle">${escapeXml(v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2))}</text>`);
    });
    const cx = gx + (systems.length * barW - 6) / 2;
    const arrow = f.better === 'lower' ? ' ↓' : ' ↑';
    out.push(`<text x="${fmt(cx)}" y="${top + plotH + 18}" text-anchor="middle">${escapeXml(f.group)}</text>`);
    out.push(`<text x="${fmt(cx)}" y="${top + plotH + 34}" text-anchor="middle" font-weight="bold">${escapeXml(`${f.name}${arrow}`)}</text>`);
  });
  let lx = left;
  for (const sys of systems) {
    out.push(`<rect x="${lx}" y="56" width="10" height="10" fill="${FIGURE_COLORS[sys]}"/>`);
    out.push(`<text x="${lx + 14}" y="65">${escapeXml(sys)}</text>`);
    lx += 100;
  }
  return svgEnd(out);
}

/** RUN_COLORS tell the cluster sizes apart in renderRatioSvg (3 members, 5 members, more). */
const RUN_COLORS = ['#1f5fa8', '#2e8b57', '#8e44ad', '#c2551b'] as const;

/**
 * advantage turns raftkube / etcd into "how many times better raftkube did" whatever the figure's
 * direction: above 1 raftkube is better, below 1 etcd is.
 */
export function advantage(ratioRaftkubeEtcd: number, better: Better): number {
  return better === 'lower' ? 1 / ratioRaftkubeEtcd : ratioRaftkubeEtcd;
}

/**
 * renderRatioSvg draws several runs against etcd on one chart: a row per figure, a dot per run
 * (coloured by cluster size) at raftkube's advantage on a log axis, a line at parity. Right of
 * the line raftkube did better, left of it etcd, whichever way the figure counts.
 */
export function renderRatioSvg(groups: readonly SummaryGroup[], o: SvgOptions): string {
  // One row per figure, in the order figures first appear over the groups.
  const rowOf = new Map<string, number>();
  const labels: string[] = [];
  for (const g of groups) {
    for (const r of g.rows) {
      if (rowOf.has(figureKey(r))) continue;
      rowOf.set(figureKey(r), labels.length);
      labels.push(`${r.group}: ${r.name}`);
    }
  }
  const dots = groups.flatMap((g, gi) =>
    g.rows.flatMap((r) => r.ratios.flatMap((x, run) => (x === null || !(x > 0) ? [] : [{ gi, members: g.members, run, row: rowOf.get(figureKey(r)) ?? 0, adv: advantage(x, r.better), ratio: x, label: `${r.group}: ${r.name}` }]))),
  );
  const left = 20;
  // About 6 px per character of the 11 px font, so the longest figure's name fits.
  const labelW = Math.max(200, 12 + 6 * Math.max(0, ...labels.map((l) => [...l].length)));
  const plotW = 520;
  const top = 96;
  const rowH = 22;
  const width = left + labelW + plotW + 40;
  const height = top + Math.max(1, labels.length) * rowH + 50;
  const out = svgStart(width, height, left, o);
  if (dots.length === 0) {
    out.push(`<text x="${left}" y="${top}">No figure has both systems.</text>`);
    return svgEnd(out);
  }
  const lo = Math.min(0.25, ...dots.map((d) => d.adv / 1.1));
  const hi = Math.max(4, ...dots.map((d) => d.adv * 1.1));
  const x0 = left + labelW;
  const xOf = (a: number): number => x0 + (plotW * (Math.log2(a) - Math.log2(lo))) / (Math.log2(hi) - Math.log2(lo));
  const plotBottom = top + labels.length * rowH;
  out.push(`<rect x="${fmt(xOf(1))}" y="${top - 6}" width="${fmt(x0 + plotW - xOf(1))}" height="${plotBottom - top + 6}" fill="#eef4fb"/>`);
  for (let e = Math.ceil(Math.log2(lo)); e <= Math.floor(Math.log2(hi)); e++) {
    const a = 2 ** e;
    const x = fmt(xOf(a));
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${plotBottom}" stroke="${e === 0 ? '#333333' : '#dddddd'}"/>`);
    out.push(`<text x="${x}" y="${plotBottom + 16}" text-anchor="middle">${a >= 1 ? `${a}×` : `1/${1 / a}×`}</text>`);
  }
  out.push(`<text x="${fmt(xOf(1) - 6)}" y="${plotBottom + 34}" text-anchor="end" fill="#555555">← etcd better</text>`);
  out.push(`<text x="${fmt(xOf(1) + 6)}" y="${plotBottom + 34}" fill="#555555">raftkube better →</text>`);
  labels.forEach((label, i) => {
    const y = top + i * rowH + rowH / 2;
    out.push(`<text x="${x0 - 8}" y="${fmt(y + 4)}" text-anchor="end">${escapeXml(label)}</text>`);
    out.push(`<line x1="${x0}" y1="${fmt(y)}" x2="${x0 + plotW}" y2="${fmt(y)}" stroke="#f0f0f0"/>`);
  });
  for (const d of dots) {
    const y = top + d.row * rowH + rowH / 2 + (d.gi - (groups.length - 1) / 2) * 5;
    const color = RUN_COLORS[d.gi % RUN_COLORS.length] ?? RUN_COLORS[0];
    out.push(`<circle class="dot" data-members="${d.members}" data-run="${d.run + 1}" data-label="${escapeXml(d.label)}" cx="${fmt(xOf(d.adv))}" cy="${fmt(y)}" r="4" fill="${color}" fill-opacity="0.8"><title>${escapeXml(`${d.members} members, run ${d.run + 1}: ${d.label}, raftkube / etcd ${d.ratio.toFixed(2)}`)}</title></circle>`);
  }
  let lx = left;
  groups.forEach((g, gi) => {
    out.push(`<circle cx="${lx + 5}" cy="61" r="5" fill="${RUN_COLORS[gi % RUN_COLORS.length] ?? RUN_COLORS[0]}"/>`);
    const text = `${g.members} members, ${g.runs.length} run${g.runs.length === 1 ? '' : 's'}`;
    out.push(`<text x="${lx + 14}" y="65">${escapeXml(text)}</text>`);
    lx += 24 + text.length * 6.5;
  });
  return svgEnd(out);
}
