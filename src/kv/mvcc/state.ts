/**
 * state: the pieces of an open store shared by its read, write and maintenance code, and the
 * key helpers they all use. Internal to the mvcc folder.
 */

import type { Backend } from './backend.js';
import type { KeyIndex } from './key-index.js';
import type { TreeIndex } from './tree-index.js';

/** MvccState is an open store's data: index, persistence and revision counters. */
export interface MvccState {
  readonly tree: TreeIndex;
  readonly backend: Backend;
  /** leases maps each lease to the live keys attached to it. */
  readonly leases: Map<bigint, Set<KeyIndex>>;
  currentRev: number;
  compactedRev: number;
  /** beforeChange, when set, hears each existing KeyIndex just before a put or a tombstone changes it (an index checkpoint being encoded). */
  beforeChange: ((ki: KeyIndex) => void) | null;
}

/** EMPTY_BUFFER is the shared zero-length buffer (absent values and keys). */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** latin1 views bytes as a latin1 string: one char per byte, so string order is byte order. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** KeySpan is a request's key range in index terms. */
export interface KeySpan {
  readonly start: string;
  /** end is exclusive; null means no upper bound. */
  readonly end: string | null;
  /** single means only `start` itself. */
  readonly single: boolean;
}

/**
 * keySpan applies etcd's range_end conventions: empty → the single key; "\0" → every key ≥ key;
 * otherwise [key, range_end).
 */
export function keySpan(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeySpan {
  const start = latin1(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: null, single: true };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null, single: false };
  return { start, end: latin1(rangeEnd), single: false };
}

/** forEachInSpan calls `fn` for each KeyIndex in the span, in key order; `fn` returns false to stop. */
export function forEachInSpan(state: MvccState, span: KeySpan, fn: (ki: KeyIndex) => boolean | void): void {
  if (span.single) {
    const ki = state.tree.get(span.start);
    if (ki !== undefined) fn(ki);
    return;
  }
  if (span.end !== null && span.end <= span.start) return;
  state.tree.range(span.start, span.end, fn);
}

/** attachLease records that `ki` is attached to `lease` (0n: nothing). */
export function attachLease(state: MvccState, lease: bigint, ki: KeyIndex): void {
  if (lease === 0n) return;
  let set = state.leases.get(lease);
  if (set === undefined) {
    set = new Set();
    state.leases.set(lease, set);
  }
  set.add(ki);
}

/** detachLease forgets that `ki` is attached to `lease`. */
export function detachLease(state: MvccState, lease: bigint, ki: KeyIndex): void {
  if (lease === 0n) return;
  const set = state.leases.get(lease);
  if (set === undefined) return;
  set.delete(ki);
  if (set.size === 0) state.leases.delete(lease);
}
