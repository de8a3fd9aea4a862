/**
 * node-agent: `raftkube node-agent` — run one node agent (process runtime: pods as child
 * processes) or many simulated nodes (`--runtime simulated --nodes N`) in this process, as a
 * client of the apiservers' gRPC API. SIGTERM or SIGINT stops it; on the process runtime that
 * stops its pods' processes too (SIGTERM, then SIGKILL after 2 s). Killed instead, it leaves them
 * running, and its next run on the same data directory adopts them.
 */
import { METRICS_BIND_ADDRESS_HELP, readText, runUntilSignalled, startComponentMetrics } from './component.js';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';
import { createLogger, LOG_FORMAT_HELP, parseLogFormat, type LogFormat } from './log-format.js';
import { ApiClient } from '../control-plane/client/index.js';
import type { AgentHandle, NodeResources } from '../node-agent/index.js';
import { Cgroups, checkResources, LIMITS_ANNOTATION, machineResources, parseTaints, ProcessRuntime, runNodeAgent, runSimulatedNodes } from '../node-agent/index.js';
import type { LogServer } from '../node-agent/log-server.js';
import type { ExecResolver } from '../node-agent/exec-server.js';
import { err } from '../control-plane/api/types.js';
import { ServiceProxy } from '../node-agent/service-proxy.js';
import { startLogServer } from '../node-agent/log-server.js';
import { CliError } from './cli-error.js';

/** NodeAgentFlags are the parsed flags of `raftkube node-agent`. */
export interface NodeAgentFlags {
  readonly name: string;
  readonly apiservers: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly caFile?: string;
  readonly tlsServerName?: string;
  readonly dataDir?: string;
  readonly runtime: string;
  readonly nodes: number;
  readonly cpu?: string;
  readonly memory?: string;
  readonly maxPods?: number;
  readonly taints?: string;
  readonly labels?: string;
  readonly nodeIp?: string;
  readonly podCidr?: string;
  readonly kubeletClientTokenFile?: string;
  readonly logPort: number;
  readonly serviceProxy: boolean;
  readonly startDelay: number;
  readonly backoffInitial: number;
  readonly backoffMax: number;
  readonly leaseRenew: number;
  readonly statusReport: number;
  readonly metricsBindAddress?: string;
  readonly logLevel: string;
  readonly logFormat?: LogFormat;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('Must be a positive integer.');
  return n;
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('Must be a number of zero or more.');
  return n;
}


