/**
 * record: the on-disk record format of the WAL and its binary codecs.
 *
 * Every record is a 16-byte little-endian header followed by its payload:
 *
 *   0  u32  payload length
 *   4  u8   record type (1 metadata, 2 hard state, 3 snapshot marker, 4 entry; 0 is never valid,
 *           so a zero-filled tail never parses)
 *   5  u8   flags: BEGIN (1) on the first record of a synced batch, END (2) on its last
 *   6  u16  reserved, 0
 *   8  u32  CRC-32C of the payload
 *   12 u32  CRC-32C of header bytes 0..11
 *
 * The header has its own checksum so a length can be trusted before the payload is read: a
 * record whose header checks out but whose payload runs past the end of the file is torn, not
 * a corrupt length pointing into the void. Payloads (u64 = two u32 halves, values < 2^53):
 *
 *   metadata   u32 format version, then the opaque metadata bytes
 *   hard state u64 term, u64 vote, u64 commit
 *   snapshot   u8 flags (1 = the log was discarded), then snapshot metadata (below)
 *   entry      u64 term, u64 index, u8 type (0 normal, 1 conf-change), then the data
 *   snapshot metadata: u64 index, u64 term, u32 #voters, u64 each, u32 #learners, u64 each
 */
import type { ConfState, Entry, EntryType, HardState, LogIndex, NodeId, SnapshotMetadata, Term } from '../types.js';
import { crc32cRange } from './crc32c.js';

/** HEADER_SIZE is the size of a record header in bytes. */
const HEADER_SIZE = 16;
/** FORMAT_VERSION is written in every segment's metadata record. */
const FORMAT_VERSION = 1;
/** FLAG_BEGIN marks the first record of a batch written before one fdatasync. */
export const FLAG_BEGIN = 1;
/** FLAG_END marks the last record of a batch written before one fdatasync. */
export const FLAG_END = 2;

/** RecordType numbers the kinds of record. */
const RecordType = { metadata: 1, hardState: 2, snapshot: 3, entry: 4 } as const;

const ENTRY_FIXED = 17;
const HARD_STATE_SIZE = 24;
const TWO_32 = 0x1_0000_0000;

/**
 * RawEntry is a decoded entry whose data still lies in the buffer it was read from, at
 * [start, end): recovery makes one Uint8Array per surviving entry only at the end.
 */
export interface RawEntry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly buf: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** WalRecord is one decoded record. */
export type WalRecord =
  | { readonly kind: 'metadata'; readonly version: number; readonly metadata: Uint8Array }
  | { readonly kind: 'hard-state'; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly snapshot: SnapshotMetadata; readonly resetLog: boolean }
  | { readonly kind: 'entry'; readonly entry: RawEntry };

/** RecordBatchInput lists what one call of encodeRecords writes, in this order. */
export interface RecordBatchInput {
  readonly metadata?: Uint8Array | null;
  readonly hardState?: HardState | null;
  /** snapshot marker; `resetLog` says the log after it was discarded (Raft §7, conflicting snapshot). */
  readonly snapshot?: { readonly meta: SnapshotMetadata; readonly resetLog: boolean } | null;
  readonly entries: readonly Entry[];
}

/** EncodedRecords is a run of records in one preallocated Buffer. */
export interface EncodedRecords {
  readonly buf: Buffer;
  /** lastRecord is the byte offset of the last record's header in `buf` (-1 if `buf` is empty). */
  readonly lastRecord: number;
}

/** encodeRecords lays out the records of `input` in one Buffer sized up front, with no flags set. */
export function encodeRecords(input: RecordBatchInput): EncodedRecords {
  let size = 0;
  if (input.metadata) size += HEADER_SIZE + 4 + input.metadata.byteLength;
  if (input.hardState) size += HEADER_SIZE + HARD_STATE_SIZE;
  if (input.snapshot) size += HEADER_SIZE + 1 + snapshotMetaSize(input.snapshot.meta);
  const entries = input.entries;
  for (let i = 0; i < entries.length; i++) size += HEADER_SIZE + ENTRY_FIXED + entries[i]!.data.byteLength;

  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  let last = -1;
  if (input.metadata) {
    const p = off + HEADER_SIZE;
    put32(buf, p, FORMAT_VERSION);
    buf.set(input.metadata, p + 4);
    last = off;
    off = seal(buf, off, RecordType.metadata, 4 + input.metadata.byteLength);
  }
  if (input.hardState) {
    const p = off + HEADER_SIZE;
    const hs = input.hardState;
    put64(buf, p, hs.term);
    put64(buf, p + 8, hs.vote);
    put64(buf, p + 16, hs.commit);
    last = off;
    off = seal(buf, off, RecordType.hardState, HARD_STATE_SIZE);
  }
  if (input.snapshot) {
    const p = off + HEADER_SIZE;
    buf[p] = input.snapshot.resetLog ? 1 : 0;
    const end = writeSnapshotMeta(buf, p + 1, input.snapshot.meta);
    last = off;
    off = seal(buf, off, RecordType.snapshot, end - p);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const p = off + HEADER_SIZE;
    put64(buf, p, e.term);
    put64(buf, p + 8, e.index);
    buf[p + 16] = e.type === 'normal' ? 0 : 1;
    buf.set(e.data, p + ENTRY_FIXED);
    last = off;
    off = seal(buf, off, RecordType.entry, ENTRY_FIXED + e.data.byteLength);
  }
  return { buf, lastRecord: last };
}

