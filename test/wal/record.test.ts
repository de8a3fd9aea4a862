/**
 * record: the WAL's record codecs on hand-made bytes. Records whose checksums match but whose
 * header or payload this version cannot read (a bug, or another format) must be told apart from
 * sound ones with a reason, never decoded into garbage. Written for record.ts's surviving
 * mutants (test/README.md, "src/raft/wal"): the torn-write tests reach these checks only
 * through a checksum mismatch.
 */
import { describe, expect, it } from 'vitest';
import type { LogIndex, NodeId, Term } from '../../src/raft/types.js';
import { crc32cRange } from '../../src/raft/wal/crc32c.js';
import {
  RecordFormatError, decodeRecord, encodeRecords, findNextRecord, get32, get64, probeRecord, put32, put64, readSnapshotMeta, writeSnapshotMeta,
} from '../../src/raft/wal/record.js';

/** record lays out one record with checksums that match, whatever its fields say. */
function record(p: { type: number; payload: Uint8Array; flags?: number; reserved?: number; len?: number }): Uint8Array {
  const buf = new Uint8Array(16 + p.payload.byteLength);
  buf.set(p.payload, 16);
  put32(buf, 0, p.len ?? p.payload.byteLength);
  buf[4] = p.type;
  buf[5] = p.flags ?? 0;
  buf[6] = p.reserved ?? 0;
  buf[7] = 0;
  put32(buf, 8, crc32cRange(buf, 16, buf.length));
  put32(buf, 12, crc32cRange(buf, 0, 12));
  return buf;
}

function probeReason(buf: Uint8Array, off = 0): string {
  const p = probeRecord(buf, off);
  return p.ok ? 'ok' : p.reason;
}

function decode(type: number, payload: Uint8Array): unknown {
  const buf = record({ type, payload });
  return decodeRecord(buf, type, 16, buf.length);
}

const u64 = (...vs: number[]): Uint8Array => {
  const b = new Uint8Array(8 * vs.length);
  vs.forEach((v, i) => put64(b, 8 * i, v));
  return b;
};

describe('probeRecord', () => {
  it('accepts a sound record and says where its payload lies', () => {
    const buf = Uint8Array.of(9, 9, ...record({ type: 2, payload: new Uint8Array(24), flags: 3 }));
    expect(probeRecord(buf, 2)).toEqual({ ok: true, type: 2, flags: 3, payload: 18, end: 42 });
  });

  it('tells each kind of damage by its reason', () => {
    const sound = record({ type: 4, payload: new Uint8Array(20) });
    expect(probeReason(sound.subarray(0, 15))).toBe('incomplete record header (15 of 16 bytes)');
    expect(probeReason(sound.subarray(0, 16))).toBe('record runs past the end of the file (20 bytes missing)');
    expect(probeReason(sound.subarray(0, 30))).toBe('record runs past the end of the file (6 bytes missing)');
    const headerHit = Uint8Array.from(sound);
    headerHit[2] = 1;
    expect(probeReason(headerHit)).toBe('record header checksum mismatch');
    const payloadHit = Uint8Array.from(sound);
    payloadHit[20] = 1;
    expect(probeReason(payloadHit)).toBe('record checksum mismatch');
    expect(probeReason(record({ type: 0, payload: new Uint8Array(1) }))).toBe('unknown record type 0');
    expect(probeReason(record({ type: 5, payload: new Uint8Array(1) }))).toBe('unknown record type 5');
    expect(probeReason(record({ type: 1, payload: new Uint8Array(1) }))).toBe('ok');
    expect(probeReason(record({ type: 4, payload: new Uint8Array(1), flags: 4 }))).toBe('unknown record flags');
    expect(probeReason(record({ type: 4, payload: new Uint8Array(1), reserved: 1 }))).toBe('unknown record flags');
    const b7 = record({ type: 4, payload: new Uint8Array(1) });
    b7[7] = 1;
    put32(b7, 12, crc32cRange(b7, 0, 12));
    expect(probeReason(b7)).toBe('unknown record flags');
  });
});

describe('findNextRecord', () => {
  it('finds an intact record after garbage, also one that ends the buffer exactly, and -1 when none', () => {
    const r = record({ type: 4, payload: new Uint8Array(0) });
    expect(r.length).toBe(16);
    const buf = Uint8Array.of(4, 0, 0, 0, 4, 0, 0, 0, ...r);
    expect(findNextRecord(buf, 0)).toBe(8);
    expect(findNextRecord(buf, 9)).toBe(-1);
    expect(findNextRecord(new Uint8Array(40), 0)).toBe(-1);
    // Bytes that pass the cheap filters (type, reserved, flags) but not the checksums.
    const fake = new Uint8Array(40);
    fake.fill(0);
    fake[4] = 1;
    expect(findNextRecord(fake, 0)).toBe(-1);
    // Cheap filters: a record whose type, reserved or flags byte is off is not "intact".
    for (const [type, flags, reserved] of [[0, 0, 0], [5, 0, 0], [4, 4, 0], [4, 0, 1]] as const) {
      expect(findNextRecord(record({ type, payload: new Uint8Array(0), flags, reserved }), 0)).toBe(-1);
    }
  });
});

