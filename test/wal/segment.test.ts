/**
 * segment: parseSegment's batch rules and listDir on hand-made segments. Intact records in the
 * wrong batch structure are corruption wherever they lie; an unfinished last batch is a torn
 * tail in the last segment and corruption in any other; an intact record whose payload this
 * version cannot read is corruption naming file and offset. Written for segment.ts's surviving
 * mutants (test/README.md, "src/raft/wal").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { LogIndex, NodeId, Term } from '../../src/raft/types.js';
import { WalCorruptError } from '../../src/raft/wal/errors.js';
import { FLAG_BEGIN, FLAG_END, encodeRecords, setFlags } from '../../src/raft/wal/record.js';
import { listDir, parseSegment, segmentName } from '../../src/raft/wal/segment.js';

// readdir hands names back in reverse of the filesystem's order, so listDir's sort is tested
// whatever order the filesystem happens to return (on many it is already sorted).
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  return { ...fsp, readdir: async (dir: string) => (await fsp.readdir(dir)).reverse() };
});

const HS = { term: 1 as Term, vote: 0 as NodeId, commit: 0 as LogIndex };
const HS_LEN = 16 + 24;

/** hs is one hard-state record with the given flags. */
function hs(flags: number): Uint8Array {
  const { buf } = encodeRecords({ hardState: HS, entries: [] });
  if (flags !== 0) setFlags(buf, 0, flags);
  return buf;
}

const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const BOTH = FLAG_BEGIN | FLAG_END;

describe('parseSegment', () => {
  it('reads whole batches, one record or several', () => {
    const p = parseSegment(cat(hs(BOTH), hs(FLAG_BEGIN), hs(0), hs(FLAG_END)), 'f', false);
    expect(p.batches.map((b) => [b.start, b.end, b.records.length])).toEqual([[0, HS_LEN, 1], [HS_LEN, 4 * HS_LEN, 3]]);
    expect(p.torn).toBeNull();
    expect(p.validEnd).toBe(4 * HS_LEN);
  });

  it('refuses a batch that begins inside another, and a record outside any batch', () => {
    expect(() => parseSegment(cat(hs(FLAG_BEGIN), hs(FLAG_BEGIN), hs(FLAG_END)), 'f', true)).toThrow(/a batch begins before the previous batch ended/);
    expect(() => parseSegment(cat(hs(BOTH), hs(FLAG_END)), 'f', true)).toThrow(/a record lies outside any batch/);
    expect(() => parseSegment(cat(hs(BOTH), hs(0)), 'f', true)).toThrow(WalCorruptError);
  });

  it('cuts an unfinished last batch of the last segment as torn, and refuses it in any other', () => {
    const buf = cat(hs(BOTH), hs(FLAG_BEGIN), hs(0));
    const p = parseSegment(buf, 'f', true);
    expect(p.torn).toEqual({ at: 3 * HS_LEN, reason: 'the last batch has no end record' });
    expect(p.validEnd).toBe(HS_LEN);
    expect(p.batches).toHaveLength(1);
    expect(() => parseSegment(buf, 'f', false)).toThrow(/the last batch has no end record in a segment that is not the last/);
  });

  it('refuses damage in a segment that is not the last, and damage followed by a later batch', () => {
    const damaged = cat(hs(BOTH), hs(BOTH));
    damaged[HS_LEN + 20] = damaged[HS_LEN + 20]! ^ 1;
    expect(parseSegment(damaged, 'f', true).torn?.reason).toBe('record checksum mismatch');
    expect(() => parseSegment(damaged, 'f', false)).toThrow(/record checksum mismatch in a segment that is not the last/);
    const followed = cat(hs(BOTH), hs(BOTH), hs(BOTH));
    followed[HS_LEN + 20] = followed[HS_LEN + 20]! ^ 1;
    expect(() => parseSegment(followed, 'f', true)).toThrow(`record checksum mismatch, yet an intact batch written after it starts at byte offset ${2 * HS_LEN}`);
  });

  it('reports an intact record it cannot read as corruption at its offset', () => {
    // A hard-state record whose checksums match but whose payload is one byte short.
    const { buf } = encodeRecords({ metadata: new Uint8Array(19), entries: [] });
    buf[4] = 2;
    setFlags(buf, 0, BOTH);
    const bad = new Uint8Array(buf);
    let err: unknown = null;
    try {
      parseSegment(cat(hs(BOTH), bad), 'seg.wal', true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(String((err as Error).message)).toMatch(/seg\.wal/);
    expect(String((err as Error).message)).toMatch(new RegExp(`${HS_LEN}`));
    expect(String((err as Error).message)).toMatch(/hard state record of 23 bytes, want 24/);
  });
});

describe('listDir', () => {
  it('lists segments in sequence order and temporary files, ignoring other names and numbers beyond 2^53', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftkube-segment-'));
    try {
      const seqs = [11, 3, 7, 0, 10, 1, 9, 2, 8, 4, 6, 5];
      for (const s of seqs) writeFileSync(join(dir, segmentName(s, s * 10 + 1)), '');
      writeFileSync(join(dir, 'ffffffffffffffff-0000000000000001.wal'), '');
      writeFileSync(join(dir, '0000000000000001-ffffffffffffffff.wal'), '');
      writeFileSync(join(dir, 'notes.txt'), '');
      writeFileSync(join(dir, `${segmentName(12, 1)}.tmp`), '');
      const { segments, temps } = await listDir(dir);
      expect(segments.map((s) => s.seq)).toEqual([...seqs].sort((a, b) => a - b));
      expect(segments[3]).toEqual({ seq: 3, firstIndex: 31, name: segmentName(3, 31) });
      expect(temps).toEqual([`${segmentName(12, 1)}.tmp`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