/** setFlags ORs `flags` into the header of the record at `off` and re-seals the header checksum. */
export function setFlags(buf: Uint8Array, off: number, flags: number): void {
  buf[off + 5] = buf[off + 5]! | flags;
  put32(buf, off + 12, crc32cRange(buf, off, off + 12));
}

/** Fills in the header of the record at `off` whose payload of `len` bytes is already written. */
function seal(buf: Uint8Array, off: number, type: number, len: number): number {
  const p = off + HEADER_SIZE;
  put32(buf, off, len);
  buf[off + 4] = type;
  buf[off + 5] = 0;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
  put32(buf, off + 8, crc32cRange(buf, p, p + len));
  put32(buf, off + 12, crc32cRange(buf, off, off + 12));
  return p + len;
}

/** Probe is the outcome of checking the bytes at one offset: a sound record or why not. */
export type Probe =
  | { readonly ok: true; readonly type: number; readonly flags: number; readonly payload: number; readonly end: number }
  | { readonly ok: false; readonly reason: string };

/** probeRecord checks whether a complete, intact record starts at `off` of `buf`. */
export function probeRecord(buf: Uint8Array, off: number): Probe {
  const avail = buf.length - off;
  if (avail < HEADER_SIZE) return { ok: false, reason: `incomplete record header (${avail} of ${HEADER_SIZE} bytes)` };
  if (get32(buf, off + 12) !== crc32cRange(buf, off, off + 12)) {
    return { ok: false, reason: 'record header checksum mismatch' };
  }
  const type = buf[off + 4]!;
  const flags = buf[off + 5]!;
  if (type < RecordType.metadata || type > RecordType.entry) return { ok: false, reason: `unknown record type ${type}` };
  if ((flags & ~(FLAG_BEGIN | FLAG_END)) !== 0 || buf[off + 6] !== 0 || buf[off + 7] !== 0) {
    return { ok: false, reason: 'unknown record flags' };
  }
  const len = get32(buf, off + 0);
  const payload = off + HEADER_SIZE;
  if (len > buf.length - payload) {
    return { ok: false, reason: `record runs past the end of the file (${len - (buf.length - payload)} bytes missing)` };
  }
  if (get32(buf, off + 8) !== crc32cRange(buf, payload, payload + len)) {
    return { ok: false, reason: 'record checksum mismatch' };
  }
  return { ok: true, type, flags, payload, end: payload + len };
}

/**
 * findNextRecord returns the first offset ≥ `from` where an intact record starts, or -1.
 * Used only past damage, to tell a torn tail (nothing intact follows) from corruption.
 */
export function findNextRecord(buf: Uint8Array, from: number): number {
  const last = buf.length - HEADER_SIZE;
  for (let off = from; off <= last; off++) {
    const type = buf[off + 4]!;
    // Cheap filters first: most offsets fail on the type byte or the reserved bytes.
    if (type < RecordType.metadata || type > RecordType.entry) continue;
    if (buf[off + 6] !== 0 || buf[off + 7] !== 0 || (buf[off + 5]! & ~(FLAG_BEGIN | FLAG_END)) !== 0) continue;
    if (probeRecord(buf, off).ok) return off;
  }
  return -1;
}

/** RecordFormatError says an intact record (checksums match) has a payload this version cannot read. */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
}

/**
 * decodeRecord decodes the payload of a record `probeRecord` accepted. NB: an entry's data stays
 * in `buf` (a buffer or view per entry made recovery GC-bound); Replay.finish copies the
 * surviving entries out once replay is done.
 */
