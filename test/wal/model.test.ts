// Property: whatever sequence of saves, snapshots, releases and reopenings, the WAL recovers
// exactly what a plain in-memory model of the rules says it should.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, HardState, LogIndex, SnapshotMetadata } from '../../src/raft/types.js';
import { Wal } from '../../src/raft/wal/index.js';
import { TempDirs, ents, hs, plain, snap } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

type Op =
  | { kind: 'append'; back: number; count: number; termBump: number; size: number }
  | { kind: 'hard-state'; vote: number }
  | { kind: 'snapshot'; back: number; matching: boolean }
  | { kind: 'release' }
  | { kind: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.nat(4), count: fc.integer({ min: 1, max: 12 }), termBump: fc.nat(1), size: fc.nat(90) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hard-state' as const), vote: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), back: fc.nat(10), matching: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

/** The rules, stated plainly. */
class Model {
  hardState: HardState = hs(0, 0, 0);
  snapshot: SnapshotMetadata | null = null;
  entries: Entry[] = [];
  term = 1;

  get base(): number {
    return this.snapshot?.index ?? 0;
  }
  get last(): number {
    return this.base + this.entries.length;
  }
  termAt(i: number): number | undefined {
    if (i === this.base) return this.snapshot?.term ?? 0;
    return this.entries[i - this.base - 1]?.term;
  }
}

describe('Wal against a model', () => {
  it('recovers the modelled state after any sequence of operations', async () => {
    let released = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 80 }), fc.integer({ min: 150, max: 1500 }), async (ops, segmentSize) => {
        const dir = dirs.make();
        const m = new Model();
        let { wal } = await Wal.open(dir, { segmentSize });
        const check = (state: Awaited<ReturnType<typeof Wal.open>>['state']): void => {
          expect(state.hardState).toEqual(m.hardState);
          expect(state.snapshot).toEqual(m.snapshot);
          expect(plain(state.entries)).toEqual(plain(m.entries));
        };
        try {
          for (const op of ops) {
            switch (op.kind) {
              case 'append': {
                const from = Math.max(m.base + 1, m.last + 1 - op.back);
                m.term += op.termBump;
                const batch = ents(from, from + op.count - 1, m.term, op.size);
                m.entries = [...m.entries.slice(0, from - m.base - 1), ...batch];
                await wal.save({ entries: batch });
                break;
              }
              case 'hard-state':
                m.hardState = hs(m.term, op.vote, Math.max(m.base, m.last - 3));
                await wal.save({ hardState: m.hardState, entries: [] });
                break;
              case 'snapshot': {
                const index = Math.max(m.base, m.last - op.back);
                const t = op.matching ? (m.termAt(index) ?? m.term) : m.term + 1;
                const meta = snap(index, t);
                if (m.termAt(index) === t) m.entries = m.entries.slice(index - m.base);
                else m.entries = [];
                m.term = Math.max(m.term, t);
                m.snapshot = meta;
                await wal.save({ snapshot: meta, entries: [] });
                break;
              }
              case 'release':
                released += await wal.releaseTo(m.base as LogIndex);
                break;
              case 'reopen': {
                await wal.close();
                const opened = await Wal.open(dir, { segmentSize });
                wal = opened.wal;
                check(opened.state);
                break;
              }
            }
          }
          await wal.close();
          const opened = await Wal.open(dir, { segmentSize });
          wal = opened.wal;
          check(opened.state);
        } finally {
          await wal.close();
        }
      }),
      { numRuns: 60 },
    );
    expect(released, 'the runs should exercise releasing segments').toBeGreaterThan(0);
  });
});
