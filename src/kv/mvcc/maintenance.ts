/**
 * maintenance: whole-state operations — snapshots (for Raft snapshots and etcd's
 * Maintenance.Snapshot), restoring one into a directory, and HashKV.
 *
 * Snapshot format (version 1): the 8 bytes "RKMVCC01", then every RocksDB entry in key order as
 * [u32 key length][key][u32 value length][value] (big-endian lengths), then the end mark
 * 0xFFFFFFFF and the SHA-256 of all preceding bytes. The meta bucket sorts first, so the
 * consistent index travels inside the data it describes. A snapshot reads a RocksDB point-in-time
 * view, so the store keeps applying while it streams.
 */

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { crc32c } from '../../raft/wal/crc32c.js';
import { Rocks, type RocksCursor, type RocksOptions, type WriteOp } from './rocks.js';
import { errCompacted, errFutureRev, fail, ok, type MvccResult } from './types.js';
import type { MvccState } from './state.js';

const MAGIC = Buffer.from('RKMVCC01', 'latin1');
const END_MARK = 0xffffffff;
const DIGEST_BYTES = 32;
const RESTORE_MARKER = 'RESTORE_COMPLETE';
/** SNAPSHOT_SCAN_BATCH and HASH_SCAN_BATCH bound what one cursor step reads for a snapshot or a hash. */
const SNAPSHOT_SCAN_BATCH = 1_000;
const HASH_SCAN_BATCH = 2_000;

/** MvccSnapshot is a consistent image of the whole store, read as a stream of chunks. */
export interface MvccSnapshot extends AsyncIterable<Buffer> {
  /** consistentIndex is the Raft index the image reflects. */
  readonly consistentIndex: number;
  /** revision is the store revision the image reflects. */
  readonly revision: number;
  /** compactedRevision is the compacted revision recorded in the image. */
  readonly compactedRevision: number;
  /** close releases the RocksDB view if the stream is abandoned before its end. */
  close(): void;
  /** toBuffer reads the whole stream into one buffer (for tests and small stores). */
  toBuffer(): Promise<Buffer>;
}

/** SnapshotSource is a snapshot's bytes: a buffer, or chunks as they arrive. */
export type SnapshotSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** SnapshotError is thrown for a truncated, corrupt or foreign snapshot. */
export class SnapshotError extends Error {
  /** SnapshotError says what was wrong with the snapshot bytes. */
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** makeSnapshot wraps a point-in-time cursor over the whole database as an MvccSnapshot stream. */
export function makeSnapshot(
  cursor: RocksCursor,
  meta: { consistentIndex: number; revision: number; compactedRevision: number },
  chunkBytes = 1 << 20,
): MvccSnapshot {
  let started = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    if (started) throw new Error('A snapshot can be read only once: take a new one');
    started = true;
    const hash = createHash('sha256');
    let parts: Buffer[] = [MAGIC];
    let size = MAGIC.length;
    const emit = (): Buffer => {
      const chunk = Buffer.concat(parts, size);
      hash.update(chunk);
      parts = [];
      size = 0;
      return chunk;
    };
    try {
      for (;;) {
        const rows = cursor.next(SNAPSHOT_SCAN_BATCH);
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) {
          const k = rows[i] as Buffer;
          const v = rows[i + 1] as Buffer;
          parts.push(u32(k.length), k, u32(v.length), v);
          size += 8 + k.length + v.length;
        }
        if (size >= chunkBytes) yield emit();
      }
      parts.push(u32(END_MARK));
      size += 4;
      const last = emit();
      yield Buffer.concat([last, hash.digest()]);
    } finally {
      cursor.close();
    }
  }
  return {
    ...meta,
    [Symbol.asyncIterator]: chunks,
    close: () => cursor.close(),
    toBuffer: async () => {
      const all: Buffer[] = [];
      for await (const c of chunks()) all.push(c);
      return Buffer.concat(all);
    },
  };
}

async function* asChunks(source: SnapshotSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  if (Symbol.asyncIterator in source) {
    for await (const c of source) yield c;
    return;
  }
  for (const c of source) yield c;
}

