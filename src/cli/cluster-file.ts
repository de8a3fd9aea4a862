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
  /** pids lists every process of this master (today: its kv member). */
  readonly pids: readonly number[];
  readonly clientURL: string;
  readonly peerURL: string;
}

/** ClusterFile is the content of cluster.json. */
export interface ClusterFile {
  readonly masters: readonly MasterEntry[];
  readonly etcdEndpoints: readonly string[];
  /** clusterID is the Raft cluster ID (decimal, as the members' response headers carry it), once known. */
  readonly clusterID?: string;
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
  const f = raw as { masters: unknown[]; clusterID?: unknown };
  const masters: MasterEntry[] = f.masters.map((m, i) => {
    const e = (typeof m === 'object' && m !== null ? m : {}) as Partial<Record<keyof MasterEntry, unknown>>;
    if (typeof e.name !== 'string' || typeof e.clientURL !== 'string' || typeof e.peerURL !== 'string' || !Array.isArray(e.pids)) {
      throw malformed(p, `masters[${i}] needs name, pids, clientURL and peerURL`);
    }
    return { name: e.name, clientURL: e.clientURL, peerURL: e.peerURL, pids: e.pids.filter((x): x is number => Number.isSafeInteger(x) && (x as number) > 0) };
  });
  const base = { masters, etcdEndpoints: masters.map((m) => m.clientURL) };
  return typeof f.clusterID === 'string' ? { ...base, clusterID: f.clusterID } : base;
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
