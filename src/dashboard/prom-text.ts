/**
 * prom-text: a small parser of the Prometheus text exposition format (version 0.0.4) — samples
 * with their labels, and each family's TYPE — for the dashboard, which reads the members'
 * /metrics, and the metrics tests. prom-client only writes the format.
 */

/** Sample is one line of a scrape: a metric name, its labels and its value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Scrape is a parsed /metrics body. */
export interface Scrape {
  readonly samples: readonly Sample[];
  /** types maps a family name to its TYPE (counter, gauge, histogram, summary, untyped). */
  readonly types: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`Not a sample value: ${s}`);
  return v;
}

/** parsePromText parses a scrape, throwing on a line that is neither a comment nor a sample. */
export function parsePromText(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m !== null) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`Not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return { samples, types };
}

/** value is the one sample named `name` (whose labels include `labels`); it throws if absent. */
export function value(s: Scrape, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const hit = s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (hit.length !== 1) throw new Error(`Expected one sample ${name}${JSON.stringify(labels)}, found ${hit.length}`);
  return hit[0]!.value;
}

/** sum adds up every sample named `name` (e.g. a histogram's _count over all its label sets). */
export function sum(s: Scrape, name: string): number {
  return s.samples.filter((x) => x.name === name).reduce((a, x) => a + x.value, 0);
}

/** Bucket is one cumulative histogram bucket: observations at most `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/** buckets are a histogram's cumulative buckets (its `_bucket` samples), smallest bound first. */
export function buckets(s: Scrape, name: string): Bucket[] {
  return s.samples
    .filter((x) => x.name === `${name}_bucket` && x.labels['le'] !== undefined)
    .map((x) => ({ le: parseValue(x.labels['le']!), count: x.value }))
    .sort((a, b) => a.le - b.le);
}

/**
 * quantileBetween estimates the q-quantile of what a histogram observed between two scrapes
 * (the upper bound of the bucket it falls in, as a conservative figure), or null if it observed
 * nothing in between.
 */
export function quantileBetween(before: readonly Bucket[], after: readonly Bucket[], q: number): number | null {
  const prior = new Map(before.map((b) => [b.le, b.count]));
  const deltas = after.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) }));
  const total = deltas.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const hit = deltas.find((d) => d.count >= q * total);
  return hit === undefined ? null : hit.le;
}
