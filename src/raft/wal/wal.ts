/**
 * wal: the durable write-ahead log of a Raft member — hard state, entries and snapshot markers,
 * appended to segment files and made durable with fdatasync before `save()` resolves, which the
 * driver awaits before it sends votes or acknowledgements (Raft Figure 2: "persistent state ...
 * updated on stable storage before responding to RPCs").
 *
 * Group commit: each save() encodes its records into one Buffer at once and joins the pending
 * batch. One batch is written (one writev) and synced (one fdatasync) at a time; saves that
 * arrive while a sync is in flight form the next batch, so one sync covers many callers. The
 * first batch is started from a microtask, so saves issued in the same turn share it too.
 * saveNow() is the same write for a caller that would wait for it at once (the Raft driver in
 * blocking mode): done before it returns when nothing is queued ahead of it.
 *
 * Layout, torn-write handling and recovery rules: see segment.ts, record.ts and replay.ts;
 * segment.ts also creates each new segment.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Entry, HardState, LogIndex, SnapshotMetadata } from '../types.js';
import { WalClosedError, WalCorruptError, WalIoError, WalMetadataMismatchError } from './errors.js';
import { closeFd, fdatasync, fsyncDir, ftruncate, mkdirDurable, openFd, writevAll, writevAllSync } from './fsio.js';
import { fdatasyncSync } from 'node:fs';
import { fsyncFailpointMode, fsyncGate } from './fsync-failpoint.js';
import { LogShape, type SavePlan } from './log-shape.js';
import { FLAG_BEGIN, FLAG_END, encodeRecords, setFlags } from './record.js';
import { EMPTY_HARD_STATE, Replay } from './replay.js';
import { type SegmentInfo, createSegment, listDir, parseSegment } from './segment.js';

/** DEFAULT_SEGMENT_SIZE is the size past which the WAL starts a new segment (as etcd: 64 MiB). */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;

/** WalOptions configures Wal.open. */
export interface WalOptions {
  /** segmentSize: start a new segment before a batch once the current one holds this many bytes. */
  readonly segmentSize?: number;
  /**
   * metadata (e.g. member and cluster id) is written at the head of every segment when the WAL is
   * created. Opening an existing WAL with different metadata fails with WalMetadataMismatchError.
   */
  readonly metadata?: Uint8Array;
  /** sync makes a batch durable; fdatasync by default. Tests inject one to count or delay syncs. */
  readonly sync?: (fd: number) => Promise<void>;
  /**
   * blockingIO writes and syncs each batch on the event loop's own thread (writev + fdatasync,
   * synchronously) instead of libuv's thread pool. Each pool round trip wakes two threads; on a
   * small or virtualised machine those wake-ups cost more than the fdatasync itself, so a member
   * that saves once per Ready (its group commit) is faster this way. Ignored when `sync` is set.
   */
  readonly blockingIO?: boolean;
  /**
   * syncOffLoop writes each batch on the event loop's thread (a writev into preallocated space
   * takes tens of microseconds) and runs its fdatasync on libuv's thread pool, so the loop keeps
   * receiving and sending while the batch becomes durable — a leader's appends and replies leave
   * during its sync instead of after it. save() still resolves only after that fdatasync
   * returned. It beat blockingIO while the peer link was HTTP/2 (whose writes leave from a later
   * loop turn, so a blocking sync held the leader's appends back), not over the raw TCP link;
   * members use blockingIO (README, Choices). Takes precedence over blockingIO.
   */
  readonly syncOffLoop?: boolean;
  /**
   * preallocate keeps this many zeroed bytes written ahead of the end of the current segment
   * (etcd preallocates its segments too). A batch then overwrites blocks that already exist, so
   * its fdatasync flushes data only — no file-size change, hence no filesystem journal commit,
   * which on ext4 would also flush every other file's pending data (RocksDB's). On open the
   * zeroed tail is recognised and cut away; a segment is cut to its real size when the next
   * one starts. 0 (the default) preallocates nothing.
   */
  readonly preallocate?: number;
  /** onSyncDuration hears how long each batch's sync took, in seconds (for a metrics histogram). */
  readonly onSyncDuration?: (seconds: number) => void;
}

