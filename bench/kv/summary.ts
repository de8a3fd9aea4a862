/**
 * summary: several runs of `raftkube bench kv --compare-etcd --json F` read together. On a shared
 * machine one run's ratio moves with the minute it ran in, so a figure worth publishing is the
 * range over repeated runs (both orders, both sizes). For each cluster size and figure this gives
 * raftkube / etcd in every run, the range of each system's values and of the ratio, and in how
 * many runs raftkube was at least as good as etcd. Pure: parsing takes the files' text.
 */
import { arrow, figureKey, formatValue, markdownTable, ratio, type Row } from './report.js';
import { WORKLOADS, type Better, type LoadSpan, type SystemName, type WorkloadName } from './types.js';

/** SummaryRunInfo is what the summary tells about one run. */
export interface SummaryRunInfo {
  readonly file: string;
  /** date is when the run ended. */
  readonly date: string;
  readonly members: number;
  /** etcdFirst: the run's first workload ran against etcd first (`--etcd-first`). */
  readonly etcdFirst: boolean;
  readonly load: LoadSpan;
}

/** SummaryRun is one run's figures, both systems side by side. */
export interface SummaryRun {
  readonly info: SummaryRunInfo;
  readonly rows: readonly Row[];
}

/** ParsedRun is a run read from its JSON, or why it could not be. */
export type ParsedRun = { readonly ok: true; readonly run: SummaryRun } | { readonly ok: false; readonly error: string };

/** SummaryRow is one figure over the runs of one cluster size. */
export interface SummaryRow {
  readonly workload: WorkloadName;
  readonly group: string;
  readonly name: string;
  readonly better: Better;
  /** ratios holds raftkube / etcd per run, in the group's run order; null where a run lacks the figure. */
  readonly ratios: readonly (number | null)[];
  /** values holds each system's values over the runs that have them. */
  readonly values: Readonly<Record<SystemName, readonly number[]>>;
  /** atLeastEtcd counts the runs in which raftkube's value was at least as good as etcd's. */
  readonly atLeastEtcd: number;
}

/** SummaryGroup is every run of one cluster size. */
export interface SummaryGroup {
  readonly members: number;
  readonly runs: readonly SummaryRunInfo[];
  readonly rows: readonly SummaryRow[];
}

type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

