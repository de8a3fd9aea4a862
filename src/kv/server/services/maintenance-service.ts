/**
 * maintenance-service: etcdserverpb.Maintenance — Status, MoveLeader (leader transfer in the
 * Raft core), HashKV/Hash, Snapshot (a consistent image streamed in chunks), Alarm (lists from
 * the applied alarm list; raises and clears through the log), Defragment (rebuilds the store).
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeId } from '../../../raft/index.js';
import { requestDecoders } from '../../proto/index.js';
import { sealSnapshot } from '../../mvcc/snapshot-file.js';
import type { MaintenanceHandlers, StatusResponse, HeaderOnlyResponse, HashKVResponse, HashResponse, AlarmResponse, SnapshotResponse } from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import type { MvccStore } from '../../mvcc/store.js';
import { etcdError, toServiceError } from '../errors.js';
import { decoded, expectKind, unary } from './common.js';

/** VERSION is what Status reports: the etcd API level we speak, marked as ours. */
export const VERSION = '3.4.0-raftkube';

/**
 * dirSize sums the sizes of the files under dir, without blocking the event loop (Status is
 * asked often, and the store's directory holds many files). Files that vanish during the walk
 * (the storage engine compacts and deletes them) count as nothing.
 */
export async function dirSize(dir: string): Promise<number> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  const sizes = await Promise.all(
    entries.map(async (e): Promise<number> => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return dirSize(p);
      if (!e.isFile()) return 0;
      try {
        return (await stat(p)).size;
      } catch {
        return 0;
      }
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/**
 * defragment rebuilds the member's store from an image of itself, which leaves out the space
 * that deleted and compacted revisions still take in the storage engine's files (etcd's
 * defragmentation). As etcd's, it holds the member's Raft loop while it runs: nothing applies
 * meanwhile, so no write can fall between the image and the rebuilt store. The content, the
 * revision and the applied index stay the same.
 */
async function defragment(s: KvServer): Promise<void> {
  await s.driver.exclusive(async () => {
    // NB: no commit may run against the store while it is closed and rebuilt.
    await s.sm.flush();
    const chunks: Buffer[] = [];
    for await (const c of s.sm.store.snapshot()) chunks.push(c);
    await s.sm.store.restoreSnapshot(Buffer.concat(chunks));
    await s.sm.store.commit({ sync: true });
  });
  // The quota sees the smaller size at once, so an alarm disarmed right after is not raised again.
  s.observeBackendSize(await backendSize(s.sm.store));
}

/**
 * backendSize is the size of the store as Status (dbSize), the metrics and the space quota
 * report it: its files plus the recent writes RocksDB still holds in memtables (they reach the
 * files on the next flush; without them a store's size would not move until then).
 */
export async function backendSize(store: MvccStore): Promise<number> {
  const files = await dirSize(store.dir);
  let memtables = 0;
  try {
    memtables = store.memoryStats().memtableBytes;
  } catch {
    // The store is being closed or rebuilt (defragment): its files are the whole figure.
  }
  return files + memtables;
}

/** maintenanceService builds the Maintenance handlers of a member. */
export function maintenanceService(s: KvServer, waitForLeader: (target: number, timeoutMs: number) => Promise<boolean>): MaintenanceHandlers {
  return {
    Status: unary<StatusResponse>(async () => {
      const st = s.driver.status();
      const size = await backendSize(s.sm.store);
      const isLearner = st.confState.learners.includes(s.id);
      return {
        header: s.header(),
        version: VERSION,
        dbSize: size,
        leader: String(st.leader),
        raftIndex: st.commit,
        raftTerm: st.term,
        raftAppliedIndex: s.driver.applied,
        // etcd lists the raised alarms here (etcdctl endpoint status shows them as ERRORS).
        errors: s.sm.alarms.list().map((a) => `memberID:${a.memberID} alarm:${a.alarm}`),
        dbSizeInUse: size,
        isLearner,
      };
    }),
    MoveLeader: unary<HeaderOnlyResponse>(async (raw) => {
      const req = decoded(requestDecoders.MoveLeaderRequest(raw));
      if (!s.isLeader()) throw etcdError('not-leader');
      const target = Number(req.targetID);
      if (!Number.isSafeInteger(target) || target <= 0) throw etcdError('bad-transferee');
      const r = s.driver.node.transferLeader(nodeId(target));
      s.driver.kick();
      if (!r.ok) {
        if (r.reason === 'already-leader') return { header: s.header() };
        throw etcdError('bad-transferee', r.reason);
      }
      if (!(await waitForLeader(target, 10_000))) throw etcdError('timeout', 'leader transfer did not complete');
      return { header: s.header() };
    }),
    HashKV: unary<HashKVResponse>(async (raw) => {
      const req = decoded(requestDecoders.HashKVRequest(raw));
      const r = await s.sm.store.hash(req.revision);
      if (!r.ok) throw etcdError(r.error.code === 'compacted' ? 'compacted' : 'future-rev');
      return { header: s.header(r.value.revision), hash: r.value.hash, compact_revision: r.value.compactRevision };
    }),
    Hash: unary<HashResponse>(async () => {
      const r = await s.sm.store.hash(0);
      if (!r.ok) throw etcdError('internal', r.error.message);
      return { header: s.header(r.value.revision), hash: r.value.hash };
    }),
    Alarm: unary<AlarmResponse>(async (raw) => {
      const req = decoded(requestDecoders.AlarmRequest(raw));
      if (req.action === 'GET') {
        return { header: s.header(), alarms: s.sm.alarms.list().filter((a) => req.alarm === 'NONE' || a.alarm === req.alarm) };
      }
      // Raising and clearing go through the log, so every member's list changes alike (etcd's way).
      const r = expectKind(await s.submitWire('alarm', raw as object), 'alarm');
      return { header: s.header(), alarms: r.changed };
    }),
    Defragment: unary<HeaderOnlyResponse>(async () => {
      await defragment(s);
      return { header: s.header() };
    }),
    Snapshot: (call) => {
      void (async () => {
        const snap = s.sm.store.snapshot();
        const header = s.header(snap.revision);
        const image: Buffer[] = [];
        for await (const c of snap) image.push(c);
        // The image zero-padded to 512 bytes, then their SHA-256: what etcdctl expects of a
        // snapshot, and what `raftkube snapshot restore` verifies (snapshot-file.ts).
        const chunks = sealSnapshot(image);
        const total = chunks.reduce((n, c) => n + c.length, 0);
        let sent = 0;
        for (const c of chunks) {
          sent += c.length;
          const resp: SnapshotResponse = { header, remaining_bytes: total - sent, blob: c };
          if (!call.write(resp)) await new Promise<void>((r) => call.once('drain', () => r()));
        }
        call.end();
      })().catch((err: unknown) => call.emit('error', toServiceError(err)));
    },
  };
}
