/**
 * index-checkpoint: the in-memory index written to a file inside the RocksDB directory, so a
 * store that reopens reads it back and scans only the rows written after it instead of every
 * stored revision (the full scan costs about 3 µs a row here: RocksDB hands each row over as two
 * fresh Buffers; see rebuild.ts).
 *
 * A checkpoint is taken right after a commit, when the index holds exactly what RocksDB holds
 * (nothing pending), and names the revision, the compacted revision and the consistent index of
 * that commit plus the database's IDENTITY (RocksDB writes a fresh one for every new database,
 * so a restored or replaced database never matches an older checkpoint). Reopening trusts it
 * only if RocksDB still agrees: same identity, same compacted revision (a compaction deletes
 * rows at or below the checkpoint, which a scan of the rows after it cannot see), and a
 * consistent index at least the checkpoint's (an unsynced tail lost to a power cut takes the
 * checkpoint's rows with it). Otherwise the store rebuilds from every row, as without one.
 *
 * Layout: MAGIC, then varints (revision, compacted, consistent index, keys, records, identity
 * length) and the identity; per key in key order: bytes shared with the previous key, suffix
 * length, suffix, `records * 2 + (lease ? 1 : 0)`, the lease as 8 bytes little-endian if any,
 * then each record oldest first: main revision (the first absolute, then the step from the
 * previous), sub * 2 + tombstone, and for a put main − create_revision and version. A CRC-32
 * of everything before it ends the file. A million keys with two records each take about
 * 20 MB.
 */

import { readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CodecError, FieldReader, writeVarint } from './codec.js';
import { KeyIndex } from './key-index.js';
import { TreeIndex } from './tree-index.js';

/** CHECKPOINT_FILE is the checkpoint's name inside the RocksDB directory (RocksDB ignores it). */
export const CHECKPOINT_FILE = 'raftkube-index.ckpt';
const MAGIC = Buffer.from('RKIDX01\n', 'latin1');
/** CHUNK_BYTES is the size of one output buffer while encoding. */
const CHUNK_BYTES = 1 << 20;
const STRIDE = 4;

/** CheckpointMeta is what a checkpoint says about the database it was taken from. */
export interface CheckpointMeta {
  /** revision is the store's revision at the checkpoint: every row at or below it is in the index. */
  readonly revision: number;
  /** compacted is the compacted revision at the checkpoint. */
  readonly compacted: number;
  /** consistentIndex is the Raft index the checkpoint's commit recorded. */
  readonly consistentIndex: number;
  /** identity is the RocksDB database's IDENTITY. */
  readonly identity: string;
}

/** EncodedCheckpoint is a checkpoint as buffers to write in order. */
export interface EncodedCheckpoint {
  readonly chunks: readonly Buffer[];
  readonly bytes: number;
  readonly keys: number;
  readonly records: number;
}

/** DecodedCheckpoint is a checkpoint read back: the index and what it covers. */
export interface DecodedCheckpoint {
  readonly meta: CheckpointMeta;
  readonly tree: TreeIndex;
  readonly records: number;
  /** maxKey is the greatest key (null for an empty index). */
  readonly maxKey: string | null;
  /** lastRevision is the highest main revision of any record. */
  readonly lastRevision: number;
}

/** ChunkWriter fills fixed-size buffers, starting a new one when the next item may not fit. */
class ChunkWriter {
  readonly chunks: Buffer[] = [];
  #buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #total = 0;
  /** pos is where the next byte goes in the buffer reserve() returned. */
  pos = 0;

