/**
 * timeline: an SVG plot of a chaos run — faults as shaded bands (labelled with their number and
 * kind), every operation as a dot at its start time and latency (logarithmic milliseconds),
 * blue when it succeeded, orange when it failed, red when its outcome is unknown. Pure: returns
 * the document as a string.
 */
import type { CompletedOp, FaultWindow } from './availability.js';

/** TimelineOptions title the plot. */
export interface TimelineOptions {
  readonly title: string;
  readonly subtitle: string;
  readonly endNs: number;
  /** maxDots thins the dots evenly beyond this many (a long run has tens of thousands). */
  readonly maxDots?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const COLOR = { ok: '#1f5fa8', fail: '#e08a1e', info: '#c0282d' } as const;
const BAND = ['#f3d9d9', '#dfe8d2', '#dcdcf0', '#f3ead0'];

/** renderTimeline draws the plot. */
export function renderTimeline(ops: readonly CompletedOp[], faults: readonly FaultWindow[], o: TimelineOptions): string {
  const left = 70;
  const top = 60;
  const plotW = 900;
  const plotH = 300;
  const width = left + plotW + 30;
  const height = top + plotH + 90;
  const endS = Math.max(1, o.endNs / 1e9);
  const x = (ns: number): number => left + (plotW * Math.min(endS, Math.max(0, ns / 1e9))) / endS;
  const latencies = ops.map((op) => Math.max(0.1, (op.endNs - op.startNs) / 1e6));
  const lo = 0.1;
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...latencies))));
  const y = (ms: number): number => top + plotH - (plotH * (Math.log10(Math.max(lo, ms)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${left}" y="22" font-size="16" font-weight="bold">${esc(o.title)}</text>`);
  parts.push(`<text x="${left}" y="40" fill="#555">${esc(o.subtitle)}</text>`);
  faults.forEach((f, i) => {
    const x0 = x(f.startNs);
    const x1 = x(f.healNs ?? o.endNs);
    parts.push(`<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${plotH}" fill="${BAND[i % BAND.length]}"><title>${esc(`#${f.seq} ${f.description}`)}</title></rect>`);
    parts.push(`<text x="${(x0 + 2).toFixed(1)}" y="${top + 12 + 12 * (i % 3)}" font-size="10" fill="#444">${esc(`#${f.seq} ${f.description.split(' ')[0] ?? ''}`)}</text>`);
  });
  for (let d = lo; d <= hi; d *= 10) {
    const yy = y(d).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${d >= 1 ? d.toFixed(0) : d.toFixed(1)} ms</text>`);
  }
  const step = Math.max(1, Math.ceil(endS / 12));
  for (let s = 0; s <= endS; s += step) {
    const xx = x(s * 1e9).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#333"/>`);
    parts.push(`<text x="${xx}" y="${top + plotH + 18}" text-anchor="middle">${s}s</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  const every = Math.max(1, Math.ceil(ops.length / (o.maxDots ?? 20_000)));
  // Failures and unknown outcomes are drawn after successes, so they stay visible on top.
  for (const type of ['ok', 'fail', 'info'] as const) {
    const dots: string[] = [];
    ops.forEach((op, i) => {
      if (op.type !== type || (type === 'ok' && i % every !== 0)) return;
      dots.push(`<circle cx="${x(op.startNs).toFixed(1)}" cy="${y(latencies[i]!).toFixed(1)}" r="${type === 'ok' ? 1.5 : 2.5}"/>`);
    });
    parts.push(`<g fill="${COLOR[type]}" fill-opacity="${type === 'ok' ? 0.5 : 0.9}">${dots.join('')}</g>`);
  }
  const ly = top + plotH + 45;
  const legend: [string, string][] = [[COLOR.ok, 'ok'], [COLOR.fail, 'fail (did not happen)'], [COLOR.info, 'info (unknown, e.g. timeout)'], [BAND[0]!, 'fault held']];
  legend.forEach(([c, label], i) => {
    const lx = left + i * 210;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${c}"/><text x="${lx + 18}" y="${ly + 1}">${esc(label)}</text>`);
  });
  parts.push(`<text x="${left}" y="${ly + 25}" fill="#555">x: time since the run started; y: operation latency (log scale)${every > 1 ? `; 1 in ${every} successful operations drawn` : ''}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
