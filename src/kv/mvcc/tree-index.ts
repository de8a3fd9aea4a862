/**
 * tree-index: every key's KeyIndex in key order — etcd's treeIndex.
 *
 * A two-level sorted array ("sorted list of blocks"): blocks of at most 2·LOAD entries plus the
 * last key of each block. A lookup is two binary searches (O(log n)); an insert or delete moves at
 * most 2·LOAD pointers (LOAD = 512) inside one block, plus a rare split or merge that moves n/LOAD pointers in
 * the block list. Range scans walk blocks in order. At 1M keys that is ~2,000 blocks: cheaper in
 * memory than a pointer-heavy B-tree (one 8-byte slot per key) and as fast for our access
 * patterns. Keys are latin1 strings, so JS string comparison is byte-wise comparison.
 *
 * Each block also counts its live keys (latest record a put), so counting the keys that exist
 * now in a range — etcd reports that count with every limited Range — costs one addition per
 * block instead of a walk over every key (a 500-key page of 1M keys: ~2,000 additions).
 */

import type { KeyIndex } from './key-index.js';

/** DEFAULT_LOAD is the target block size: blocks split above 2·LOAD and merge below LOAD/4. */
const DEFAULT_LOAD = 512;

function lowerBound(block: readonly KeyIndex[], key: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((block[mid] as KeyIndex).key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countLive(block: readonly KeyIndex[]): number {
  let n = 0;
  for (const e of block) if (e.live) n++;
  return n;
}

/** TreeIndex is an ordered map from key (latin1 string) to its KeyIndex. */
export class TreeIndex {
  readonly #load: number;
  readonly #maxBlock: number;
  readonly #minBlock: number;
  #blocks: KeyIndex[][] = [];
  #maxes: string[] = [];
  /** #live[b] counts the live keys of block b. */
  #live: number[] = [];
  #size = 0;

  /** constructor takes the block load (tests use tiny blocks to exercise splits and merges). */
  constructor(load = DEFAULT_LOAD) {
    this.#load = Math.max(2, load);
    this.#maxBlock = 2 * this.#load;
    this.#minBlock = Math.max(1, Math.floor(this.#load / 4));
  }

  /**
   * appendGreatest adds a KeyIndex whose key is greater than every key held, without a search:
   * the last block fills to LOAD entries (room to grow before a split), then a new one starts.
   * Its live count is not kept: call recountLive when done.
   */
  appendGreatest(entry: KeyIndex): void {
    const last = this.#blocks.length - 1;
    const block = this.#blocks[last];
    if (block === undefined || block.length >= this.#load) {
      this.#blocks.push([entry]);
      this.#maxes.push(entry.key);
      this.#live.push(0);
    } else {
      block.push(entry);
      this.#maxes[last] = entry.key;
    }
    this.#size++;
  }

  /** size is the number of keys held (live or with only tombstones left). */
  get size(): number {
    return this.#size;
  }

  /** #blockFor returns the first block whose last key is ≥ key (blocks.length if none). */
  #blockFor(key: string): number {
    const maxes = this.#maxes;
    let lo = 0;
    let hi = maxes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((maxes[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** get returns the KeyIndex of `key`, if any. */
  get(key: string): KeyIndex | undefined {
    const b = this.#blockFor(key);
    const block = this.#blocks[b];
    if (block === undefined) return undefined;
    const e = block[lowerBound(block, key)];
    return e !== undefined && e.key === key ? e : undefined;
  }

  /** insert adds a KeyIndex whose key is not yet present. */
  insert(entry: KeyIndex): void {
    const key = entry.key;
    this.#size++;
    if (this.#blocks.length === 0) {
      this.#blocks.push([entry]);
      this.#maxes.push(key);
      this.#live.push(entry.live ? 1 : 0);
      return;
    }
    let b = this.#blockFor(key);
    if (b === this.#blocks.length) b--;
    const block = this.#blocks[b] as KeyIndex[];
    if (entry.live) this.#live[b] = (this.#live[b] as number) + 1;
    const i = lowerBound(block, key);
    if (i === block.length) {
      block.push(entry);
      this.#maxes[b] = key;
    } else {
      block.splice(i, 0, entry);
    }
    if (block.length > this.#maxBlock) {
      const half = block.splice(this.#load);
      const halfLive = countLive(half);
      this.#blocks.splice(b + 1, 0, half);
      this.#maxes[b] = (block[block.length - 1] as KeyIndex).key;
      this.#maxes.splice(b + 1, 0, (half[half.length - 1] as KeyIndex).key);
      this.#live[b] = (this.#live[b] as number) - halfLive;
      this.#live.splice(b + 1, 0, halfLive);
    }
  }

  /** remove deletes `key`; returns whether it was present. */
  remove(key: string): boolean {
    const b = this.#blockFor(key);
    const block = this.#blocks[b];
    if (block === undefined) return false;
    const i = lowerBound(block, key);
    const e = block[i];
    if (e?.key !== key) return false;
    block.splice(i, 1);
    this.#size--;
    if (e.live) this.#live[b] = (this.#live[b] as number) - 1;
    if (block.length === 0) {
      this.#blocks.splice(b, 1);
      this.#maxes.splice(b, 1);
      this.#live.splice(b, 1);
      return true;
    }
    if (i === block.length) this.#maxes[b] = (block[block.length - 1] as KeyIndex).key;
    if (block.length < this.#minBlock) this.#mergeSmall(b);
    return true;
  }

  #mergeSmall(b: number): void {
    // Merge block b into its right neighbour (or its left one for the last block) when they fit.
    const right = b + 1 < this.#blocks.length ? b + 1 : b - 1;
    if (right < 0) return;
    const lo = Math.min(b, right);
    const a = this.#blocks[lo] as KeyIndex[];
    const c = this.#blocks[lo + 1] as KeyIndex[];
    if (a.length + c.length > this.#maxBlock) return;
    for (const e of c) a.push(e);
    this.#blocks.splice(lo + 1, 1);
    this.#maxes.splice(lo, 1);
    this.#live[lo] = (this.#live[lo] as number) + (this.#live[lo + 1] as number);
    this.#live.splice(lo + 1, 1);
  }

  /**
   * liveChanged records that `key`'s liveness flipped (a deleted key was put again: +1; a live
   * key was deleted: -1). Writers call it after changing a KeyIndex already in the tree.
   */
  liveChanged(key: string, delta: 1 | -1): void {
    const b = this.#blockFor(key);
    if (b < this.#live.length) this.#live[b] = (this.#live[b] as number) + delta;
  }

  /** recountLive recomputes every block's live count (after KeyIndexes changed behind the tree's back). */
  recountLive(): void {
    this.#live = this.#blocks.map(countLive);
  }

  /** countLive counts the live keys with start ≤ key < end (end null: no upper bound). */
  countLive(start: string, end: string | null): number {
    const blocks = this.#blocks;
    const b0 = this.#blockFor(start);
    if (b0 >= blocks.length) return 0;
    const b1 = end === null ? blocks.length : this.#blockFor(end);
    let n = 0;
    const partial = (block: readonly KeyIndex[]): void => {
      for (const e of block) if (e.live && e.key >= start && (end === null || e.key < end)) n++;
    };
    partial(blocks[b0] as KeyIndex[]);
    for (let b = b0 + 1; b < b1 && b < blocks.length; b++) n += this.#live[b] as number;
    if (b1 > b0 && b1 < blocks.length) partial(blocks[b1] as KeyIndex[]);
    return n;
  }

  /**
   * range calls `fn` for each KeyIndex with start ≤ key < end in key order (`end` null means
   * no upper bound); `fn` returns false to stop early.
   */
  range(start: string, end: string | null, fn: (entry: KeyIndex) => boolean | void): void {
    const blocks = this.#blocks;
    let b = this.#blockFor(start);
    if (b >= blocks.length) return;
    let i = lowerBound(blocks[b] as KeyIndex[], start);
    for (; b < blocks.length; b++, i = 0) {
      const block = blocks[b] as KeyIndex[];
      for (; i < block.length; i++) {
        const e = block[i] as KeyIndex;
        if (end !== null && e.key >= end) return;
        if (fn(e) === false) return;
      }
    }
  }

  /** forEach calls `fn` for every KeyIndex in key order. */
  forEach(fn: (entry: KeyIndex) => void): void {
    for (const block of this.#blocks) for (const e of block) fn(e);
  }
}