  /** reserve makes room for `n` more bytes and returns the buffer to write them into at `pos`. */
  reserve(n: number): Buffer {
    if (this.pos + n > this.#buf.length) {
      this.seal();
      this.#buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    }
    return this.#buf;
  }

  /** seal ends the current buffer. */
  seal(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.#buf.subarray(0, this.pos));
    this.#total += this.pos;
    this.#buf = this.#buf.subarray(this.pos);
    this.pos = 0;
  }

  /** bytes is the number of bytes sealed. */
  get bytes(): number {
    return this.#total;
  }
}

function sharedPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** writeRecord writes one record after one of main revision `last`; returns the position after it. */
function writeRecord(b: Buffer, p: number, last: number, main: number, subT: number, created: number, ver: number): number {
  const put = subT % 2 === 0;
  if (main < last || (put && (created > main || created < 1))) {
    throw new Error(`Index record ${main}/${subT} of a key does not follow its history: this is a bug`);
  }
  p = writeVarint(b, p, main - last);
  p = writeVarint(b, p, subT);
  if (!put) return p;
  p = writeVarint(b, p, main - created);
  return writeVarint(b, p, ver);
}

/** historyBytes bounds the encoded size of a key's records, count and lease. */
function historyBytes(ki: KeyIndex): number {
  return ki.recordCount * 4 * 8 + 20;
}

/** writeHistory writes a key's record count, lease and records at `p`; returns the position after them. */
function writeHistory(b: Buffer, p: number, ki: KeyIndex): number {
  const older = ki.older;
  const hasLease = ki.lease !== 0n;
  p = writeVarint(b, p, ki.recordCount * 2 + (hasLease ? 1 : 0));
  if (hasLease) p = b.writeBigInt64LE(ki.lease, p);
  let last = 0;
  if (older !== null) {
    for (let i = 0; i < older.length; i += STRIDE) {
      p = writeRecord(b, p, last, older[i] as number, older[i + 1] as number, older[i + 2] as number, older[i + 3] as number);
      last = older[i] as number;
    }
  }
  return writeRecord(b, p, last, ki.main, ki.subT, ki.created, ki.ver);
}

/**
 * CheckpointEncoder writes an index as it was at meta.revision, in steps, while writes go on
 * between them. Keys are taken in key order; a key that existed at the revision and is about to
 * change before its turn is encoded first (beforeChange, which the write path calls), so every
 * key is written as it was at the revision. A key whose latest record is newer than the
 * revision and was not encoded early did not exist then, and is left out. A compaction changes
 * records behind the encoder's back: the caller abandons the encoder then.
 */
export class CheckpointEncoder {
  readonly #meta: CheckpointMeta;
  readonly #w = new ChunkWriter();
  /** #early holds keys encoded before their turn (their history, without the key). */
  readonly #early = new Map<string, { bytes: Buffer; records: number }>();
  /** #cursor is the last key encoded (null before the first). */
  #cursor: string | null = null;
  #prev = '';
  #keys = 0;
  #records = 0;
  #done = false;

  /** constructor starts encoding the index as it is now, which must be as the database holds it at meta.revision. */
  constructor(meta: CheckpointMeta) {
    this.#meta = meta;
  }

