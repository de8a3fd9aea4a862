/**
 * components-up: the processes `raftkube up` starts once the apiservers are ready — on every
 * master a scheduler and a controller manager (Lease-elected: one of each acts), and the node
 * agents: `--nodes N` process-runtime agents (n1..nN, each with its own node token), or one
 * process carrying N simulated nodes (`--runtime simulated`). They reach the apiservers over
 * the gRPC API with the cluster CA.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { nodeToken } from '../control-plane/auth/tokens.js';
import { CliError } from './cli-error.js';
import type { ClusterFile, MasterEntry, ProcessEntry } from './cluster-file.js';
import { startComponentProcess, type Credentials } from './control-plane-up.js';
import type { ClusterNetworks } from './networks.js';
import { isClusterProcess } from './processes.js';

/** NodeRuntime is how node agents run pods. */
export type NodeRuntime = 'process' | 'simulated';

/** ComponentsOptions say which components to start. */
export interface ComponentsOptions {
  readonly dataDir: string;
  readonly creds: Credentials;
  readonly nodes: number;
  readonly runtime: NodeRuntime;
  /** controllerManager says whether `raftkube controller-manager` exists to be started. */
  readonly controllerManager: boolean;
  /** networks are the cluster's address blocks (process-runtime nodes take their pod blocks from it). */
  readonly networks: ClusterNetworks;
  /** metrics is where each component serves its metrics (metricsPorts). */
  readonly metrics: MetricsPorts;
}

/** MetricsPorts are the --metrics-bind-address ports of a cluster's schedulers, controller managers and node agents. */
export interface MetricsPorts {
  /** scheduler is the port of master i's (0-based) scheduler. */
  scheduler(master: number): number;
  /** controllerManager is the port of master i's (0-based) controller manager. */
  controllerManager(master: number): number;
  /** node is the port of process node nI (1-based), or null past the first METRICS_NODES; `sim` is the simulated nodes' process. */
  node(node: number | 'sim'): number | null;
}

/** METRICS_NODES is how many process-runtime node agents get a metrics port (base+30 ... base+39). */
export const METRICS_NODES = 10;

/**
 * metricsPorts lays the components' metrics out in the gaps of the cluster's port span (see
 * planPorts): master i's scheduler at base+10+2i and controller manager at base+11+2i (after the
 * etcd members' base..base+9), node nI at base+29+I for the first ten nodes and the simulated
 * nodes' process at base+30 (before the balancer at base+40). The span itself does not grow: the
 * cluster's address blocks are derived from it.
 */
export function metricsPorts(basePort: number): MetricsPorts {
  return {
    scheduler: (i) => basePort + 10 + 2 * i,
    controllerManager: (i) => basePort + 11 + 2 * i,
    node: (n) => (n === 'sim' ? basePort + 30 : n >= 1 && n <= METRICS_NODES ? basePort + 29 + n : null),
  };
}

/** metricsPortChecks lists the metrics ports a new cluster will bind, for up's check that they are free. */
export function metricsPortChecks(basePort: number, masters: readonly { readonly name: string }[], nodes: number, runtime: NodeRuntime): { url: string; what: string }[] {
  const p = metricsPorts(basePort);
  const at = (port: number, what: string): { url: string; what: string } => ({ url: `http://127.0.0.1:${port}`, what });
  const nodePorts = runtime === 'simulated' ? (nodes > 0 ? [at(p.node('sim') ?? 0, "the simulated nodes' metrics port")] : []) : Array.from({ length: Math.min(nodes, METRICS_NODES) }, (_, i) => at(p.node(i + 1) ?? 0, `node n${i + 1}'s metrics port`));
  return [...masters.flatMap((m, i) => [at(p.scheduler(i), `${m.name}'s scheduler metrics port`), at(p.controllerManager(i), `${m.name}'s controller manager metrics port`)]), ...nodePorts];
}

/** metricsURL is the URL a component serves its metrics at, given its port. */
function metricsURL(port: number): string {
  return `http://127.0.0.1:${port}/metrics`;
}

function bindFlag(port: number): string[] {
  return ['--metrics-bind-address', `127.0.0.1:${port}`];
}

