/**
 * log-shape: what the WAL knows about the log it has been asked to write — the snapshot it
 * starts after, its last index, and the term of every entry stored as runs (terms change rarely,
 * so this stays tiny however long the log grows). It validates each save before anything is
 * written and decides whether a snapshot keeps or discards the log after it (Raft §7).
 */
import type { Entry, SnapshotMetadata } from '../types.js';

/** SavePlan is a validated save: how the snapshot (if any) affects the log. */
export interface SavePlan {
  readonly snapshot: SnapshotMetadata | null;
  /** resetLog is true when the snapshot discards every entry after it. */
  readonly resetLog: boolean;
}

/** LogShape tracks the indexes and terms of the log as it will be once every save is durable. */
export class LogShape {
  #base: number;
  #baseTerm: number;
  #last: number;
  /** Term runs: entries from runStart[k] up to the next run's start (or #last) have term runTerm[k]. */
  #runStart: number[] = [];
  #runTerm: number[] = [];

  private constructor(base: number, baseTerm: number) {
    this.#base = base;
    this.#baseTerm = baseTerm;
    this.#last = base;
  }

  /** from builds the shape of a recovered log: the snapshot it follows and the entries after it. */
  static from(snapshot: SnapshotMetadata | null, entries: readonly Entry[]): LogShape {
    const shape = new LogShape(snapshot?.index ?? 0, snapshot?.term ?? 0);
    shape.#append(entries);
    return shape;
  }

  /** base is the index of the newest snapshot (0 if none): the log holds entries after it. */
  get base(): number {
    return this.#base;
  }

  /** lastIndex is the index of the last entry, or `base` when the log is empty. */
  get lastIndex(): number {
    return this.#last;
  }

  /**
   * runCount is how many term runs the shape holds: one per change of term among the entries
   * after the snapshot, which is all its memory grows with.
   */
  get runCount(): number {
    return this.#runStart.length;
  }

  /** termAt returns the term of the entry at `i`, the snapshot's term at `base`, or undefined outside. */
  termAt(i: number): number | undefined {
    if (i === this.#base) return this.#baseTerm;
    if (i < this.#base || i > this.#last) return undefined;
    const starts = this.#runStart;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.#runTerm[lo];
  }

  /**
   * plan validates a save without changing anything: the snapshot must not be older than the
   * recorded one, and the entries must be consecutive, start right after the snapshot or at most
   * one past the last index (a lower start overwrites a suffix, §5.3). Throws RangeError: a
   * caller that breaks these rules has a bug, and writing its save would damage the log.
   */
  plan(snapshot: SnapshotMetadata | null, entries: readonly Entry[]): SavePlan {
    let base = this.#base;
    let last = this.#last;
    let resetLog = false;
    if (snapshot) {
      checkNumber('snapshot index', snapshot.index);
      checkNumber('snapshot term', snapshot.term);
      if (snapshot.index < base) {
        throw new RangeError(`Snapshot at index ${snapshot.index} is older than the recorded snapshot at ${base}`);
      }
      // §7: keep the entries after the snapshot only if the log holds its last entry.
      resetLog = this.termAt(snapshot.index) !== snapshot.term;
      base = snapshot.index;
      if (resetLog) last = base;
    }
    if (entries.length > 0) {
      const first = entries[0]!.index;
      if (first <= base || first > last + 1) {
        throw new RangeError(
          `Entries starting at index ${first} do not fit a log holding (${base}, ${last}]: ` +
            `the first entry must lie in [${base + 1}, ${last + 1}]`,
        );
      }
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        if (e.index !== first + i) {
          throw new RangeError(`Entries are not consecutive: index ${e.index} at position ${i} after ${first}`);
        }
        checkNumber('entry term', e.term);
      }
      checkNumber('entry index', first + entries.length - 1);
    }
    return { snapshot, resetLog };
  }

  /** apply records a planned save. */
  apply(plan: SavePlan, entries: readonly Entry[]): void {
    const s = plan.snapshot;
    if (s) {
      if (plan.resetLog) {
        this.#runStart = [];
        this.#runTerm = [];
        this.#last = s.index;
      } else {
        this.#dropThrough(s.index);
      }
      this.#base = s.index;
      this.#baseTerm = s.term;
    }
    this.#append(entries);
  }

  #append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    this.#truncateFrom(first);
    for (const e of entries) {
      if (this.#runTerm[this.#runTerm.length - 1] !== e.term) {
        this.#runStart.push(e.index);
        this.#runTerm.push(e.term);
      }
    }
    this.#last = first + entries.length - 1;
  }

  /** Forgets entries at index ≥ i. */
  #truncateFrom(i: number): void {
    if (i > this.#last) return;
    const starts = this.#runStart;
    let k = starts.length;
    while (k > 0 && starts[k - 1]! >= i) k--;
    starts.length = k;
    this.#runTerm.length = k;
    this.#last = i - 1;
  }

  /** Forgets entries at index ≤ i, keeping the run that covers i + 1. */
  #dropThrough(i: number): void {
    if (this.#last <= i) {
      this.#runStart = [];
      this.#runTerm = [];
      this.#last = i;
      return;
    }
    const starts = this.#runStart;
    let k = 0;
    while (k + 1 < starts.length && starts[k + 1]! <= i + 1) k++;
    if (k > 0) {
      starts.splice(0, k);
      this.#runTerm.splice(0, k);
    }
    if (starts.length > 0 && starts[0]! <= i) starts[0] = i + 1;
  }
}

function checkNumber(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`The ${what} must be a non-negative safe integer, got ${n}`);
}
