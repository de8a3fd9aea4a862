/**
 * bench-kv: the `raftkube bench kv` command — the same workloads, through the same client,
 * against raftkube and (with --compare-etcd) a real etcd cluster of the same size started on
 * other loopback ports, printed side by side. The work is in bench/kv; this file is flags and
 * output.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  DEFAULT_ETCD_BASE_PORT,
  DEFAULT_ETCD_BIN,
  formatNotes,
  formatTable,
  InterruptedError,
  plotSeries,
  renderSvg,
  runBenchKv,
  TerminalProgress,
  validateBenchKvOptions,
  WORKLOADS,
  type BenchKvReport,
  type RawBenchKvOptions,
} from '../../bench/kv/index.js';

/** registerBenchCommand adds `bench kv` to the program (creating `bench` if no one has yet). */
export function registerBenchCommand(program: Command): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks: kv (raftkube against a real etcd), api (the apiservers), scheduler, pods (pod startup), nodes (simulated nodes held at scale)');
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
    .option('--count <n>', 'operation bound of each phase (default: per workload)')
    .option('--heavy', 'include memory and recovery in --workload all (they take minutes)', false)
    .option('--keys <n>', 'keys the memory workload loads', '1000000')
    .option('--watchers <n>', 'watchers of the many-watchers phases', '100')
    .option('--etcd-bin <path>', 'the etcd binary', DEFAULT_ETCD_BIN)
    .option('--etcd-base-port <port>', 'first port of the etcd cluster (client, peer pairs)', String(DEFAULT_ETCD_BASE_PORT))
    .option('--json <file>', 'write every figure and latency summary as JSON')
    .option('--svg <file>', 'write a p50/p99 latency plot as SVG')
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchKvOptions, cmd: Command) => {
      const v = validateBenchKvOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench kv: ${v.error}`, { exitCode: 2 });
      else await benchKv(v.value, raw);
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
  out.push(`raftkube bench kv — ${m.members} member${m.members === 1 ? '' : 's'}, ${m.cpus} cores, ${m.memGiB} GiB, node ${m.node}${m.etcdVersion === null ? '' : `, etcd ${m.etcdVersion}`}, ${m.durationS} s per phase, 256-byte values`);
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
    writeFileSync(o.svgPath, renderSvg(plotSeries(report.results), { title, subtitle: `${m.date.slice(0, 10)}, ${m.cpus} cores; p50 and p99 latency, log scale` }));
    process.stderr.write(`Wrote ${o.svgPath}\n`);
  }
}