export function decodeRecord(buf: Uint8Array, type: number, payload: number, end: number): WalRecord {
  const len = end - payload;
  switch (type) {
    case RecordType.metadata: {
      if (len < 4) throw new RecordFormatError(`metadata record of ${len} bytes is too short`);
      const version = get32(buf, payload);
      if (version !== FORMAT_VERSION) throw new RecordFormatError(`unsupported WAL format version ${version}`);
      return { kind: 'metadata', version, metadata: copyOut(buf, payload + 4, end) };
    }
    case RecordType.hardState: {
      if (len !== HARD_STATE_SIZE) throw new RecordFormatError(`hard state record of ${len} bytes, want ${HARD_STATE_SIZE}`);
      return {
        kind: 'hard-state',
        hardState: {
          term: get64(buf, payload) as Term,
          vote: get64(buf, payload + 8) as NodeId,
          commit: get64(buf, payload + 16) as LogIndex,
        },
      };
    }
    case RecordType.snapshot: {
      if (len < 1) throw new RecordFormatError('empty snapshot record');
      const flags = buf[payload]!;
      const { meta, end: metaEnd } = readSnapshotMeta(buf, payload + 1, end);
      if (metaEnd !== end) throw new RecordFormatError('snapshot record has trailing bytes');
      return { kind: 'snapshot', snapshot: meta, resetLog: (flags & 1) !== 0 };
    }
    case RecordType.entry: {
      if (len < ENTRY_FIXED) throw new RecordFormatError(`entry record of ${len} bytes is too short`);
      const code = buf[payload + 16]!;
      if (code > 1) throw new RecordFormatError(`unknown entry type ${code}`);
      const type: EntryType = code === 0 ? 'normal' : 'conf-change';
      return {
        kind: 'entry',
        entry: {
          term: get64(buf, payload) as Term,
          index: get64(buf, payload + 8) as LogIndex,
          type,
          buf,
          start: payload + ENTRY_FIXED,
          end,
        },
      };
    }
    default:
      throw new RecordFormatError(`unknown record type ${type}`);
  }
}

/** Copies bytes out into a plain Uint8Array (not `buf.slice`, which on a Buffer is a view). */
function copyOut(buf: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(buf.subarray(start, end));
  return out;
}

/** snapshotMetaSize is the encoded size of snapshot metadata. */
export function snapshotMetaSize(meta: SnapshotMetadata): number {
  return 16 + 4 + 8 * meta.confState.voters.length + 4 + 8 * meta.confState.learners.length;
}

/** writeSnapshotMeta encodes `meta` at `off` and returns the offset after it. */
export function writeSnapshotMeta(buf: Uint8Array, off: number, meta: SnapshotMetadata): number {
  put64(buf, off, meta.index);
  put64(buf, off + 8, meta.term);
  let p = off + 16;
  for (const ids of [meta.confState.voters, meta.confState.learners]) {
    put32(buf, p, ids.length);
    p += 4;
    for (const id of ids) {
      put64(buf, p, id);
      p += 8;
    }
  }
  return p;
}

/** readSnapshotMeta decodes snapshot metadata at `off`, reading no further than `limit`. */
export function readSnapshotMeta(buf: Uint8Array, off: number, limit: number): { meta: SnapshotMetadata; end: number } {
  if (off + 20 > limit) throw new RecordFormatError('snapshot metadata is truncated');
  const index = get64(buf, off) as LogIndex;
  const term = get64(buf, off + 8) as Term;
  let p = off + 16;
  const lists: NodeId[][] = [];
  for (let k = 0; k < 2; k++) {
    if (p + 4 > limit) throw new RecordFormatError('snapshot metadata is truncated');
    const n = get32(buf, p);
    p += 4;
    if (p + 8 * n > limit) throw new RecordFormatError('snapshot membership list is truncated');
    const ids: NodeId[] = [];
    for (let i = 0; i < n; i++, p += 8) {
      const id = get64(buf, p);
      if (id === 0) throw new RecordFormatError(`snapshot ${k === 0 ? 'voter' : 'learner'} list names node 0, which is no node`);
      ids.push(id as NodeId);
    }
    lists.push(ids);
  }
  const confState: ConfState = { voters: lists[0]!, learners: lists[1]! };
  return { meta: { index, term, confState }, end: p };
}

/** put32 stores an unsigned 32-bit little-endian value. */
export function put32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v;
  buf[off + 1] = v >>> 8;
  buf[off + 2] = v >>> 16;
  buf[off + 3] = v >>> 24;
}

/** get32 loads an unsigned 32-bit little-endian value. */
export function get32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** put64 stores a non-negative safe integer as an unsigned 64-bit little-endian value. */
export function put64(buf: Uint8Array, off: number, v: number): void {
  put32(buf, off, v >>> 0); // ToUint32 is v mod 2^32 for any safe integer
  put32(buf, off + 4, Math.floor(v / TWO_32));
}

/** get64 loads an unsigned 64-bit little-endian value, rejecting ones beyond 2^53. */
export function get64(buf: Uint8Array, off: number): number {
  const hi = get32(buf, off + 4);
  if (hi >= 0x20_0000) throw new RecordFormatError(`64-bit value at ${off} exceeds 2^53`);
  return hi * TWO_32 + get32(buf, off);
}
