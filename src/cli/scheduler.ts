/**
 * scheduler: `raftkube scheduler` — run the scheduler in this process as a client of the
 * apiservers' gRPC API, campaigning for the kube-system/kube-scheduler lease and scheduling
 * only while it holds it. `raftkube up` starts one per master; run by hand it takes:
 *
 *   raftkube scheduler --apiservers 127.0.0.1:32401,127.0.0.1:32403 \
 *     --token-file DIR/tokens.csv --ca-file DIR/pki/ca.crt --master m1
 *
 * --token-file takes either a kube-apiserver token file (the system:kube-scheduler line is
 * used) or a file holding just the token.
 */
import { componentClient, METRICS_BIND_ADDRESS_HELP, runUntilSignalled, startComponentMetrics } from './component.js';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createLogger, LOG_FORMAT_HELP, parseLogFormat, type LogFormat } from './log-format.js';
import type { Result } from '../control-plane/api/types.js';
import { err, ok } from '../control-plane/api/types.js';
import { parseTokenFile, SCHEDULER_USER } from '../control-plane/auth/tokens.js';
import { ApiClient } from '../control-plane/client/api-client.js';
import { runScheduler } from '../control-plane/scheduler/run.js';
import { processRegistry, registerLeaderStatus } from '../control-plane/metrics.js';
import type { SchedulerHandle } from '../control-plane/scheduler/run.js';

/** SchedulerFlags are the parsed flags of `raftkube scheduler`. */
export interface SchedulerFlags {
  readonly apiservers: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly tlsServerName?: string;
  readonly master: string;
  /** leaseDuration in seconds; the renew deadline is 2/3 of it and the retry period 1/6. */
  readonly leaseDuration: number;
  readonly percentageOfNodesToScore: number;
  readonly metricsBindAddress?: string;
  readonly logLevel: string;
  readonly logFormat?: LogFormat;
}

/**
 * tokenFromFile reads a token file: a kube-apiserver token CSV yields the token of
 * `user` (system:kube-scheduler), any other file its trimmed content.
 */
export function tokenFromFile(text: string, user: string = SCHEDULER_USER): Result<string, string> {
  const trimmed = text.trim();
  if (trimmed === '') return err('the token file is empty');
  if (!trimmed.includes(',')) return ok(trimmed);
  const parsed = parseTokenFile(text);
  if (!parsed.ok) return err(`it is neither a bare token nor a token CSV (${parsed.error})`);
  const entry = parsed.value.find((e) => e.user === user);
  return entry === undefined ? err(`it has no line for user ${user}; add one or pass --token`) : ok(entry.token);
}


function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function percentage(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be between 0 (adaptive) and 100');
  return n;
}

/** startSchedulerFromFlags connects to the apiservers and starts the scheduler (election included). */
export function startSchedulerFromFlags(f: SchedulerFlags, log: Logger): { readonly handle: SchedulerHandle; readonly client: ApiClient } {
  const client = componentClient(f, log, (text) => tokenFromFile(text));
  const leaseMs = f.leaseDuration * 1000;
  const handle = runScheduler({
    client,
    master: f.master,
    log,
    leaderElection: { leaseDurationMs: leaseMs, renewDeadlineMs: Math.round((leaseMs * 2) / 3), retryPeriodMs: Math.max(1, Math.round(leaseMs / 6)) },
    percentageOfNodesToScore: f.percentageOfNodesToScore,
  });
  return { handle, client };
}

/** runSchedulerCommand runs the scheduler until SIGTERM or SIGINT, then releases the lease and exits. */
export async function runSchedulerCommand(f: SchedulerFlags, log: Logger = createLogger({ level: f.logLevel, base: { component: 'scheduler', master: f.master }, ...(f.logFormat === undefined ? {} : { format: f.logFormat }) })): Promise<void> {
  const registry = processRegistry();
  const metrics = await startComponentMetrics(f.metricsBindAddress, log, registry);
  const { handle, client } = startSchedulerFromFlags(f, log);
  registerLeaderStatus(registry, 'kube-scheduler', () => handle.isLeader());
  log.info({ identity: handle.identity, apiservers: f.apiservers }, 'scheduler started; campaigning for kube-system/kube-scheduler');
  const synced = await handle.synced();
  if (synced) log.info('pod and node caches synced');
  runUntilSignalled(log, 'releasing the lease', async () => {
    await handle.stop();
    client.close();
    await metrics?.close();
  });
}

/** registerSchedulerCommand adds `raftkube scheduler` to the CLI. */
export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler')
    .description('run the scheduler (one per master; the kube-system/kube-scheduler lease picks the active one)')
    .requiredOption('--apiservers <list>', "the apiservers' gRPC addresses, host:port comma-separated")
    .option('--token <token>', 'bearer token of system:kube-scheduler')
    .option('--token-file <file>', 'token file: a token CSV (its system:kube-scheduler line) or just the token')
    .option('--ca-file <file>', "CA certificate (PEM) to verify the apiservers' TLS; without it the connection is plain")
    .option('--tls-server-name <name>', 'name to check the apiservers’ certificates against')
    .option('--master <name>', 'the master this scheduler runs on; the lease holder identity begins with it', 'scheduler')
    .option('--lease-duration <seconds>', 'lease duration (renew deadline 2/3 of it, retry period 1/6)', positiveNumber, 6)
    .option('--percentage-of-nodes-to-score <n>', 'share of nodes to find feasible before scoring (0: adaptive)', percentage, 0)
    .option('--metrics-bind-address <host:port>', METRICS_BIND_ADDRESS_HELP)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: SchedulerFlags) => {
      await runSchedulerCommand(o);
    });
}