/** ComponentsStart is what was started (or found running). */
export interface ComponentsStart {
  readonly masters: MasterEntry[];
  readonly nodes: ProcessEntry[];
  readonly started: number[];
}

function grpcList(masters: readonly MasterEntry[]): string {
  return masters.map((m) => m.grpcAddress).filter((a): a is string => a !== undefined).join(',');
}

/** schedulerArgs is the `raftkube scheduler` command line of one master. */
export function schedulerArgs(apiservers: string, creds: Credentials, master: string): string[] {
  return ['scheduler', '--apiservers', apiservers, '--ca-file', creds.pki.caPath, '--token-file', creds.tokenFile, '--master', master];
}

/** controllerManagerArgs is the `raftkube controller-manager` command line of one master. */
export function controllerManagerArgs(apiservers: string, creds: Credentials, master: string, runtime: NodeRuntime): string[] {
  // NB: simulated nodes renew their Leases every 10 s (a quarter of the 40 s duration, so
  // a thousand of them stay cheap), process nodes every 2 s: a node is only presumed dead
  // after several renewals in a row went missing, or a loaded machine makes nodes flap to
  // Unknown (and evicts their pods).
  const grace = runtime === 'simulated' ? '40s' : '10s';
  return ['controller-manager', '--apiservers', apiservers, '--ca-file', creds.pki.caPath, '--token-file', creds.tokenFile, '--master', master, '--node-monitor-grace-period', grace, '--pod-eviction-timeout', '30s'];
}

/** simulatedNodesArgs is the command line of the one node agent that carries `nodes` simulated nodes. */
export function simulatedNodesArgs(apiservers: string, creds: Credentials, nodes: number, tokenFile: string, dataDir: string): string[] {
  return ['node-agent', '--name', 'sim', '--runtime', 'simulated', '--nodes', String(nodes), '--apiservers', apiservers, '--ca-file', creds.pki.caPath, '--token-file', tokenFile, '--data-dir', dataDir];
}

