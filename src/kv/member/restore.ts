/**
 * restore: a member's data directory built from a snapshot file, as `etcdutl snapshot restore`
 * builds one — the first step of rebuilding a cluster after every data directory is lost.
 *
 * Each member of the new cluster gets the same state: the snapshot's keys, revisions and leases
 * in its MVCC store, with the member list replaced by the new cluster's members (their IDs
 * derived from the new peer URLs and token, so the restored members form a new cluster of their
 * own, never confused with the old one) and the consistent index set to N, the number of
 * members. Its WAL holds hard state {term 1, commit N} and a Raft snapshot marker at index N,
 * term 1, naming the members as voters. The member then starts normally (`raftkube kv`): its log
 * begins after N, everything up to N counts as applied, and a member that joins later receives
 * the state as a Raft snapshot rather than replaying a log that never held the restored keys.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logIndex, NO_NODE, term, type NodeId } from '../../raft/index.js';
import { Wal } from '../../raft/wal/index.js';
import { MvccStore } from '../mvcc/store.js';
import { imageStream, inspectSnapshotFile, type SnapshotFileStatus } from '../mvcc/snapshot-file.js';
import { MemberRegistry } from '../server/members.js';
import { encodeWalMeta, type WalMeta } from '../server/records.js';
import { clusterId as deriveClusterId, ConfigError, memberId, type InitialMember } from './config.js';

/** RestoreOptions are `snapshot restore`'s flags, with etcdutl's names. */
export interface RestoreOptions {
  readonly snapshotPath: string;
  /** name is the member this data directory is for; it must be in initialCluster. */
  readonly name: string;
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterToken: string;
  /** initialAdvertisePeerURLs, when given, must be the peer URLs initialCluster lists for name. */
  readonly initialAdvertisePeerURLs?: readonly string[];
  /** dataDir must not exist or be empty (as etcdutl, restore never overwrites a member's data). */
  readonly dataDir: string;
  readonly skipHashCheck?: boolean;
}

/** RestoreResult says what was restored and under which identity. */
export interface RestoreResult {
  /** memberId is the restored member's ID (hex, as etcdctl prints it). */
  readonly memberId: string;
  readonly clusterId: string;
  readonly snapshot: SnapshotFileStatus;
  /** index is the Raft index the restored state stands at (the member count). */
  readonly index: number;
}

function sameURLs(a: readonly string[], b: readonly string[]): boolean {
  return [...a].sort().join(',') === [...b].sort().join(',');
}

/**
 * restoreMemberDataDir verifies the snapshot file and writes a data directory for one member of
 * a new cluster from it. Throws ConfigError for bad flags, SnapshotError for a bad file; on any
 * failure it leaves no half-written directory behind.
 */
export async function restoreMemberDataDir(o: RestoreOptions): Promise<RestoreResult> {
  const self = o.initialCluster.find((m) => m.name === o.name);
  if (self === undefined) throw new ConfigError(`--name ${o.name} is not in --initial-cluster; add ${o.name}=<its peer URL>`);
  if (o.initialAdvertisePeerURLs !== undefined && !sameURLs(o.initialAdvertisePeerURLs, self.peerURLs)) {
    throw new ConfigError(`--initial-advertise-peer-urls ${o.initialAdvertisePeerURLs.join(',')} differs from ${o.name}'s entry in --initial-cluster (${self.peerURLs.join(',')})`);
  }
  const ids = o.initialCluster.map((m) => memberId(m.peerURLs, o.initialClusterToken));
  if (new Set(ids).size !== ids.length) throw new ConfigError('--initial-cluster lists the same peer URLs twice; give each member its own');
  if (existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0) {
    throw new ConfigError(`Data directory ${o.dataDir} already exists and is not empty; restore into a new directory (a restore never overwrites a member's data)`);
  }
  const snapshot = await inspectSnapshotFile(o.snapshotPath, o.skipHashCheck === true ? { skipHashCheck: true } : {});
  const myId = memberId(self.peerURLs, o.initialClusterToken);
  const cluster = deriveClusterId(ids);
  const n = o.initialCluster.length;
  const createdDir = !existsSync(o.dataDir);
  const dir = join(o.dataDir, 'member');
  try {
    await mkdir(join(dir, 'snap'), { recursive: true });
    await writeStore(join(dir, 'db'), o, ids, snapshot);
    await writeWal(join(dir, 'wal'), { memberId: myId, clusterId: cluster }, ids);
  } catch (err: unknown) {
    await rm(createdDir ? o.dataDir : dir, { recursive: true, force: true });
    throw err;
  }
  return { memberId: myId.toString(16), clusterId: cluster, snapshot, index: n };
}

/** writeStore restores the MVCC image and rewrites its member list and consistent index. */
async function writeStore(dbDir: string, o: RestoreOptions, ids: readonly NodeId[], snapshot: SnapshotFileStatus): Promise<void> {
  const store = await MvccStore.restore(dbDir, imageStream(o.snapshotPath, snapshot.imageBytes));
  try {
    // The old cluster's members are not this cluster's: drop them all, then add the new ones as
    // the bootstrap conf changes of a new cluster would have.
    const registry = new MemberRegistry(store);
    for (const m of registry.list()) registry.applyConfChange({ type: 'remove', nodeId: m.id });
    o.initialCluster.forEach((m, i) => registry.applyConfChange({ type: 'add-voter', nodeId: ids[i]! }, { name: m.name, peerURLs: m.peerURLs, clientURLs: [] }));
    // NB: the old cluster's index means nothing to the new log; entries after N must apply.
    store.setConsistentIndex(o.initialCluster.length);
    await store.commit({ sync: true });
  } finally {
    await store.close();
  }
}

/** writeWal writes the new member's WAL: its identity, hard state and the snapshot marker at N. */
async function writeWal(walDir: string, meta: WalMeta, ids: readonly NodeId[]): Promise<void> {
  const n = ids.length;
  const { wal } = await Wal.open(walDir, { metadata: encodeWalMeta(meta) });
  try {
    await wal.save({
      hardState: { term: term(1), vote: NO_NODE, commit: logIndex(n) },
      entries: [],
      snapshot: { index: logIndex(n), term: term(1), confState: { voters: [...ids].sort((a, b) => a - b), learners: [] } },
    });
  } finally {
    await wal.close();
  }
}
