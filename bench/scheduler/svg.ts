/**
 * svg: a hand-written line plot of pods bound over time, one line per workload, so a stall or
 * a slowdown within a run shows (the throughput figure alone hides them); `renderPanels` stacks
 * several such charts (pods bound, pods ready, replicas available) in one document. Pure: returns
 * the document as a string.
 */

/** BoundSeries is one workload's bindings: seconds since its start against pods bound by then. */
export interface BoundSeries {
  readonly label: string;
  readonly points: readonly (readonly [seconds: number, bound: number])[];
}

const COLORS = ['#1f5fa8', '#c2551b', '#2e8b57', '#7b3fa0'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** boundSeries turns binding times (ms, any order) into points every `step` pods, from `t0`. */
export function boundSeries(label: string, boundAtMs: ArrayLike<number>, t0: number, step = 100): BoundSeries {
  const sorted = Array.from(boundAtMs).sort((a, b) => a - b);
  const points: [number, number][] = [[0, 0]];
  for (let i = step; i <= sorted.length; i += step) points.push([(sorted[i - 1]! - t0) / 1000, i]);
  if (sorted.length % step !== 0 && sorted.length > 0) points.push([(sorted[sorted.length - 1]! - t0) / 1000, sorted.length]);
  return { label, points };
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/** Panel is one chart: its own title, y axis label and series, drawn on shared x axis units (seconds). */
export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly BoundSeries[];
}

const W = 720;
const PANEL_H = 360;
const HEADER = 50;

function drawPanel(out: string[], p: Panel, top0: number): void {
  const left = 70;
  const right = 190;
  const top = top0 + 30;
  const bottom = top0 + PANEL_H - 40;
  const maxX = Math.max(1, ...p.series.flatMap((s) => s.points.map((q) => q[0])));
  const maxY = Math.max(1, ...p.series.flatMap((s) => s.points.map((q) => q[1])));
  const x = (v: number): number => left + ((W - left - right) * v) / maxX;
  const y = (v: number): number => bottom - ((bottom - top) * v) / maxY;
  out.push(`<text x="${left}" y="${top0 + 16}" font-size="13" font-weight="bold">${escapeXml(p.title)}</text>`);
  const xs = niceStep(maxX, 8);
  for (let v = 0; v <= maxX + 1e-9; v += xs) {
    out.push(`<line x1="${x(v).toFixed(1)}" y1="${top}" x2="${x(v).toFixed(1)}" y2="${bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x(v).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${Number(v.toFixed(2))}</text>`);
  }
  const ys = niceStep(maxY, 6);
  for (let v = 0; v <= maxY + 1e-9; v += ys) {
    out.push(`<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${W - right}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v.toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${(left + W - right) / 2}" y="${bottom + 32}" text-anchor="middle">seconds</text>`);
  out.push(`<text transform="translate(16 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(p.yLabel)}</text>`);
  p.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = s.points.map((q, k) => `${k === 0 ? 'M' : 'L'}${x(q[0]).toFixed(1)},${y(q[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    out.push(`<rect x="${W - right + 12}" y="${top + i * 20}" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${W - right + 30}" y="${top + i * 20 + 10}">${escapeXml(s.label)}</text>`);
  });
}

/** renderPanels draws the panels one above the other under one title. */
export function renderPanels(panels: readonly Panel[], title: string, subtitle = ''): string {
  const h = HEADER + PANEL_H * Math.max(1, panels.length);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${h}" fill="white"/>`);
  out.push(`<text x="70" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  if (subtitle !== '') out.push(`<text x="70" y="42" fill="#555">${escapeXml(subtitle)}</text>`);
  panels.forEach((p, i) => drawPanel(out, p, HEADER + i * PANEL_H));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** renderBoundOverTime draws the series on shared axes: seconds across, pods bound up. */
export function renderBoundOverTime(series: readonly BoundSeries[], title: string, subtitle = ''): string {
  return renderPanels([{ title: '', yLabel: 'pods bound', series }], title, subtitle);
}
