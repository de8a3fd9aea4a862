/**
 * cluster-file: DIR/cluster.json, the description of a local cluster that `raftkube up` writes
 * and `down`, `status`, the chaos suite and scripts read. Its shape is a promise to users:
 * `{"masters": [{"name", "pids", "clientURL", "peerURL"}], "etcdEndpoints": [...], "clusterID"}`.
 * Readers ignore fields they do not know, so the file can grow (apiserver URLs, nodes, a load
 * balancer) without breaking older readers.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './cli-error.js';

/** MasterEntry describes one master of the local cluster. */
export interface MasterEntry {
  readonly name: string;
  /** pids lists every process of this master (its kv member, its apiserver, ...). */
  readonly pids: readonly number[];
  readonly clientURL: string;
  readonly peerURL: string;
  /** apiserverURL is the master's Kubernetes REST API (HTTPS). */
  readonly apiserverURL?: string;
  /** grpcAddress is the master's apiserver gRPC API (host:port). */
  readonly grpcAddress?: string;
  /** components says which of pids is which process. */
  readonly components?: Readonly<Partial<Record<MasterComponent, number>>>;
  /**
   * metricsURLs are where each process of the master serves Prometheus text: the kv member on its
   * client URL, the apiserver on its HTTPS port (bearer token), the scheduler and controller
   * manager on their --metrics-bind-address (plain HTTP).
   */
  readonly metricsURLs?: Readonly<Partial<Record<MasterComponent, string>>>;
}

/** MasterComponent names the processes of a master. */
export type MasterComponent = 'kv' | 'apiserver' | 'scheduler' | 'controller-manager';

const MASTER_COMPONENTS: readonly MasterComponent[] = ['kv', 'apiserver', 'scheduler', 'controller-manager'];

function isMasterComponent(k: string): k is MasterComponent {
  return (MASTER_COMPONENTS as readonly string[]).includes(k);
}

/** ProcessEntry is a process group of the cluster that is not a master (a node, the balancer). */
export interface ProcessEntry {
  readonly name: string;
  readonly pids: readonly number[];
  /** metricsURL is where the process serves Prometheus text (a node agent's --metrics-bind-address). */
  readonly metricsURL?: string;
}

/** ClusterFile is the content of cluster.json. */
export interface ClusterFile {
  readonly masters: readonly MasterEntry[];
  readonly etcdEndpoints: readonly string[];
  /** clusterID is the Raft cluster ID (decimal, as the members' response headers carry it), once known. */
  readonly clusterID?: string;
  readonly nodes?: readonly ProcessEntry[];
  readonly loadBalancer?: { readonly url: string; readonly pids: readonly number[] };
  /** kubeconfig is the path of the admin kubeconfig. */
  readonly kubeconfig?: string;
  /** etcdOnly says the cluster runs the etcd layer alone (up --etcd-only). */
  readonly etcdOnly?: boolean;
  /**
   * etcdTls is the CA and the user's client certificate of a cluster whose etcd layer runs TLS
   * (https:// URLs, client certificates required); absent for `up --insecure`.
   */
  readonly etcdTls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
}

function pidList(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => Number.isSafeInteger(x) && (x as number) > 0) : [];
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** clusterFilePath is where cluster.json lives in a data directory. */
export function clusterFilePath(dataDir: string): string {
  return join(dataDir, 'cluster.json');
}

function malformed(p: string, what: string): CliError {
  return new CliError(`${p} is not a valid raftkube cluster file (${what}); move it away or pick another --data-dir`);
}

/**
 * readClusterFile loads cluster.json, or null when the directory holds no cluster. A file that
 * is not a cluster description throws a CliError naming the file.
 */