function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CliError(`The label ${JSON.stringify(part)} is not key=value; write --labels zone=a,disk=ssd`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** nodeAgentClient builds the ApiClient the flags describe (endpoints, token, CA). */
export function nodeAgentClient(f: NodeAgentFlags): ApiClient {
  const endpoints = f.apiservers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (endpoints.length === 0) throw new CliError('Give the apiservers\' gRPC addresses: --apiservers host:port[,host:port...] (cluster.json lists them as masters[].grpcAddress)');
  if (f.token !== undefined && f.tokenFile !== undefined) throw new CliError('Give --token or --token-file, not both');
  const token = f.token ?? (f.tokenFile === undefined ? undefined : readText(f.tokenFile, 'token file').trim());
  if (token === undefined || token === '') throw new CliError('Give the node\'s bearer token: --token <token> or --token-file <file>');
  const caPem = f.caFile === undefined ? undefined : readText(f.caFile, 'CA certificate');
  return new ApiClient({ endpoints, token, ...(caPem === undefined ? {} : { caPem }), ...(f.tlsServerName === undefined ? {} : { tlsServerName: f.tlsServerName }) });
}

function resourcesOf(f: NodeAgentFlags): NodeResources {
  const m = machineResources();
  const r = checkResources({ cpu: f.cpu ?? m.cpu, memory: f.memory ?? m.memory, pods: f.maxPods ?? m.pods });
  if (!r.ok) throw new CliError(r.error);
  return r.value;
}

/**
 * startNodeAgent starts what the flags ask for and returns its handle (the caller stops it).
 * The process runtime first takes back the containers a previous run of this node left (a
 * crashed agent's pods keep running and are adopted; see ProcessRuntime.recover).
 */
export function startNodeAgent(f: NodeAgentFlags, client: ApiClient, log: Logger, logs?: LogServer, onRuntime?: (runtime: ProcessRuntime) => void): AgentHandle {
  const taints = parseTaints(f.taints ?? '');
  if (!taints.ok) throw new CliError(taints.error);
  const onError = (what: string, e: unknown): void => log.warn({ err: e }, what);
  const common = {
    client,
    resources: resourcesOf(f),
    taints: taints.value,
    labels: parseLabels(f.labels),
    ...(f.nodeIp === undefined ? {} : { nodeIP: f.nodeIp }),
    ...(f.podCidr === undefined ? {} : { podCidr: f.podCidr }),
    leaseRenewMs: f.leaseRenew * 1000,
    statusReportMs: f.statusReport * 1000,
    onError,
  };
  switch (f.runtime) {
    case 'simulated':
      return runSimulatedNodes({ ...common, name: f.name, count: f.nodes, startDelayMs: f.startDelay });
    case 'process': {
      if (f.nodes !== 1) throw new CliError('The process runtime runs one node per agent; drop --nodes or use --runtime simulated');
      if (f.dataDir === undefined) throw new CliError('The process runtime keeps pod logs under a data directory; give --data-dir DIR');
      const dataDir = resolve(f.dataDir);
      if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true });
      const cgroups = new Cgroups();
      if (cgroups.available === 'none') log.warn('no writable cgroup hierarchy: containers\' memory and cpu limits are not enforced (the Node says so in its raftkube.io/resource-limits annotation)');
      const runtime = new ProcessRuntime({ dataDir, cgroups });
      // Containers a previous run of this node left running are taken back, not started twice.
      const recovered = runtime.recover();
      if (recovered.pods > 0 || recovered.killed > 0) log.info(recovered, 'took back the containers a previous run of this node left');
      onRuntime?.(runtime);
      const annotations = { [LIMITS_ANNOTATION]: cgroups.available === 'none' ? 'not-enforced' : `enforced-cgroup-${cgroups.available}` };
      return runNodeAgent({ ...common, annotations, name: f.name, runtime, backoff: { initialMs: f.backoffInitial * 1000, maxMs: f.backoffMax * 1000 }, ...(logs === undefined ? {} : { kubeletPort: logs.port }) });
    }
    default:
      throw new CliError(`Unknown runtime ${JSON.stringify(f.runtime)}; use --runtime process or --runtime simulated`);
  }
}

/** runNodeAgentCommand runs the agent until SIGTERM or SIGINT. */
export async function runNodeAgentCommand(f: NodeAgentFlags, log: Logger = createLogger({ level: f.logLevel, base: { component: 'node-agent', node: f.name }, ...(f.logFormat === undefined ? {} : { format: f.logFormat }) })): Promise<void> {
  const metrics = await startComponentMetrics(f.metricsBindAddress, log);
  const client = nodeAgentClient(f);
  let agent: AgentHandle;
  let logs: LogServer | undefined;
  // kubectl exec reaches the runtime through the log endpoint, which starts first.
  let runtime: ProcessRuntime | undefined;
  const exec: ExecResolver = (ns, pod, container) => runtime?.execContext(ns, pod, container) ?? err('the node agent is still starting; try again');
  try {
    // The log endpoint (kubectl logs, through the apiservers) serves what the process runtime writes.
    if (f.kubeletClientTokenFile !== undefined && f.runtime === 'process' && f.dataDir !== undefined) {
      const token = readText(f.kubeletClientTokenFile, 'kubelet client token file').trim();
      logs = await startLogServer({ dataDir: resolve(f.dataDir), token, host: f.nodeIp ?? '127.0.0.1', port: f.logPort, exec });
      log.info({ port: logs.port }, 'serving container logs');
    }
    agent = startNodeAgent(f, client, log, logs, (r) => (runtime = r));
  } catch (e: unknown) {
    await logs?.close();
    await metrics?.close();
    client.close();
    throw e;
  }
  // Services: every process-runtime agent runs the proxy; on a shared machine the first to bind an address serves it.
  const proxy = f.serviceProxy && f.runtime === 'process' ? new ServiceProxy({ client, ...(f.nodeIp === undefined ? {} : { nodeIP: f.nodeIp }), onError: (what, e) => log.warn({ err: e }, what) }) : null;
  proxy?.start();
  void agent.registered.then((r) => {
    const count = (what: string): number => r.filter((x) => x === what).length;
    log.info({ registered: count('registered'), adopted: count('adopted'), runtime: f.runtime }, 'nodes registered');
  });
  runUntilSignalled(log, 'stopping the pods', async () => {
    proxy?.stop();
    await agent.stop();
    await logs?.close();
    client.close();
    await metrics?.close();
  });
}

