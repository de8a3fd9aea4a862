#!/usr/bin/env node
/**
 * main: the `raftkube` command. Each subcommand runs in this process: `raftkube kv` IS the
 * member (no wrapper), so signals sent to its pid reach the server.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { up, UpError } from './up.js';
import { readClusterFile } from './cluster-file.js';
import { probeCluster, stopPids } from './local-cluster.js';
import { printStatus } from './status.js';
import { runKvMember } from './kv.js';
import { registerBenchCommand } from './bench-kv.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function mastersCount(v: string): number {
  const n = positiveInt(v);
  if (n % 2 === 0 || n > 7) throw new InvalidArgumentError('must be 1, 3, 5 or 7 (an odd quorum)');
  return n;
}

const program = new Command();
program.name('raftkube').description('A Kubernetes-style control plane on a hand-written Raft, etcd-compatible store').version('0.1.0');

program
  .command('up')
  .description('start (or resume) a local HA cluster on loopback')
  .option('--masters <n>', 'number of masters: 3 or 5 (1 for a toy)', mastersCount, 3)
  .option('--data-dir <dir>', 'where the cluster keeps its data', 'raftkube-data')
  .option('--base-port <port>', 'first port; member i uses base+2i (client) and base+2i+1 (peer)', positiveInt, 32379)
  .option('--detach', 'return once the cluster is healthy, leaving it running', false)
  .option('--timeout <seconds>', 'how long to wait for the cluster to become healthy', positiveInt, 60)
  .option('--snapshot-count <n>', 'applied entries between Raft snapshots', positiveInt)
  .action(async (o: { masters: number; dataDir: string; basePort: number; detach: boolean; timeout: number; snapshotCount?: number }) => {
    const memberArgs = o.snapshotCount === undefined ? [] : ['--snapshot-count', String(o.snapshotCount)];
    await up({ masters: o.masters, dataDir: resolve(o.dataDir), basePort: o.basePort, detach: o.detach, timeoutMs: o.timeout * 1000, memberArgs });
  });

program
  .command('down')
  .description('stop a cluster started with up --detach')
  .option('--data-dir <dir>', 'the cluster data directory', 'raftkube-data')
  .action(async (o: { dataDir: string }) => {
    const f = readClusterFile(resolve(o.dataDir));
    if (f === null) throw new UpError(`No cluster in ${o.dataDir} (no cluster.json)`);
    await stopPids(f.masters.flatMap((m) => m.pids));
    process.stdout.write(`Stopped ${f.masters.length} masters.\n`);
  });

program
  .command('status')
  .description("show each member's role, term, commit and applied index and lag")
  .option('--data-dir <dir>', 'the cluster data directory', 'raftkube-data')
  .option('--json', 'print JSON', false)
  .action(async (o: { dataDir: string; json: boolean }) => {
    const f = readClusterFile(resolve(o.dataDir));
    if (f === null) throw new UpError(`No cluster in ${o.dataDir} (no cluster.json); start one with raftkube up`);
    printStatus(await probeCluster(f), o.json);
  });

program
  .command('kv')
  .description('run one etcd-compatible kv member (flags as etcd)')
  .requiredOption('--name <name>', 'member name')
  .option('--data-dir <dir>', 'data directory (default: <name>.raftkube)')
  .option('--listen-client-urls <urls>', 'client URLs to listen on', 'http://127.0.0.1:2379')
  .option('--advertise-client-urls <urls>', 'client URLs to publish (default: listen URLs)')
  .option('--listen-peer-urls <urls>', 'peer URLs to listen on', 'http://127.0.0.1:2380')
  .option('--initial-advertise-peer-urls <urls>', 'peer URLs to publish (default: listen URLs)')
  .option('--initial-cluster <list>', 'name=peerURL,... of the initial members')
  .option('--initial-cluster-state <state>', 'new | existing', 'new')
  .option('--initial-cluster-token <token>', 'cluster token', 'raftkube-cluster')
  .option('--heartbeat-interval <ms>', 'heartbeat interval (one Raft tick)', positiveInt, 100)
  .option('--election-timeout <ms>', 'election timeout', positiveInt, 1000)
  .option('--max-request-bytes <n>', 'largest request accepted', positiveInt, 1.5 * 1024 * 1024)
  .option('--max-txn-ops <n>', 'most operations in one txn', positiveInt, 128)
  .option('--snapshot-count <n>', 'applied entries between Raft snapshots', positiveInt, 100_000)
  .option('--log-level <level>', 'pino log level', 'info')
  .action(async (o: Record<string, string | number | undefined>) => {
    await runKvMember(o);
  });

registerBenchCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`raftkube: ${msg}\n`);
  process.exit(1);
});