export function readClusterFile(dataDir: string): ClusterFile | null {
  const p = clusterFilePath(dataDir);
  if (!existsSync(p)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code;
    throw malformed(p, code === undefined ? 'not JSON' : `cannot read it: ${code}`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { masters?: unknown }).masters)) {
    throw malformed(p, 'no "masters" list');
  }
  const f = raw as { masters: unknown[]; clusterID?: unknown; nodes?: unknown; loadBalancer?: unknown; kubeconfig?: unknown };
  const masters: MasterEntry[] = f.masters.map((m, i) => {
    const e = (typeof m === 'object' && m !== null ? m : {}) as Partial<Record<keyof MasterEntry, unknown>>;
    if (typeof e.name !== 'string' || typeof e.clientURL !== 'string' || typeof e.peerURL !== 'string' || !Array.isArray(e.pids)) {
      throw malformed(p, `masters[${i}] needs name, pids, clientURL and peerURL`);
    }
    const components: Partial<Record<MasterComponent, number>> = {};
    if (typeof e.components === 'object' && e.components !== null) {
      for (const [k, v] of Object.entries(e.components as Record<string, unknown>)) {
        if (isMasterComponent(k) && Number.isSafeInteger(v)) components[k] = v as number;
      }
    }
    const metricsURLs: Partial<Record<MasterComponent, string>> = {};
    if (typeof e.metricsURLs === 'object' && e.metricsURLs !== null) {
      for (const [k, v] of Object.entries(e.metricsURLs as Record<string, unknown>)) {
        if (isMasterComponent(k) && typeof v === 'string') metricsURLs[k] = v;
      }
    }
    const apiserverURL = optionalString(e.apiserverURL);
    const grpcAddress = optionalString(e.grpcAddress);
    return {
      name: e.name, clientURL: e.clientURL, peerURL: e.peerURL, pids: pidList(e.pids),
      ...(apiserverURL === undefined ? {} : { apiserverURL }),
      ...(grpcAddress === undefined ? {} : { grpcAddress }),
      ...(Object.keys(components).length === 0 ? {} : { components }),
      ...(Object.keys(metricsURLs).length === 0 ? {} : { metricsURLs }),
    };
  });
  const nodes: ProcessEntry[] = Array.isArray(f.nodes)
    ? f.nodes.flatMap((n: unknown): ProcessEntry[] => {
        if (typeof n !== 'object' || n === null) return [];
        const e = n as { name?: unknown; pids?: unknown; metricsURL?: unknown };
        if (typeof e.name !== 'string') return [];
        const metricsURL = optionalString(e.metricsURL);
        return [{ name: e.name, pids: pidList(e.pids), ...(metricsURL === undefined ? {} : { metricsURL }) }];
      })
    : [];
  const lb = typeof f.loadBalancer === 'object' && f.loadBalancer !== null ? (f.loadBalancer as { url?: unknown; pids?: unknown }) : null;
  const kubeconfig = optionalString(f.kubeconfig);
  const t = (raw as { etcdTls?: unknown }).etcdTls;
  const tf = typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : null;
  const etcdTls = tf !== null && typeof tf['caFile'] === 'string' && typeof tf['certFile'] === 'string' && typeof tf['keyFile'] === 'string'
    ? { caFile: tf['caFile'], certFile: tf['certFile'], keyFile: tf['keyFile'] }
    : undefined;
  return {
    masters,
    etcdEndpoints: masters.map((m) => m.clientURL),
    ...(typeof f.clusterID === 'string' ? { clusterID: f.clusterID } : {}),
    ...(nodes.length === 0 ? {} : { nodes }),
    ...(lb !== null && typeof lb.url === 'string' ? { loadBalancer: { url: lb.url, pids: pidList(lb.pids) } } : {}),
    ...(kubeconfig === undefined ? {} : { kubeconfig }),
    ...((raw as { etcdOnly?: unknown }).etcdOnly === true ? { etcdOnly: true } : {}),
    ...(etcdTls === undefined ? {} : { etcdTls }),
  };
}

/** writeClusterFile replaces cluster.json atomically. */
export function writeClusterFile(dataDir: string, f: ClusterFile): void {
  const p = clusterFilePath(dataDir);
  writeFileSync(`${p}.tmp`, `${JSON.stringify(f, null, 2)}\n`);
  renameSync(`${p}.tmp`, p);
}

/** isAlive tells whether a process exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
