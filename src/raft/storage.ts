/**
 * storage: the read-only view of durable Raft state the core consults, and MemoryStorage, the
 * in-memory implementation a driver fills from its write-ahead log (and the simulator uses as
 * its "disk"). The core never writes to Storage: the driver does, after handling a Ready.
 */
import type { ConfState, Entry, HardState, LogIndex, Snapshot, Term } from './types.js';
import { NO_NODE, logIndex, term } from './types.js';

/** CompactedError says the requested index lies before the first retained entry. */
export class CompactedError extends Error {
  override readonly name = 'CompactedError';
  constructor(readonly index: LogIndex, readonly firstIndex: LogIndex) {
    super(`Log index ${index} was compacted (first retained index is ${firstIndex}); install a snapshot instead`);
  }
}

/** UnavailableError says the requested index lies after the last entry in storage. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(readonly index: LogIndex, readonly lastIndex: LogIndex) {
    super(`Log index ${index} is past the last stored index ${lastIndex}`);
  }
}

/** InitialState is what a node restarts from. */
export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * Storage is the core's read-only window on stable state. Indexes outside
 * [firstIndex()-1, lastIndex()] throw CompactedError or UnavailableError from `term`/`entries`.
 */
export interface Storage {
  initialState(): InitialState;
  /** entries returns [lo, hi) capped at maxBytes of data (always at least one entry). */
  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[];
  /** term of the entry at i; i may be firstIndex()-1 (the snapshot's index). */
  term(i: LogIndex): Term;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /** snapshot returns the newest snapshot the application has taken. */
  snapshot(): Snapshot;
}

const EMPTY_CONF: ConfState = { voters: [], learners: [] };

/** entrySize is the byte estimate used for flow control: data plus a fixed overhead. */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}

/** limitSize trims `ents` to at most maxBytes, keeping at least the first entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * MemoryStorage keeps the log in an array whose slot 0 is a dummy entry standing for the
 * snapshot (index and term of the last compacted entry), like etcd-io/raft's MemoryStorage.
 */
export class MemoryStorage implements Storage {
  #hardState: HardState = { term: term(0), vote: NO_NODE, commit: logIndex(0) };
  #snapshot: Snapshot = { metadata: { index: logIndex(0), term: term(0), confState: EMPTY_CONF }, data: new Uint8Array(0) };
  // NB: #ents[0] is the dummy entry at the snapshot's index; real entries follow it.
  #ents: Entry[] = [{ index: logIndex(0), term: term(0), type: 'normal', data: new Uint8Array(0) }];

  /** MemoryStorage.withConf returns a fresh storage whose initial configuration is `conf`. */
  static withConf(conf: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.#snapshot = { metadata: { index: logIndex(0), term: term(0), confState: conf }, data: new Uint8Array(0) };
    return s;
  }

  initialState(): InitialState {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  /** setHardState records the persisted hard state. */
  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  hardState(): HardState {
    return this.#hardState;
  }

  #offset(): number {
    return this.#ents[0]!.index;
  }

  entries(lo: LogIndex, hi: LogIndex, maxBytes: number): Entry[] {
    const offset = this.#offset();
    if (lo <= offset) throw new CompactedError(lo, logIndex(offset + 1));
    if (hi > this.lastIndex() + 1) throw new UnavailableError(logIndex(hi - 1), this.lastIndex());
    return limitSize(this.#ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: LogIndex): Term {
    const offset = this.#offset();
    if (i < offset) throw new CompactedError(i, logIndex(offset + 1));
    const e = this.#ents[i - offset];
    if (e === undefined) throw new UnavailableError(i, this.lastIndex());
    return e.term;
  }

  firstIndex(): LogIndex {
    return logIndex(this.#offset() + 1);
  }

  lastIndex(): LogIndex {
    return logIndex(this.#offset() + this.#ents.length - 1);
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * append stores entries, overwriting any conflicting suffix. Entries before firstIndex are
   * ignored (already covered by the snapshot).
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    let ents = entries;
    if (ents[0]!.index < first) {
      const skip = first - ents[0]!.index;
      if (skip >= ents.length) return;
      ents = ents.slice(skip);
    }
    const at = ents[0]!.index - this.#offset();
    if (at > this.#ents.length) {
      throw new Error(`MemoryStorage.append: gap in the log (have up to ${this.lastIndex()}, got ${ents[0]!.index})`);
    }
    if (at < this.#ents.length) this.#ents.length = at;
    for (const e of ents) this.#ents.push(e);
  }

  /** applySnapshot replaces the whole log with a snapshot (a follower catching up). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.#snapshot.metadata.index) return;
    this.#snapshot = snap;
    this.#ents = [{ index: snap.metadata.index, term: snap.metadata.term, type: 'normal', data: new Uint8Array(0) }];
  }

  /**
   * createSnapshot records the application's snapshot at index i (≤ lastIndex) without
   * dropping entries; call compact to drop them.
   */
  createSnapshot(i: LogIndex, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.#snapshot.metadata.index) return this.#snapshot;
    if (i > this.lastIndex()) throw new UnavailableError(i, this.lastIndex());
    const snap: Snapshot = { metadata: { index: i, term: this.term(i), confState }, data };
    this.#snapshot = snap;
    return snap;
  }

  /** compact drops every entry before compactIndex, keeping compactIndex as the new dummy. */
  compact(compactIndex: LogIndex): void {
    const offset = this.#offset();
    if (compactIndex <= offset) return;
    if (compactIndex > this.lastIndex()) throw new UnavailableError(compactIndex, this.lastIndex());
    const at = compactIndex - offset;
    const head = this.#ents[at]!;
    const rest = this.#ents.slice(at + 1);
    this.#ents = [{ index: head.index, term: head.term, type: 'normal', data: new Uint8Array(0) }, ...rest];
  }
}
