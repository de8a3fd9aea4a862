/**
 * log: the Raft log as the core sees it — a stable prefix in Storage (persisted by the driver)
 * followed by unstable entries (and possibly a snapshot) not yet persisted. Tracks the commit
 * and apply positions. Like etcd-io/raft's raftLog + unstable.
 */
import type { Entry, LogIndex, Snapshot, Term } from './types.js';
import { logIndex, term } from './types.js';
import { CompactedError, limitSize, type Storage } from './storage.js';

/** RaftLog combines stable storage, the unstable tail and the commit/apply positions. */
export class RaftLog {
  readonly storage: Storage;
  /** unstableSnapshot is a snapshot received from the leader and not yet persisted. */
  unstableSnapshot: Snapshot | null = null;
  /** unstable holds entries not yet persisted; unstable[0] has index `offset`. */
  unstable: Entry[] = [];
  offset: LogIndex;
  committed: LogIndex;
  /** applied is the highest index the application has acknowledged applying. */
  applied: LogIndex;
  /** applying is the highest index handed to the application (≥ applied). */
  applying: LogIndex;

  constructor(storage: Storage) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.offset = logIndex(storage.lastIndex() + 1);
    this.committed = logIndex(first - 1);
    this.applied = logIndex(first - 1);
    this.applying = logIndex(first - 1);
  }

  firstIndex(): LogIndex {
    if (this.unstableSnapshot !== null) return logIndex(this.unstableSnapshot.metadata.index + 1);
    return this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    if (this.unstable.length > 0) return logIndex(this.offset + this.unstable.length - 1);
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.metadata.index;
    return this.storage.lastIndex();
  }

  /** term returns the term of entry i, or null when i is compacted away or beyond the log. */
  term(i: LogIndex): Term | null {
    if (i >= this.offset) {
      const e = this.unstable[i - this.offset];
      return e === undefined ? null : e.term;
    }
    const snap = this.unstableSnapshot;
    if (snap !== null) {
      if (i === snap.metadata.index) return snap.metadata.term;
      return null;
    }
    const dummy = this.storage.firstIndex() - 1;
    if (i < dummy || i > this.storage.lastIndex()) return null;
    return this.storage.term(i);
  }

  lastTerm(): Term {
    return this.term(this.lastIndex()) ?? term(0);
  }

  matchTerm(i: LogIndex, t: Term): boolean {
    return this.term(i) === t;
  }

  /** isUpToDate implements the election restriction (§5.4.1). */
  isUpToDate(lastIdx: LogIndex, lastT: Term): boolean {
    const myTerm = this.lastTerm();
    return lastT > myTerm || (lastT === myTerm && lastIdx >= this.lastIndex());
  }

  /** lastStableIndex is the last index known to be on stable storage. */
  lastStableIndex(): LogIndex {
    if (this.unstable.length > 0) return logIndex(this.offset - 1);
    if (this.unstableSnapshot !== null) return logIndex(this.unstableSnapshot.metadata.index - 1);
    return this.storage.lastIndex();
  }

  /**
   * maybeAppend applies an append from the leader after (index, logTerm). Returns the index of
   * the last new entry, or null when the consistency check fails (§5.3). `truncated` receives
   * any entries of ours the append overwrote.
   */
  maybeAppend(index: LogIndex, logTerm: Term, committed: LogIndex, ents: readonly Entry[], truncated: Entry[]): LogIndex | null {
    if (!this.matchTerm(index, logTerm)) return null;
    const lastNew = logIndex(index + ents.length);
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new Error(`Raft invariant broken: entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      }
      const from = ci - (index + 1);
      const rest = ents.slice(from);
      this.#collect(ci, truncated);
      this.append(rest);
    }
    this.commitTo(logIndex(Math.min(committed, lastNew)));
    return lastNew;
  }

  #collect(from: LogIndex, into: Entry[]): void {
    const last = this.lastIndex();
    if (from > last) return;
    for (const e of this.slice(from, logIndex(last + 1), Infinity)) into.push(e);
  }

  /** findConflict returns the index of the first entry of ents that is absent or conflicts, or 0. */
  findConflict(ents: readonly Entry[]): LogIndex {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return logIndex(0);
  }

  /**
   * findConflictByTerm returns the largest index ≤ i whose term is ≤ t: where a rejected
   * append should be retried, skipping a whole term of conflicting entries at once.
   */
  findConflictByTerm(i: LogIndex, t: Term): { index: LogIndex; term: Term } {
    let idx = i;
    for (;;) {
      const tt = this.term(idx);
      if (tt === null) return { index: idx, term: term(0) };
      if (tt <= t) return { index: idx, term: tt };
      idx = logIndex(idx - 1);
    }
  }

  /** append adds entries to the unstable tail, truncating any suffix they overwrite. */
  append(ents: readonly Entry[]): LogIndex {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`Raft invariant broken: append after ${after} would overwrite committed ${this.committed}`);
    }
    if (after === this.offset + this.unstable.length - 1) {
      for (const e of ents) this.unstable.push(e);
    } else if (after < this.offset) {
      // The new entries replace part of the stable log: the unstable tail starts over from them.
      this.offset = logIndex(after + 1);
      this.unstable = ents.slice();
    } else {
      this.unstable.length = after + 1 - this.offset;
      for (const e of ents) this.unstable.push(e);
    }
    return this.lastIndex();
  }

  /** slice returns entries [lo, hi) up to maxBytes, reading storage then the unstable tail. */
  slice(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex());
    let out: Entry[] = [];
    if (lo < this.offset) {
      const stableHi = logIndex(Math.min(hi, this.offset));
      out = this.storage.entries(lo, stableHi, maxBytes);
      if (out.length < stableHi - lo) return out;
    }
    if (hi > this.offset) {
      const from = Math.max(lo, this.offset) - this.offset;
      const to = hi - this.offset;
      const tail = this.unstable.slice(from, to);
      out = out.length === 0 ? tail : out.concat(tail);
    }
    return limitSize(out, maxBytes);
  }

  /** entriesFrom returns entries from i to the end, up to maxBytes. */
  entriesFrom(i: LogIndex, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, logIndex(last + 1), maxBytes);
  }

  commitTo(c: LogIndex): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex()) {
      throw new Error(`Raft invariant broken: commit ${c} beyond last index ${this.lastIndex()} (log corrupted, truncated or lost?)`);
    }
    this.committed = c;
  }

  hasPendingSnapshot(): boolean {
    return this.unstableSnapshot !== null;
  }

  /** nextCommittedEntries returns committed entries not yet handed to the application. */
  nextCommittedEntries(maxBytes: number): Entry[] {
    if (this.unstableSnapshot !== null) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(logIndex(lo), logIndex(this.committed + 1), maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstableSnapshot !== null) return false;
    return Math.max(this.applying + 1, this.firstIndex()) <= this.committed;
  }

  /** stableTo marks unstable entries up to (i, t) persisted, unless they were overwritten since. */
  stableTo(i: LogIndex, t: Term): boolean {
    const e = this.unstable[i - this.offset];
    if (e === undefined || e.term !== t) return false;
    const n = i + 1 - this.offset;
    this.unstable = n === this.unstable.length ? [] : this.unstable.slice(n);
    this.offset = logIndex(i + 1);
    return true;
  }

  stableSnapTo(i: LogIndex): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.metadata.index === i) this.unstableSnapshot = null;
  }

  /** restore replaces the log with a snapshot received from the leader (§7). */
  restore(s: Snapshot): void {
    this.unstableSnapshot = s;
    this.unstable = [];
    this.offset = logIndex(s.metadata.index + 1);
    this.committed = s.metadata.index;
  }

  /** snapshot returns the newest snapshot: an unpersisted one received, else storage's. */
  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot();
  }
}
