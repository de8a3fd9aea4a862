/**
 * bench-api: the `raftkube bench api` command — create, watch and list latency and apiserver
 * memory against the running cluster in --data-dir, through the REST and gRPC APIs, with the
 * verdict against the goals (create p99 < 50 ms, watch p99 < 20 ms at 1,000 watchers). The work
 * is in bench/control-plane; this file is flags and output.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  formatReport,
  renderApiSvg,
  runBenchApi,
  validateBenchApiOptions,
  type BenchApiOptions,
  type BenchApiReport,
  type RawBenchApiOptions,
} from '../../bench/control-plane/index.js';
import { InterruptedError, TerminalProgress } from '../../bench/kv/index.js';

/** registerBenchApiCommand adds `bench api` to the program (creating `bench` if no one has yet). */
export function registerBenchApiCommand(program: Command): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks (bench kv: raftkube against a real etcd; bench api: the apiservers)');
  bench
    .command('api')
    .description('apiserver latency and memory against a running cluster: pod creates (REST and gRPC, 1 and 50 clients), watch delivery (1 and 1,000 watchers), lists of 10,000 pods, resident memory')
    .option('--data-dir <dir>', 'the cluster\'s data directory (cluster.json and kubeconfig, as raftkube up writes them)')
    .option('--svg <file>', 'write a p50/p99 latency plot as SVG')
    .option('--json <file>', 'write every figure as JSON')
    .option('--quick', 'a small run (200 pods, 50 watchers, a few creates per phase) to check the command works', false)
    .option('--clients <n>', 'concurrent clients of the many-clients create phases (default 50)')
    .option('--watchers <n>', 'watchers of the many-watchers phase (default 1000; 50 with --quick)')
    .option('--pods <n>', 'pods in the namespace for the list and memory phases (default 10000; 200 with --quick)')
    .option('--duration <seconds>', 'time bound of each create phase (default 15; 5 with --quick)')
    .option('--phases <names>', 'baseline (the etcd layer\'s put and get latency now), create, watch, list (with filling the namespace and memory), or all; a comma list', 'all')
    .option('--watch-via <face>', 'watch through REST watch streams (rest) or gRPC Watch streams (grpc)', 'rest')
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchApiOptions, cmd: Command) => {
      const v = validateBenchApiOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench api: ${v.error}`, { exitCode: 2 });
      else await benchApi(v.value, raw);
    });
  return bench;
}

async function benchApi(o: BenchApiOptions, raw: RawBenchApiOptions): Promise<void> {
  const progress = new TerminalProgress({ bar: o.progress });
  let report: BenchApiReport;
  try {
    report = await runBenchApi(o, { progress, command: `raftkube ${process.argv.slice(2).join(' ')}` });
  } catch (err: unknown) {
    if (err instanceof InterruptedError) {
      process.stderr.write('raftkube bench api: interrupted; the benchmark namespace is deleted.\n');
      process.exitCode = 130;
      return;
    }
    throw err;
  }
  process.stdout.write(formatReport(report));
  if (o.jsonPath !== null) {
    writeFileSync(o.jsonPath, `${JSON.stringify({ ...report, options: raw }, null, 2)}\n`);
    process.stderr.write(`Wrote ${o.jsonPath}\n`);
  }
  if (o.svgPath !== null) {
    writeFileSync(o.svgPath, renderApiSvg(report));
    process.stderr.write(`Wrote ${o.svgPath}\n`);
  }
}
