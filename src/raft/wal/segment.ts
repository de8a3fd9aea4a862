/**
 * segment: WAL segment files — their names, listing them, and reading one back into batches.
 *
 * A segment is named `<seq:016x>-<firstIndex:016x>.wal`: `seq` counts segments from 0 without
 * gaps, `firstIndex` is one past the last durable log index when the segment was started (later
 * records may still overwrite lower indexes, Raft §5.3). Each segment starts with a batch holding
 * the metadata, hard state and snapshot marker, so any suffix of the segment list is readable on
 * its own once older segments are released.
 *
 * Records are grouped in batches, one per fdatasync: BEGIN flags the first record, END the last.
 * Only whole batches count on recovery. At the tail of the last segment, damage is a torn write
 * from a crash when no later batch follows it: nothing in that batch was acknowledged, so it is
 * dropped. A batch is only written after the previous one's fdatasync returned, so an intact
 * BEGIN after the damage proves the damaged batch had been synced: that is corruption.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { HardState, SnapshotMetadata } from '../types.js';
import { WalCorruptError, WalIoError } from './errors.js';
import { closeFd, fdatasync, fsyncDir, openFd, writevAll } from './fsio.js';
import {
  FLAG_BEGIN,
  FLAG_END,
  RecordFormatError,
  decodeRecord,
  encodeRecords,
  findNextRecord,
  probeRecord,
  setFlags,
  type WalRecord,
} from './record.js';

/** SEGMENT_SUFFIX ends every segment file name. */
const SEGMENT_SUFFIX = '.wal';
/** TEMP_SUFFIX ends a segment being prepared; leftovers are deleted on open. */
const TEMP_SUFFIX = '.wal.tmp';

const NAME_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** SegmentInfo identifies one segment file. */
export interface SegmentInfo {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
}

/** segmentName formats the file name of a segment. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** parseSegmentName reads a segment file name, or returns null for any other file. */
function parseSegmentName(name: string): SegmentInfo | null {
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const seq = Number.parseInt(m[1]!, 16);
  const firstIndex = Number.parseInt(m[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return null;
  return { seq, firstIndex, name };
}

/** listDir returns the segments in `dir` by sequence number, and leftover temporary files. */
export async function listDir(dir: string): Promise<{ segments: SegmentInfo[]; temps: string[] }> {
  const names = await fsp.readdir(dir);
  const segments: SegmentInfo[] = [];
  const temps: string[] = [];
  for (const name of names) {
    const info = parseSegmentName(name);
    if (info) segments.push(info);
    else if (name.endsWith(TEMP_SUFFIX)) temps.push(name);
  }
  segments.sort((a, b) => a.seq - b.seq);
  return { segments, temps };
}

/** ParsedBatch is one complete batch of records and where it lies in the file. */
export interface ParsedBatch {
  readonly records: WalRecord[];
  readonly start: number;
  readonly end: number;
}

/** ParsedSegment is what a segment holds: its complete batches and, for the last one, a torn tail. */
export interface ParsedSegment {
  readonly batches: ParsedBatch[];
  /** validEnd is where the last complete batch ends; the file should be cut there if `torn` is set. */
  readonly validEnd: number;
  /** torn describes a torn tail found after `validEnd`, or is null if the file ends cleanly. */
  readonly torn: { readonly at: number; readonly reason: string } | null;
}

/**
 * parseSegment reads the records of one segment file. Damage in a segment that is not the last
 * one, or damage followed by a later batch, throws WalCorruptError; a torn tail of the last
 * segment is reported in `torn` for the caller to cut away.
 */
export function parseSegment(buf: Uint8Array, file: string, isLast: boolean): ParsedSegment {
  const batches: ParsedBatch[] = [];
  let off = 0;
  let batchStart = -1; // -1: between batches
  let records: WalRecord[] = [];
  let damage: { at: number; reason: string } | null = null;

  while (off < buf.length) {
    const p = probeRecord(buf, off);
    if (!p.ok) {
      damage = { at: off, reason: p.reason };
      break;
    }
    const begin = (p.flags & FLAG_BEGIN) !== 0;
    // Intact records (both checksums match) in the wrong batch structure were never written by
    // this code: corruption (or a bug), whatever follows.
    if (begin && batchStart >= 0) throw new WalCorruptError(file, off, 'a batch begins before the previous batch ended');
    if (!begin && batchStart < 0) throw new WalCorruptError(file, off, 'a record lies outside any batch');
    if (begin) {
      batchStart = off;
      records = [];
    }
    try {
      records.push(decodeRecord(buf, p.type, p.payload, p.end));
    } catch (err) {
      if (err instanceof RecordFormatError) throw new WalCorruptError(file, off, err.message);
      throw err;
    }
    off = p.end;
    if ((p.flags & FLAG_END) !== 0) {
      batches.push({ records, start: batchStart, end: off });
      batchStart = -1;
    }
  }
  if (damage === null && batchStart >= 0) damage = { at: off, reason: 'the last batch has no end record' };

  const validEnd = batches.length > 0 ? batches[batches.length - 1]!.end : 0;
  if (damage === null) return { batches, validEnd, torn: null };
  if (!isLast) throw new WalCorruptError(file, damage.at, `${damage.reason} in a segment that is not the last`);

  // Torn tail or corruption? Look past the damage for the start of a later batch.
  for (let q = findNextRecord(buf, damage.at + 1); q >= 0; ) {
    const p = probeRecord(buf, q);
    if (!p.ok) break; // cannot happen: findNextRecord returned an intact record
    if ((p.flags & FLAG_BEGIN) !== 0) {
      throw new WalCorruptError(
        file,
        damage.at,
        `${damage.reason}, yet an intact batch written after it starts at byte offset ${q}`,
      );
    }
    q = findNextRecord(buf, p.end);
  }
  return { batches, validEnd, torn: damage };
}

/** SegmentStart is the durable state a new segment's header batch records. */
export interface SegmentStart {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMetadata | null;
  readonly lastIndex: number;
}

/**
 * createSegment writes a new segment holding a header batch (metadata, hard state, snapshot
 * marker) to a temporary file, syncs it, renames it into place and syncs the directory, so a
 * segment file is never seen without its header. Resolves with its descriptor open for appending.
 */
export async function createSegment(
  dir: string,
  seq: number,
  metadata: Uint8Array,
  state: SegmentStart,
): Promise<{ info: SegmentInfo; fd: number; size: number }> {
  const name = segmentName(seq, state.lastIndex + 1);
  const file = path.join(dir, name);
  const tmp = `${file}.tmp`;
  const { buf, lastRecord } = encodeRecords({
    metadata,
    hardState: state.hardState,
    snapshot: state.snapshot ? { meta: state.snapshot, resetLog: false } : null,
    entries: [],
  });
  setFlags(buf, 0, FLAG_BEGIN);
  setFlags(buf, lastRecord, FLAG_END);
  let fd: number;
  try {
    fd = await openFd(tmp, 'w');
  } catch (err) {
    throw new WalIoError('create', tmp, { cause: err });
  }
  try {
    await writevAll(fd, [buf], 0);
    await fdatasync(fd);
    await fsp.rename(tmp, file);
    await fsyncDir(dir);
  } catch (err) {
    await closeFd(fd).catch(() => undefined);
    throw new WalIoError('segment creation', file, { cause: err });
  }
  return { info: { seq, firstIndex: state.lastIndex + 1, name }, fd, size: buf.length };
}
