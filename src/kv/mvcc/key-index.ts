/**
 * key-index: the retained history of one key, the in-memory half of etcd's keyIndex.
 *
 * etcd groups a key's revisions into generations (create … tombstone). We keep a flat list of
 * records instead, each carrying what a read at that revision reports without touching disk:
 * (main, sub, tombstone, create_revision, version). A record answers "what was this key at
 * revision r" by itself, so compaction can drop a prefix without keeping per-generation version
 * bases. Memory: the latest record lives in fields (a key written once costs one small object);
 * older records sit in a flat number array, four numbers each.
 */

/** RevRecord is one retained revision of a key, filled in by KeyIndex.find. */
export interface RevRecord {
  main: number;
  sub: number;
  tombstone: boolean;
  /** created is the create_revision reported at this revision (0 for a tombstone). */
  created: number;
  /** version is the version reported at this revision (0 for a tombstone). */
  version: number;
}

/** newRevRecord returns a blank RevRecord to pass to KeyIndex.find. */
export function newRevRecord(): RevRecord {
  return { main: 0, sub: 0, tombstone: false, created: 0, version: 0 };
}

const STRIDE = 4;

/** KeyIndex is every retained revision of one key, oldest first; the latest is always present. */
export class KeyIndex {
  /** key is the key's bytes as a latin1 string (one char per byte: string order is byte order). */
  readonly key: string;
  /** main is the main revision of the latest record. */
  main: number;
  /** subT packs the latest record's sub revision and tombstone flag: sub * 2 + (tombstone ? 1 : 0). */
  subT: number;
  /** created is the latest record's create_revision (0 if it is a tombstone). */
  created: number;
  /** ver is the latest record's version (0 if it is a tombstone). */
  ver: number;
  /** lease is the lease attached to the latest record (0n if none or a tombstone). */
  lease: bigint;
  /** older holds earlier records: [main, subT, created, ver] × n, ascending. */
  older: number[] | null;

  /** constructor records a key's first retained revision. */
  constructor(key: string, main: number, subT: number, created: number, ver: number, lease: bigint) {
    this.key = key;
    this.main = main;
    this.subT = subT;
    this.created = created;
    this.ver = ver;
    this.lease = lease;
    this.older = null;
  }

  /** live says whether the latest record is a put (the key exists now). */
  get live(): boolean {
    return this.subT % 2 === 0;
  }

  /** sub is the latest record's sub revision. */
  get sub(): number {
    return Math.floor(this.subT / 2);
  }

  /** hasHistory says whether compaction could change this key (older records or a tombstone). */
  get hasHistory(): boolean {
    return this.older !== null || !this.live;
  }

  #pushLatest(): void {
    if (this.older === null) this.older = [this.main, this.subT, this.created, this.ver];
    else this.older.push(this.main, this.subT, this.created, this.ver);
  }

  /** put records a put at (main, sub): a new generation (version 1) if the key is deleted. */
  put(main: number, sub: number, lease: bigint): void {
    const live = this.live;
    this.#pushLatest();
    if (!live) {
      this.created = main;
      this.ver = 1;
    } else {
      this.ver += 1;
    }
    this.main = main;
    this.subT = sub * 2;
    this.lease = lease;
  }

  /** tombstone records a delete at (main, sub); the key must be live. */
  tombstone(main: number, sub: number): void {
    this.#pushLatest();
    this.main = main;
    this.subT = sub * 2 + 1;
    this.created = 0;
    this.ver = 0;
    this.lease = 0n;
  }

  /** append adds a record read back from disk (rebuilding the index in revision order). */
  append(main: number, sub: number, tombstone: boolean, created: number, ver: number, lease: bigint): void {
    this.#pushLatest();
    this.main = main;
    this.subT = sub * 2 + (tombstone ? 1 : 0);
    this.created = tombstone ? 0 : created;
    this.ver = tombstone ? 0 : ver;
    this.lease = tombstone ? 0n : lease;
  }

  /**
   * find fills `out` with the latest record at or below main revision `rev` and returns whether
   * the key existed then (found and not a tombstone).
   */
  find(rev: number, out: RevRecord): boolean {
    if (this.main <= rev) {
      out.main = this.main;
      out.sub = Math.floor(this.subT / 2);
      out.tombstone = this.subT % 2 === 1;
      out.created = this.created;
      out.version = this.ver;
      return !out.tombstone;
    }
    const older = this.older;
    if (older === null) return false;
    // Binary search for the last record with main <= rev.
    let lo = 0;
    let hi = older.length / STRIDE;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((older[mid * STRIDE] as number) <= rev) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return false;
    const at = (lo - 1) * STRIDE;
    const subT = older[at + 1] as number;
    out.main = older[at] as number;
    out.sub = Math.floor(subT / 2);
    out.tombstone = subT % 2 === 1;
    out.created = older[at + 2] as number;
    out.version = older[at + 3] as number;
    return !out.tombstone;
  }

  /**
   * compact drops history below `atRev` as etcd does — of the records below atRev only the
   * latest survives, and not even that one if it is a tombstone — with one difference: every
   * record *at* atRev is kept (tombstones and same-revision predecessors included) until a later
   * compaction, so a watch starting exactly at the compacted revision replays that revision whole
   * (etcd silently drops a tombstone there). Reads are unaffected: none goes below atRev.
   * `drop` hears each dropped record. Returns true if nothing is left (the caller removes the key).
   */
  compact(atRev: number, drop: (main: number, sub: number, tombstone: boolean) => void): boolean {
    const older = this.older;
    const n = older === null ? 0 : older.length / STRIDE;
    const mainAt = (i: number): number => (i === n ? this.main : ((older as number[])[i * STRIDE] as number));
    const isTomb = (i: number): boolean => (i === n ? this.subT : ((older as number[])[i * STRIDE + 1] as number)) % 2 === 1;
    // first = index of the first record to keep (records 0..n, n being the latest, in fields).
    let first = 0;
    let sawAtRev = false;
    for (let i = n; i >= 0; i--) {
      const main = mainAt(i);
      if (main > atRev) continue;
      if (main === atRev) {
        first = i; // keep every record of revision atRev: walk on to its first one
        sawAtRev = true;
        continue;
      }
      // The latest record below atRev survives only if nothing at atRev supersedes it and it is not a tombstone.
      if (!sawAtRev) first = isTomb(i) ? i + 1 : i;
      break;
    }
    if (first === 0) return false;
    if (older !== null) {
      const fromOlder = Math.min(first, n);
      for (let i = 0; i < fromOlder; i++) {
        const subT = older[i * STRIDE + 1] as number;
        drop(older[i * STRIDE] as number, Math.floor(subT / 2), subT % 2 === 1);
      }
      if (fromOlder === n) this.older = null;
      else older.splice(0, fromOlder * STRIDE);
    }
    if (first > n) {
      // The latest record is a tombstone below atRev: the key is gone entirely.
      drop(this.main, Math.floor(this.subT / 2), true);
      return true;
    }
    return false;
  }

  /** recordCount is the number of retained records (for tests and diagnostics). */
  get recordCount(): number {
    return 1 + (this.older === null ? 0 : this.older.length / STRIDE);
  }
}
