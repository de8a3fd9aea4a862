/**
 * report: turns workload results into comparison rows and prints them as a Markdown table
 * (readable in a terminal, pasteable into bench/RESULTS.md). Pure: no I/O.
 */
import { SYSTEMS, type Better, type LoadSpan, type SystemName, type WorkloadName, type WorkloadResult } from './types.js';

/** Row is one figure of one workload across the measured systems. */
export interface Row {
  readonly workload: WorkloadName;
  readonly group: string;
  readonly name: string;
  readonly better: Better;
  readonly values: Partial<Record<SystemName, number>>;
}

/** SAME_WITHIN: ratios within this factor of 1 read as "about the same" (the machine is noisy). */
export const SAME_WITHIN = 0.05;

/** figureKey names a figure across runs and systems: its workload, group and name. */
export function figureKey(f: { readonly workload: WorkloadName; readonly group: string; readonly name: string }): string {
  return `${f.workload}\0${f.group}\0${f.name}`;
}

/** buildRows lines up the figures of every system, in the order they first appear. */
export function buildRows(results: readonly WorkloadResult[]): Row[] {
  const rows: { workload: WorkloadName; group: string; name: string; better: Better; values: Partial<Record<SystemName, number>> }[] = [];
  const index = new Map<string, number>();
  for (const r of results) {
    for (const f of r.figures) {
      const k = figureKey({ workload: r.workload, group: f.group, name: f.name });
      let i = index.get(k);
      if (i === undefined) {
        i = rows.length;
        index.set(k, i);
        rows.push({ workload: r.workload, group: f.group, name: f.name, better: f.better, values: {} });
      }
      rows[i]!.values[r.system] = f.value;
    }
  }
  return rows;
}

/** ratio is raftkube / etcd, or null when either is missing or etcd's is zero. */
export function ratio(row: Row): number | null {
  const a = row.values.raftkube;
  const b = row.values.etcd;
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a / b;
}

/** verdict says which system the ratio favours, given which direction is better. */
export function verdict(r: number, better: Better): 'raftkube better' | 'etcd better' | 'same' {
  if (Math.abs(r - 1) <= SAME_WITHIN) return 'same';
  const raftkubeLower = r < 1;
  return raftkubeLower === (better === 'lower') ? 'raftkube better' : 'etcd better';
}

/** formatRatio renders a ratio cell, e.g. "1.32× (etcd better)"; "–" when there is no ratio. */
export function formatRatio(row: Row): string {
  const r = ratio(row);
  if (r === null) return '–';
  const digits = r >= 10 ? 1 : 2;
  return `${r.toFixed(digits)}× (${verdict(r, row.better)})`;
}

/** formatValue renders a figure: rates as whole numbers with separators, times with 2–3 significant digits. */
export function formatValue(name: string, v: number | undefined): string {
  if (v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (/\/s\b/.test(name) || /MiB/.test(name)) return Math.round(v).toLocaleString('en-US');
  if (v === 0) return '0';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

/** arrow marks a figure's good direction: "↓" lower is better, "↑" higher is better. */
export function arrow(better: Better): string {
  return better === 'lower' ? '↓' : '↑';
}

/** systemsIn lists the systems that have at least one value, in column order. */
export function systemsIn(rows: readonly Row[]): SystemName[] {
  return SYSTEMS.filter((s) => rows.some((r) => r.values[s] !== undefined));
}

/**
 * formatTable prints the rows as an aligned Markdown table: workload group, figure (with its
 * good direction), one column per system and, when both systems ran, the ratio raftkube/etcd.
 */
export function formatTable(rows: readonly Row[]): string {
  const systems = systemsIn(rows);
  const both = systems.length === SYSTEMS.length;
  const header = ['workload', 'figure', ...systems, ...(both ? ['raftkube/etcd'] : [])];
  const body = rows.map((r) => [r.group, `${r.name} ${arrow(r.better)}`, ...systems.map((s) => formatValue(r.name, r.values[s])), ...(both ? [formatRatio(r)] : [])]);
  return markdownTable(header, body, (i) => i >= 2 && i < 2 + systems.length);
}

/** markdownTable aligns a Markdown table, padding every cell to its column; `right(i)` right-aligns column i. */
export function markdownTable(header: readonly string[], body: readonly (readonly string[])[], right: (column: number) => boolean): string {
  const widths = header.map((h, i) => Math.max(width(h), ...body.map((b) => width(b[i] ?? ''))));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => pad(c, widths[i] ?? 0, right(i))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/**
 * CLIENT_BOUND_PERCENT: a phase in which this process used this much of a core or more is
 * flagged — on a machine of few cores the client then competes with the members it measures.
 */
export const CLIENT_BOUND_PERCENT = 70;

/**
 * describeLoad says how busy the machine was over a stretch of the run: the 1-minute load
 * average at its start and at its end (the benchmark's own processes count while they run).
 */
export function describeLoad(load: LoadSpan): string {
  return `load average ${load.start.toFixed(2)} at the start, ${load.end.toFixed(2)} at the end`;
}

/**
 * formatNotes lists every result's notes, one line each, prefixed by system; then each phase in
 * which the client itself was the likely bottleneck: a client thread's share of the process's
 * CPU at CLIENT_BOUND_PERCENT of a core or more.
 */
export function formatNotes(results: readonly WorkloadResult[]): string[] {
  const notes = results.flatMap((r) => r.notes.map((n) => `${r.system} ${r.workload}: ${n}`));
  const bound = results.flatMap((r) =>
    (r.clientCpu ?? [])
      .filter((c) => c.percentOfCore / (c.threads ?? 1) >= CLIENT_BOUND_PERCENT)
      .map((c) =>
        c.threads === undefined || c.threads <= 1
          ? `${r.system} ${c.group}: the client used ${Math.round(c.percentOfCore)} % of a core; it may be what limits this phase (it shares the machine's cores with the members)`
          : `${r.system} ${c.group}: the client's ${c.threads} threads used ${Math.round(c.percentOfCore)} % of a core together; they may be what limits this phase (they share the machine's cores with the members)`,
      ),
  );
  return [...notes, ...bound];
}

function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}
