/**
 * bench-kv: the `raftkube bench kv` command — the same workloads, through the same client,
 * against raftkube and (with --compare-etcd) a real etcd cluster of the same size started on
 * other loopback ports, printed side by side. The work is in bench/kv; this file is flags and
 * output.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  checkReachable,
  DEFAULT_ETCD_BASE_PORT,
  formatTraceTables,
  KEY_ROOT,
  oneMinuteLoad,
  raftkubeTarget,
  runTrace,
  VALUE_SIZE,
  DEFAULT_ETCD_BIN,
  DEFAULT_WATCH_CLIENTS,
  DEFAULT_PUT_CLIENTS,
  describeLoad,
  formatNotes,
  formatTable,
  InterruptedError,
  plotSeries,
  renderSvg,
  figureBars,
  renderFiguresSvg,
  renderRatioSvg,
  parseRunJson,
  summariseRuns,
  formatSummary,
  utcMinute,
  type SummaryRun,
  runBenchKv,
  TerminalProgress,
  validateBenchKvOptions,
  WORKLOADS,
  type BenchKvOptions,
  type BenchKvReport,
  type RawBenchKvOptions,
} from '../../bench/kv/index.js';

/** registerBenchCommand adds `bench kv` to the program (creating `bench` if no one has yet). */
export function registerBenchCommand(program: Command): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks: kv (raftkube against a real etcd), kv-summary (several kv runs together), api (the apiservers), scheduler, pods (pod startup), nodes (simulated nodes held at scale)');
  bench
    .command('kv')
    .description('KV workloads (put, get, watch latency and throughput; memory and recovery with --heavy) against raftkube and, with --compare-etcd, a real etcd side by side')
    .option('--endpoints <urls>', 'raftkube client URLs, comma-separated (loopback only)')
    .option('--cluster-file <path>', "raftkube's cluster.json or its data directory (endpoints and member pids; needed for memory and recovery)")
    .option('--workload <names>', `${[...WORKLOADS, 'all'].join('|')}, or a comma list`, 'all')
    .option('--compare-etcd', 'also start an etcd cluster of the same size and run the same workloads against it', false)
    .option('--etcd-only', 'measure a fresh etcd cluster alone (development; no raftkube needed)', false)
    .option('--members <n>', 'size of the etcd cluster (default: the number of raftkube endpoints; 3 with --etcd-only)')
    .option('--duration <seconds>', 'time bound of each phase', '10')
    .option('--warmup <seconds>', 'unmeasured load on each system before its first workload (puts and gets, 4 in flight), the same for both; 0 for none', '10')
    .option('--count <n>', 'operation bound of each phase (default: per workload)')
    .option('--cacert <file>', "CA that signed raftkube's https:// members (etcdctl's flag; a cluster file brings its own)")
    .option('--cert <file>', 'client certificate for members that demand one (--client-cert-auth)')
    .option('--key <file>', 'private key of --cert')
    .option('--etcd-first', 'with --compare-etcd: the first workload runs against etcd first (the order then alternates as usual); use it for the second of two runs', false)
    .option('--heavy', 'include memory and recovery in --workload all (they take minutes)', false)
    .option('--keys <n>', 'keys the memory workload loads', '1000000')
    .option('--watchers <n>', 'watchers of the many-watchers phases', '100')
    .option('--watch-clients <n>', 'client threads holding watch-fanout\'s watchers (each with its own connections; puts run on another)', String(DEFAULT_WATCH_CLIENTS))
    .option('--put-clients <n>', "client threads sharing put-throughput's requests in flight (each with its own connections, event loop and GC)", String(DEFAULT_PUT_CLIENTS))
    .option('--etcd-bin <path>', 'the etcd binary', DEFAULT_ETCD_BIN)
    .option('--etcd-base-port <port>', 'first port of the etcd cluster (client, peer pairs)', String(DEFAULT_ETCD_BASE_PORT))
    .option('--json <file>', 'write every figure and latency summary as JSON')
    .option('--svg <file>', 'write a p50/p99 latency plot as SVG')
    .option('--trace', 'instead of the workloads: a per-hop latency budget of sequential puts and linearizable gets, sent to the leader and to a follower (README: "Where a put\'s time goes")', false)
    .option('--trace-sample <n>', 'with --trace: record one request in n (default 4)')
    .option('--trace-out <file>', "with --trace: write the client's and every member's raw records and the joined requests as JSON")
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchKvOptions, cmd: Command) => {
      const v = validateBenchKvOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench kv: ${v.error}`, { exitCode: 2 });
      else if (v.value.trace !== null) await benchTrace(v.value, v.value.trace);
      else await benchKv(v.value, raw);
    });
  bench
    .command('kv-summary')
    .description('several runs of `bench kv --compare-etcd --json F` together: per cluster size and figure, raftkube / etcd in each run, the ranges, and in how many runs raftkube was at least as good')
    .argument('<json...>', 'files written by `raftkube bench kv --compare-etcd --json F`')
    .option('--svg <file>', 'write a chart of every run\'s ratios as SVG')
    .action((files: string[], opts: { svg?: string }, cmd: Command) => {
      const runs: SummaryRun[] = [];
      for (const f of files) {
        let text: string;
        try {
          text = readFileSync(f, 'utf8');
        } catch (err: unknown) {
          cmd.error(`raftkube bench kv-summary: cannot read ${f}: ${err instanceof Error ? err.message : String(err)}`, { exitCode: 2 });
          return;
        }
        const parsed = parseRunJson(f, text);
        if (!parsed.ok) {
          cmd.error(`raftkube bench kv-summary: ${parsed.error}`, { exitCode: 2 });
          return;
        }
        runs.push(parsed.run);
      }
      const groups = summariseRuns(runs);
      process.stdout.write(`raftkube bench kv-summary — ${runs.length} run${runs.length === 1 ? '' : 's'}\n\n${formatSummary(groups)}\n`);
      if (opts.svg !== undefined) {
        const dates = runs.map((r) => r.info.date).sort();
        const span = `${utcMinute(dates[0] ?? '')} – ${utcMinute(dates.at(-1) ?? '')}`;
        writeFileSync(opts.svg, renderRatioSvg(groups, { title: 'raftkube against etcd, run by run', subtitle: `${runs.length} runs of raftkube bench kv --compare-etcd, ended ${span}; one dot per run and figure` }));
        process.stderr.write(`Wrote ${opts.svg}\n`);
      }
    });
  return bench;
}

async function benchKv(o: Parameters<typeof runBenchKv>[0], raw: RawBenchKvOptions): Promise<void> {
  const progress = new TerminalProgress({ bar: o.progress });
  let report: BenchKvReport;
  try {
    report = await runBenchKv(o, { progress, command: `raftkube ${process.argv.slice(2).join(' ')}` });
  } catch (err: unknown) {
    if (err instanceof InterruptedError) {
      process.stderr.write('raftkube bench kv: interrupted; every etcd it started is stopped.\n');
      process.exitCode = 130;
      return;
    }
    throw err;
  }
  const m = report.meta;
  const out: string[] = [];
  out.push(`raftkube bench kv — ${m.members} member${m.members === 1 ? '' : 's'}, ${m.cpus} cores, ${m.memGiB} GiB, node ${m.node}${m.etcdVersion === null ? '' : `, etcd ${m.etcdVersion}`}, ${m.durationS} s per phase after a ${m.warmupS} s warm-up of each system, 256-byte values; ${describeLoad(m.load)}`);
  out.push('');
  out.push(formatTable(report.rows));
  const notes = formatNotes(report.results);
  if (notes.length > 0) out.push('', 'Notes:', ...notes.map((n) => `- ${n}`));
  const both = new Set(report.results.map((r) => r.system)).size > 1;
  out.push('', `↓ lower is better, ↑ higher is better${both ? '; the ratio is raftkube / etcd' : ''}.`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (o.jsonPath !== null) {
    writeFileSync(o.jsonPath, `${JSON.stringify({ ...report, options: raw }, null, 2)}\n`);
    process.stderr.write(`Wrote ${o.jsonPath}\n`);
  }
  if (o.svgPath !== null) {
    const title = `raftkube bench kv — ${m.members} member${m.members === 1 ? '' : 's'}`;
    const about = `${m.date.slice(0, 10)}, ${m.cpus} cores, ${describeLoad(m.load)}`;
    const series = plotSeries(report.results);
    // NB: a run of memory and recovery alone has no latency to plot; its figures are plotted instead.
    const svg = series.length > 0 ? renderSvg(series, { title, subtitle: `${about}; p50 and p99 latency, log scale` }) : renderFiguresSvg(figureBars(report.results), { title, subtitle: `${about}; each figure on its own linear scale` });
    writeFileSync(o.svgPath, svg);
    process.stderr.write(`Wrote ${o.svgPath}\n`);
  }
}

async function benchTrace(o: BenchKvOptions, plan: NonNullable<BenchKvOptions['trace']>): Promise<void> {
  const progress = new TerminalProgress({ bar: o.progress });
  const loadStart = oneMinuteLoad();
  const target = raftkubeTarget(o);
  await checkReachable(target);
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: Awaited<ReturnType<typeof runTrace>>;
  try {
    report = await runTrace({
      endpoints: target.endpoints,
      ...(target.tls === undefined ? {} : { tls: target.tls }),
      durationMs: o.durationMs,
      count: o.count,
      every: plan.every,
      prefix: `${KEY_ROOT}${Date.now().toString(36)}-${process.pid}/trace/`,
      value: randomBytes(VALUE_SIZE),
      progress,
      signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const load = { start: loadStart, end: oneMinuteLoad() };
  const out: string[] = [];
  out.push(`raftkube bench kv --trace — ${report.members} members (leader ${report.leader}), one request in ${plan.every} sampled, ${o.durationMs / 1000} s per phase, 256-byte values; ${describeLoad(load)}`);
  out.push('Times are CLOCK_MONOTONIC (process.hrtime.bigint()) in every process; each stage is the difference of two consecutive points on the request\'s path.');
  out.push('');
  out.push(formatTraceTables(report.tables));
  if (report.notes.length > 0) out.push('Notes:', ...report.notes.map((n) => `- ${n}`));
  process.stdout.write(`${out.join('\n')}\n`);
  if (plan.outPath !== null) {
    const json = JSON.stringify({ command: `raftkube ${process.argv.slice(2).join(' ')}`, date: new Date().toISOString(), load, ...report }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
    writeFileSync(plan.outPath, `${json}\n`);
    process.stderr.write(`Wrote ${plan.outPath}\n`);
  }
  if (ac.signal.aborted) process.exitCode = 130;
}
