/**
 * store: MvccStore, the deterministic state machine the Raft apply loop drives — etcd's mvcc
 * layer (kvstore + watchable store hooks + backend).
 *
 * Writes are synchronous and change memory only: the index moves and the encoded KeyValues
 * wait in the backend until commit() writes them, with the consistent index, in one RocksDB
 * batch. Reads are synchronous too (RocksDB's MultiGet runs on the calling thread). Every write
 * transaction that changes something publishes a ChangeSet to the listeners before returning,
 * which is what the watch hub feeds on.
 *
 * Memory: the index holds, per key, a latin1 key string and one small record object (plus four
 * numbers per older retained revision); values live only in RocksDB, so a key costs the same
 * on the JS heap whether its value is 10 bytes or 10 KB. Reads pay a RocksDB MultiGet for
 * values (block cache or memtable hits, a few µs a key).
 */

import { fsyncGate } from '../../raft/wal/fsync-failpoint.js';
import { decodeKeyValue } from './codec.js';
import { rangeKeys } from './range.js';
import { EMPTY_BUFFER, latin1, type MvccState } from './state.js';
import { applyPath, checkPath, compareToPath, isTxnReadOnly } from './txn.js';
import { CheckpointEncoder, writeCheckpointFile } from './index-checkpoint.js';
import { loadState, type LoadedState } from './load.js';
import {
  errCompacted,
  errFutureRev,
  errLeaseNotFound,
  errKeyNotFound,
  fail,
  ok,
  type ChangeSet,
  type DeleteRangeRequest,
  type DeleteRangeResult,
  type MvccEvent,
  type MvccResult,
  type PutRequest,
  type PutResult,
  type RangeRequest,
  type RangeResult,
  type TxnRequest,
  type TxnResult,
} from './types.js';
import { WriteTxn } from './write.js';
import type { RocksOptions } from './rocks.js';
import { hashKV, makeSnapshot, recoverInterruptedRestore, restoreDir, type HashKVResult, type MvccSnapshot, type SnapshotSource } from './maintenance.js';

/** StoreListener hears every applied change, synchronously, in revision order. */
export interface StoreListener {
  /** onChanges is called once per write transaction that changed something. */
  onChanges(changes: ChangeSet): void;
  /** onRestore is called after the whole state was replaced from a snapshot. */
  onRestore?(previousRevision: number): void;
}

/** MvccStoreOptions configures MvccStore.open. */
export interface MvccStoreOptions extends RocksOptions {
  /** leaseExists says whether a lease is granted (puts naming another fail); default: all exist. */
  readonly leaseExists?: (lease: bigint) => boolean;
  /**
   * rebuildOn says where opening scans the stored revisions to rebuild the index: 'worker' (a
   * worker thread, falling back to this one when none can run), 'this-thread', or 'auto' (the
   * default: a worker for a database of 16 MiB or more, where it saves time).
   */
  readonly rebuildOn?: 'auto' | 'worker' | 'this-thread';
  /**
   * indexCheckpoints configures the index checkpoint (index-checkpoint.ts) a reopening reads
   * instead of scanning every row: false never writes one nor reads one; `minRows` is how many
   * rows must have been written since the last one before a commit writes the next (default
   * DEFAULT_CHECKPOINT_MIN_ROWS; the next also waits for an eighth of the index's records);
   * `sliceMs` how long one slice of encoding may run (default CHECKPOINT_SLICE_MS; tests use 0,
   * a few hundred keys a slice).
   */
  readonly indexCheckpoints?: false | { readonly minRows: number; readonly sliceMs?: number };
  /** onCheckpoint hears each checkpoint written, or why one could not be (for the member's log). */
  readonly onCheckpoint?: (event: CheckpointEvent) => void;
}

/** CheckpointEvent reports an index checkpoint written, or failed. */
export type CheckpointEvent =
  | {
      readonly type: 'written';
      readonly revision: number;
      readonly keys: number;
      readonly records: number;
      readonly bytes: number;
      /** encodeMs is the time spent encoding (in slices); writeMs writing the file; ms the whole, start to end. */
      readonly encodeMs: number;
      readonly writeMs: number;
      readonly ms: number;
    }
  | { readonly type: 'failed'; readonly revision: number; readonly error: Error };