/** WalState is what a WAL held when it was opened. */
export interface WalState {
  readonly hardState: HardState;
  /** snapshot is the newest recorded snapshot marker; load its data from the SnapshotStore. */
  readonly snapshot: SnapshotMetadata | null;
  /** entries are the log entries after the snapshot, consecutive. */
  readonly entries: Entry[];
  readonly metadata: Uint8Array;
  /** repairedTail tells where a torn write left by a crash was cut away, for the log; null if none. */
  readonly repairedTail: { readonly file: string; readonly offset: number; readonly reason: string } | null;
}

/** WalSaveRequest is what one Ready asks to persist. */
export interface WalSaveRequest {
  readonly hardState?: HardState | null;
  readonly entries: readonly Entry[];
  /** snapshot marker: the snapshot's data must already be saved (SnapshotStore) before this. */
  readonly snapshot?: SnapshotMetadata | null;
}

/** WalStats counts what the WAL has done since it was opened. */
export interface WalStats {
  /** syncs is the number of batch syncs (fdatasync calls through `sync`). */
  syncs: number;
  /** saves is the number of save() calls that resolved. */
  saves: number;
  entries: number;
  bytes: number;
  /** cuts is the number of segments started (not counting the first of a fresh WAL). */
  cuts: number;
  /** released is the number of segment files deleted by releaseTo. */
  released: number;
}

interface Durable {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMetadata | null;
  readonly lastIndex: number;
}

/** Encoded is one save request's records and the plan that admits them to the log. */
interface Encoded {
  readonly plan: SavePlan;
  readonly buf: Buffer;
  readonly lastRecord: number;
  readonly snapshot: SnapshotMetadata | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Batch {
  readonly bufs: Buffer[];
  /** Offset of the last record in the last buffer. */
  lastRecord: number;
  readonly waiters: Waiter[];
  /** State once the batch is durable. */
  post: Durable | null;
  entries: number;
}

function newBatch(): Batch {
  return { bufs: [], lastRecord: -1, waiters: [], post: null, entries: 0 };
}

/** Wal is an open write-ahead log. Open it with Wal.open; one process at a time per directory. */
export class Wal {
  readonly #dir: string;
  readonly #segmentSize: number;
  readonly #sync: (fd: number) => Promise<void>;
  readonly #blocking: boolean;
  /** #writeOnLoop: batches are written synchronously, and synced through `#sync` (syncOffLoop). */
  readonly #writeOnLoop: boolean;
  readonly #prealloc: number;
  /** #allocatedTo is how far the current segment is known written (data or zeros). */
  #allocatedTo: number;
  readonly #metadata: Uint8Array;
  #segments: SegmentInfo[];
  /** #file is the path of the last segment, the one written (named in errors and the fsync failpoint). */
  #file: string;
  #fd: number;
  #segBytes: number;
  readonly #shape: LogShape;
  /** State once every save issued so far is durable. */
  #latest: Durable;
  /** State covered by the last successful sync. */
  #durable: Durable;
  #pending: Batch = newBatch();
  #flushing = false;
  #idle: (() => void)[] = [];
  #failed: Error | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #releasing: Promise<unknown> = Promise.resolve();
  readonly #stats: WalStats = { syncs: 0, saves: 0, entries: 0, bytes: 0, cuts: 0, released: 0 };
  readonly #onSyncDuration: ((seconds: number) => void) | null;

  private constructor(init: {
    dir: string;
    opts: WalOptions;
    metadata: Uint8Array;
    segments: SegmentInfo[];
    fd: number;
    segBytes: number;
    shape: LogShape;
    durable: Durable;
  }) {
    this.#dir = init.dir;
    this.#segmentSize = init.opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.#sync = init.opts.sync ?? fdatasync;
    this.#writeOnLoop = init.opts.syncOffLoop === true;
    this.#blocking = !this.#writeOnLoop && init.opts.blockingIO === true && init.opts.sync === undefined;
    this.#metadata = init.metadata;
    this.#segments = init.segments;
    this.#file = path.join(init.dir, init.segments[init.segments.length - 1]!.name);
    this.#fd = init.fd;
    this.#segBytes = init.segBytes;
    this.#prealloc = Math.max(0, init.opts.preallocate ?? 0);
    this.#onSyncDuration = init.opts.onSyncDuration ?? null;
    this.#allocatedTo = init.segBytes;
    this.#shape = init.shape;
    this.#latest = init.durable;
    this.#durable = init.durable;
  }

