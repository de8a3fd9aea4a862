/**
 * parse: read `etcdctl check perf`'s report. Its three figures (throughput, slowest request,
 * standard deviation) each come with etcd's own verdict against its thresholds, then an overall
 * PASS or FAIL. The progress bar ends without a newline, so the first figure can share its line.
 */

/** PerfFigure is one measured figure and whether it met etcdctl's threshold. */
export interface PerfFigure {
  readonly value: number;
  readonly pass: boolean;
}

/** CheckPerfReport is everything `etcdctl check perf` concluded. */
export interface CheckPerfReport {
  /** throughput in writes/s (etcdctl: ≥ 90% of the load's target). */
  readonly throughput: PerfFigure | null;
  /** slowestSeconds is the slowest request (etcdctl: ≤ 0.5 s). */
  readonly slowestSeconds: PerfFigure | null;
  /** stddevSeconds is the latency's standard deviation (etcdctl: ≤ 0.1 s). */
  readonly stddevSeconds: PerfFigure | null;
  /** errors are the "FAIL: too many errors" / "FAIL: ERROR(...)" lines: failed requests. */
  readonly errors: readonly string[];
  /** verdict is the last line, PASS or FAIL (null when the run did not finish). */
  readonly verdict: 'PASS' | 'FAIL' | null;
}

function figure(text: string, pass: RegExp, fail: RegExp): PerfFigure | null {
  const p = pass.exec(text);
  if (p !== null) return { value: Number(p[1]), pass: true };
  const f = fail.exec(text);
  return f === null ? null : { value: Number(f[1]), pass: false };
}

/** parseCheckPerf reads the report out of etcdctl's stdout (progress bar included). */
export function parseCheckPerf(stdout: string): CheckPerfReport {
  // eslint-disable-next-line no-control-regex -- terminal colour codes, if any
  const text = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const num = '(\\d+(?:\\.\\d+)?)';
  const lines = text.split(/[\r\n]+/).map((l) => l.trim()).filter((l) => l.length > 0);
  const last = lines.at(-1);
  return {
    throughput: figure(text, new RegExp(`PASS: Throughput is ${num} writes/s`), new RegExp(`FAIL: Throughput too low: ${num} writes/s`)),
    slowestSeconds: figure(text, new RegExp(`PASS: Slowest request took ${num}s`), new RegExp(`Slowest request took too long: ${num}s`)),
    stddevSeconds: figure(text, new RegExp(`PASS: Stddev is ${num}s`), new RegExp(`Stddev too high: ${num}s`)),
    errors: lines.filter((l) => /FAIL: (too many errors|ERROR\()/.test(l)),
    verdict: last === 'PASS' || last === 'FAIL' ? last : null,
  };
}

/** describeCheckPerf renders the report in one line, naming which checks failed. */
export function describeCheckPerf(r: CheckPerfReport): string {
  const f = (name: string, x: PerfFigure | null, unit: string): string => (x === null ? `${name} missing` : `${name} ${x.value}${unit} ${x.pass ? 'ok' : 'FAILED'}`);
  return [
    f('throughput', r.throughput, ' writes/s'),
    f('slowest', r.slowestSeconds, ' s'),
    f('stddev', r.stddevSeconds, ' s'),
    ...(r.errors.length > 0 ? [`errors: ${r.errors.join('; ')}`] : []),
    `verdict ${r.verdict ?? 'none'}`,
  ].join(', ');
}
