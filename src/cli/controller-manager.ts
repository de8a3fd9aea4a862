/**
 * controller-manager: `raftkube controller-manager` — run the controllers (garbage collector,
 * namespace, ReplicaSet, Deployment, node lifecycle, endpoints) in this process as a client of the apiservers' gRPC API,
 * campaigning for the kube-system/kube-controller-manager lease and running them only while it
 * holds it. `raftkube up` starts one per master; run by hand it takes:
 *
 *   raftkube controller-manager --apiservers 127.0.0.1:32401,127.0.0.1:32403 \
 *     --token-file DIR/tokens.csv --ca-file DIR/pki/ca.crt --master m1
 *
 * --token-file takes a kube-apiserver token file (its system:kube-controller-manager line is
 * used) or a file holding just the token.
 */
import { processRegistry, registerLeaderStatus } from '../control-plane/metrics.js';
import { componentClient, METRICS_BIND_ADDRESS_HELP, runUntilSignalled, startComponentMetrics } from './component.js';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createLogger, LOG_FORMAT_HELP, parseLogFormat, type LogFormat } from './log-format.js';
import { CONTROLLER_MANAGER_USER } from '../control-plane/auth/tokens.js';
import { ApiClient } from '../control-plane/client/api-client.js';
import type { ControllerManagerHandle } from '../control-plane/controllers/manager.js';
import { runControllerManager } from '../control-plane/controllers/manager.js';
import { tokenFromFile } from './scheduler.js';

/** ControllerManagerFlags are the parsed flags of `raftkube controller-manager`. */
export interface ControllerManagerFlags {
  readonly apiservers: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly tlsServerName?: string;
  readonly master: string;
  /** leaseDuration in seconds; the renew deadline is 2/3 of it and the retry period 1/6. */
  readonly leaseDuration: number;
  readonly workers: number;
  /** nodeMonitorGracePeriod in ms (for the node lifecycle controller). */
  readonly nodeMonitorGracePeriod: number;
  /** podEvictionTimeout in ms (for the node lifecycle controller). */
  readonly podEvictionTimeout: number;
  readonly metricsBindAddress?: string;
  readonly logLevel: string;
  readonly logFormat?: LogFormat;
}

/** parseDuration reads '40s', '5m', '1500ms', '1h' or a bare number of seconds as milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (m === null) throw new InvalidArgumentError('must be a duration such as 40s, 5m or 1500ms');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/** startControllerManagerFromFlags connects to the apiservers and starts the controller-manager (election included). */
export function startControllerManagerFromFlags(f: ControllerManagerFlags, log: Logger): { readonly handle: ControllerManagerHandle; readonly client: ApiClient } {
  const client = componentClient(f, log, (text) => tokenFromFile(text, CONTROLLER_MANAGER_USER));
  const leaseMs = f.leaseDuration * 1000;
  const handle = runControllerManager({
    client,
    master: f.master,
    workers: f.workers,
    nodeMonitorGracePeriodMs: f.nodeMonitorGracePeriod,
    podEvictionTimeoutMs: f.podEvictionTimeout,
    election: { leaseDurationMs: leaseMs, renewDeadlineMs: Math.round((leaseMs * 2) / 3), retryPeriodMs: Math.max(1, Math.round(leaseMs / 6)) },
    log: (level, message, fields) => log[level](fields ?? {}, message),
  });
  return { handle, client };
}

/** runControllerManagerCommand runs until SIGTERM or SIGINT, then releases the lease and exits. */
export async function runControllerManagerCommand(f: ControllerManagerFlags, log: Logger = createLogger({ level: f.logLevel, base: { component: 'controller-manager', master: f.master }, ...(f.logFormat === undefined ? {} : { format: f.logFormat }) })): Promise<void> {
  const registry = processRegistry();
  const metrics = await startComponentMetrics(f.metricsBindAddress, log, registry);
  const { handle, client } = startControllerManagerFromFlags(f, log);
  registerLeaderStatus(registry, 'kube-controller-manager', () => handle.isLeader());
  log.info({ identity: handle.identity, apiservers: f.apiservers, nodeMonitorGracePeriodMs: f.nodeMonitorGracePeriod, podEvictionTimeoutMs: f.podEvictionTimeout }, 'controller-manager started; campaigning for kube-system/kube-controller-manager');
  runUntilSignalled(log, 'releasing the lease', async () => {
    await handle.stop();
    client.close();
    await metrics?.close();
  });
}

/** registerControllerManagerCommand adds `raftkube controller-manager` to the CLI. */
export function registerControllerManagerCommand(program: Command): void {
  program
    .command('controller-manager')
    .description('run the controllers (one per master; the kube-system/kube-controller-manager lease picks the active one)')
    .requiredOption('--apiservers <list>', "the apiservers' gRPC addresses, host:port comma-separated")
    .option('--token <token>', 'bearer token of system:kube-controller-manager')
    .option('--token-file <file>', 'token file: a token CSV (its system:kube-controller-manager line) or just the token')
    .option('--ca-file <file>', "CA certificate (PEM) to verify the apiservers' TLS; without it the connection is plain")
    .option('--tls-server-name <name>', 'name to check the apiservers’ certificates against')
    .option('--master <name>', 'the master this controller-manager runs on; the lease holder identity begins with it', 'controller-manager')
    .option('--lease-duration <seconds>', 'lease duration (renew deadline 2/3 of it, retry period 1/6)', positiveNumber, 6)
    .option('--workers <n>', 'workers per controller', positiveInt, 5)
    .option('--node-monitor-grace-period <duration>', 'how long a node may go without renewing its Lease before it is NotReady', parseDuration, 40_000)
    .option('--pod-eviction-timeout <duration>', 'default tolerationSeconds for evicting pods from an unreachable node', parseDuration, 300_000)
    .option('--metrics-bind-address <host:port>', METRICS_BIND_ADDRESS_HELP)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: ControllerManagerFlags) => {
      await runControllerManagerCommand(o);
    });
}
