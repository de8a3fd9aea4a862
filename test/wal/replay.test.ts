/**
 * replay: Replay's rules on synthetic records, without files — later records win, an entry
 * overwrites the suffix from its index, snapshot markers drop what they cover and only move
 * forward, and every gap (between entries, or between the snapshot and the first entry) is
 * corruption. Written for replay.ts's surviving mutants (test/README.md, "src/raft/wal").
 */
import { describe, expect, it } from 'vitest';
import type { LogIndex, NodeId, SnapshotMetadata, Term } from '../../src/raft/types.js';
import { WalCorruptError } from '../../src/raft/wal/errors.js';
import type { WalRecord } from '../../src/raft/wal/record.js';
import { Replay } from '../../src/raft/wal/replay.js';

const AT = { file: 'seg.wal', offset: 0 };

/** entry is an entry record at `index` whose one data byte is `tag`. */
function entry(index: number, tag = index, term = 1): WalRecord {
  const buf = Uint8Array.of(0xff, tag, 0xff);
  return { kind: 'entry', entry: { term: term as Term, index: index as LogIndex, type: 'normal', buf, start: 1, end: 2 } };
}

function snap(index: number, resetLog = false, term = 1): WalRecord {
  const snapshot: SnapshotMetadata = { index: index as LogIndex, term: term as Term, confState: { voters: [], learners: [] } };
  return { kind: 'snapshot', snapshot, resetLog };
}

function replay(...records: WalRecord[]): Replay {
  const r = new Replay();
  for (const rec of records) r.apply(rec, AT);
  return r;
}

/** log lists the finished entries as [index, tag]. */
function log(r: Replay): [number, number][] {
  return r.finish('dir').map((e) => [e.index, e.data[0]!]);
}

describe('Replay', () => {
  it('overwrites the suffix from an entry\'s index, also below every entry seen so far', () => {
    expect(log(replay(entry(1), entry(2), entry(3), entry(2, 20)))).toEqual([[1, 1], [2, 20]]);
    expect(log(replay(entry(1), entry(2), entry(3), entry(3, 30)))).toEqual([[1, 1], [2, 2], [3, 30]]);
    // After the segments holding 1..4 were released, the log resumes at 5 behind a marker at 4.
    expect(log(replay(snap(4), entry(5), entry(6), entry(7), entry(5, 50)))).toEqual([[5, 50]]);
    expect(log(replay(snap(2), entry(5), entry(6), entry(3, 30), entry(4, 40)))).toEqual([[3, 30], [4, 40]]);
  });

  it('refuses an entry that leaves a gap after the last one', () => {
    expect(() => replay(entry(1), entry(2), entry(4))).toThrow(WalCorruptError);
    expect(() => replay(entry(1), entry(2), entry(4))).toThrow(/entry 4 follows entry 2, leaving a gap/);
  });

  it('refuses an entry at or below the snapshot written after it', () => {
    expect(() => replay(snap(5), entry(5))).toThrow(/entry 5 was written after the snapshot at 5 covering it/);
    expect(() => replay(snap(5), entry(3))).toThrow(WalCorruptError);
  });

  it('drops the entries a marker covers and keeps the rest; a log-discarding marker drops all', () => {
    expect(log(replay(entry(1), entry(2), entry(3), snap(2)))).toEqual([[3, 3]]);
    expect(log(replay(entry(1), entry(2), snap(2, true), entry(3, 30)))).toEqual([[3, 30]]);
    expect(log(replay(entry(1), entry(2), entry(3), snap(3)))).toEqual([]);
    expect(log(replay(entry(1), entry(2), snap(7)))).toEqual([]);
  });

  it('ignores a marker older than the newest one', () => {
    const r = replay(snap(5), entry(6), snap(3, true));
    expect(r.snapshot?.index).toBe(5);
    expect(log(r)).toEqual([[6, 6]]);
  });

  it('refuses entries that do not resume right after the snapshot', () => {
    // Entries from 10 on (older segments released) with a marker covering only up to 5.
    expect(() => replay(entry(10), entry(11), snap(5)).finish('dir')).toThrow(/entries resume at index 10 but the snapshot covers only up to 5, so entries 6..9 are missing/);
    expect(() => replay(entry(3)).finish('dir')).toThrow(WalCorruptError);
    expect(log(replay(snap(9), entry(10)))).toEqual([[10, 10]]);
  });

  it('keeps the first metadata and the last hard state', () => {
    const r = replay(
      { kind: 'metadata', version: 1, metadata: Uint8Array.of(1) },
      { kind: 'hard-state', hardState: { term: 1 as Term, vote: 0 as NodeId, commit: 0 as LogIndex } },
      { kind: 'metadata', version: 1, metadata: Uint8Array.of(2) },
      { kind: 'hard-state', hardState: { term: 2 as Term, vote: 0 as NodeId, commit: 1 as LogIndex } },
    );
    expect(r.metadata).toEqual(Uint8Array.of(1));
    expect(r.hardState.term).toBe(2);
  });
});
