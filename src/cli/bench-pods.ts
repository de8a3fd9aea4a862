/**
 * bench-pods: the `raftkube bench pods` command — pod startup latency (created → scheduled →
 * Running → Ready as a watcher sees it) against the running cluster in --data-dir — and
 * `raftkube bench nodes` — its simulated nodes held Ready, their Leases fresh and their pods
 * running, for a minute, failing loudly when any of that breaks. The work is in bench/pods; this
 * file is flags and output.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  formatNodesReport,
  formatReport,
  renderPodsSvg,
  runBenchNodes,
  runBenchPods,
  validateBenchNodesOptions,
  validateBenchPodsOptions,
  type BenchNodesReport,
  type BenchPodsReport,
  type RawBenchNodesOptions,
  type RawBenchPodsOptions,
} from '../../bench/pods/index.js';
import { InterruptedError, TerminalProgress } from '../../bench/kv/index.js';

function benchGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks against a running cluster');
}

/** registerBenchPodsCommands adds `bench pods` and `bench nodes` to the program (creating `bench` if no one has yet). */
export function registerBenchPodsCommands(program: Command): Command {
  const bench = benchGroup(program);
  bench
    .command('pods')
    .description('pod startup latency against a running cluster: creates pods at a steady rate for the scheduler to place and times, per pod, created → scheduled → Running → Ready as a watcher sees it; deletes them at the end')
    .option('--data-dir <dir>', "the cluster's data directory (cluster.json and kubeconfig, as raftkube up writes them)")
    .option('--pods <n>', 'pods to create (default 2000; 30 with --quick)')
    .option('--rate <pods/s>', 'target create rate (default 100; 20 with --quick)')
    .option('--in-flight <n>', 'most creates awaiting an answer at once (default 200)')
    .option('--workload <kind>', "what the pods run: sleep (sleep 3600) or http (a node HTTP server on the pod's IP with an httpGet readiness probe)", 'sleep')
    .option('--timeout <seconds>', 'how long to wait after the last create for every pod to be Ready (default 120)')
    .option('--svg <file>', "write every pod's startup latency against its creation time as SVG")
    .option('--json <file>', 'write every figure, and every pod\'s timings, as JSON')
    .option('--quick', 'a small run (30 pods at 20/s) to check the command works', false)
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchPodsOptions, cmd: Command) => {
      const v = validateBenchPodsOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench pods: ${v.error}`, { exitCode: 2 });
      else await run('pods', v.value.progress, (progress, onReport) => runBenchPods(v.value, { progress, command: commandLine(), onReport }), (r: BenchPodsReport) => {
        process.stdout.write(formatReport(r));
        write(v.value.jsonPath, () => `${JSON.stringify({ ...r, options: raw }, null, 2)}\n`);
        write(v.value.svgPath, () => renderPodsSvg(r));
      });
    });
  bench
    .command('nodes')
    .description('hold a running cluster\'s simulated nodes for a while with pods on them, checking that every node stays Ready, every Lease fresh and every pod running; exit status 1 when a check fails')
    .option('--data-dir <dir>', "the cluster's data directory (as raftkube up --runtime simulated --nodes N writes it)")
    .option('--nodes <n>', 'how many Ready simulated nodes the cluster must have (required)')
    .option('--pods <n>', 'pods to run on them during the hold (default 10000; 100 with --quick; 0 for none)')
    .option('--seconds <s>', 'how long to hold (default 60; 15 with --quick)')
    .option('--check-every <s>', 'seconds between two checks during the hold (default 5)')
    .option('--lease-stale <s>', "a Lease not renewed for longer than this is stale (default: the Lease's leaseDurationSeconds)")
    .option('--rate <pods/s>', 'create rate of the pods (default 200)')
    .option('--in-flight <n>', 'most creates awaiting an answer at once (default 200)')
    .option('--timeout <seconds>', 'how long to wait for the nodes to be Ready and the pods to run (default 600)')
    .option('--json <file>', 'write every check and figure as JSON')
    .option('--quick', 'a small run (100 pods, 15 s) to check the command works', false)
    .option('--no-progress', 'no progress bar (phase lines still go to stderr)')
    .action(async (raw: RawBenchNodesOptions, cmd: Command) => {
      const v = validateBenchNodesOptions(raw);
      if (!v.ok) cmd.error(`raftkube bench nodes: ${v.error}`, { exitCode: 2 });
      else await run('nodes', v.value.progress, (progress, onReport) => runBenchNodes(v.value, { progress, command: commandLine(), onReport }), (r: BenchNodesReport) => {
        process.stdout.write(formatNodesReport(r));
        write(v.value.jsonPath, () => `${JSON.stringify({ ...r, options: raw }, null, 2)}\n`);
        if (r.failures.length > 0) {
          process.stderr.write(`raftkube bench nodes: FAILED — ${r.failures.length} check${r.failures.length === 1 ? '' : 's'} failed; the first: ${r.failures[0] ?? ''}\n`);
          process.exitCode = 1;
        }
      });
    });
  return bench;
}

function commandLine(): string {
  return `raftkube ${process.argv.slice(2).join(' ')}`;
}

function write(path: string | null, text: () => string): void {
  if (path === null) return;
  writeFileSync(path, text());
  process.stderr.write(`Wrote ${path}\n`);
}

/**
 * run runs a benchmark and shows its report as soon as the measuring is over, before the
 * benchmark deletes its pods (which can take minutes for 10,000 of them).
 */
async function run<R>(name: string, bar: boolean, work: (p: TerminalProgress, onReport: (r: R) => void) => Promise<R>, show: (r: R) => void): Promise<void> {
  const progress = new TerminalProgress({ bar });
  try {
    await work(progress, show);
  } catch (err: unknown) {
    if (err instanceof InterruptedError) {
      process.stderr.write(`raftkube bench ${name}: interrupted; the benchmark's pods and namespace are deleted.\n`);
      process.exitCode = 130;
      return;
    }
    throw err;
  }
}
