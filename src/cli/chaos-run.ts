/**
 * chaos-run: the `raftkube chaos run` command — flags and output; the work is in
 * src/chaos/runner. Exit status: 0 when every check passed, 1 when a check found a violation,
 * 2 when a check could not decide or the run could not be carried out.
 */
import { randomInt } from 'node:crypto';
import { Option, type Command } from 'commander';
import { runChecks } from '../chaos/report/checks.js';
import { TerminalRunProgress } from '../chaos/report/progress.js';
import { validateChaosRunOptions, DEFAULT_FAULTS, type RawChaosRunOptions } from '../chaos/runner/options.js';
import { ChaosRunError, runChaos } from '../chaos/runner/run.js';
import { FAULT_KINDS } from '../chaos/nemesis/schedule.js';
import { DEFAULT_KV_WORKLOAD } from '../chaos/workload/kv.js';

/** registerChaosRunCommand adds `chaos run` to the program (creating `chaos` if no one has yet). */
export function registerChaosRunCommand(program: Command): Command {
  const chaos = program.commands.find((c) => c.name() === 'chaos') ?? program.command('chaos').description('fault injection and consistency checks');
  chaos
    .command('run')
    .description('start a cluster, run a workload while a seeded nemesis injects faults, check the history and write a report (exit 0: every check passed, 1: a violation, 2: undecided)')
    .option('--masters <n>', 'members of the cluster: 3 or 5', '3')
    .option('--duration <time>', 'how long the workload runs (60s, 2m)', '60s')
    .option('--seed <n>', 'seed of the fault schedule and the workload (default: random, printed)')
    .option('--faults <list>', `comma list of ${FAULT_KINDS.join(', ')}; or none (default: ${DEFAULT_FAULTS.join(',')})`)
    .option('--workload <kind>', 'kv (etcd reads, writes, compare-and-sets and a watcher), k8s (Deployments scaled and ConfigMaps made through the apiservers, with schedulers, controller managers and simulated nodes running) or both', 'kv')
    .option('--report <dir>', 'where to write the report (default: ./chaos-report-seed-<seed>)')
    .option('--endpoints <urls>', 'run the workload and checks against an existing etcd-v3 cluster instead (no faults)')
    .option('--net <mode>', 'how network faults are injected: netns (members in network namespaces; root), proxy (a fault-injecting TCP proxy on every link between members; no root), auto (netns where it can be set up, else proxy) or loopback (none)', 'auto')
    .option('--base-port <port>', 'first loopback port of the members (client, peer pairs) when not in namespaces', '42379')
    .option('--rate <ops>', 'operations per second over all workers', String(DEFAULT_KV_WORKLOAD.rate))
    .option('--workers <n>', 'concurrent client workers', String(DEFAULT_KV_WORKLOAD.workers))
    .option('--keys <n>', 'keys in use at once', String(DEFAULT_KV_WORKLOAD.keys))
    .option('--timeout <time>', 'deadline of each request; past it the outcome is unknown (info)', `${DEFAULT_KV_WORKLOAD.timeoutMs}ms`)
    .addOption(new Option('--unsafe-stale-reads-for-testing', 'start members that serve linearizable reads from local state (a deliberately broken cluster, to test the checks)').hideHelp())
    .action(async (raw: RawChaosRunOptions, cmd: Command) => {
      const v = validateChaosRunOptions(raw, { randomSeed: randomInt(0, 2 ** 31), command: `raftkube ${process.argv.slice(2).join(' ')}`, cwd: process.cwd() });
      if (!v.ok) {
        cmd.error(`raftkube chaos run: ${v.error}`, { exitCode: 2 });
        return;
      }
      const progress = new TerminalRunProgress();
      try {
        const r = await runChaos(v.value, runChecks, progress);
        process.stdout.write(r.summary);
        process.stdout.write(`\nReport: ${r.reportDir}\n`);
        process.exitCode = r.exitCode;
      } catch (err: unknown) {
        const msg = err instanceof ChaosRunError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
        process.stderr.write(`raftkube chaos run: ${msg}\n`);
        process.exitCode = 2;
      }
    });
  return chaos;
}