  /** beforeChange must be called before a KeyIndex changes (a put or a tombstone) while encoding is unfinished. */
  beforeChange(ki: KeyIndex): void {
    // Unchanged since the revision (main ≤ revision) and not yet reached: keep it as it is now.
    if (ki.main > this.#meta.revision || (this.#cursor !== null && ki.key <= this.#cursor)) return;
    const scratch = Buffer.allocUnsafe(historyBytes(ki));
    const end = writeHistory(scratch, 0, ki);
    this.#early.set(ki.key, { bytes: Buffer.from(scratch.subarray(0, end)), records: ki.recordCount });
  }

  /** step encodes keys in order until `budgetMs` has passed; returns true once every key is written. */
  step(tree: TreeIndex, budgetMs: number): boolean {
    if (this.#done) return true;
    const deadline = performance.now() + budgetMs;
    const revision = this.#meta.revision;
    const w = this.#w;
    let n = 0;
    let stopped = false;
    tree.range(this.#cursor === null ? '' : `${this.#cursor}\u0000`, null, (ki) => {
      if ((++n & 255) === 0 && performance.now() >= deadline) {
        stopped = true;
        return false;
      }
      const key = ki.key;
      this.#cursor = key;
      const early = this.#early.get(key);
      if (early === undefined && ki.main > revision) return true; // created after the revision
      const shared = sharedPrefix(this.#prev, key);
      const b = w.reserve(key.length - shared + 20 + (early === undefined ? historyBytes(ki) : early.bytes.length));
      let p = writeVarint(b, w.pos, shared);
      p = writeVarint(b, p, key.length - shared);
      for (let i = shared; i < key.length; i++) b[p++] = key.charCodeAt(i);
      if (early === undefined) {
        w.pos = writeHistory(b, p, ki);
        this.#records += ki.recordCount;
      } else {
        w.pos = p + early.bytes.copy(b, p);
        this.#records += early.records;
        this.#early.delete(key);
      }
      this.#keys++;
      this.#prev = key;
      return true;
    });
    if (stopped) return false;
    this.#done = true;
    return true;
  }

  /** finish returns the encoded checkpoint (after step returned true): header, keys, CRC-32. */
  finish(): EncodedCheckpoint {
    if (!this.#done) throw new Error('CheckpointEncoder.finish before the last step: this is a bug');
    const meta = this.#meta;
    const identity = Buffer.from(meta.identity, 'latin1');
    const head = Buffer.allocUnsafe(MAGIC.length + 60 + identity.length);
    let pos = MAGIC.copy(head, 0);
    pos = writeVarint(head, pos, meta.revision);
    pos = writeVarint(head, pos, meta.compacted);
    pos = writeVarint(head, pos, meta.consistentIndex);
    pos = writeVarint(head, pos, this.#keys);
    pos = writeVarint(head, pos, this.#records);
    pos = writeVarint(head, pos, identity.length);
    pos += identity.copy(head, pos);
    this.#w.seal();
    const chunks = [head.subarray(0, pos), ...this.#w.chunks];
    let crc = 0;
    for (const c of chunks) crc = crc32(c, crc);
    const tail = Buffer.allocUnsafe(4);
    tail.writeUInt32LE(crc >>> 0, 0);
    chunks.push(tail);
    return { chunks, bytes: pos + this.#w.bytes + 4, keys: this.#keys, records: this.#records };
  }
}

/** encodeCheckpoint writes `tree` (exactly what the database holds at meta.revision) as a checkpoint in one go. */
export function encodeCheckpoint(tree: TreeIndex, meta: CheckpointMeta): EncodedCheckpoint {
  const e = new CheckpointEncoder(meta);
  e.step(tree, Infinity);
  return e.finish();
}

/** CheckpointError says why a checkpoint file cannot be used (the store then scans every row). */
export class CheckpointError extends Error {
  /** constructor takes what is wrong with the file. */
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** decodeCheckpoint reads a checkpoint back into an index; throws CheckpointError if it is damaged. */
export function decodeCheckpoint(file: Buffer): DecodedCheckpoint {
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointError('not an index checkpoint of this version');
  }
  const body = file.subarray(0, file.length - 4);
  if ((crc32(body) >>> 0) !== file.readUInt32LE(file.length - 4)) throw new CheckpointError('checksum mismatch (a torn or damaged file)');
  try {
    return decodeBody(body);
  } catch (err: unknown) {
    if (err instanceof CodecError || err instanceof RangeError) throw new CheckpointError(err.message);
    throw err;
  }
}

function decodeBody(body: Buffer): DecodedCheckpoint {
  const r = new FieldReader(body);
  r.pos = MAGIC.length;
  const revision = r.number();
  const compacted = r.number();
  const consistentIndex = r.number();
  const keyCount = r.number();
  const recordCount = r.number();
  const idStart = r.span();
  const identity = body.toString('latin1', idStart, r.pos);
  const tree = new TreeIndex();
  let scratch = Buffer.allocUnsafe(256);
  let prevLen = 0;
  let maxKey: string | null = null;
  let records = 0;
  let lastRevision = 0;
  for (let k = 0; k < keyCount; k++) {
    const shared = r.number();
    const suffixStart = r.span();
    const suffixLen = r.pos - suffixStart;
    if (shared > prevLen) throw new CheckpointError(`key ${k} shares ${shared} bytes with a key of ${prevLen}`);
    const len = shared + suffixLen;
    if (len > scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.max(len, scratch.length * 2));
      scratch.copy(bigger, 0, 0, shared);
      scratch = bigger;
    }
    body.copy(scratch, shared, suffixStart, r.pos);
    const key = scratch.toString('latin1', 0, len);
    if (maxKey !== null && key <= maxKey) throw new CheckpointError(`keys out of order at key ${k}`);
    prevLen = len;
    const head = r.number();
    const n = Math.floor(head / 2);
    if (n < 1) throw new CheckpointError(`key ${k} has no records`);
    let lease = 0n;
    if (head % 2 === 1) {
      lease = body.readBigInt64LE(r.pos);
      r.pos += 8;
    }
    // NB: pushed, not preallocated: a packed array, as the write path's own records are.
    const older: number[] | null = n > 1 ? [] : null;
    let main = 0;
    let subT = 0;
    let created = 0;
    let ver = 0;
    for (let i = 0; i < n; i++) {
      main += r.number();
      subT = r.number();
      if (subT % 2 === 0) {
        created = main - r.number();
        ver = r.number();
      } else {
        created = 0;
        ver = 0;
      }
      if (older !== null && i < n - 1) older.push(main, subT, created, ver);
    }
    if (main > revision) throw new CheckpointError(`key ${k} has revision ${main}, after the checkpoint's ${revision}`);
    const ki = new KeyIndex(key, main, subT, created, ver, subT % 2 === 0 ? lease : 0n);
    ki.older = older;
    tree.appendGreatest(ki);
    maxKey = key;
    records += n;
    if (main > lastRevision) lastRevision = main;
  }
  if (r.pos !== body.length) throw new CheckpointError(`${body.length - r.pos} bytes after the last key`);
  if (records !== recordCount) throw new CheckpointError(`${records} records where the header says ${recordCount}`);
  tree.recountLive();
  return { meta: { revision, compacted, consistentIndex, identity }, tree, records, maxKey, lastRevision };
}

/** readIdentity reads the RocksDB IDENTITY of the database in `dir` (null if there is none). */
export function readIdentity(dir: string): string | null {
  try {
    return readFileSync(join(dir, 'IDENTITY'), 'latin1').trim();
  } catch {
    return null;
  }
}

/** readCheckpointFile returns the checkpoint file's bytes, or null if there is none. */
export function readCheckpointFile(dir: string): Buffer | null {
  try {
    return readFileSync(join(dir, CHECKPOINT_FILE));
  } catch (err: unknown) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * writeCheckpointFile writes a checkpoint durably: a temporary file, fdatasync, rename over the
 * previous checkpoint, fsync of the directory. The rename makes it all-or-nothing.
 */
export async function writeCheckpointFile(dir: string, encoded: EncodedCheckpoint): Promise<void> {
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    for (const chunk of encoded.chunks) {
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, CHECKPOINT_FILE));
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