/** SnapshotEntry is one RocksDB entry of a snapshot image. */
export interface SnapshotEntry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/**
 * SnapshotParser reads a snapshot image incrementally: push() each chunk and take the entries it
 * completes, then finish() checks that the image ended and that its SHA-256 matches. Bytes after
 * the image's checksum are not parsed; `trailingBytes` counts them and `trailing` keeps the first
 * TRAILING_KEPT of them (a file wraps the image in padding and a hash of its own).
 */
export class SnapshotParser {
  /** TRAILING_KEPT is how many bytes after the image `trailing` keeps. */
  static readonly TRAILING_KEPT = 1024;
  readonly #hash = createHash('sha256');
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #magicSeen = false;
  #ended = false;
  #digest: Buffer | null = null;
  #imageBytes = 0;
  #trailing: Buffer[] = [];
  #trailingBytes = 0;

  /** imageBytes is the image's length including its checksum, once finished (0 before). */
  get imageBytes(): number {
    return this.#digest === null ? 0 : this.#imageBytes;
  }

  /** trailingBytes counts the bytes pushed after the image's checksum. */
  get trailingBytes(): number {
    return this.#trailingBytes;
  }

  /** trailing is the start (up to TRAILING_KEPT bytes) of what followed the image. */
  get trailing(): Buffer {
    return Buffer.concat(this.#trailing).subarray(0, SnapshotParser.TRAILING_KEPT);
  }

  /** push parses one more chunk and returns the entries it completes; throws SnapshotError on foreign bytes. */
  push(chunk: Uint8Array): SnapshotEntry[] {
    if (this.#digest !== null) {
      this.#keepTrailing(Buffer.from(chunk));
      return [];
    }
    const buf = this.#pos < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#pos), chunk]) : Buffer.from(chunk);
    let pos = 0;
    const out: SnapshotEntry[] = [];
    if (!this.#magicSeen) {
      if (buf.length < MAGIC.length) {
        this.#buf = buf;
        this.#pos = 0;
        return out;
      }
      if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new SnapshotError('Not a raftkube MVCC snapshot (bad magic): check the file you passed');
      this.#hash.update(buf.subarray(0, MAGIC.length));
      pos = MAGIC.length;
      this.#magicSeen = true;
    }
    while (!this.#ended) {
      if (buf.length - pos < 4) break;
      const klen = buf.readUInt32BE(pos);
      if (klen === END_MARK) {
        this.#hash.update(buf.subarray(pos, pos + 4));
        pos += 4;
        this.#ended = true;
        break;
      }
      if (buf.length - pos < 8 + klen) break;
      const vlen = buf.readUInt32BE(pos + 4 + klen);
      const total = 8 + klen + vlen;
      if (buf.length - pos < total) break;
      this.#hash.update(buf.subarray(pos, pos + total));
      out.push({ key: Buffer.from(buf.subarray(pos + 4, pos + 4 + klen)), value: Buffer.from(buf.subarray(pos + 8 + klen, pos + total)) });
      pos += total;
    }
    if (this.#ended && buf.length - pos >= DIGEST_BYTES) {
      this.#digest = Buffer.from(buf.subarray(pos, pos + DIGEST_BYTES));
      pos += DIGEST_BYTES;
      this.#imageBytes += pos;
      this.#keepTrailing(buf.subarray(pos));
      this.#buf = Buffer.alloc(0);
      this.#pos = 0;
      return out;
    }
    this.#imageBytes += pos;
    this.#buf = buf;
    this.#pos = pos;
    return out;
  }

  #keepTrailing(b: Buffer): void {
    if (b.length === 0) return;
    if (this.#trailingBytes < SnapshotParser.TRAILING_KEPT) this.#trailing.push(Buffer.from(b.subarray(0, SnapshotParser.TRAILING_KEPT - this.#trailingBytes)));
    this.#trailingBytes += b.length;
  }

  /** finish throws SnapshotError unless the whole image arrived and its checksum matches. */
  finish(): void {
    if (this.#digest === null) throw new SnapshotError('Snapshot is truncated (or corrupt): transfer it again');
    if (!this.#hash.copy().digest().equals(this.#digest)) throw new SnapshotError('Snapshot checksum mismatch: it is corrupt; transfer it again');
  }
}

/**
 * writeSnapshotDir parses a snapshot and writes it as a fresh RocksDB database in `dir` (which
 * must not exist), verifying its checksum; on any error the directory is removed.
 */
async function writeSnapshotDir(dir: string, source: SnapshotSource, options: RocksOptions): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const db = await Rocks.open(dir, options);
  try {
    const parser = new SnapshotParser();
    let ops: WriteOp[] = [];
    let opBytes = 0;
    for await (const chunk of asChunks(source)) {
      for (const e of parser.push(chunk)) {
        ops.push(e);
        opBytes += 8 + e.key.length + e.value.length;
        if (opBytes >= 4 << 20) {
          db.write(ops, false);
          ops = [];
          opBytes = 0;
        }
      }
    }
    parser.finish();
    if (parser.trailingBytes > 0) throw new SnapshotError('Snapshot has trailing bytes after its checksum: it is corrupt');
    db.write(ops, true);
  } catch (err) {
    await db.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  await db.close();
  await writeFile(`${dir}/${RESTORE_MARKER}`, '');
}

/**
 * restoreDir writes a snapshot into a staging directory next to `dir` and then swaps it in, so
 * a crash leaves either the old state or the complete new one (see recoverInterruptedRestore).
 */
export async function restoreDir(dir: string, source: SnapshotSource, options: RocksOptions, beforeSwap?: () => Promise<void>): Promise<void> {
  const staging = `${dir}.restoring`;
  await writeSnapshotDir(staging, source, options);
  if (beforeSwap !== undefined) await beforeSwap();
  const old = `${dir}.old`;
  await rm(old, { recursive: true, force: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(staging, dir);
  await rm(`${dir}/${RESTORE_MARKER}`, { force: true });
  await rm(old, { recursive: true, force: true });
}

/** recoverInterruptedRestore finishes a restore that crashed between its two renames. */
export async function recoverInterruptedRestore(dir: string): Promise<void> {
  const staging = `${dir}.restoring`;
  if (!existsSync(dir) && existsSync(`${staging}/${RESTORE_MARKER}`)) {
    await rename(staging, dir);
    await rm(`${dir}/${RESTORE_MARKER}`, { force: true });
  }
  if (existsSync(dir)) await rm(`${dir}.old`, { recursive: true, force: true });
}

/** HashKVResult answers HashKV: a CRC-32C of the key bucket up to a revision, as etcd computes it. */
export interface HashKVResult {
  readonly hash: number;
  /** revision is the store's current revision (the response header's). */
  readonly revision: number;
  /** hashRevision is the revision hashed up to. */
  readonly hashRevision: number;
  readonly compactRevision: number;
}

const KEY_BUCKET_NAME = Buffer.from('key', 'latin1');

/**
 * hashKV computes etcd's HashKV over a point-in-time view: CRC-32C of the bucket name "key" then
 * each (revision key, encoded KeyValue) with revision ≤ rev. The state must be flushed first.
 * Yields to the event loop between chunks so a large store does not stall the member.
 */
export async function hashKV(state: MvccState, rev: number): Promise<MvccResult<HashKVResult>> {
  if (rev > 0 && rev < state.compactedRev) return fail(errCompacted(state.compactedRev));
  if (rev > state.currentRev) return fail(errFutureRev());
  const at = rev <= 0 ? state.currentRev : rev;
  const meta = { revision: state.currentRev, hashRevision: at, compactRevision: state.compactedRev };
  const cursor = state.backend.scanKeyBucket(at);
  let crc = crc32c(KEY_BUCKET_NAME);
  try {
    for (;;) {
      const rows = cursor.next(HASH_SCAN_BATCH);
      if (rows.length === 0) break;
      for (let i = 0; i < rows.length; i += 2) {
        crc = crc32c((rows[i] as Buffer).subarray(1), crc); // drop our bucket prefix byte
        crc = crc32c(rows[i + 1] as Buffer, crc);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    cursor.close();
  }
  return ok({ hash: crc, ...meta });
}