  /**
   * Wal.open recovers the WAL in `dir` (creating it if needed): it replays every segment, cuts
   * away a torn write at the tail of the last one, and throws WalCorruptError for any other
   * damage. It resolves to the open WAL and the state it holds.
   */
  static async open(dir: string, opts: WalOptions = {}): Promise<{ wal: Wal; state: WalState }> {
    if (opts.segmentSize !== undefined && !(Number.isSafeInteger(opts.segmentSize) && opts.segmentSize > 0)) {
      throw new RangeError(`segmentSize must be a positive integer, got ${opts.segmentSize}`);
    }
    await mkdirDurable(dir);
    const { segments, temps } = await listDir(dir);
    for (const t of temps) await fsp.rm(path.join(dir, t), { force: true });
    if (temps.length > 0) await fsyncDir(dir);

    if (segments.length === 0) return Wal.#create(dir, opts);

    for (let i = 1; i < segments.length; i++) {
      if (segments[i]!.seq !== segments[0]!.seq + i) {
        throw new WalCorruptError(dir, null, `segment number ${segments[0]!.seq + i} is missing before ${segments[i]!.name}`);
      }
    }
    const replay = new Replay();
    let repairedTail: WalState['repairedTail'] = null;
    let lastSize = 0;
    let zeroTail = false;
    for (let i = 0; i < segments.length; i++) {
      const file = path.join(dir, segments[i]!.name);
      const isLast = i === segments.length - 1;
      const buf = await fsp.readFile(file);
      const parsed = parseSegment(buf, file, isLast);
      const head = parsed.batches[0]?.records[0];
      if (head?.kind !== 'metadata') {
        throw new WalCorruptError(file, 0, 'the segment does not start with a metadata record');
      }
      if (replay.metadata && !Buffer.from(head.metadata).equals(replay.metadata)) {
        throw new WalCorruptError(file, 0, 'the segment metadata differs from that of the first segment');
      }
      for (const batch of parsed.batches) {
        for (const rec of batch.records) replay.apply(rec, { file, offset: batch.start });
      }
      lastSize = parsed.validEnd;
      if (parsed.torn) {
        // Zeros after the last batch are preallocated space, not a torn write: cut them silently.
        if (isLast && buf.subarray(parsed.validEnd).every((b) => b === 0)) zeroTail = true;
        else repairedTail = { file, offset: parsed.validEnd, reason: parsed.torn.reason };
      }
    }
    const entries = replay.finish(dir);
    const metadata = replay.metadata ?? new Uint8Array(0);
    if (opts.metadata && !Buffer.from(opts.metadata).equals(metadata)) throw new WalMetadataMismatchError(dir);

    const lastFile = path.join(dir, segments[segments.length - 1]!.name);
    const fd = await openFd(lastFile, 'r+');
    try {
      if (repairedTail || zeroTail) {
        await ftruncate(fd, lastSize);
        await fdatasync(fd);
      }
    } catch (err) {
      await closeFd(fd);
      throw new WalIoError('truncating a torn tail', lastFile, { cause: err });
    }
    const shape = LogShape.from(replay.snapshot, entries);
    const wal = new Wal({
      dir,
      opts,
      metadata,
      segments,
      fd,
      segBytes: lastSize,
      shape,
      durable: { hardState: replay.hardState, snapshot: replay.snapshot, lastIndex: shape.lastIndex },
    });
    return {
      wal,
      state: { hardState: replay.hardState, snapshot: replay.snapshot, entries, metadata, repairedTail },
    };
  }

