/**
 * report: what `raftkube bench api` prints — an aligned Markdown table of the latency series
 * (pasteable into bench/RESULTS.md), the memory readings, the verdict against the goals, and
 * the series for the SVG plot. Pure: no I/O.
 */
import { escapeXml, renderSvg, type PlotSeries } from '../kv/svg.js';
import { MUTATING_P99_GOAL_MS, WATCH_P99_GOAL_MS, type ApiSeries, type BenchApiReport, type GoalResult, type MemoryResult, type RssReading } from './types.js';

/** judgeGoals checks every create series' p99 against 50 ms and the many-watchers watch p99 against 20 ms. */
export function judgeGoals(series: readonly ApiSeries[], watchers: number): GoalResult[] {
  const goals: GoalResult[] = [];
  for (const s of series) {
    if (s.summary.count === 0) continue;
    if (s.kind === 'create') goals.push({ goal: `mutating p99 < ${MUTATING_P99_GOAL_MS} ms`, series: s.label, value: s.summary.p99, limitMs: MUTATING_P99_GOAL_MS, met: s.summary.p99 < MUTATING_P99_GOAL_MS });
    if (s.kind === 'watch' && s.concurrency === watchers) goals.push({ goal: `watch p99 < ${WATCH_P99_GOAL_MS} ms at ${watchers.toLocaleString('en-US')} watchers`, series: s.label, value: s.summary.p99, limitMs: WATCH_P99_GOAL_MS, met: s.summary.p99 < WATCH_P99_GOAL_MS });
  }
  return goals;
}

function ms(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function width(s: string): number {
  return [...s].length;
}

/** markdownTable aligns a header and rows; columns listed in `right` are right-aligned. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(s)));
    return right.has(i) ? fill + s : s + fill;
  };
  const line = (cells: readonly string[]): string => `| ${header.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** formatSeriesTable prints one row per series: count, rate, p50, p99, max and errors. */
export function formatSeriesTable(series: readonly ApiSeries[]): string {
  const rows = series.map((s) => [s.label, s.summary.count.toLocaleString('en-US'), s.rate === 0 ? '–' : Math.round(s.rate).toLocaleString('en-US'), ms(s.summary.p50), ms(s.summary.p99), ms(s.summary.max), String(s.errors)]);
  return markdownTable(['measurement', 'samples', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'], rows, new Set([1, 2, 3, 4, 5, 6]));
}

function mib(kib: number): string {
  return (kib / 1024).toFixed(0);
}

function readingOf(list: readonly RssReading[], pid: number): string {
  const r = list.find((x) => x.pid === pid);
  return r === undefined ? '–' : mib(r.kib);
}

/** formatMemoryTable prints each apiserver's VmRSS before pods, holding them, and after the lists. */
export function formatMemoryTable(m: MemoryResult): string {
  const pids = m.before.length > 0 ? m.before : m.holding;
  const rows = pids.map((r) => [`${r.master} (pid ${r.pid})`, readingOf(m.before, r.pid), readingOf(m.holding, r.pid), readingOf(m.afterLists, r.pid)]);
  return markdownTable(['apiserver', 'RSS before MiB', `RSS holding ${m.pods.toLocaleString('en-US')} pods MiB`, 'RSS after the lists MiB'], rows, new Set([1, 2, 3]));
}

/** formatGoals prints one line per goal: met or not, with the figure. */
export function formatGoals(goals: readonly GoalResult[]): string[] {
  return goals.map((g) => `${g.met ? 'MET    ' : 'NOT MET'} ${g.goal}: ${g.series} p99 ${ms(g.value)} ms`);
}

/** formatReport is the whole printed report. */
export function formatReport(r: BenchApiReport): string {
  const m = r.meta;
  const out: string[] = [];
  out.push(`raftkube bench api — ${m.masters} apiserver${m.masters === 1 ? '' : 's'}, ${m.cpus} cores (${m.cpuModel}), ${m.memGiB} GiB, node ${m.node}${m.quick ? ', --quick' : ''}`);
  out.push(`load average before ${m.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${m.loadAfter.map((x) => x.toFixed(2)).join(' ')}; watches through ${m.watchVia === 'rest' ? 'REST watch streams' : 'gRPC Watch streams'}`);
  out.push('');
  out.push(formatSeriesTable(r.series));
  if (r.memory !== null) {
    out.push('');
    out.push(formatMemoryTable(r.memory));
  }
  const notes = [...r.series.flatMap((s) => s.notes.map((n) => `${s.label}: ${n}`)), ...(r.memory?.notes ?? []).map((n) => `memory: ${n}`), ...r.notes];
  if (notes.length > 0) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
  if (r.goals.length > 0) out.push('', 'Goals:', ...formatGoals(r.goals).map((g) => `  ${g}`));
  return `${out.join('\n')}\n`;
}

/** plotSeriesOf turns the latency series into bars for the SVG (lists included; log axis). */
export function plotSeriesOf(series: readonly ApiSeries[]): PlotSeries[] {
  return series.filter((s) => s.summary.count > 0).map((s) => ({ system: 'raftkube', label: s.label, p50: s.summary.p50, p99: s.summary.p99 }));
}

/** renderApiSvg draws p50/p99 bars per series with the run's conditions in the subtitle. */
export function renderApiSvg(r: BenchApiReport): string {
  const m = r.meta;
  const verdicts = r.goals.map((g) => `${g.met ? '✓' : '✗'} ${g.series} p99 ${ms(g.value)} ms (goal ${g.limitMs})`);
  const svg = renderSvg(plotSeriesOf(r.series), {
    title: `raftkube bench api — ${m.masters} masters`,
    subtitle: `${m.date.slice(0, 10)}, ${m.cpus} cores, load ${m.loadBefore[0]?.toFixed(1) ?? '?'}→${m.loadAfter[0]?.toFixed(1) ?? '?'}; p50 and p99 latency, log scale`,
  });
  if (verdicts.length === 0) return svg;
  // The goals go under the plot, one line each, below the slanted series labels (which reach about 60 px past the plot's bottom margin).
  const height = Number(/height="(\d+)"/.exec(svg)?.[1] ?? '0');
  const below = 70;
  const extra = below + 16 * verdicts.length + 10;
  const lines = verdicts.map((v, i) => `<text x="70" y="${height + below + 16 * i}" fill="${r.goals[i]?.met === true ? '#1a7f37' : '#b42318'}">${escapeXml(v)}</text>`);
  return svg
    .replace(/height="(\d+)" viewBox="0 0 (\d+) (\d+)"/, (_all, h: string, w: string, vh: string) => `height="${Number(h) + extra}" viewBox="0 0 ${w} ${Number(vh) + extra}"`)
    .replace(/<rect x="0" y="0" width="(\d+)" height="(\d+)"/, (_all, w: string, h: string) => `<rect x="0" y="0" width="${w}" height="${Number(h) + extra}"`)
    .replace('</svg>', `${lines.join('\n')}\n</svg>`);
}
