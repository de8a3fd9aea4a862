/**
 * program: every `raftkube` subcommand (main.ts loads this for all but `kv`). Each subcommand runs
 * in this process. A failure prints one line (`raftkube: <what happened and what to do>`) and
 * exits 1.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { up, ALLOWED_MASTERS, MASTERS_RULE } from './up.js';
import { CliError } from './cli-error.js';
import { readClusterFile } from './cluster-file.js';
import { down, formatDown } from './down.js';
import { commandHint, DEFAULT_DATA_DIR } from './hints.js';
import { probeCluster } from './local-cluster.js';
import { MAX_PORT } from './preflight.js';
import { printStatus } from './status.js';
import { newProgram, nonNegativeInt, positiveInt, registerKvCommand, runProgram } from './kv-command.js';
import { registerBenchCommand } from './bench-kv.js';
import { registerBenchApiCommand } from './bench-api.js';
import { registerBenchSchedulerCommand } from './bench-scheduler.js';
import { registerChaosRunCommand } from './chaos-run.js';
import { registerBenchPodsCommands } from './bench-pods.js';
import { registerApiServerCommand } from './apiserver.js';
import { registerLbCommand } from './lb.js';
import { registerSchedulerCommand } from './scheduler.js';
import { registerControllerManagerCommand } from './controller-manager.js';
import { registerNodeAgentCommand } from './node-agent.js';
import { registerChaosCheckCommand } from './chaos.js';
import { portOrZero, registerDashboardCommand } from './dashboard.js';
import { registerSnapshotCommand } from './snapshot.js';
import { registerMemberCommand } from './member.js';
import { metricsLines, type NodeRuntime } from './components-up.js';
import { leaseHolders, probeApiservers } from './control-plane-up.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PORT) throw new InvalidArgumentError(`Must be a port number from 1 to ${MAX_PORT}.`);
  return n;
}

function runtimeKind(v: string): NodeRuntime {
  if (v !== 'process' && v !== 'simulated') throw new InvalidArgumentError('Must be process or simulated.');
  return v;
}

function mastersCount(v: string): number {
  const n = Number(v);
  if (!ALLOWED_MASTERS.includes(n)) throw new InvalidArgumentError(`Must be ${MASTERS_RULE}.`);
  return n;
}

const program = newProgram();

program
  .command('up')
  .description('start a local HA cluster on loopback, or resume it: start whichever of its members are not running')
  .option('--masters <n>', `number of masters: ${MASTERS_RULE}`, mastersCount, 3)
  .option('--data-dir <dir>', 'where the cluster keeps its data (one cluster per directory)', DEFAULT_DATA_DIR)
  .option('--base-port <port>', 'first port: master i uses base+2i (etcd client) and base+2i+1 (peer), its apiserver base+20+2i (REST) and base+21+2i (gRPC); the load balancer base+40', port, 32379)
  .option('--detach', 'return once the cluster is healthy, leaving it running', false)
  .option('--timeout <seconds>', 'how long to wait for the cluster to become healthy', positiveInt, 60)
  .option('--snapshot-count <n>', 'applied entries between Raft snapshots', positiveInt)
  .option('--quota-backend-bytes <n>', "each member's backend size that raises the NOSPACE alarm (0: 2 GiB)", nonNegativeInt)
  .option('--etcd-only', 'start only the etcd layer (no apiservers, no load balancer)', false)
  .option('--nodes <n>', 'node agents to run (with --runtime simulated: simulated nodes, in one process)', nonNegativeInt, 2)
  .option('--runtime <kind>', 'how nodes run pods: process (real child processes) or simulated', runtimeKind, 'process')
  .option('--dashboard-port <port>', 'where the live dashboard is served on 127.0.0.1 while up runs in the foreground (0: any free port)', portOrZero, 0)
  .option('--no-dashboard', 'serve no dashboard')
  .option('--insecure', "run a new cluster's etcd layer in plain http (default: TLS, with client and peer certificates required)", false)
  .action(async (o: { masters: number; dataDir: string; basePort: number; detach: boolean; timeout: number; snapshotCount?: number; quotaBackendBytes?: number; etcdOnly: boolean; nodes: number; runtime: NodeRuntime; dashboard: boolean; dashboardPort: number; insecure: boolean }) => {
    const memberArgs = [
      ...(o.snapshotCount === undefined ? [] : ['--snapshot-count', String(o.snapshotCount)]),
      ...(o.quotaBackendBytes === undefined ? [] : ['--quota-backend-bytes', String(o.quotaBackendBytes)]),
    ];
    await up({
      masters: o.masters, dataDir: resolve(o.dataDir), basePort: o.basePort, detach: o.detach, timeoutMs: o.timeout * 1000, memberArgs, etcdOnly: o.etcdOnly, nodes: o.nodes, runtime: o.runtime,
      dashboardPort: o.dashboard ? o.dashboardPort : null, insecure: o.insecure,
    });
  });

program
  .command('down')
  .description('stop the cluster in a data directory (only processes that are still its own)')
  .option('--data-dir <dir>', 'the cluster data directory', DEFAULT_DATA_DIR)
  .action(async (o: { dataDir: string }) => {
    const dir = resolve(o.dataDir);
    process.stdout.write(formatDown(await down(dir), dir));
  });

program
  .command('status')
  .description("show each member's role, term, commit and applied index and lag; exit 1 without a leader or with a member down")
  .option('--data-dir <dir>', 'the cluster data directory', DEFAULT_DATA_DIR)
  .option('--json', 'print JSON', false)
  .action(async (o: { dataDir: string; json: boolean }) => {
    const dir = resolve(o.dataDir);
    const f = readClusterFile(dir);
    if (f === null) throw new CliError(`No cluster in ${dir} (no cluster.json); start one with ${commandHint('up', dir)}`);
    const [members, apiservers, leases] = await Promise.all([probeCluster(f, dir), probeApiservers(f, dir), leaseHolders(f, dir)]);
    if (!printStatus(members, o.json, apiservers, leases)) process.exitCode = 1;
    if (!o.json) process.stdout.write(metricsLines(f).map((l) => `${l}\n`).join(''));
  });

registerKvCommand(program);
registerApiServerCommand(program);
registerLbCommand(program);
registerSchedulerCommand(program);
registerControllerManagerCommand(program);
registerNodeAgentCommand(program);
registerBenchCommand(program);
registerBenchApiCommand(program);
registerChaosCheckCommand(program);
registerDashboardCommand(program);
registerBenchSchedulerCommand(program);
registerChaosRunCommand(program);
registerBenchPodsCommands(program);
registerSnapshotCommand(program);
registerMemberCommand(program);

await runProgram(program);