describe('decodeRecord', () => {
  it('refuses intact records whose payload does not fit their type', () => {
    const version = new Uint8Array(4);
    put32(version, 0, 1);
    expect(decode(1, Uint8Array.of(...version, 7))).toEqual({ kind: 'metadata', version: 1, metadata: Uint8Array.of(7) });
    expect(() => decode(1, new Uint8Array(3))).toThrow(/metadata record of 3 bytes is too short/);
    put32(version, 0, 2);
    expect(() => decode(1, version)).toThrow(/unsupported WAL format version 2/);
    expect(() => decode(2, new Uint8Array(23))).toThrow(/hard state record of 23 bytes, want 24/);
    expect(() => decode(3, new Uint8Array(0))).toThrow(/empty snapshot record/);
    const meta = new Uint8Array(24);
    writeSnapshotMeta(meta, 0, { index: 5 as LogIndex, term: 2 as Term, confState: { voters: [], learners: [] } });
    expect(decode(3, Uint8Array.of(1, ...meta))).toMatchObject({ kind: 'snapshot', resetLog: true, snapshot: { index: 5, term: 2 } });
    expect(decode(3, Uint8Array.of(0, ...meta))).toMatchObject({ kind: 'snapshot', resetLog: false });
    expect(() => decode(3, Uint8Array.of(0, ...meta, 0))).toThrow(/snapshot record has trailing bytes/);
    expect(() => decode(4, new Uint8Array(16))).toThrow(/entry record of 16 bytes is too short/);
    const entry = Uint8Array.of(...u64(3, 9), 2);
    expect(() => decode(4, entry)).toThrow(/unknown entry type 2/);
    entry[16] = 1;
    expect(decode(4, entry)).toMatchObject({ kind: 'entry', entry: { term: 3, index: 9, type: 'conf-change' } });
    for (const bad of [() => decode(2, new Uint8Array(23)), () => decode(9, new Uint8Array(1))]) expect(bad).toThrow(RecordFormatError);
    expect(() => decode(9, new Uint8Array(1))).toThrow(/unknown record type 9/);
  });

  it('round-trips every kind through encodeRecords, which marks the last record', () => {
    expect(encodeRecords({ entries: [] })).toMatchObject({ lastRecord: -1 });
    expect(encodeRecords({ entries: [] }).buf.length).toBe(0);
    const { buf, lastRecord } = encodeRecords({
      hardState: { term: 2 ** 40 as Term, vote: 3 as NodeId, commit: 7 as LogIndex },
      entries: [{ term: 2 as Term, index: 8 as LogIndex, type: 'normal', data: Uint8Array.of(1, 2) }],
    });
    expect(lastRecord).toBe(16 + 24);
    const p = probeRecord(buf, 0);
    if (!p.ok) throw new Error(p.reason);
    expect(decodeRecord(buf, p.type, p.payload, p.end)).toEqual({ kind: 'hard-state', hardState: { term: 2 ** 40, vote: 3, commit: 7 } });
  });
});

describe('snapshot metadata', () => {
  it('refuses metadata cut short anywhere, and node 0 in either list', () => {
    const full = new Uint8Array(16 + 4 + 8 + 4 + 8);
    const end = writeSnapshotMeta(full, 0, { index: 9 as LogIndex, term: 4 as Term, confState: { voters: [1 as NodeId], learners: [2 as NodeId] } });
    expect(end).toBe(full.length);
    expect(readSnapshotMeta(full, 0, end)).toEqual({ meta: { index: 9, term: 4, confState: { voters: [1], learners: [2] } }, end });
    for (const limit of [19, 23, 31, 35, 39]) expect(() => readSnapshotMeta(full, 0, limit)).toThrow(/truncated/);
    expect(() => readSnapshotMeta(full, 0, 19)).toThrow('snapshot metadata is truncated');
    expect(() => readSnapshotMeta(full, 0, 27)).toThrow('snapshot membership list is truncated');
    const zeroVoter = Uint8Array.from(full);
    put64(zeroVoter, 20, 0);
    expect(() => readSnapshotMeta(zeroVoter, 0, end)).toThrow('snapshot voter list names node 0, which is no node');
    const zeroLearner = Uint8Array.from(full);
    put64(zeroLearner, 32, 0);
    expect(() => readSnapshotMeta(zeroLearner, 0, end)).toThrow('snapshot learner list names node 0, which is no node');
  });
});

describe('64-bit values', () => {
  it('stores and loads values up to 2^53 - 1, and refuses larger ones', () => {
    const b = new Uint8Array(8);
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 3 * 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      put64(b, 0, v);
      expect(get64(b, 0)).toBe(v);
    }
    put64(b, 0, 2 ** 32 + 5);
    expect([get32(b, 0), get32(b, 4)]).toEqual([5, 1]);
    put32(b, 4, 0x20_0000);
    expect(() => get64(b, 0)).toThrow(/exceeds 2\^53/);
    put32(b, 4, 0x1f_ffff);
    expect(get64(b, 0)).toBe(0x1f_ffff * 2 ** 32 + 5);
  });
});
