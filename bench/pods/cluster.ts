/**
 * cluster: how the pod and node benchmarks reach a running cluster — gRPC clients of its
 * apiservers (from DIR/cluster.json and DIR/kubeconfig, as `bench api` reads them), a census of
 * its nodes by container runtime, the node-agent processes cluster.json lists, what /proc says of
 * a process's memory and CPU time, a throwaway namespace, and the run's metadata.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import type { ApiClient as ApiClientType } from '../../src/control-plane/client/index.js';
import { ApiClient } from '../../src/control-plane/client/index.js';
import type { NodeObject } from '../../src/node-agent/index.js';
import { NODES } from '../../src/node-agent/index.js';
import type { Progress } from '../kv/progress.js';
import { readRssKiB } from '../kv/procs.js';
import { deletePods } from './workload.js';
import { dataDirOf, readApiTarget, type ApiTarget } from '../control-plane/target.js';
import type { NodeCensus, ProcessUse, RunMeta } from './types.js';

const NAMESPACES = { group: '', version: 'v1', plural: 'namespaces', namespaced: false } as const;

/** Cluster is a running cluster as the benchmarks use it. */
export interface Cluster {
  readonly target: ApiTarget;
  /** clients are one per apiserver, client k trying apiserver k first (the load spreads). */
  readonly clients: readonly ApiClientType[];
  /** admin is a client with long deadlines, for lists and deletes of thousands of pods. */
  readonly admin: ApiClientType;
  close(): void;
}

/** openCluster reads DIR and opens the gRPC clients; it throws an Error a person can act on. */
export function openCluster(dataDir: string): Cluster {
  const target = readApiTarget(dataDir);
  const addrs = target.masters.map((m) => m.grpcAddress);
  if (addrs.some((a) => a === null)) throw new Error(`${join(dataDirOf(dataDir), 'cluster.json')} gives no grpcAddress for some master; start the cluster with a raftkube up that runs the apiservers' gRPC API`);
  const list = addrs as string[];
  const tls = target.caPem === null ? {} : { caPem: target.caPem };
  const clients = list.map((_, k) => new ApiClient({ endpoints: [...list.slice(k), ...list.slice(0, k)], token: target.token, ...tls, deadlineMs: 30_000 }));
  const admin = new ApiClient({ endpoints: list, token: target.token, ...tls, deadlineMs: 300_000 });
  return {
    target,
    clients,
    admin,
    close: () => {
      for (const c of clients) c.close();
      admin.close();
    },
  };
}

/** runtimeOf reads a node's runtime out of nodeInfo.containerRuntimeVersion ("raftkube-simulated://0.1.0" → "simulated"). */
export function runtimeOf(n: NodeObject): string {
  const v = n.status?.nodeInfo?.containerRuntimeVersion ?? '';
  const m = /^raftkube-([a-z0-9-]+):\/\//.exec(v);
  return m?.[1] ?? (v === '' ? 'unknown' : v);
}

/** nodeReady tells whether a node's Ready condition is True. */
export function nodeReady(n: NodeObject): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** takeCensus lists the nodes: how many, how many Ready, and the Ready ones by runtime; plus each node's runtime. */
export async function takeCensus(client: ApiClientType): Promise<{ readonly census: NodeCensus; readonly runtimeOfNode: ReadonlyMap<string, string>; readonly nodes: readonly NodeObject[] }> {
  const r = await client.list<NodeObject>(NODES);
  if (!r.ok) throw new Error(`Listing the nodes failed: ${r.error.message}`);
  const runtimes: Record<string, number> = {};
  const runtimeOfNode = new Map<string, string>();
  let ready = 0;
  for (const n of r.value.items) {
    const rt = runtimeOf(n);
    runtimeOfNode.set(n.metadata.name ?? '', rt);
    if (!nodeReady(n)) continue;
    ready++;
    runtimes[rt] = (runtimes[rt] ?? 0) + 1;
  }
  return { census: { total: r.value.items.length, ready, runtimes }, runtimeOfNode, nodes: r.value.items };
}

