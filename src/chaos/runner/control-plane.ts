/**
 * control-plane: the Kubernetes control plane of a chaos run with the k8s workload, started
 * above the run's own kv members the way `raftkube up` lays it out — on every master an
 * apiserver, a scheduler and a controller manager (companions of that master's kv member, so a
 * fault on the master hits them all), plus the apiservers' load balancer and one process
 * carrying a few simulated nodes, which faults leave alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controllerManagerArgs, readyNodes, schedulerArgs, simulatedNodesArgs } from '../../cli/components-up.js';
import { apiserverArgs, ensureCredentials, lbArgs, networksOf, planPorts, readyz } from '../../cli/control-plane-up.js';
import type { ChaosCluster } from './cluster.js';

/** ChaosControlPlane is how the workload and the checks reach the control plane. */
export interface ChaosControlPlane {
  /** url is the load balancer in front of the apiservers (HTTPS). */
  readonly url: string;
  readonly caPem: string;
  readonly token: string;
}

/** ControlPlaneOptions say where and how big. */
export interface ControlPlaneOptions {
  readonly dataDir: string;
  /** basePort is the run's first port: apiservers at +20 and up, the balancer at +40. */
  readonly basePort: number;
  readonly nodes: number;
  readonly timeoutMs: number;
  readonly isStopping: () => boolean;
  readonly status: (line: string) => void;
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, isStopping: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline || isStopping()) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** startControlPlane starts everything above the members and waits until nodes are Ready; a string says what did not come up. */
export async function startControlPlane(cluster: ChaosCluster, o: ControlPlaneOptions): Promise<ChaosControlPlane | string> {
  const creds = ensureCredentials(o.dataDir);
  const ports = planPorts(cluster.plans, o.basePort);
  const serviceCIDR = networksOf(o.basePort).serviceCIDR;
  o.status('starting the apiservers and their load balancer');
  cluster.plans.forEach((m, i) => {
    cluster.attach(i, [{ name: `${m.name}-apiserver`, args: apiserverArgs(o.dataDir, m.name, ports.apiservers[i]!, cluster.clientURLs, creds, serviceCIDR) }]);
  });
  cluster.attach(null, [{ name: 'lb', args: lbArgs(o.dataDir, ports.lbPort, ports.apiservers) }]);
  const urls = ports.apiservers.map((a) => `https://127.0.0.1:${a.restPort}`);
  const ready = await until(async () => (await Promise.all(urls.map((u) => readyz(u, creds.pki.caPem, creds.adminToken)))).every(Boolean), o.timeoutMs, o.isStopping);
  if (!ready) return `the apiservers were not all ready within ${o.timeoutMs / 1000} s (their logs are m*-apiserver.log in the report)`;

  o.status('starting the schedulers, controller managers and simulated nodes');
  const grpc = ports.apiservers.map((a) => `127.0.0.1:${a.grpcPort}`).join(',');
  cluster.plans.forEach((m, i) => {
    cluster.attach(i, [
      { name: `${m.name}-scheduler`, args: schedulerArgs(grpc, creds, m.name) },
      { name: `${m.name}-controller-manager`, args: controllerManagerArgs(grpc, creds, m.name, 'simulated') },
    ]);
  });
  const nodesDir = join(o.dataDir, 'nodes');
  mkdirSync(nodesDir, { recursive: true });
  // One process acts for every simulated node, so it uses the admin token (as `up` does).
  const tokenFile = join(nodesDir, 'sim.token');
  writeFileSync(tokenFile, `${creds.adminToken}\n`, { mode: 0o600 });
  cluster.attach(null, [{ name: 'nodes-sim', args: simulatedNodesArgs(grpc, creds, o.nodes, tokenFile, join(nodesDir, 'sim')) }]);
  const url = `https://127.0.0.1:${ports.lbPort}`;
  const nodesReady = await until(async () => (await readyNodes(url, creds.pki.caPem, creds.adminToken)) >= o.nodes, o.timeoutMs, o.isStopping);
  if (!nodesReady) return `the ${o.nodes} simulated nodes were not Ready within ${o.timeoutMs / 1000} s (see nodes-sim.log in the report)`;
  return { url, caPem: creds.pki.caPem, token: creds.adminToken };
}