/** startComponents starts the schedulers, controller managers and node agents not yet running. */
export function startComponents(masters: readonly MasterEntry[], previousNodes: readonly ProcessEntry[], o: ComponentsOptions): ComponentsStart {
  const started: number[] = [];
  const apiservers = grpcList(masters);
  const common = ['--apiservers', apiservers, '--ca-file', o.creds.pki.caPath];
  const running = (pid: number | undefined): pid is number => pid !== undefined && isClusterProcess(pid, o.dataDir);
  const next = masters.map((m, i): MasterEntry => {
    const components = { ...m.components };
    // NB: a process still running from an earlier up keeps the metrics URL recorded for it (none
    // if that up passed no address).
    const urls = { ...m.metricsURLs, kv: `${m.clientURL}/metrics`, ...(m.apiserverURL === undefined ? {} : { apiserver: `${m.apiserverURL}/metrics` }) };
    let sched = components.scheduler;
    if (!running(sched)) {
      const port = o.metrics.scheduler(i);
      sched = startComponentProcess(o.dataDir, `${m.name}-scheduler`, [...schedulerArgs(apiservers, o.creds, m.name), ...bindFlag(port)]);
      urls.scheduler = metricsURL(port);
      started.push(sched);
    }
    components.scheduler = sched;
    if (o.controllerManager) {
      let cm = components['controller-manager'];
      if (!running(cm)) {
        const port = o.metrics.controllerManager(i);
        cm = startComponentProcess(o.dataDir, `${m.name}-controller-manager`, [...controllerManagerArgs(apiservers, o.creds, m.name, o.runtime), ...bindFlag(port)]);
        urls['controller-manager'] = metricsURL(port);
        started.push(cm);
      }
      components['controller-manager'] = cm;
    }
    const pids = [components.kv, components.apiserver, components.scheduler, components['controller-manager']].filter((p): p is number => p !== undefined);
    return { ...m, components, pids, metricsURLs: urls };
  });
  const nodesDir = join(o.dataDir, 'nodes');
  if (!existsSync(nodesDir)) mkdirSync(nodesDir);
  const nodes: ProcessEntry[] = [];
  if (o.runtime === 'simulated' && o.nodes > 0) {
    const name = 'sim';
    const before = previousNodes.find((n) => n.name === name);
    const alive = before?.pids.filter((p) => isClusterProcess(p, o.dataDir)) ?? [];
    if (alive.length > 0) nodes.push({ name, pids: alive, ...(before?.metricsURL === undefined ? {} : { metricsURL: before.metricsURL }) });
    else {
      // One process acts for every simulated node, so it uses the admin token (the node
      // restriction ties a node token to one node).
      const tokenFile = join(nodesDir, 'sim.token');
      writeFileSync(tokenFile, `${o.creds.adminToken}\n`, { mode: 0o600 });
      const port = o.metrics.node('sim');
      const pid = startComponentProcess(o.dataDir, 'nodes-sim', [...simulatedNodesArgs(apiservers, o.creds, o.nodes, tokenFile, join(nodesDir, name)), ...(port === null ? [] : bindFlag(port))]);
      started.push(pid);
      nodes.push({ name, pids: [pid], ...(port === null ? {} : { metricsURL: metricsURL(port) }) });
    }
  } else {
    for (let i = 1; i <= o.nodes; i++) {
      const name = `n${i}`;
      const before = previousNodes.find((n) => n.name === name);
      const alive = before?.pids.filter((p) => isClusterProcess(p, o.dataDir)) ?? [];
      if (alive.length > 0) {
        nodes.push({ name, pids: alive, ...(before?.metricsURL === undefined ? {} : { metricsURL: before.metricsURL }) });
        continue;
      }
      const token = nodeToken(o.dataDir, name);
      if (!token.ok) throw new CliError(`Cannot make a token for node ${name}: ${token.error}`);
      const tokenFile = join(nodesDir, `${name}.token`);
      writeFileSync(tokenFile, `${token.value}\n`, { mode: 0o600 });
      const port = o.metrics.node(i);
      // Every agent runs a service proxy: on this one machine the first to bind a Service's address
      // serves it and the others stand by, so Services keep answering when that node's agent dies.
      const pid = startComponentProcess(o.dataDir, `node-${name}`, [
        'node-agent', '--name', name, ...common, '--token-file', tokenFile, '--data-dir', join(nodesDir, name),
        '--kubelet-client-token-file', o.creds.kubeletTokenFile, '--pod-cidr', o.networks.podCIDR(i),
        '--backoff-initial', '1', '--backoff-max', '30', '--lease-renew', '2', '--status-report', '10',
        ...(port === null ? [] : bindFlag(port)),
      ]);
      started.push(pid);
      nodes.push({ name, pids: [pid], ...(port === null ? {} : { metricsURL: metricsURL(port) }) });
    }
  }
  return { masters: next, nodes, started };
}

/** metricsLines lists the control plane's metrics URLs for up's summary and status (none for --etcd-only). */
export function metricsLines(file: ClusterFile): string[] {
  const masters = file.masters.flatMap((m) => {
    const u = m.metricsURLs ?? {};
    const parts = [u.apiserver === undefined ? '' : `apiserver ${u.apiserver} (bearer token)`, u.scheduler === undefined ? '' : `scheduler ${u.scheduler}`, u['controller-manager'] === undefined ? '' : `controller-manager ${u['controller-manager']}`].filter((x) => x !== '');
    return parts.length === 0 ? [] : [`  ${m.name}  ${parts.join('  ')}`];
  });
  const nodes = (file.nodes ?? []).flatMap((n) => (n.metricsURL === undefined ? [] : [`${n.name} ${n.metricsURL}`]));
  if (masters.length === 0 && nodes.length === 0) return [];
  return ['Control-plane metrics:', ...masters, ...(nodes.length === 0 ? [] : [`  nodes  ${nodes.join('  ')}`])];
}

/** readyNodes counts the Nodes whose Ready condition is True, through one apiserver's REST API. */
export function readyNodes(apiserverURL: string, caPem: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${apiserverURL}/api/v1/nodes`, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: { status?: { conditions?: { type?: string; status?: string }[] } }[] };
          resolve((list.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true).length);
        } catch {
          resolve(0);
        }
      });
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}
