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
import type { MasterEntry, ProcessEntry } from './cluster-file.js';
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
  const next = masters.map((m): MasterEntry => {
    const components = { ...m.components };
    let sched = components.scheduler;
    if (!running(sched)) {
      sched = startComponentProcess(o.dataDir, `${m.name}-scheduler`, schedulerArgs(apiservers, o.creds, m.name));
      started.push(sched);
    }
    components.scheduler = sched;
    if (o.controllerManager) {
      let cm = components['controller-manager'];
      if (!running(cm)) {
        cm = startComponentProcess(o.dataDir, `${m.name}-controller-manager`, controllerManagerArgs(apiservers, o.creds, m.name, o.runtime));
        started.push(cm);
      }
      components['controller-manager'] = cm;
    }
    const pids = [components.kv, components.apiserver, components.scheduler, components['controller-manager']].filter((p): p is number => p !== undefined);
    return { ...m, components, pids };
  });
  const nodesDir = join(o.dataDir, 'nodes');
  if (!existsSync(nodesDir)) mkdirSync(nodesDir);
  const nodes: ProcessEntry[] = [];
  if (o.runtime === 'simulated' && o.nodes > 0) {
    const name = 'sim';
    const before = previousNodes.find((n) => n.name === name);
    const alive = before?.pids.filter((p) => isClusterProcess(p, o.dataDir)) ?? [];
    if (alive.length > 0) nodes.push({ name, pids: alive });
    else {
      // One process acts for every simulated node, so it uses the admin token (the node
      // restriction ties a node token to one node).
      const tokenFile = join(nodesDir, 'sim.token');
      writeFileSync(tokenFile, `${o.creds.adminToken}\n`, { mode: 0o600 });
      const pid = startComponentProcess(o.dataDir, 'nodes-sim', simulatedNodesArgs(apiservers, o.creds, o.nodes, tokenFile, join(nodesDir, name)));
      started.push(pid);
      nodes.push({ name, pids: [pid] });
    }
  } else {
    for (let i = 1; i <= o.nodes; i++) {
      const name = `n${i}`;
      const before = previousNodes.find((n) => n.name === name);
      const alive = before?.pids.filter((p) => isClusterProcess(p, o.dataDir)) ?? [];
      if (alive.length > 0) {
        nodes.push({ name, pids: alive });
        continue;
      }
      const token = nodeToken(o.dataDir, name);
      if (!token.ok) throw new CliError(`Cannot make a token for node ${name}: ${token.error}`);
      const tokenFile = join(nodesDir, `${name}.token`);
      writeFileSync(tokenFile, `${token.value}\n`, { mode: 0o600 });
      // Every agent runs a service proxy: on this one machine the first to bind a Service's address
      // serves it and the others stand by, so Services keep answering when that node's agent dies.
      const pid = startComponentProcess(o.dataDir, `node-${name}`, [
        'node-agent', '--name', name, ...common, '--token-file', tokenFile, '--data-dir', join(nodesDir, name),
        '--kubelet-client-token-file', o.creds.kubeletTokenFile, '--pod-cidr', o.networks.podCIDR(i),
        '--backoff-initial', '1', '--backoff-max', '30', '--lease-renew', '2', '--status-report', '10',
      ]);
      started.push(pid);
      nodes.push({ name, pids: [pid] });
    }
  }
  return { masters: next, nodes, started };
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
