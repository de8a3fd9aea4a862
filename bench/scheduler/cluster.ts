/**
 * cluster: what `raftkube bench scheduler` needs of a running cluster — gRPC clients of its
 * apiservers (read from DIR/cluster.json and DIR/kubeconfig), the Ready node count, the CPU time
 * of its processes by kind, throwaway namespaces, a watch that survives its stream ending, and
 * deleting everything a phase made.
 */
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../src/control-plane/api/types.js';
import type { ApiError } from '../../src/control-plane/apiserver/registry-api.js';
import { ApiClient, type ResourceDescriptor } from '../../src/control-plane/client/index.js';
import { readClusterFile } from '../../src/cli/cluster-file.js';
import { dataDirOf, readApiTarget, TargetError } from '../control-plane/target.js';

/** PODS, DEPLOYMENTS, REPLICASETS, NAMESPACES and NODES are the resources the benchmark touches. */
export const PODS: ResourceDescriptor = { group: '', version: 'v1', plural: 'pods', namespaced: true };
export const DEPLOYMENTS: ResourceDescriptor = { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true };
export const REPLICASETS: ResourceDescriptor = { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true };
export const NAMESPACES: ResourceDescriptor = { group: '', version: 'v1', plural: 'namespaces', namespaced: false };
export const NODES: ResourceDescriptor = { group: '', version: 'v1', plural: 'nodes', namespaced: false };

/** ProcessKind is a kind of cluster process whose CPU time the benchmark reads. */
export type ProcessKind = 'kv' | 'apiserver' | 'scheduler' | 'controller-manager' | 'nodes';

/** SchedulerTarget is a running cluster as the benchmark drives it. */
export interface SchedulerTarget {
  readonly masters: number;
  /** clients are one per apiserver, each trying its own apiserver first and the others after. */
  readonly clients: readonly ApiClient[];
  /** pids are the cluster's processes by kind (from cluster.json's components and nodes). */
  readonly pids: readonly { readonly kind: ProcessKind; readonly pid: number }[];
  close(): void;
}

/** openTarget reads the cluster in `dataDir` and opens one gRPC client per apiserver. */
export function openTarget(dataDir: string, deadlineMs: number): SchedulerTarget {
  const dir = dataDirOf(dataDir);
  const t = readApiTarget(dir);
  const addrs = t.masters.map((m) => m.grpcAddress);
  if (addrs.some((a) => a === null)) throw new TargetError(`${dir}/cluster.json gives no grpcAddress for some master; start the cluster with a raftkube up that runs the apiservers`);
  const list = addrs as string[];
  const clients = list.map((_, k) => new ApiClient({ endpoints: [...list.slice(k), ...list.slice(0, k)], token: t.token, ...(t.caPem === null ? {} : { caPem: t.caPem }), deadlineMs }));
  const file = readClusterFile(dir);
  const pids: { kind: ProcessKind; pid: number }[] = [];
  for (const m of file?.masters ?? []) {
    for (const kind of ['kv', 'apiserver', 'scheduler', 'controller-manager'] as const) {
      const pid = m.components?.[kind];
      if (pid !== undefined) pids.push({ kind, pid });
    }
  }
  for (const n of file?.nodes ?? []) for (const pid of n.pids) pids.push({ kind: 'nodes', pid });
  return { masters: list.length, clients, pids, close: () => clients.forEach((c) => c.close()) };
}

/** unwrap returns a call's value or throws an Error saying what failed. */
export function unwrap<T>(r: { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError }, what: string): T {
  if (!r.ok) throw new Error(`${what} failed: ${r.error.code} ${r.error.reason}: ${r.error.message}`);
  return r.value;
}

/** isReady says whether an object's status.conditions hold {type: Ready, status: True}. */
export function isReady(o: KubeObject): boolean {
  const status = o['status'];
  if (typeof status !== 'object' || status === null) return false;
  const conds = (status as { conditions?: unknown }).conditions;
  return Array.isArray(conds) && conds.some((c: unknown) => typeof c === 'object' && c !== null && (c as { type?: unknown }).type === 'Ready' && (c as { status?: unknown }).status === 'True');
}

/**
 * NodeHealth follows the Nodes during a phase: how many were Ready at its start, and which
 * stopped being Ready at some point (a node that misses its Lease renewal turns Unknown and the
 * scheduler skips it), so a report can say when the figures measure flapping nodes, not the
 * scheduler.
 */
export interface NodeHealth {
  readonly readyAtStart: number;
  /** notReady names the nodes seen not Ready (Unknown or False) since the start. */
  readonly notReady: ReadonlySet<string>;
  dispose(): void;
}

/** watchNodeHealth lists the Nodes and watches them until disposed; see NodeHealth. */
export async function watchNodeHealth(client: ApiClient): Promise<NodeHealth> {
  const list = unwrap(await client.list(NODES, {}), 'Listing the nodes');
  const notReady = new Set<string>();
  for (const n of list.items) if (!isReady(n)) notReady.add(n.metadata.name ?? '');
  const readyAtStart = list.items.length - notReady.size;
  const w = watchNamespace(client, NODES, { namespace: '', fromRv: list.metadata.resourceVersion }, (n) => {
    if (!isReady(n)) notReady.add(n.metadata.name ?? '');
  }, () => undefined);
  return { readyAtStart, notReady, dispose: () => w.dispose() };
}