/** DEFAULT_CHECKPOINT_MIN_ROWS is the default for indexCheckpoints.minRows. */
export const DEFAULT_CHECKPOINT_MIN_ROWS = 50_000;
/** CHECKPOINT_RECORDS_DIVISOR: a checkpoint waits for rows worth this fraction of the index's records, so encoding costs a bounded share of the writes. */
const CHECKPOINT_RECORDS_DIVISOR = 8;
/** CHECKPOINT_SLICE_MS is how long one slice of checkpoint encoding may hold this thread. */
const CHECKPOINT_SLICE_MS = 4;

/** RecoveryStats says how the last open (or snapshot restore) rebuilt the index. */
export interface RecoveryStats {
  /**
   * via is where the stored revisions were scanned: all of them on a worker or this thread, or
   * only those after the index checkpoint read back.
   */
  readonly via: 'worker' | 'this thread' | 'checkpoint';
  /** checkpointRevision is the revision of the checkpoint read back (0 when none was used). */
  readonly checkpointRevision: number;
  /** checkpointRejected says why a checkpoint present was not used (absent when none was, or it was used). */
  readonly checkpointRejected?: string;
  /** revisions is the number of stored revisions (rows) read from RocksDB. */
  readonly revisions: number;
  /** keys is the number of keys in the rebuilt index. */
  readonly keys: number;
  /** ms is how long opening RocksDB and rebuilding took, in milliseconds. */
  readonly ms: number;
}

/** CommitOptions configures MvccStore.commit. */
export interface CommitOptions {
  /** sync fsyncs RocksDB's write-ahead log before returning (default false). */
  readonly sync?: boolean;
}

/** ReadEventsResult is a slice of history for watchers catching up. */
export interface ReadEventsResult {
  /** events in revision order; whole revisions only. */
  readonly events: readonly MvccEvent[];
  /** nextRev is the first revision not included (read from there to continue). */
  readonly nextRev: number;
}

/** Disposable releases a subscription. */
export interface Disposable {
  dispose(): void;
}

/** CheckpointTracker is what a store knows of its last index checkpoint. */
interface CheckpointTracker {
  /** identity is the database's RocksDB IDENTITY (null: none, so no checkpoints). */
  identity: string | null;
  /** revision, compacted and records describe the last checkpoint (revision 0: none). */
  revision: number;
  compacted: number;
  records: number;
  /** rowsAt is the backend's rowsWritten when it was taken; unscanned the rows a reopening would scan besides. */
  rowsAt: number;
  unscanned: number;
  /** write is the file write in flight, if any. */
  write: Promise<void> | null;
}

/** MvccStore is a Raft-replicated member's key-value state: etcd's MVCC store over RocksDB. */
export class MvccStore {
  #state: MvccState;
  #dir: string;
  #options: MvccStoreOptions;
  #leaseExists: (lease: bigint) => boolean;
  #listeners = new Set<StoreListener>();
  #syncedConsistentIndex: number;
  #onCommitDuration: ((seconds: number) => void) | null = null;
  #closed = false;

  #recovery: RecoveryStats;
  /** #ckpt is what the last index checkpoint covered, and its write while one is in flight. */
  #ckpt: CheckpointTracker;

  private constructor(dir: string, loaded: LoadedState, options: MvccStoreOptions) {
    const state = loaded.state;
    this.#dir = dir;
    this.#state = state;
    this.#recovery = loaded.recovery;
    this.#options = options;
    this.#leaseExists = options.leaseExists ?? (() => true);
    this.#syncedConsistentIndex = state.backend.consistentIndex;
    this.#ckpt = MvccStore.#checkpointState(loaded);
  }

