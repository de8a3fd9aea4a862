/**
 * kv-command: the `raftkube kv` subcommand, and what main.ts needs to run it without loading the
 * rest of the command. A member restarted after a crash serves only once its process has loaded
 * its code, so `raftkube kv` loads the member alone (not the apiserver, benchmarks, chaos tools and
 * dashboard, which took about half of a restart of an empty member).
 */
import { Command, InvalidArgumentError } from 'commander';
import { LOG_FORMAT_HELP, parseLogFormat } from './log-format.js';
import { runKvMember } from './kv.js';

/** positiveInt parses a flag that must be a positive integer. */
export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('Must be a positive integer.');
  return n;
}

/** nonNegativeInt parses a flag that must be a whole number, 0 or more. */
export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('Must be a whole number, 0 or more.');
  return n;
}

/** newProgram returns the `raftkube` command with its name, description and version, and no subcommands. */
export function newProgram(): Command {
  return new Command().name('raftkube').description('A Kubernetes-style control plane on a hand-written Raft, etcd-compatible store').version('0.1.0');
}

/** registerKvCommand adds `raftkube kv` (one etcd-compatible member, etcd's flag names). */
export function registerKvCommand(program: Command): void {
  program
    .command('kv')
    .description('run one etcd-compatible kv member (flags as etcd)')
    .requiredOption('--name <name>', 'member name')
    .option('--data-dir <dir>', 'data directory (default: ./<name>.raftkube)')
    .option('--listen-client-urls <urls>', 'client URLs to listen on', 'http://127.0.0.1:2379')
    .option('--advertise-client-urls <urls>', 'client URLs to publish (default: listen URLs)')
    .option('--listen-peer-urls <urls>', 'peer URLs to listen on', 'http://127.0.0.1:2380')
    .option('--initial-advertise-peer-urls <urls>', 'peer URLs to publish (default: listen URLs)')
    .option('--listen-metrics-urls <urls>', 'extra plain-HTTP URLs serving /metrics and /health (the client URLs serve them too)')
    .option('--initial-cluster <list>', 'name=peerURL,... of the initial members')
    .option('--initial-cluster-state <state>', 'new | existing', 'new')
    .option('--initial-cluster-token <token>', 'cluster token', 'raftkube-cluster')
    .option('--heartbeat-interval <ms>', 'heartbeat interval (one Raft tick)', positiveInt, 100)
    .option('--election-timeout <ms>', 'election timeout', positiveInt, 1000)
    .option('--max-request-bytes <n>', 'largest request accepted', positiveInt, 1.5 * 1024 * 1024)
    .option('--max-txn-ops <n>', 'most operations in one txn', positiveInt, 128)
    .option('--snapshot-count <n>', 'applied entries between Raft snapshots', positiveInt, 100_000)
    .option('--quota-backend-bytes <n>', 'backend size that raises the NOSPACE alarm (0: 2 GiB)', nonNegativeInt, 0)
    .option('--cert-file <path>', 'client TLS certificate (PEM); needed for https:// client URLs')
    .option('--key-file <path>', 'client TLS private key (PEM)')
    .option('--trusted-ca-file <path>', 'CA that signs client certificates (with --client-cert-auth)')
    .option('--client-cert-auth', 'refuse clients without a certificate signed by --trusted-ca-file', false)
    .option('--peer-cert-file <path>', 'peer TLS certificate (PEM), presented as server and as client; needed for https:// peer URLs')
    .option('--peer-key-file <path>', 'peer TLS private key (PEM)')
    .option('--peer-trusted-ca-file <path>', 'CA that signs the other members\' peer certificates')
    .option('--peer-client-cert-auth', 'refuse peers without a certificate signed by --peer-trusted-ca-file', false)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      await runKvMember(o);
    });
}

/** runProgram parses the command line and runs the chosen subcommand; a failure prints one line and exits 1. */
export async function runProgram(program: Command): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err: unknown) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`raftkube: ${msg}\n`);
    process.exit(1);
  }
}
