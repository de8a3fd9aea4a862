/**
 * backend: the store's persistent half — etcd's backend with its batch transaction.
 *
 * Applied writes collect in memory (in revision order) until commit() writes them to RocksDB in
 * one atomic batch together with the meta bucket (consistent index, compacted revision), so the
 * database always reflects a whole number of applied Raft entries. Reads look at the unflushed
 * writes first: every unflushed revision is newer than everything in RocksDB, which makes the
 * choice a single comparison.
 */

import { KEY_PREFIX, auxBucketBounds, auxKey, encodeUint64, metaKey, parseRevKey, revKey, revLowerBound } from './revision.js';
import { CodecError, uint64ToNumber } from './codec.js';
import { Rocks, type RocksOptions, type WriteOp } from './rocks.js';

/** META_CONSISTENT_INDEX names the meta entry holding the last applied Raft index. */
export const META_CONSISTENT_INDEX = 'consistent_index';
/** META_COMPACTED names the meta entry holding the compacted revision (etcd's finishedCompactRev). */
export const META_COMPACTED = 'finishedCompactRev';
/** SCAN_BATCH bounds what one cursor step reads from RocksDB (so a long scan yields often). */
const SCAN_BATCH = 1_000;

interface PendingRev {
  readonly main: number;
  readonly sub: number;
  readonly key: Buffer;
  readonly value: Buffer;
}

/** StoredRev is one key-bucket entry read back in revision order. */
export interface StoredRev {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
  readonly value: Buffer;
}

/** Backend buffers applied writes and commits them to RocksDB in atomic batches. */
export class Backend {
  readonly #db: Rocks;
  #pending: PendingRev[] = [];
  #deletes: Buffer[] = [];
  #aux = new Map<string, { key: Buffer; value: Buffer | null }>();
  /** #flushedRev: every revision ≤ this is in RocksDB; everything above is in #pending. */
  #flushedRev: number;
  #consistentIndex: number;
  #compacted: number;
  #rowsWritten = 0;

  private constructor(db: Rocks, flushedRev: number, consistentIndex: number, compacted: number) {
    this.#db = db;
    this.#flushedRev = flushedRev;
    this.#consistentIndex = consistentIndex;
    this.#compacted = compacted;
  }

  /** open opens the database in `dir`; `lastRev` is filled in by the caller after its scan. */
  static async open(dir: string, options: RocksOptions = {}): Promise<Backend> {
    const db = await Rocks.open(dir, options);
    const [ci, compacted] = db.getMany([metaKey(META_CONSISTENT_INDEX), metaKey(META_COMPACTED)]);
    try {
      return new Backend(db, 0, uint64ToNumber(ci, META_CONSISTENT_INDEX), uint64ToNumber(compacted, META_COMPACTED));
    } catch (err: unknown) {
      await db.close();
      throw err instanceof CodecError ? new CodecError(`${dir}: ${err.message}`) : err;
    }
  }

  /** consistentIndex is the Raft index recorded in the meta bucket (or set since). */
  get consistentIndex(): number {
    return this.#consistentIndex;
  }

  /** compactedRevision is the compacted revision recorded in the meta bucket (or set since). */
  get compactedRevision(): number {
    return this.#compacted;
  }

  /** setFlushedRevision tells the backend the highest revision found on disk at open. */
  setFlushedRevision(rev: number): void {
    this.#flushedRev = rev;
  }

  /** rowsWritten counts the key-bucket rows this backend has written since it opened. */
  get rowsWritten(): number {
    return this.#rowsWritten;
  }

  /** hasPending says whether anything awaits commit(). */
  get hasPending(): boolean {
    return this.#pending.length > 0 || this.#deletes.length > 0 || this.#aux.size > 0;
  }

  /** pendingCount is the number of revisions awaiting commit(). */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** putRev buffers an encoded KeyValue at (main, sub); revisions must arrive in increasing order. */
  putRev(main: number, sub: number, tombstone: boolean, value: Buffer): void {
    this.#pending.push({ main, sub, key: revKey(main, sub, tombstone), value });
  }

