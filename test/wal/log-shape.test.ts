/**
 * log-shape: the WAL's picture of the log it writes (snapshot base, last index, the term of every
 * entry kept as runs) against a plain model that stores one term per index. Every save the WAL
 * is asked for is planned (validated) and applied here before a byte is written, so a wrong
 * term or bound would let a save damage the log, or refuse a sound one. Written for
 * log-shape.ts's surviving mutants (test/README.md, "src/raft/wal"): until now it was tested only
 * through the WAL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry, LogIndex, SnapshotMetadata, Term } from '../../src/raft/types.js';
import { LogShape } from '../../src/raft/wal/log-shape.js';

function entry(index: number, term: number): Entry {
  return { index: index as LogIndex, term: term as Term, type: 'normal', data: new Uint8Array(0) };
}

function snapshot(index: number, term: number): SnapshotMetadata {
  return { index: index as LogIndex, term: term as Term, confState: { voters: [], learners: [] } };
}

/** Model: one term per index after the snapshot; what LogShape must answer. */
class Model {
  base = 0;
  baseTerm = 0;
  terms: number[] = []; // terms[k] is the term of index base + 1 + k

  /** runs is how many maximal stretches of one term the entries after the snapshot form. */
  get runs(): number {
    return this.terms.filter((t, k) => k === 0 || this.terms[k - 1] !== t).length;
  }

  get last(): number {
    return this.base + this.terms.length;
  }

  termAt(i: number): number | undefined {
    if (i === this.base) return this.baseTerm;
    if (i < this.base || i > this.last) return undefined;
    return this.terms[i - this.base - 1];
  }

  /** plan's verdict: null when the save is refused, else whether the snapshot resets the log. */
  verdict(snap: SnapshotMetadata | null, entries: readonly Entry[]): { resetLog: boolean } | null {
    const sound = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
    let base = this.base;
    let last = this.last;
    let resetLog = false;
    if (snap) {
      if (!sound(snap.index) || !sound(snap.term) || snap.index < base) return null;
      resetLog = this.termAt(snap.index) !== snap.term;
      base = snap.index;
      if (resetLog) last = base;
    }
    if (entries.length > 0) {
      const first = entries[0]!.index;
      if (first <= base || first > last + 1) return null;
      if (entries.some((e, k) => e.index !== first + k || !sound(e.term))) return null;
      if (!sound(first + entries.length - 1)) return null;
    }
    return { resetLog };
  }

  apply(snap: SnapshotMetadata | null, resetLog: boolean, entries: readonly Entry[]): void {
    if (snap) {
      this.terms = resetLog ? [] : this.terms.slice(Math.max(0, snap.index - this.base));
      this.base = snap.index;
      this.baseTerm = snap.term;
    }
    if (entries.length > 0) {
      const first = entries[0]!.index;
      this.terms = this.terms.slice(0, first - this.base - 1).concat(entries.map((e) => e.term));
    }
  }
}

function expectSame(shape: LogShape, model: Model): void {
  expect(shape.base).toBe(model.base);
  expect(shape.lastIndex).toBe(model.last);
  expect(shape.runCount, 'term runs held').toBe(model.runs);
  for (let i = Math.max(0, model.base - 2); i <= model.last + 2; i++) {
    expect(shape.termAt(i), `term at ${i}`).toBe(model.termAt(i));
  }
}

/** A save, placed relative to the log it meets so that most saves fit and some do not. */
interface Save {
  /** the snapshot's index is base + snapOffset (−1: older than the recorded one). */
  readonly snap: { readonly offset: number; readonly term: number } | null;
  /** the entries start at last + 1 − back (−1: one past the end, a gap). */
  readonly back: number;
  readonly terms: readonly number[];
  /** an index skipped inside the entries (not consecutive). */
  readonly gapAt: number | null;
}

// Terms 1–2 so a snapshot often names the term its index has (and keeps the log after it).
const save: fc.Arbitrary<Save> = fc.record({
  snap: fc.option(fc.record({ offset: fc.integer({ min: -1, max: 12 }), term: fc.integer({ min: 1, max: 2 }) }), { freq: 3 }),
  back: fc.integer({ min: -1, max: 6 }),
  terms: fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 8 }),
  gapAt: fc.option(fc.integer({ min: 1, max: 7 }), { freq: 8 }),
});