  static #checkpointState(loaded: LoadedState): CheckpointTracker {
    const c = loaded.checkpoint;
    // Rows scanned at open count as written since the checkpoint: a reopening would scan them again.
    return { identity: loaded.identity, revision: c?.meta.revision ?? 0, compacted: c?.meta.compacted ?? loaded.state.compactedRev, records: c?.records ?? 0, rowsAt: 0, unscanned: loaded.recovery.revisions, write: null };
  }

  /** open opens (or creates) the store in `dir` and rebuilds the in-memory index from RocksDB. */
  static async open(dir: string, options: MvccStoreOptions = {}): Promise<MvccStore> {
    await recoverInterruptedRestore(dir);
    return new MvccStore(dir, await loadState(dir, options), options);
  }

  /** recovery says how the index was rebuilt when the store opened (or last restored a snapshot). */
  get recovery(): RecoveryStats {
    return this.#recovery;
  }

  /** dir is the RocksDB directory. */
  get dir(): string {
    return this.#dir;
  }

  /** currentRevision is the revision of the last applied change (1 for an empty store). */
  get currentRevision(): number {
    return this.#state.currentRev;
  }

  /** compactedRevision is the revision history was compacted at (0 if never). */
  get compactedRevision(): number {
    return this.#state.compactedRev;
  }

  /** keyCount is the number of keys in the index (including ones only kept as history). */
  get keyCount(): number {
    return this.#state.tree.size;
  }

  /** consistentIndex is the last applied Raft index (set since the last commit, or recovered). */
  get consistentIndex(): number {
    return this.#state.backend.consistentIndex;
  }

  /** syncedConsistentIndex is the last consistent index committed with sync: the Raft log may be truncated up to it. */
  get syncedConsistentIndex(): number {
    return this.#syncedConsistentIndex;
  }

  /** setConsistentIndex records the Raft index just applied; it is written with the next commit. */
  setConsistentIndex(index: number): void {
    this.#assertOpen();
    this.#state.backend.setConsistentIndex(index);
  }

  /** setLeaseExists replaces the lease lookup used to check puts (the lessor calls this once). */
  setLeaseExists(fn: (lease: bigint) => boolean): void {
    this.#leaseExists = fn;
  }

  /** setCommitObserver hears how long each commit's write took, in seconds (a metrics histogram). */
  setCommitObserver(fn: ((seconds: number) => void) | null): void {
    this.#onCommitDuration = fn;
  }

  /** subscribe adds a listener for applied changes and restores. */
  subscribe(listener: StoreListener): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('MvccStore is closed: open it again');
  }

  #publish(changes: ChangeSet | null): void {
    if (changes === null) return;
    for (const l of this.#listeners) l.onChanges(changes);
  }

  /** range reads keys (RangeRequest), at the current revision or a past one. */
  range(req: RangeRequest): MvccResult<RangeResult> {
    this.#assertOpen();
    return rangeKeys(this.#state, req, this.#state.currentRev);
  }

  /** put writes one key at a new revision. Fails with key-not-found (ignore_*) or lease-not-found. */
  put(req: PutRequest): MvccResult<PutResult> {
    this.#assertOpen();
    const state = this.#state;
    if (req.ignore_value === true || req.ignore_lease === true) {
      const ki = state.tree.get(latin1(req.key));
      if (ki === undefined || !ki.live) return fail(errKeyNotFound());
    }
    const lease = req.lease ?? 0n;
    if (lease !== 0n && !this.#leaseExists(lease)) return fail(errLeaseNotFound(lease));
    const txn = new WriteTxn(state);
    const res = txn.put(req);
    this.#publish(txn.end());
    return ok(res);
  }

  /** deleteRange deletes a key or range; the revision moves only if something was deleted. */
  deleteRange(req: DeleteRangeRequest): MvccResult<DeleteRangeResult> {
    this.#assertOpen();
    const txn = new WriteTxn(this.#state);
    const res = txn.deleteRange(req);
    this.#publish(txn.end());
    return ok(res);
  }

  /** txn runs a transaction atomically at one revision (none if it changes nothing). */
  txn(req: TxnRequest): MvccResult<TxnResult> {
    this.#assertOpen();
    const state = this.#state;
    const path = compareToPath(state, req);
    const err = checkPath(state, req, path, { checkPuts: !isTxnReadOnly(req), leaseExists: this.#leaseExists });
    if (err !== null) return fail(err);
    const txn = new WriteTxn(state);
    const res = applyPath(state, txn, req, path);
    this.#publish(txn.end());
    return ok(res);
  }

  /**
   * compact discards history below `rev`: per key only the latest revision ≤ rev survives, and
   * not if it is a deletion below rev (see KeyIndex.compact for why those at rev stay). Reads
   * below `rev` then fail with compacted. The revision does not move. The space is reclaimed by
   * the next commit.
   */
  compact(rev: number): MvccResult<{ revision: number }> {
    this.#assertOpen();
    const state = this.#state;
    if (rev <= state.compactedRev) return fail(errCompacted(state.compactedRev));
    if (rev > state.currentRev) return fail(errFutureRev());
    const backend = state.backend;
    const gone: string[] = [];
    const drop = (main: number, sub: number, tombstone: boolean): void => backend.deleteRev(main, sub, tombstone);
    state.tree.forEach((ki) => {
      if (!ki.hasHistory) return; // a single live record is always kept
      if (ki.compact(rev, drop)) gone.push(ki.key);
    });
    for (const key of gone) state.tree.remove(key);
    state.compactedRev = rev;
    backend.setCompacted(rev);
    return ok({ revision: state.currentRev });
  }

  /** leaseKeys lists the live keys attached to `lease`, in key order. */
  leaseKeys(lease: bigint): Buffer[] {
    const set = this.#state.leases.get(lease);
    if (set === undefined) return [];
    return [...set].map((ki) => ki.key).sort().map((k) => Buffer.from(k, 'latin1'));
  }

  /** attachedLeases lists every lease with at least one key attached (for the lessor's recovery). */
  attachedLeases(): bigint[] {
    return [...this.#state.leases.keys()];
  }

  /** revokeLease deletes every key attached to `lease` in one revision (etcd's lessor Revoke). */
  revokeLease(lease: bigint): { revision: number; deleted: number } {
    this.#assertOpen();
    const state = this.#state;
    const set = state.leases.get(lease);
    if (set === undefined) return { revision: state.currentRev, deleted: 0 };
    const keys = [...set].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const txn = new WriteTxn(state);
    const deleted = txn.deleteKeys(keys);
    this.#publish(txn.end());
    return { revision: state.currentRev, deleted };
  }

  /**
   * readEvents returns the changes with revision in [fromRev, current], at most about `limit`
   * events but always whole revisions, for watchers catching up. Fails with compacted when
   * fromRev is below the compacted revision.
   */
  readEvents(fromRev: number, limit: number): MvccResult<ReadEventsResult> {
    this.#assertOpen();
    const state = this.#state;
    if (fromRev < state.compactedRev) return fail(errCompacted(state.compactedRev));
    const to = state.currentRev;
    if (fromRev > to) return ok({ events: [], nextRev: fromRev });
    const { revs, truncated } = state.backend.scanRevs(fromRev, to, Math.max(1, limit));
    const events: MvccEvent[] = [];
    for (const r of revs) {
      // NB: compaction keeps every record at the compacted revision and drops only older ones,
      // so everything from fromRev ≥ compacted on is retained, whether or not commit() has run.
      const kv = decodeKeyValue(r.value);
      if (r.tombstone) {
        events.push({
          type: 'DELETE',
          kv: { key: kv.key, create_revision: 0, mod_revision: r.main, version: 0, value: EMPTY_BUFFER, lease: 0n },
        });
      } else {
        events.push({ type: 'PUT', kv });
      }
    }
    const last = revs[revs.length - 1];
    return ok({ events, nextRev: truncated && last !== undefined ? last.main + 1 : to + 1 });
  }

  /** auxPut writes (or with null deletes) an entry of an auxiliary bucket, committed with the next commit(). */
  auxPut(bucket: string, key: Uint8Array, value: Uint8Array | null): void {
    this.#assertOpen();
    this.#state.backend.auxPut(bucket, key, value);
  }

  /** auxGet reads an auxiliary bucket entry (uncommitted writes included). */
  auxGet(bucket: string, key: Uint8Array): Buffer | undefined {
    this.#assertOpen();
    return this.#state.backend.auxGet(bucket, key);
  }

  /** auxEntries lists an auxiliary bucket in key order (uncommitted writes included). */
  auxEntries(bucket: string): [Buffer, Buffer][] {
    this.#assertOpen();
    return this.#state.backend.auxEntries(bucket);
  }

  /**
   * commit writes everything applied since the last commit, the consistent index and the
   * compacted revision in one atomic RocksDB batch. NB: the write happens before commit returns
   * its promise (the binding writes on the JS thread; with `sync` that includes the fsync).
   */
  async commit(options: CommitOptions = {}): Promise<void> {
    this.#assertOpen();
    const sync = options.sync === true;
    if (sync) {
      const gate = fsyncGate('the MVCC backend');
      if (gate !== null) await gate;
      this.#assertOpen();
    }
    const start = this.#onCommitDuration === null ? 0n : process.hrtime.bigint();
    this.#state.backend.flush(sync, this.#state.currentRev);
    if (this.#onCommitDuration !== null) this.#onCommitDuration(Number(process.hrtime.bigint() - start) / 1e9);
    if (sync) this.#syncedConsistentIndex = this.#state.backend.consistentIndex;
    this.#maybeCheckpoint();
  }

  /**
   * #maybeCheckpoint starts an index checkpoint when enough rows were written since the last one
   * (at least minRows and an eighth of the last one's records, so encoding stays a small share
   * of the writes), or when a compaction made the last one unusable. Called right after a
   * flush, when the index holds exactly what RocksDB holds. Encoding runs in slices of
   * CHECKPOINT_SLICE_MS between other work (about a tenth of a microsecond a record; a million
   * keys would otherwise hold this thread for a few hundred milliseconds), the file is written
   * off this thread, and one checkpoint is in progress at a time.
   */
  #maybeCheckpoint(): void {
    const cfg = this.#options.indexCheckpoints;
    const c = this.#ckpt;
    if (cfg === false || c.write !== null || c.identity === null) return;
    const state = this.#state;
    const rows = c.unscanned + state.backend.rowsWritten - c.rowsAt;
    const compacted = c.revision > 0 && state.compactedRev !== c.compacted;
    if (!compacted && (rows === 0 || rows < Math.max(cfg?.minRows ?? DEFAULT_CHECKPOINT_MIN_ROWS, c.records / CHECKPOINT_RECORDS_DIVISOR))) return;
    const meta = { revision: state.currentRev, compacted: state.compactedRev, consistentIndex: state.backend.consistentIndex, identity: c.identity };
    const sliceMs = cfg?.sliceMs ?? CHECKPOINT_SLICE_MS;
    const encoder = new CheckpointEncoder(meta);
    state.beforeChange = (ki) => encoder.beforeChange(ki);
    const rowsAt = state.backend.rowsWritten;
    const report = this.#options.onCheckpoint;
    const started = performance.now();
    let encodeMs = 0;
    const encode = (resolve: (done: boolean) => void): void => {
      // Abandoned when the store closed, restored another state, or compacted (which changes
      // records the encoder may not have reached).
      if (this.#closed || this.#state !== state || state.compactedRev !== meta.compacted) {
        state.beforeChange = null;
        resolve(false);
        return;
      }
      const t = performance.now();
      const done = encoder.step(state.tree, sliceMs);
      encodeMs += performance.now() - t;
      if (!done) {
        setImmediate(encode, resolve);
        return;
      }
      state.beforeChange = null;
      resolve(true);
    };
    const run = async (): Promise<void> => {
      if (!(await new Promise<boolean>((resolve) => encode(resolve)))) return;
      const encoded = encoder.finish();
      const t = performance.now();
      try {
        await writeCheckpointFile(this.#dir, encoded);
      } catch (err: unknown) {
        // NB: the previous checkpoint (or none) stays: reopening checks whichever it finds.
        // Try again only after another policy's worth of rows (not at every commit).
        Object.assign(c, { compacted: meta.compacted, rowsAt, unscanned: 0 });
        report?.({ type: 'failed', revision: meta.revision, error: err instanceof Error ? err : new Error(String(err)) });
        return;
      }
      Object.assign(c, { revision: meta.revision, compacted: meta.compacted, records: encoded.records, rowsAt, unscanned: 0 });
      report?.({ type: 'written', revision: meta.revision, keys: encoded.keys, records: encoded.records, bytes: encoded.bytes, encodeMs, writeMs: performance.now() - t, ms: performance.now() - started });
    };
    c.write = run().finally(() => {
      c.write = null;
    });
  }

  /** checkpointWritten settles when the index checkpoint being written (if any) is on disk or has failed. */
  async checkpointWritten(): Promise<void> {
    await this.#ckpt.write;
  }

  /**
   * snapshot returns a consistent image of the whole state for a Raft snapshot or etcd's
   * Maintenance.Snapshot. It first writes uncommitted changes (without fsync, consistent index
   * included), then streams from a RocksDB point-in-time view: applying may go on meanwhile.
   */
  snapshot(): MvccSnapshot {
    this.#assertOpen();
    const state = this.#state;
    state.backend.flush(false, state.currentRev);
    return makeSnapshot(state.backend.scanAll(), {
      consistentIndex: state.backend.consistentIndex,
      revision: state.currentRev,
      compactedRevision: state.compactedRev,
    });
  }

  /**
   * hash computes etcd's HashKV at `rev` (0 = current): equal on members that applied the same
   * history. Writes uncommitted changes first (without fsync).
   */
  async hash(rev = 0): Promise<MvccResult<HashKVResult>> {
    this.#assertOpen();
    const state = this.#state;
    state.backend.flush(false, state.currentRev);
    return hashKV(state, rev);
  }

  /** restore writes a snapshot into `dir` (replacing what is there) and opens it (etcdctl snapshot restore). */
  static async restore(dir: string, source: SnapshotSource, options: MvccStoreOptions = {}): Promise<MvccStore> {
    await restoreDir(dir, source, options);
    return MvccStore.open(dir, options);
  }

  /**
   * restoreSnapshot replaces this store's whole state with a snapshot (a follower installing a
   * Raft snapshot). The snapshot is verified before the current state is touched; listeners
   * (watch hubs) hear onRestore afterwards. Uncommitted changes are dropped.
   */
  async restoreSnapshot(source: SnapshotSource): Promise<void> {
    this.#assertOpen();
    const previous = this.#state.currentRev;
    await this.#ckpt.write; // its rename must not land in the restored directory
    await restoreDir(this.#dir, source, this.#options, () => this.#state.backend.close());
    const loaded = await loadState(this.#dir, this.#options);
    this.#state = loaded.state;
    this.#recovery = loaded.recovery;
    this.#ckpt = MvccStore.#checkpointState(loaded);
    this.#syncedConsistentIndex = this.#state.backend.consistentIndex;
    for (const l of this.#listeners) l.onRestore?.(previous);
  }

  /**
   * memoryStats reports where the store's native memory goes (for metrics and benchmarks):
   * RocksDB memtables, block cache and table readers (index and filter blocks), in bytes.
   */
  memoryStats(): { memtableBytes: number; blockCacheBytes: number; tableReaderBytes: number; pendingRevisions: number } {
    this.#assertOpen();
    const backend = this.#state.backend;
    const num = (name: string): number => Number(backend.rocksProperty(name)) || 0;
    return {
      memtableBytes: num('rocksdb.cur-size-all-mem-tables'),
      blockCacheBytes: num('rocksdb.block-cache-usage'),
      tableReaderBytes: num('rocksdb.estimate-table-readers-mem'),
      pendingRevisions: backend.pendingCount,
    };
  }

  /** close drops uncommitted writes and closes RocksDB. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#ckpt.write;
    await this.#state.backend.close();
  }
}
