/**
 * report: what `raftkube bench pods` prints — the conditions of the run, the nodes it saw and
 * the runtime the pods ran on, a Markdown table of the startup latencies (pasteable into
 * bench/RESULTS.md) and the verdict against the 1 s goal — and its SVG: every pod's created →
 * Running and created → Ready latency against the moment it was created. Pure: no I/O.
 */
import { markdownTable } from '../control-plane/report.js';
import { escapeXml } from '../kv/svg.js';
import { formatCensus } from './cluster.js';
import type { BenchPodsReport, RunMeta } from './types.js';

/** ms formats a latency in milliseconds with sensible precision. */
export function ms(v: number): string {
  if (v === 0) return '0';
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function kinds(counts: Readonly<Record<string, number>>): string {
  const e = Object.entries(counts);
  return e.length === 0 ? 'none' : e.map(([k, n]) => `${k} (${n.toLocaleString('en-US')} pods)`).join(', ');
}

/** formatMeta is the first lines of a report: when, where, the load, the command. */
export function formatMeta(m: RunMeta): string[] {
  return [
    `Date: ${m.date}; ${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}; ${m.masters} masters${m.quick ? '; --quick' : ''}`,
    `Load average before: ${m.loadBefore.join(' ')}; after: ${m.loadAfter.join(' ')}`,
    `Command: ${m.command}`,
  ];
}

/** formatReport renders a run for the terminal and for bench/RESULTS.md. */
export function formatReport(r: BenchPodsReport): string {
  const rows = r.series.map((s) => [s.label, s.summary.count.toLocaleString('en-US'), ms(s.summary.p50), ms(s.summary.p90), ms(s.summary.p99), ms(s.summary.max), String(s.missing)]);
  const lines = [
    '',
    ...formatMeta(r.meta),
    `Nodes: ${formatCensus(r.nodes)}; the pods ran on: ${kinds(r.podRuntimes)}`,
    `Pods: ${r.meta.pods.toLocaleString('en-US')} (${r.meta.workload}), target ${r.meta.targetRate} pods/s, achieved ${r.createRate.toFixed(1)} pods/s`,
    '',
    markdownTable(['pod startup (from the create sent)', 'pods', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'missing'], rows, new Set([1, 2, 3, 4, 5, 6])),
    '',
  ];
  if (r.goal !== null) lines.push(`Goal, created → Ready p99 < ${ms(r.goal.limitMs)} ms on simulated nodes: ${r.goal.met ? 'met' : 'NOT met'} (${ms(r.goal.p99)} ms${r.series[3]?.missing ? `, ${r.series[3].missing} pods never Ready` : ''})`);
  else lines.push('Goal (created → Ready p99 < 1 s) applies to simulated nodes only: not judged here.');
  for (const n of r.notes) lines.push(`Note: ${n}`);
  for (const e of r.errors) lines.push(`Create error: ${e}`);
  return `${lines.join('\n')}\n`;
}

const W = 900;
const H = 480;
const PAD = { left: 70, right: 20, top: 60, bottom: 50 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * renderPodsSvg plots each pod's created → Running (light) and created → Ready (dark) latency
 * against the second it was created, with the Ready p50 and p99 and the 1 s goal as lines.
 */
export function renderPodsSvg(r: BenchPodsReport): string {
  const ready = r.series[3]?.summary;
  const points = r.pods.flatMap((p) => [p.runningMs, p.readyMs]).filter((v): v is number => v !== null);
  const yMax = niceMax(Math.max(...points, ready?.p99 ?? 0, r.goal?.limitMs ?? 0, 1));
  const xMax = niceMax(Math.max(1, ...r.pods.map((p) => p.sentAtMs / 1000)));
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const x = (s: number): number => PAD.left + (s / xMax) * pw;
  const y = (v: number): number => PAD.top + ph - (v / yMax) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(`Pod startup: ${r.meta.pods.toLocaleString('en-US')} pods at ${r.meta.targetRate} pods/s on ${kinds(r.podRuntimes)}`)}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(`${r.meta.date.slice(0, 16).replace('T', ' ')} UTC, ${r.meta.cpus} cores, load ${r.meta.loadBefore[0] ?? '?'} → ${r.meta.loadAfter[0] ?? '?'}; Ready p50 ${ready === undefined ? '?' : ms(ready.p50)} ms, p99 ${ready === undefined ? '?' : ms(ready.p99)} ms`)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${ms(v)}</text>`);
    const s = (xMax * i) / 5;
    out.push(`<text x="${x(s).toFixed(1)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${Number.isInteger(s) ? s : s.toFixed(1)}</text>`);
  }
  out.push(`<text x="${PAD.left + pw / 2}" y="${H - 12}" text-anchor="middle">seconds since the first create (when the pod's create was sent)</text>`);
  out.push(`<text transform="translate(16 ${PAD.top + ph / 2}) rotate(-90)" text-anchor="middle">ms from create sent</text>`);
  out.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  const dots = (key: 'runningMs' | 'readyMs', color: string): void => {
    for (const p of r.pods) {
      const v = p[key];
      if (v !== null) out.push(`<circle cx="${x(p.sentAtMs / 1000).toFixed(1)}" cy="${y(v).toFixed(1)}" r="1.6" fill="${color}"/>`);
    }
  };
  dots('runningMs', '#9ecae1');
  dots('readyMs', '#08519c');
  // below: the label goes under its line (so that close p50 and p99 labels do not overlap).
  const hline = (v: number, color: string, label: string, dash: string, below: boolean): void => {
    if (v > yMax) return;
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${color}" stroke-dasharray="${dash}"/>`);
    out.push(`<text x="${W - PAD.right - 4}" y="${(y(v) + (below ? 14 : -4)).toFixed(1)}" text-anchor="end" fill="${color}">${escapeXml(label)}</text>`);
  };
  if (ready !== undefined && ready.count > 0) {
    hline(ready.p50, '#2ca02c', `Ready p50 ${ms(ready.p50)} ms`, '4 3', true);
    hline(ready.p99, '#d62728', `Ready p99 ${ms(ready.p99)} ms`, '4 3', false);
  }
  if (r.goal !== null) hline(r.goal.limitMs, '#444', `goal: p99 < ${ms(r.goal.limitMs)} ms`, '1 3', false);
  out.push(`<circle cx="${PAD.left + 12}" cy="${PAD.top + 12}" r="3" fill="#9ecae1"/><text x="${PAD.left + 20}" y="${PAD.top + 16}">created → Running</text>`);
  out.push(`<circle cx="${PAD.left + 12}" cy="${PAD.top + 28}" r="3" fill="#08519c"/><text x="${PAD.left + 20}" y="${PAD.top + 32}">created → Ready</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