function placed(s: Save, model: Model): { snap: SnapshotMetadata | null; entries: Entry[] } {
  const snap = s.snap === null ? null : snapshot(model.base + s.snap.offset, s.snap.term);
  const first = model.last + 1 - s.back;
  const entries = s.terms.map((t, k) => entry(first + k + (s.gapAt !== null && k >= s.gapAt ? 1 : 0), t));
  return { snap, entries };
}

describe('LogShape against a one-term-per-index model', () => {
  it('plans, refuses and applies every save as the model does, answers termAt alike, and holds one run per change of term', () => {
    let refused = 0;
    let applied = 0;
    let resets = 0;
    let kept = 0;
    fc.assert(
      fc.property(
        fc.option(fc.record({ index: fc.integer({ min: 0, max: 6 }), term: fc.integer({ min: 0, max: 3 }) }), { nil: null }),
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 6 }),
        fc.array(save, { minLength: 1, maxLength: 25 }),
        (start, startTerms, saves) => {
          const startSnap = start === null ? null : snapshot(start.index, start.term);
          const startEntries = startTerms.map((t, k) => entry((start?.index ?? 0) + 1 + k, t));
          const shape = LogShape.from(startSnap, startEntries);
          const model = new Model();
          model.apply(startSnap, true, startEntries);
          expectSame(shape, model);
          for (const s of saves) {
            const { snap, entries } = placed(s, model);
            const want = model.verdict(snap, entries);
            if (want === null) {
              expect(() => shape.plan(snap, entries)).toThrow(RangeError);
              refused++;
            } else {
              const plan = shape.plan(snap, entries);
              expect(plan).toEqual({ snapshot: snap, resetLog: want.resetLog });
              shape.apply(plan, entries);
              model.apply(snap, want.resetLog, entries);
              applied++;
              if (snap !== null) {
                if (want.resetLog) resets++;
                else kept++;
              }
            }
            expectSame(shape, model);
          }
        },
      ),
      { numRuns: 300 },
    );
    // The generator must reach every path: refusals, applies, snapshots that keep and that reset.
    expect(refused).toBeGreaterThan(100);
    expect(applied).toBeGreaterThan(100);
    expect(resets).toBeGreaterThan(10);
    expect(kept).toBeGreaterThan(10);
  });
});

describe('LogShape refusals', () => {
  const shape = (): LogShape => LogShape.from(snapshot(5, 2), [entry(6, 2), entry(7, 3), entry(8, 3)]);

  it('names what is wrong with a save', () => {
    expect(() => shape().plan(snapshot(4, 2), [])).toThrow('Snapshot at index 4 is older than the recorded snapshot at 5');
    expect(() => shape().plan(null, [entry(5, 3)])).toThrow(
      'Entries starting at index 5 do not fit a log holding (5, 8]: the first entry must lie in [6, 9]',
    );
    expect(() => shape().plan(null, [entry(10, 3)])).toThrow('the first entry must lie in [6, 9]');
    expect(() => shape().plan(null, [entry(9, 3), entry(11, 3)])).toThrow(
      'Entries are not consecutive: index 11 at position 1 after 9',
    );
    expect(() => shape().plan(snapshot(-1, 2), [])).toThrow('The snapshot index must be a non-negative safe integer, got -1');
    expect(() => shape().plan(snapshot(9, 1.5), [])).toThrow('The snapshot term must be a non-negative safe integer, got 1.5');
    expect(() => shape().plan(null, [entry(9, -1)])).toThrow('The entry term must be a non-negative safe integer, got -1');
    const past = Number.MAX_SAFE_INTEGER;
    // An index past 2^53 − 1 cannot be told from its neighbours in a double: refused.
    const big = LogShape.from(snapshot(past - 1, 1), []);
    expect(() => big.plan(null, [0, 1, 2, 3].map((k) => entry(past + k, 1)))).toThrow(
      /^The entry index must be a non-negative safe integer, got 90071992547409\d\d$/,
    );
    expect(big.plan(null, [entry(past, 1)])).toEqual({ snapshot: null, resetLog: false });
  });

  it('changes nothing when it refuses, and nothing when it only plans', () => {
    const s = shape();
    expect(() => s.plan(snapshot(9, 3), [entry(11, 3)])).toThrow(RangeError);
    expect(s.plan(snapshot(20, 4), [entry(21, 4)])).toEqual({ snapshot: snapshot(20, 4), resetLog: true });
    expect([s.base, s.lastIndex, s.termAt(5), s.termAt(6), s.termAt(7), s.termAt(8), s.termAt(9)]).toEqual([5, 8, 2, 2, 3, 3, undefined]);
  });
});