/** registerNodeAgentCommand adds `raftkube node-agent` to the CLI. */
export function registerNodeAgentCommand(program: Command): void {
  program
    .command('node-agent')
    .description('run a node agent: register a Node, renew its Lease, run the pods bound to it (as processes, or simulated nodes by the thousand)')
    .requiredOption('--name <name>', 'the node name (with --nodes N > 1, the prefix of <name>-<i>)')
    .requiredOption('--apiservers <addrs>', "the apiservers' gRPC addresses, comma-separated host:port")
    .option('--token <token>', "the node's bearer token (user system:node:<name>)")
    .option('--token-file <file>', 'a file holding the bearer token')
    .option('--ca-file <file>', "the cluster CA (PEM) to verify the apiservers' TLS; without it the connection is plain")
    .option('--tls-server-name <name>', "the name the apiservers' certificates are checked against")
    .option('--data-dir <dir>', "the node's data directory (pod logs, pid files); required by the process runtime")
    .option('--runtime <kind>', 'process (pods as child processes) or simulated (kwok-style fake nodes)', 'process')
    .option('--nodes <n>', 'simulated runtime: how many fake nodes this process carries', positiveInt, 1)
    .option('--cpu <quantity>', 'cpu capacity (default: the machine\'s cpus)')
    .option('--memory <quantity>', 'memory capacity (default: the machine\'s memory)')
    .option('--max-pods <n>', 'pod capacity', positiveInt)
    .option('--taints <taints>', 'taints, comma-separated key=value:Effect')
    .option('--labels <labels>', 'extra node labels, comma-separated key=value')
    .option('--node-ip <ip>', "the node's InternalIP and its pods' hostIP", '127.0.0.1')
    .option('--pod-cidr <cidr>', 'the loopback block pod IPs come from (default: a /16 of 127.64.0.0/10 picked by the number the node name ends in, n1 → 127.65.0.0/16; simulated nodes share 127.64.0.0/10)')
    .option('--kubelet-client-token-file <file>', "process runtime: serve container logs (kubectl logs) to the apiservers presenting this token")
    .option('--log-port <port>', 'the port of the log endpoint (0: any free port; published in the Node status)', nonNegative, 0)
    .option('--no-service-proxy', 'process runtime: do not forward ClusterIP and NodePort Services to their endpoints')
    .option('--start-delay <ms>', 'simulated runtime: how long a pod stays ContainerCreating', nonNegative, 200)
    .option('--backoff-initial <seconds>', 'process runtime: first CrashLoopBackOff delay, doubling', nonNegative, 10)
    .option('--backoff-max <seconds>', 'process runtime: longest CrashLoopBackOff delay', nonNegative, 300)
    .option('--lease-renew <seconds>', 'how often each node renews its Lease', nonNegative, 10)
    .option('--status-report <seconds>', 'how often each node reports its status', nonNegative, 60)
    .option('--metrics-bind-address <host:port>', METRICS_BIND_ADDRESS_HELP)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--log-format <format>', LOG_FORMAT_HELP, parseLogFormat)
    .action(async (o: NodeAgentFlags) => {
      await runNodeAgentCommand(o);
    });
}
