/**
 * down: `raftkube down` — stop the processes of a local cluster. Only pids that are still this
 * cluster's processes are signalled (a recorded pid may have been reused by another program),
 * and the report says what was really stopped. Pod processes that a node agent killed with
 * kill -9 left running (and no agent came back to adopt) are killed too, by their checkpoints.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, readCheckpoints } from '../node-agent/checkpoint.js';
import { CliError } from './cli-error.js';
import { isAlive, readClusterFile } from './cluster-file.js';
import { commandHint } from './hints.js';
import { stopPids } from './local-cluster.js';
import { runningPids } from './processes.js';

/** DownReport says what `down` did: which masters it stopped and which recorded pids it left alone. */
export interface DownReport {
  readonly stopped: readonly { readonly kind: 'master' | 'node' | 'balancer'; readonly name: string; readonly pids: readonly number[] }[];
  /** ignored are recorded pids that still exist but are no longer this cluster's processes. */
  readonly ignored: readonly number[];
  /** orphans are pod processes of dead agents, killed (with their process groups). */
  readonly orphans: readonly number[];
}

/**
 * killOrphanPods kills the process groups of containers recorded running under the nodes' data
 * directories (`<dataDir>/nodes/<node>/pods`) that still run: after the agents stopped, these can
 * only be what an agent that died left behind. It returns their pids.
 */
function killOrphanPods(dataDir: string): number[] {
  const root = join(dataDir, 'nodes');
  let nodes: string[];
  try {
    nodes = readdirSync(root);
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const n of nodes) {
    for (const pod of readCheckpoints(join(root, n, 'pods'))) {
      for (const c of pod.containers) {
        if (c.pid === null || !isRunning(c.pid, c.start)) continue;
        try {
          process.kill(-c.pid, 'SIGKILL');
          killed.push(c.pid);
        } catch {
          // Gone meanwhile.
        }
      }
    }
  }
  return killed;
}

/** down stops the cluster described in dataDir/cluster.json. */
export async function down(dataDir: string): Promise<DownReport> {
  const f = readClusterFile(dataDir);
  if (f === null) throw new CliError(`No cluster in ${dataDir} (no cluster.json); start one with ${commandHint('up', dataDir)}`);
  const groups = [
    ...(f.nodes ?? []).map((n) => ({ kind: 'node' as const, name: n.name, pids: n.pids })),
    ...f.masters.map((m) => ({ kind: 'master' as const, name: m.name, pids: m.pids })),
    ...(f.loadBalancer === undefined ? [] : [{ kind: 'balancer' as const, name: 'the load balancer', pids: f.loadBalancer.pids }]),
  ];
  const stopped = groups.map((g) => ({ ...g, pids: runningPids(g, dataDir) })).filter((g) => g.pids.length > 0);
  const ignored = groups.flatMap((m) => m.pids).filter((p) => isAlive(p) && !stopped.some((s) => s.pids.includes(p)));
  // Nodes first (their pods stop with them), then the masters and the balancer.
  await stopPids(stopped.flatMap((s) => s.pids));
  return { stopped, ignored, orphans: killOrphanPods(dataDir) };
}

/** formatDown is the report as people read it. */
export function formatDown(r: DownReport, dataDir: string): string {
  const list = (kind: 'master' | 'node', one: string, many: string): string | null => {
    const of = r.stopped.filter((s) => s.kind === kind);
    if (of.length === 0) return null;
    return `${of.length === 1 ? `1 ${one}` : `${of.length} ${many}`}: ${of.map((s) => `${s.name} (pid ${s.pids.join(', ')})`).join(', ')}`;
  };
  const lb = r.stopped.find((s) => s.kind === 'balancer');
  const parts = [list('master', 'master', 'masters'), list('node', 'node', 'nodes'), lb === undefined ? null : `the load balancer (pid ${lb.pids.join(', ')})`].filter((x): x is string => x !== null);
  const what = parts.length === 0 ? `Nothing was running from ${dataDir}.` : `Stopped ${parts.join('; ')}.`;
  const left = r.ignored.length === 0 ? '' : ` Left alone ${r.ignored.length === 1 ? 'pid' : 'pids'} ${r.ignored.join(', ')}: ${r.ignored.length === 1 ? 'it is' : 'they are'} no longer this cluster's.`;
  const orphans = r.orphans.length === 0 ? '' : ` Killed ${r.orphans.length} pod ${r.orphans.length === 1 ? 'process' : 'processes'} that dead node agents had left running (pid ${r.orphans.join(', ')}).`;
  return `${what}${left}${orphans}\n`;
}