  /** deleteRev buffers the removal of a compacted revision. */
  deleteRev(main: number, sub: number, tombstone: boolean): void {
    this.#deletes.push(revKey(main, sub, tombstone));
  }

  /** setConsistentIndex records the last applied Raft index for the next commit. */
  setConsistentIndex(index: number): void {
    this.#consistentIndex = index;
  }

  /** setCompacted records the compacted revision for the next commit. */
  setCompacted(rev: number): void {
    this.#compacted = rev;
  }

  #findPending(main: number, sub: number): PendingRev | undefined {
    const p = this.#pending;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = p[mid] as PendingRev;
      if (e.main < main || (e.main === main && e.sub < sub)) lo = mid + 1;
      else hi = mid;
    }
    const e = p[lo];
    return e !== undefined && e.main === main && e.sub === sub ? e : undefined;
  }

  /**
   * getRevs returns the encoded KeyValues of live (non-tombstone) revisions, given as parallel
   * arrays. A revision the index references must exist: a miss means a corrupt database.
   */
  getRevs(mains: readonly number[], subs: readonly number[]): Buffer[] {
    const out: Buffer[] = new Array<Buffer>(mains.length);
    const diskKeys: Buffer[] = [];
    const diskAt: number[] = [];
    for (let i = 0; i < mains.length; i++) {
      const main = mains[i] as number;
      const sub = subs[i] as number;
      if (main > this.#flushedRev) {
        const p = this.#findPending(main, sub);
        if (p === undefined) throw new Error(`MVCC index references revision ${main}_${sub}, which was never written: this is a bug`);
        out[i] = p.value;
      } else {
        diskKeys.push(revKey(main, sub, false));
        diskAt.push(i);
      }
    }
    if (diskKeys.length > 0) {
      const rows = this.#db.getMany(diskKeys);
      for (let j = 0; j < rows.length; j++) {
        const v = rows[j];
        if (v === undefined) {
          const { main, sub } = parseRevKey(diskKeys[j] as Buffer);
          throw new Error(`MVCC revision ${main}_${sub} is missing from RocksDB: the database is corrupt; restore this member from a snapshot`);
        }
        out[diskAt[j] as number] = v;
      }
    }
    return out;
  }

  /**
   * scanRevs returns the key-bucket entries with main revision in [fromRev, toRev], in revision
   * order, stopping at a revision boundary once `limit` entries have been read.
   */
  scanRevs(fromRev: number, toRev: number, limit: number): { revs: StoredRev[]; truncated: boolean } {
    const out: StoredRev[] = [];
    let lastMain = -1;
    let truncated = false;
    const full = (main: number): boolean => {
      if (out.length >= limit && main !== lastMain) truncated = true;
      return truncated;
    };
    if (fromRev <= this.#flushedRev) {
      const cursor = this.#db.scan(revLowerBound(fromRev), revLowerBound(Math.min(toRev, this.#flushedRev) + 1));
      try {
        scan: for (;;) {
          const rows = cursor.next(Math.min(SCAN_BATCH, limit + 16));
          if (rows.length === 0) break;
          for (let i = 0; i < rows.length; i += 2) {
            const k = rows[i] as Buffer;
            const { main, sub, tombstone } = parseRevKey(k);
            if (full(main)) break scan;
            out.push({ main, sub, tombstone, value: rows[i + 1] as Buffer });
            lastMain = main;
          }
        }
      } finally {
        cursor.close();
      }
    }
    for (const p of this.#pending) {
      if (p.main < fromRev) continue;
      if (p.main > toRev || full(p.main)) break;
      out.push({ main: p.main, sub: p.sub, tombstone: p.key.length > 18, value: p.value });
      lastMain = p.main;
    }
    return { revs: out, truncated };
  }

  /**
   * scanKeyBucketRows hands every key-bucket row on disk from main revision `fromRev` on to `fn`
   * in revision order, up to `batch` rows (k0, v0, k1, v1, …) at a time (the index rebuild; see
   * rebuild.ts).
   */
  scanKeyBucketRows(batch: number, fn: (rows: Buffer[]) => void, fromRev = 0): void {
    const cursor = this.#db.scan(revLowerBound(fromRev), Buffer.of(KEY_PREFIX + 1));
    try {
      for (;;) {
        const rows = cursor.next(batch);
        if (rows.length === 0) break;
        fn(rows);
      }
    } finally {
      cursor.close();
    }
  }

  /** auxPut buffers a write (or, with null, a delete) in an auxiliary bucket. */
  auxPut(bucket: string, key: Uint8Array, value: Uint8Array | null): void {
    const k = auxKey(bucket, key);
    this.#aux.set(k.toString('latin1'), { key: k, value: value === null ? null : Buffer.from(value) });
  }

  /** auxGet reads an auxiliary bucket entry, seeing uncommitted writes. */
  auxGet(bucket: string, key: Uint8Array): Buffer | undefined {
    const k = auxKey(bucket, key);
    const p = this.#aux.get(k.toString('latin1'));
    if (p !== undefined) return p.value ?? undefined;
    return this.#db.getMany([k])[0];
  }

  /** auxEntries lists an auxiliary bucket in key order (keys without the bucket prefix), seeing uncommitted writes. */
  auxEntries(bucket: string): [Buffer, Buffer][] {
    const [gte, lt] = auxBucketBounds(bucket);
    const merged = new Map<string, [Buffer, Buffer | null]>();
    const cursor = this.#db.scan(gte, lt);
    for (;;) {
      const rows = cursor.next(SCAN_BATCH);
      if (rows.length === 0) break;
      for (let i = 0; i < rows.length; i += 2) {
        const k = rows[i] as Buffer;
        merged.set(k.toString('latin1'), [k, rows[i + 1] as Buffer]);
      }
    }
    const lo = gte.toString('latin1');
    const hi = lt.toString('latin1');
    for (const [s, p] of this.#aux) if (s >= lo && s < hi) merged.set(s, [p.key, p.value]);
    const out: [Buffer, Buffer][] = [];
    for (const s of [...merged.keys()].sort()) {
      const [k, v] = merged.get(s) as [Buffer, Buffer | null];
      if (v !== null) out.push([k.subarray(gte.length), v]);
    }
    return out;
  }

  /**
   * flush writes everything buffered plus the meta bucket in one atomic batch (fsynced with
   * `sync`). NB: the write completes before flush returns (the binding writes on the JS thread),
   * so there is never a half-flushed state to read around.
   */
  flush(sync: boolean, currentRev: number): void {
    const ops: WriteOp[] = [];
    for (const p of this.#pending) ops.push({ key: p.key, value: p.value });
    // Deletes after puts: a revision written and compacted before one commit ends up absent.
    for (const k of this.#deletes) ops.push({ key: k, value: null });
    for (const p of this.#aux.values()) ops.push({ key: p.key, value: p.value });
    ops.push({ key: metaKey(META_CONSISTENT_INDEX), value: encodeUint64(this.#consistentIndex) });
    ops.push({ key: metaKey(META_COMPACTED), value: encodeUint64(this.#compacted) });
    this.#db.write(ops, sync);
    this.#rowsWritten += this.#pending.length;
    this.#pending = [];
    this.#deletes = [];
    this.#aux.clear();
    this.#flushedRev = currentRev;
  }

  /** scanAll opens a point-in-time cursor over the whole database (flush first to include everything). */
  scanAll(): ReturnType<Rocks['scan']> {
    return this.#db.scan(Buffer.of(0), Buffer.of(0xff));
  }

  /** scanKeyBucket opens a point-in-time cursor over key-bucket revisions ≤ toRev. */
  scanKeyBucket(toRev: number): ReturnType<Rocks['scan']> {
    return this.#db.scan(Buffer.of(KEY_PREFIX), revLowerBound(toRev + 1));
  }

  /** rocksProperty reads a RocksDB property (diagnostics). */
  rocksProperty(name: string): string {
    return this.#db.property(name);
  }

  /** close drops uncommitted writes and closes the database. */
  async close(): Promise<void> {
    this.#pending = [];
    this.#deletes = [];
    this.#aux.clear();
    await this.#db.close();
  }
}