/** readyNodes counts the Nodes whose Ready condition is True. */
export async function readyNodes(client: ApiClient): Promise<number> {
  const list = unwrap(await client.list(NODES, { resourceVersion: '0' }), 'Listing the nodes');
  return list.items.filter(isReady).length;
}

function procCpuSeconds(pid: number): number | null {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** CpuSnapshot is the CPU seconds of every known process at one moment ('bench' is this process). */
export type CpuSnapshot = ReadonlyMap<string, number>;

/** cpuSnapshot reads the CPU time of the cluster's processes and of this one. */
export function cpuSnapshot(t: SchedulerTarget): CpuSnapshot {
  const out = new Map<string, number>();
  for (const { kind, pid } of t.pids) {
    const s = procCpuSeconds(pid);
    if (s !== null) out.set(`${kind}:${pid}`, s);
  }
  const me = process.cpuUsage();
  out.set('bench:self', (me.user + me.system) / 1e6);
  return out;
}

/** cpuBetween sums, per kind of process, the CPU seconds spent between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, v] of after) {
    const b = before.get(key);
    if (b === undefined) continue;
    const kind = key.slice(0, key.indexOf(':'));
    out[kind] = Math.round(((out[kind] ?? 0) + v - b) * 100) / 100;
  }
  return out;
}

/** createNamespace makes a throwaway namespace. */
export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  unwrap(await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: [] } }), `Creating the namespace ${name}`);
}

/** WatchFailure is a watch that could not be kept going. */
export type WatchFailure = (e: ApiError) => void;

/**
 * watchNamespace delivers every object of `res` in `namespace` ('' for cluster-scoped ones) as it changes, from `fromRv`
 * on. When the stream ends it watches again from the last revision seen; after an error (410
 * Expired, an apiserver gone) it lists again — delivering every listed object — and watches from
 * the list. Five errors in a row without an event between them end it through `onFail`.
 */
export function watchNamespace<T extends KubeObject>(client: ApiClient, res: ResourceDescriptor, o: { readonly namespace: string; readonly fromRv: string }, onObject: (obj: T, type: string) => void, onFail: WatchFailure): { dispose(): void } {
  let rv = o.fromRv;
  let disposed = false;
  let current: { dispose(): void } | null = null;
  let failures = 0;
  const start = (): void => {
    if (disposed) return;
    current = client.watch<T>(res, { ...(o.namespace === '' ? {} : { namespace: o.namespace }), resourceVersion: rv, allowWatchBookmarks: true }, {
      event: (ev) => {
        failures = 0;
        const next = ev.object.metadata.resourceVersion;
        if (next !== undefined && next !== '') rv = next;
        if (ev.type !== 'BOOKMARK') onObject(ev.object, ev.type);
      },
      end: (why) => {
        if (disposed) return;
        if (why === null) return start();
        if (++failures >= 5) return onFail(why);
        void relist();
      },
    });
  };
  const relist = async (): Promise<void> => {
    const l = await client.list<T>(res, o.namespace === '' ? {} : { namespace: o.namespace });
    if (disposed) return;
    if (!l.ok) {
      if (++failures >= 5) onFail(l.error);
      else setTimeout(() => void relist(), 500).unref();
      return;
    }
    for (const item of l.value.items) onObject(item, 'MODIFIED');
    rv = l.value.metadata.resourceVersion;
    start();
  };
  start();
  return {
    dispose: () => {
      disposed = true;
      current?.dispose();
    },
  };
}

/** inParallel runs task(0..n-1) with at most `width` in flight; it stops starting tasks once `stop()` says so. */
export async function inParallel(n: number, width: number, task: (i: number) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n && !stop()) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, n)) }, () => lane()));
}

/** retryPause spaces out retries of a call the cluster failed (a backoff, not a wait for a condition). */
function retryPause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 500));
}

/**
 * emptyNamespace deletes a phase's Deployments, ReplicaSets and pods (pods at once, grace 0)
 * until none is left, then the namespace; it gives up after `timeoutMs` and says what is left.
 */
export async function emptyNamespace(t: SchedulerTarget, namespace: string, timeoutMs: number): Promise<string | null> {
  const client = t.clients[0]!;
  const deadline = Date.now() + timeoutMs;
  for (const res of [DEPLOYMENTS, REPLICASETS]) {
    const l = await client.list(res, { namespace });
    if (l.ok) for (const item of l.value.items) await client.delete(res, { namespace, name: item.metadata.name ?? '' });
  }
  let left = -1;
  let lastError = '';
  while (Date.now() < deadline) {
    const l = await client.list(PODS, { namespace });
    if (!l.ok) {
      // A loaded cluster times out now and then (503/504): try again until the deadline.
      lastError = ` (the last list failed: ${l.error.message})`;
      await retryPause();
      continue;
    }
    left = l.value.items.length;
    if (left === 0) break;
    const names = l.value.items.map((p) => p.metadata.name ?? '');
    await inParallel(names.length, 32, async (i) => {
      await t.clients[i % t.clients.length]!.delete(PODS, { namespace, name: names[i]! }, { gracePeriodSeconds: 0 });
    });
  }
  if (left !== 0) return `${left < 0 ? 'an unknown number of' : left} pods were still in ${namespace} after ${timeoutMs / 1000} s${lastError}`;
  for (;;) {
    const d = await client.delete(NAMESPACES, { name: namespace });
    if (d.ok || d.error.code === 404) return null;
    if (Date.now() >= deadline) return `deleting the namespace ${namespace} failed (${d.error.message})`;
    await retryPause();
  }
}
