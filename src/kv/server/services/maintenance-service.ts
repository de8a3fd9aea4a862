/**
 * maintenance-service: etcdserverpb.Maintenance — Status, MoveLeader (leader transfer in the
 * Raft core), HashKV/Hash, Snapshot (a consistent image streamed in chunks), Alarm (none are
 * raised), Defragment (flushes and compacts storage).
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeId } from '../../../raft/index.js';
import { requestDecoders } from '../../proto/index.js';
import { sealSnapshot } from '../../mvcc/snapshot-file.js';
import type { MaintenanceHandlers, StatusResponse, HeaderOnlyResponse, HashKVResponse, HashResponse, AlarmResponse, SnapshotResponse } from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError, toServiceError } from '../errors.js';
import { decoded, unary } from './common.js';

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

/** maintenanceService builds the Maintenance handlers of a member. */
export function maintenanceService(s: KvServer, waitForLeader: (target: number, timeoutMs: number) => Promise<boolean>): MaintenanceHandlers {
  return {
    Status: unary<StatusResponse>(async () => {
      const st = s.driver.status();
      const size = await dirSize(s.sm.store.dir);
      const isLearner = st.confState.learners.includes(s.id);
      return {
        header: s.header(),
        version: VERSION,
        dbSize: size,
        leader: String(st.leader),
        raftIndex: st.commit,
        raftTerm: st.term,
        raftAppliedIndex: s.driver.applied,
        errors: [],
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
      decoded(requestDecoders.AlarmRequest(raw));
      return { header: s.header(), alarms: [] };
    }),
    Defragment: unary<HeaderOnlyResponse>(async () => {
      await s.sm.store.commit({ sync: true });
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
