/**
 * cluster-file: DIR/cluster.json, the description of a local cluster that `raftkube up` writes
 * and `down`, `status`, the chaos suite and scripts read. Its shape is a promise to users:
 * `{"masters": [{"name", "pids", "clientURL", "peerURL"}], "etcdEndpoints": [...]}`.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
}

/** clusterFilePath is where cluster.json lives in a data directory. */
export function clusterFilePath(dataDir: string): string {
  return join(dataDir, 'cluster.json');
}

/** readClusterFile loads cluster.json, or null when the directory holds no cluster. */
export function readClusterFile(dataDir: string): ClusterFile | null {
  const p = clusterFilePath(dataDir);
  if (!existsSync(p)) return null;
  const raw: unknown = JSON.parse(readFileSync(p, 'utf8'));
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { masters?: unknown }).masters)) {
    throw new Error(`${p} is not a raftkube cluster file; move it away or pick another --data-dir`);
  }
  const f = raw as { masters: unknown[]; etcdEndpoints?: unknown };
  const masters: MasterEntry[] = f.masters.map((m, i) => {
    const e = m as Partial<Record<keyof MasterEntry, unknown>>;
    if (typeof e.name !== 'string' || typeof e.clientURL !== 'string' || typeof e.peerURL !== 'string' || !Array.isArray(e.pids)) {
      throw new Error(`${p}: masters[${i}] is malformed (needs name, pids, clientURL, peerURL)`);
    }
    return { name: e.name, clientURL: e.clientURL, peerURL: e.peerURL, pids: e.pids.filter((x): x is number => typeof x === 'number') };
  });
  return { masters, etcdEndpoints: masters.map((m) => m.clientURL) };
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