/** formatCensus says what nodes a run saw, e.g. "100 nodes, 100 Ready (simulated: 100)". */
export function formatCensus(c: NodeCensus): string {
  const kinds = Object.entries(c.runtimes).map(([k, n]) => `${k}: ${n.toLocaleString('en-US')}`);
  return `${c.total.toLocaleString('en-US')} node${c.total === 1 ? '' : 's'}, ${c.ready.toLocaleString('en-US')} Ready${kinds.length === 0 ? '' : ` (${kinds.join(', ')})`}`;
}

/** makeNamespace creates a namespace named after `prefix` and the time; it returns its name. */
export async function makeNamespace(client: ApiClientType, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  const r = await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (!r.ok) throw new Error(`Creating the namespace ${name} failed: ${r.error.message}`);
  return name;
}

/** deleteNamespace deletes it (a namespace already gone is fine). */
export async function deleteNamespace(client: ApiClientType, name: string): Promise<void> {
  const r = await client.delete(NAMESPACES, { name });
  if (!r.ok && r.error.code !== 404) throw new Error(`Deleting the namespace ${name} failed: ${r.error.message}`);
}

/**
 * removeNamespace deletes the benchmark's `count` pods (see deletePods) and then the namespace,
 * with progress; a failure is logged with what to do by hand, never thrown (the run's figures
 * matter more than its cleanup).
 */
export async function removeNamespace(cluster: Cluster, namespace: string, count: number, progress: Progress): Promise<void> {
  progress.phase(`deleting ${count.toLocaleString('en-US')} pods and the namespace`, count, 0);
  try {
    await deletePods(cluster.clients, namespace, count, { onDone: (n) => progress.update(n) });
    await deleteNamespace(cluster.admin, namespace);
    progress.done('done');
  } catch (e: unknown) {
    progress.done('failed');
    progress.log(`Cleanup failed: ${e instanceof Error ? e.message : String(e)}; delete the namespace by hand: kubectl delete namespace ${namespace}`);
  }
}

/** nodeAgentPids reads DIR/cluster.json's node entries: name → pids (e.g. "sim" for the simulated nodes' process). */
export function nodeAgentPids(dataDir: string): ReadonlyMap<string, readonly number[]> {
  const out = new Map<string, number[]>();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dataDirOf(dataDir), 'cluster.json'), 'utf8'));
  } catch {
    return out;
  }
  const nodes = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['nodes'] : undefined;
  if (!Array.isArray(nodes)) return out;
  for (const n of nodes) {
    if (typeof n !== 'object' || n === null) continue;
    const e = n as Record<string, unknown>;
    if (typeof e['name'] !== 'string' || !Array.isArray(e['pids'])) continue;
    out.set(e['name'], e['pids'].filter((p: unknown): p is number => Number.isSafeInteger(p) && (p as number) > 0));
  }
  return out;
}

/** CLOCK_TICKS is Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on every architecture Node runs on). */
const CLOCK_TICKS = 100;

/** parseCpuSeconds reads utime + stime out of /proc/<pid>/stat's text, in seconds, or null. */
export function parseCpuSeconds(stat: string): number | null {
  // The command name is in parentheses and may hold spaces: count the fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / CLOCK_TICKS : null;
}

/** processUse reads a process's VmRSS and CPU time, or null when it is gone. */
export function processUse(pid: number): ProcessUse | null {
  const kib = readRssKiB(pid);
  let cpu: number | null = null;
  try {
    cpu = parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
  if (kib === null || cpu === null) return null;
  return { pid, rssMiB: Math.round(kib / 1024), cpuSeconds: cpu };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** startMeta records the start of a run: date, machine, Node, load average, command. */
export function startMeta(command: string, masters: number, quick: boolean): RunMeta {
  const cpu = cpus();
  return { date: new Date().toISOString(), command, masters, cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadBefore: loadavg().map(round2), loadAfter: [], quick };
}

/** finishMeta adds the load average at the end. */
export function finishMeta(m: RunMeta): RunMeta {
  return { ...m, loadAfter: loadavg().map(round2) };
}