function isObject(v: Json | undefined): v is { readonly [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: Json | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * parseRunJson reads what `bench kv --json` wrote. It checks the fields the summary uses and
 * refuses, naming the file and the field, anything else — another tool's JSON, a run without
 * etcd (`--compare-etcd` was not given), a truncated file.
 */
export function parseRunJson(file: string, text: string): ParsedRun {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err: unknown) {
    return { ok: false, error: `${file}: not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const bad = (what: string): ParsedRun => ({ ok: false, error: `${file}: ${what}; expected the file \`raftkube bench kv --compare-etcd --json FILE\` writes` });
  if (!isObject(doc)) return bad('not an object');
  const meta = doc['meta'];
  if (!isObject(meta)) return bad('no "meta"');
  const members = num(meta['members']);
  const date = meta['date'];
  const load = meta['load'];
  if (members === null || !Number.isInteger(members) || members < 1) return bad('"meta.members" is not a member count');
  if (typeof date !== 'string' || Number.isNaN(Date.parse(date))) return bad('"meta.date" is not a date');
  const loadStart = isObject(load) ? num(load['start']) : null;
  const loadEnd = isObject(load) ? num(load['end']) : null;
  if (loadStart === null || loadEnd === null) return bad('"meta.load" lacks its start and end');
  const options = doc['options'];
  const etcdFirst = isObject(options) && options['etcdFirst'] === true;
  const rawRows = doc['rows'];
  if (!Array.isArray(rawRows)) return bad('no "rows"');
  const rows: Row[] = [];
  for (const [i, r] of (rawRows as readonly Json[]).entries()) {
    if (!isObject(r)) return bad(`rows[${i}] is not an object`);
    const workload = WORKLOADS.find((w) => w === r['workload']);
    const group = r['group'];
    const name = r['name'];
    const better = r['better'];
    const values = r['values'];
    if (workload === undefined) return bad(`rows[${i}].workload is not a workload of bench kv`);
    if (typeof group !== 'string' || typeof name !== 'string') return bad(`rows[${i}] lacks its group or name`);
    if (better !== 'lower' && better !== 'higher') return bad(`rows[${i}].better is neither "lower" nor "higher"`);
    if (!isObject(values)) return bad(`rows[${i}].values is not an object`);
    const rk = num(values['raftkube']);
    const etcd = num(values['etcd']);
    rows.push({ workload, group, name, better, values: { ...(rk === null ? {} : { raftkube: rk }), ...(etcd === null ? {} : { etcd }) } });
  }
  if (!rows.some((r) => r.values.etcd !== undefined && r.values.raftkube !== undefined)) {
    return { ok: false, error: `${file}: no figure has both systems; summarise runs of \`raftkube bench kv --compare-etcd\`` };
  }
  return { ok: true, run: { info: { file, date, members, etcdFirst, load: { start: loadStart, end: loadEnd } }, rows } };
}

/** atLeastAsGood: raftkube's value is at least as good as etcd's in the figure's direction. */
function atLeastAsGood(r: number, better: Better): boolean {
  return better === 'lower' ? r <= 1 : r >= 1;
}

/**
 * summariseRuns groups the runs by cluster size (smallest first, each group's runs by date) and
 * lines up each figure over them, in the order figures first appear.
 */
export function summariseRuns(runs: readonly SummaryRun[]): SummaryGroup[] {
  const sizes = [...new Set(runs.map((r) => r.info.members))].sort((a, b) => a - b);
  return sizes.map((members) => {
    const group = runs.filter((r) => r.info.members === members).sort((a, b) => Date.parse(a.info.date) - Date.parse(b.info.date));
    // Each run's figures by key, and every key in the order figures first appear.
    const byKey = group.map((run) => new Map(run.rows.map((r) => [figureKey(r), r])));
    const keys = new Map<string, { workload: WorkloadName; group: string; name: string; better: Better }>();
    for (const run of group) {
      for (const r of run.rows) if (!keys.has(figureKey(r))) keys.set(figureKey(r), { workload: r.workload, group: r.group, name: r.name, better: r.better });
    }
    const rows = [...keys].map(([key, k]): SummaryRow => {
      const found = byKey.map((m) => m.get(key));
      const ratios = found.map((r) => (r === undefined ? null : ratio(r)));
      const pick = (s: SystemName): number[] => found.flatMap((r) => (r?.values[s] === undefined ? [] : [r.values[s]]));
      return { ...k, ratios, values: { raftkube: pick('raftkube'), etcd: pick('etcd') }, atLeastEtcd: ratios.filter((r) => r !== null && atLeastAsGood(r, k.better)).length };
    });
    return { members, runs: group.map((r) => r.info), rows };
  });
}

function range(vs: readonly number[], show: (v: number) => string): string {
  if (vs.length === 0) return '–';
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const a = show(lo);
  const b = show(hi);
  return a === b ? a : `${a}–${b}`;
}

function ratioDigits(r: number): string {
  return r >= 10 ? r.toFixed(1) : r.toFixed(2);
}

function ratioText(r: number): string {
  return `${ratioDigits(r)}×`;
}

/** ratioRange is "0.75–1.50×", or "–" without any ratio. */
function ratioRange(rs: readonly number[]): string {
  return rs.length === 0 ? '–' : `${range(rs, ratioDigits)}×`;
}

/** utcMinute renders an ISO date as "2026-12-02 16:17 UTC". */
export function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** describeRun is one line about a run: when it ended, which system went first, how busy the machine was. */
export function describeRun(r: SummaryRunInfo): string {
  return `ended ${utcMinute(r.date)}, ${r.etcdFirst ? 'etcd' : 'raftkube'} first, load average ${r.load.start.toFixed(2)} → ${r.load.end.toFixed(2)} (${r.file})`;
}

/**
 * formatSummary prints each group as a heading, its runs, and a Markdown table: the figure, each
 * system's range, raftkube / etcd per run and its range, and in how many runs raftkube was at
 * least as good.
 */
export function formatSummary(groups: readonly SummaryGroup[]): string {
  const out: string[] = [];
  for (const g of groups) {
    const n = g.runs.length;
    out.push(`${g.members} member${g.members === 1 ? '' : 's'}, ${n} run${n === 1 ? '' : 's'}:`);
    g.runs.forEach((r, i) => out.push(`  run ${i + 1}: ${describeRun(r)}`));
    out.push('');
    const header = ['workload', 'figure', 'raftkube', 'etcd', ...g.runs.map((_, i) => `run ${i + 1}`), 'raftkube/etcd', 'raftkube at least as good'];
    const body = g.rows.map((r) => [
      r.group,
      `${r.name} ${arrow(r.better)}`,
      range(r.values.raftkube, (v) => formatValue(r.name, v)),
      range(r.values.etcd, (v) => formatValue(r.name, v)),
      ...r.ratios.map((x) => (x === null ? '–' : ratioText(x))),
      ratioRange(r.ratios.filter((x): x is number => x !== null)),
      `${r.atLeastEtcd} of ${r.ratios.filter((x) => x !== null).length}`,
    ]);
    out.push(markdownTable(header, body, (i) => i >= 2));
    out.push('');
  }
  out.push('↓ lower is better, ↑ higher is better; the ratio is raftkube / etcd; ranges are the lowest and highest over the runs.');
  return out.join('\n');
}
