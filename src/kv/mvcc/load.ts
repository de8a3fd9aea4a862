/**
 * load: opening a store's state — RocksDB plus the in-memory index, built from the index
 * checkpoint and the rows written after it when the checkpoint is usable, else from every row
 * (on a worker thread for a large database). Internal to the mvcc folder; MvccStore.open and
 * restoreSnapshot call loadState.
 */

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Backend } from './backend.js';
import { CodecError } from './codec.js';
import { CheckpointError, decodeCheckpoint, readCheckpointFile, readIdentity, type DecodedCheckpoint } from './index-checkpoint.js';
import { IndexBuilder } from './rebuild.js';
import { scanInWorker, ScanWorkerError } from './scan-worker.js';
import type { MvccState } from './state.js';
import type { MvccStoreOptions, RecoveryStats } from './store.js';

/** WORKER_MIN_SST_BYTES is the database size from which the rebuild's scan runs on a worker thread ('auto'). */
const WORKER_MIN_SST_BYTES = 16 * 1024 * 1024;
/** THREAD_SCAN_BATCH is how many rows one cursor step reads when this thread scans. */
const THREAD_SCAN_BATCH = 1_000;

/** sstBytes sums the sizes of the RocksDB table files in `dir` (0 if there are none yet). */
function sstBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) if (name.endsWith('.sst')) total += statSync(join(dir, name)).size;
  } catch {
    return 0; // a new store: nothing to scan
  }
  return total;
}

/** LoadedState is an opened store's state and how it was rebuilt. */
export interface LoadedState {
  readonly state: MvccState;
  readonly recovery: RecoveryStats;
  /** identity is the database's RocksDB IDENTITY (null if it has none: then no checkpoints). */
  readonly identity: string | null;
  /** checkpoint is the index checkpoint the index was read from, if one was used. */
  readonly checkpoint: DecodedCheckpoint | null;
}

/** readCheckpoint returns the directory's index checkpoint if it is intact and of this database, or why not. */
function readCheckpoint(dir: string, identity: string | null): { ckpt: DecodedCheckpoint } | { rejected: string } | null {
  let file: Buffer | null;
  try {
    file = readCheckpointFile(dir);
  } catch (err: unknown) {
    return { rejected: `unreadable (${err instanceof Error ? err.message : String(err)})` };
  }
  if (file === null) return null;
  let ckpt: DecodedCheckpoint;
  try {
    ckpt = decodeCheckpoint(file);
  } catch (err: unknown) {
    if (err instanceof CheckpointError) return { rejected: err.message };
    throw err;
  }
  if (identity === null || ckpt.meta.identity !== identity) return { rejected: 'taken from another database (RocksDB IDENTITY differs)' };
  return { ckpt };
}

/**
 * loadState opens the backend in `dir` and builds the index: from the index checkpoint plus the
 * rows written after it when the checkpoint is usable, else by scanning every row in revision
 * order (on a worker thread for a large database).
 */
export async function loadState(dir: string, options: MvccStoreOptions): Promise<LoadedState> {
  const started = performance.now();
  const identity = readIdentity(dir);
  const found = options.indexCheckpoints === false ? null : readCheckpoint(dir, identity);
  let rejected = found !== null && 'rejected' in found ? found.rejected : undefined;
  if (found !== null && 'ckpt' in found) {
    const { ckpt } = found;
    const backend = await Backend.open(dir, options);
    // The checkpoint's rows must all still be there, and nothing at or below its revision gone:
    // an older consistent index means RocksDB lost a tail that the checkpoint covers (a power
    // cut after an unsynced commit); another compacted revision means rows it holds were deleted.
    if (backend.consistentIndex < ckpt.meta.consistentIndex) rejected = `it covers Raft index ${ckpt.meta.consistentIndex}, the database only ${backend.consistentIndex}`;
    else if (backend.compactedRevision !== ckpt.meta.compacted) rejected = `compacted at ${ckpt.meta.compacted}, the database at ${backend.compactedRevision}`;
    if (rejected === undefined) {
      const builder = new IndexBuilder(ckpt);
      let built: ReturnType<IndexBuilder['finish']>;
      try {
        backend.scanKeyBucketRows(THREAD_SCAN_BATCH, (rows) => builder.addRows(rows), ckpt.meta.revision + 1);
        built = builder.finish();
      } catch (err: unknown) {
        await backend.close();
        throw err instanceof CodecError ? new CodecError(`${dir}: ${err.message}`) : err;
      }
      const currentRev = Math.max(1, built.lastRevision, ckpt.meta.revision, backend.compactedRevision);
      backend.setFlushedRevision(currentRev);
      return {
        state: { tree: built.tree, backend, leases: built.leases, currentRev, compactedRev: backend.compactedRevision, beforeChange: null },
        recovery: { via: 'checkpoint', checkpointRevision: ckpt.meta.revision, revisions: builder.revisions, keys: built.tree.size, ms: performance.now() - started },
        identity,
        checkpoint: ckpt,
      };
    }
    await backend.close();
  }
  const loaded = await loadByScan(dir, options);
  return {
    ...loaded,
    recovery: { ...loaded.recovery, ms: performance.now() - started, ...(rejected === undefined ? {} : { checkpointRejected: rejected }) },
    identity: identity ?? readIdentity(dir), // a new database has one only once opened
    checkpoint: null,
  };
}

/** loadByScan opens the backend in `dir` and rebuilds the index by scanning the key bucket in revision order. */
async function loadByScan(dir: string, options: MvccStoreOptions): Promise<{ state: MvccState; recovery: RecoveryStats }> {
  const started = performance.now();
  const mode = options.rebuildOn ?? 'auto';
  let builder: IndexBuilder | null = null;
  if (mode === 'worker' || (mode === 'auto' && sstBytes(dir) >= WORKER_MIN_SST_BYTES)) {
    try {
      builder = await scanInWorker(dir, options);
    } catch (err: unknown) {
      throw err instanceof ScanWorkerError && err.codec ? new CodecError(`${dir}: ${err.message}`) : err;
    }
  }
  const via = builder === null ? 'this thread' : 'worker';
  const backend = await Backend.open(dir, options);
  let built: ReturnType<IndexBuilder['finish']>;
  let revisions: number;
  try {
    if (builder === null) {
      const b = new IndexBuilder();
      backend.scanKeyBucketRows(THREAD_SCAN_BATCH, (rows) => b.addRows(rows));
      builder = b;
    }
    revisions = builder.revisions;
    built = builder.finish();
  } catch (err: unknown) {
    await backend.close();
    throw err instanceof CodecError ? new CodecError(`${dir}: ${err.message}`) : err;
  }
  const { tree, leases, lastRevision } = built;
  // etcd: an empty store is at revision 1; a compaction may have dropped the newest revisions'
  // tombstones, so the revision is at least the compacted one.
  const currentRev = Math.max(1, lastRevision, backend.compactedRevision);
  backend.setFlushedRevision(currentRev);
  return {
    state: { tree, backend, leases, currentRev, compactedRev: backend.compactedRevision, beforeChange: null },
    recovery: { via, checkpointRevision: 0, revisions, keys: tree.size, ms: performance.now() - started },
  };
}
