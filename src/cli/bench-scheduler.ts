/**
 * bench-scheduler: the `raftkube bench scheduler` command — scheduling throughput (pods/s from
 * created to bound, 10,000 pods) and the time for a 1,000-replica Deployment to become
 * available, against the running cluster in --data-dir (start it with
 * `raftkube up --runtime simulated --nodes 1000 --detach`), plus the scheduler's own cost per
 * pod in this process. The work is in bench/scheduler; this file is flags and output.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InterruptedError, TerminalProgress } from '../../bench/kv/index.js';
import {
  formatReport,
  renderSchedulerSvg,
  runBenchScheduler,
  validateBenchSchedulerOptions,
  type BenchSchedulerOptions,
  type BenchSchedulerReport,
  type RawBenchSchedulerOptions,
} from '../../bench/scheduler/index.js';

/** registerBenchSchedulerCommand adds `bench scheduler` to the program (creating `bench` if no one has yet). */
export function registerBenchSchedulerCommand(program: Command): Command {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks');
  bench
    .command('scheduler')
    .description('scheduling throughput (10,000 pods, created → bound) and a 1,000-replica Deployment\'s time to available, against a running cluster with simulated nodes')
    .option('--data-dir <dir>', 'the cluster\'s data directory (raftkube up --runtime simulated --nodes 1000 --data-dir DIR --detach)')
    .option('--svg <file>', 'write pods bound over time (and the Deployment\'s available replicas) as SVG')
    .option('--json <file>', 'write every figure as JSON, with when each Deployment pod was bound and Ready')
    .option('--quick', 'a small run (100 pods, a 30-replica Deployment) to check the command works', false)
    .option('--pods <n>', 'pods the pods phase creates (default 10000; 100 with --quick)')
    .option('--replicas <n>', 'replicas of the Deployment (default 1000; 30 with --quick)')
    .option('--concurrency <n>', 'creates in flight in the pods phase (default 64; 16 with --quick)')
    .option('--timeout <seconds>', 'bound on waiting for every pod bound or every replica available (default 600; 180 with --quick)')
    .option('--phases <names>', 'cycle (the scheduler alone, in this process), pods, deployment, or all; a comma list', 'all')
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchSchedulerOptions, cmd: Command) => {
      const v = validateBenchSchedulerOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench scheduler: ${v.error}`, { exitCode: 2 });
      else await benchScheduler(v.value, raw);
    });
  return bench;
}

async function benchScheduler(o: BenchSchedulerOptions, raw: RawBenchSchedulerOptions): Promise<void> {
  const progress = new TerminalProgress({ bar: o.progress });
  let report: BenchSchedulerReport;
  try {
    report = await runBenchScheduler(o, { progress, command: `raftkube ${process.argv.slice(2).join(' ')}` });
  } catch (err: unknown) {
    if (err instanceof InterruptedError) {
      process.stderr.write('raftkube bench scheduler: interrupted; the benchmark\'s namespaces are deleted.\n');
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
    writeFileSync(o.svgPath, renderSchedulerSvg(report));
    process.stderr.write(`Wrote ${o.svgPath}\n`);
  }
}