  static async #create(dir: string, opts: WalOptions): Promise<{ wal: Wal; state: WalState }> {
    const metadata = opts.metadata ? Uint8Array.from(opts.metadata) : new Uint8Array(0);
    const durable: Durable = { hardState: EMPTY_HARD_STATE, snapshot: null, lastIndex: 0 };
    const { info, fd, size } = await createSegment(dir, 0, metadata, durable);
    const wal = new Wal({
      dir,
      opts,
      metadata,
      segments: [info],
      fd,
      segBytes: size,
      shape: LogShape.from(null, []),
      durable,
    });
    return {
      wal,
      state: { hardState: EMPTY_HARD_STATE, snapshot: null, entries: [], metadata, repairedTail: null },
    };
  }

  /** stats returns the counters since open (a live object; do not modify it). */
  get stats(): Readonly<WalStats> {
    return this.#stats;
  }

  /** lastIndex is the index of the last entry saved (durable or not yet), or the snapshot's index. */
  get lastIndex(): LogIndex {
    return this.#shape.lastIndex as LogIndex;
  }

  /** segmentCount is the number of segment files the WAL spans. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /**
   * save appends the hard state, snapshot marker and entries of one Ready and resolves once they
   * are durable (after the one fdatasync of the batch they joined). Saves complete in the order
   * they were issued. Entries may overwrite a suffix of the log: the first entry may lie
   * anywhere in [snapshot index + 1, lastIndex + 1]. A save with nothing to write resolves once
   * every earlier save is durable. Rejects with RangeError for a malformed request (nothing is
   * written), WalIoError if the disk fails (the WAL then refuses all further saves), or
   * WalClosedError after close().
   */
  save(req: WalSaveRequest): Promise<void> {
    if (this.#closed) return Promise.reject(new WalClosedError());
    if (this.#failed) return Promise.reject(this.#failed);
    const snapshot = req.snapshot ?? null;
    const hardState = req.hardState ?? null;
    const entries = req.entries;
    if (!snapshot && !hardState && entries.length === 0) {
      if (!this.#flushing && this.#pending.waiters.length === 0) return Promise.resolve();
      return this.#join();
    }
    let enc: Encoded;
    try {
      enc = this.#encode(snapshot, hardState, entries);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new RangeError(String(err)));
    }
    const batch = this.#pending;
    batch.bufs.push(enc.buf);
    batch.lastRecord = enc.lastRecord;
    batch.post = this.#admit(enc);
    batch.entries += entries.length;
    return this.#join();
  }

  /**
   * saveNow is save() finished before it returns, for a WAL that writes and syncs on the event
   * loop's thread anyway (blockingIO): true once the request is durable. It writes nothing and
   * returns false when save() must take the request instead: another I/O mode, a batch still in
   * flight, a segment to cut or to extend, or the fsync failpoint armed. It throws what save()
   * would reject with, and a failed write or sync fails the WAL as it does there. It spares the
   * member's Raft loop a promise, a microtask and two async frames per Ready.
   */
  saveNow(req: WalSaveRequest): boolean {
    if (!this.#blocking || this.#flushing || this.#pending.waiters.length > 0) return false;
    if (this.#closed) throw new WalClosedError();
    if (this.#failed) throw this.#failed;
    if (this.#segBytes >= this.#segmentSize || fsyncFailpointMode() !== null) return false;
    const snapshot = req.snapshot ?? null;
    const hardState = req.hardState ?? null;
    const entries = req.entries;
    if (!snapshot && !hardState && entries.length === 0) return true;
    const enc = this.#encode(snapshot, hardState, entries);
    if (this.#prealloc > 0 && this.#segBytes + enc.buf.byteLength > this.#allocatedTo) return false;
    const batch: Batch = { bufs: [enc.buf], lastRecord: enc.lastRecord, waiters: [], post: this.#admit(enc), entries: entries.length };
    try {
      this.#writeNow(batch, this.#currentFile());
    } catch (err) {
      this.#fail(err, batch);
      throw this.#failed ?? err;
    }
    this.#stats.saves++;
    return true;
  }

  /** #encode checks a request against the log's shape and encodes its records, changing nothing (RangeError if malformed). */
  #encode(snapshot: SnapshotMetadata | null, hardState: HardState | null, entries: readonly Entry[]): Encoded {
    const plan = this.#shape.plan(snapshot, entries);
    const { buf, lastRecord } = encodeRecords({ hardState, snapshot: snapshot ? { meta: snapshot, resetLog: plan.resetLog } : null, entries });
    return { plan, buf, lastRecord, snapshot, hardState, entries };
  }

  /** #admit applies an encoded request to the log's shape and returns the state it makes durable. */
  #admit(enc: Encoded): Durable {
    this.#shape.apply(enc.plan, enc.entries);
    this.#latest = { hardState: enc.hardState ?? this.#latest.hardState, snapshot: enc.snapshot ?? this.#latest.snapshot, lastIndex: this.#shape.lastIndex };
    return this.#latest;
  }

  /** #writeNow writes and syncs a batch on this thread (blocking mode, nothing to cut or extend, no failpoint). */
  #writeNow(batch: Batch, file: string): void {
    setFlags(batch.bufs[0]!, 0, FLAG_BEGIN);
    setFlags(batch.bufs[batch.bufs.length - 1]!, batch.lastRecord, FLAG_END);
    let n: number;
    try {
      n = writevAllSync(this.#fd, batch.bufs, this.#segBytes);
    } catch (err) {
      throw new WalIoError('write', file, { cause: err });
    }
    this.#segBytes += n;
    const syncStart = this.#onSyncDuration === null ? 0n : process.hrtime.bigint();
    try {
      fdatasyncSync(this.#fd);
    } catch (err) {
      throw new WalIoError('fdatasync', file, { cause: err });
    }
    this.#wrote(batch, n, syncStart);
  }

  /** #wrote counts a durable batch and makes its state the durable one. */
  #wrote(batch: Batch, n: number, syncStart: bigint): void {
    if (this.#onSyncDuration !== null) this.#onSyncDuration(Number(process.hrtime.bigint() - syncStart) / 1e9);
    this.#stats.syncs++;
    this.#stats.bytes += n;
    this.#stats.entries += batch.entries;
    this.#durable = batch.post!;
  }

  #join(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.#pending.waiters.push({ resolve, reject }));
    if (!this.#flushing) {
      this.#flushing = true;
      queueMicrotask(() => void this.#flushLoop());
    }
    return p;
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.waiters.length > 0) {
      const batch = this.#pending;
      this.#pending = newBatch();
      try {
        if (batch.bufs.length > 0) await this.#writeBatch(batch);
      } catch (err) {
        this.#fail(err, batch);
        break;
      }
      this.#stats.saves += batch.waiters.length;
      for (const w of batch.waiters) w.resolve();
    }
    this.#flushing = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const f of idle) f();
  }

  async #writeBatch(batch: Batch): Promise<void> {
    if (this.#segBytes >= this.#segmentSize) await this.#cut();
    const file = this.#currentFile();
    let need = 0;
    for (const b of batch.bufs) need += b.byteLength;
    if (this.#prealloc > 0 && this.#segBytes + need > this.#allocatedTo) await this.#extend(this.#segBytes + need + this.#prealloc);
    if (this.#blocking && fsyncFailpointMode() === null) {
      this.#writeNow(batch, file);
      return;
    }
    setFlags(batch.bufs[0]!, 0, FLAG_BEGIN);
    setFlags(batch.bufs[batch.bufs.length - 1]!, batch.lastRecord, FLAG_END);
    let n: number;
    try {
      n = this.#blocking || this.#writeOnLoop ? writevAllSync(this.#fd, batch.bufs, this.#segBytes) : await writevAll(this.#fd, batch.bufs, this.#segBytes);
    } catch (err) {
      throw new WalIoError('write', file, { cause: err });
    }
    this.#segBytes += n;
    const syncStart = this.#onSyncDuration === null ? 0n : process.hrtime.bigint();
    try {
      const gate = fsyncGate(file);
      if (gate !== null) await gate;
      if (this.#blocking) fdatasyncSync(this.#fd);
      else await this.#sync(this.#fd);
    } catch (err) {
      throw new WalIoError('fdatasync', file, { cause: err });
    }
    this.#wrote(batch, n, syncStart);
  }

  /** #extend writes zeros up to `to` and syncs them, so later batches need no size change. */
  async #extend(to: number): Promise<void> {
    const file = this.#currentFile();
    const zeros = Buffer.alloc(to - this.#allocatedTo);
    try {
      if (this.#blocking) {
        writevAllSync(this.#fd, [zeros], this.#allocatedTo);
        fdatasyncSync(this.#fd);
      } else if (this.#writeOnLoop) {
        writevAllSync(this.#fd, [zeros], this.#allocatedTo);
        await this.#sync(this.#fd);
      } else {
        await writevAll(this.#fd, [zeros], this.#allocatedTo);
        await this.#sync(this.#fd);
      }
    } catch (err) {
      throw new WalIoError('preallocate', file, { cause: err });
    }
    this.#allocatedTo = to;
  }

  /** Starts the next segment; the current one's last batch is already synced. */
  async #cut(): Promise<void> {
    if (this.#allocatedTo > this.#segBytes) {
      // A segment that is not the last must end at its last batch (recovery reads it strictly).
      const file = this.#currentFile();
      try {
        await ftruncate(this.#fd, this.#segBytes);
        await fdatasync(this.#fd);
      } catch (err) {
        throw new WalIoError('trimming preallocated space', file, { cause: err });
      }
    }
    const seq = this.#segments[this.#segments.length - 1]!.seq + 1;
    const { info, fd, size } = await createSegment(this.#dir, seq, this.#metadata, this.#durable);
    const old = this.#fd;
    this.#fd = fd;
    this.#segBytes = size;
    this.#allocatedTo = size;
    this.#segments.push(info);
    this.#file = path.join(this.#dir, info.name);
    this.#stats.cuts++;
    try {
      await closeFd(old);
    } catch {
      // The old segment is fully synced; failing to close its descriptor loses nothing.
    }
  }

  #fail(err: unknown, batch: Batch): void {
    const error = err instanceof Error ? err : new WalIoError('flush', this.#currentFile(), { cause: err });
    this.#failed = error;
    const waiters = [...batch.waiters, ...this.#pending.waiters];
    this.#pending = newBatch();
    for (const w of waiters) w.reject(error);
  }

  #currentFile(): string {
    return this.#file;
  }

  /**
   * releaseTo deletes the segments that hold only entries at or below `index`, which must be
   * covered by a snapshot already recorded and durable in this WAL (a larger `index` is lowered
   * to the newest durable snapshot's index; with none, nothing is deleted). The segment holding
   * `index` and all later ones stay. Resolves to the number of segment files deleted.
   */
  releaseTo(index: LogIndex): Promise<number> {
    if (this.#closed) return Promise.reject(new WalClosedError());
    const run = this.#releasing.then(() => this.#release(index));
    this.#releasing = run.catch(() => undefined);
    return run;
  }

  async #release(index: number): Promise<number> {
    const limit = Math.min(index, this.#durable.snapshot?.index ?? 0);
    // NB: segment names are not monotonic in firstIndex (a suffix overwrite can lower the last
    // index before a cut). Any segment named ≤ limit is a safe cut point: every entry logged
    // before it was started is at or below its name minus one, or was overwritten since.
    let keep = -1;
    for (let i = 0; i < this.#segments.length; i++) if (this.#segments[i]!.firstIndex <= limit) keep = i;
    if (keep <= 0) return 0;
    const doomed = this.#segments.slice(0, keep);
    this.#segments = this.#segments.slice(keep);
    for (const s of doomed) {
      const file = path.join(this.#dir, s.name);
      try {
        await fsp.rm(file, { force: true });
      } catch (err) {
        throw new WalIoError('delete', file, { cause: err });
      }
    }
    try {
      await fsyncDir(this.#dir);
    } catch (err) {
      throw new WalIoError('directory fsync', this.#dir, { cause: err });
    }
    this.#stats.released += doomed.length;
    return doomed.length;
  }

  /** close waits for every issued save to finish, then closes the WAL. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = (async () => {
        if (this.#flushing) await new Promise<void>((resolve) => this.#idle.push(resolve));
        await this.#releasing;
        await closeFd(this.#fd);
      })();
    }
    return this.#closing;
  }
}
