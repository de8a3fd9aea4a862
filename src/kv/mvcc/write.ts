/**
 * write: a write transaction — etcd's storeTxnWrite. Every put and delete in it shares main
 * revision `rev` (current + 1) with increasing sub revisions; the revision moves only if
 * something changed. Requests reaching here have passed their checks (txn.ts), so nothing fails
 * half-way; the transaction is atomic because nothing else runs until end().
 */

import { encodeKeyValue } from './codec.js';
import { KeyIndex } from './key-index.js';
import { readLatest } from './range.js';
import { EMPTY_BUFFER, attachLease, detachLease, forEachInSpan, keySpan, latin1, type MvccState } from './state.js';
import type { ChangeSet, DeleteRangeRequest, DeleteRangeResult, KeyValue, MvccEvent, PutRequest, PutResult } from './types.js';

/** WriteTxn applies puts and deletes at one new revision; call end() to publish it. */
export class WriteTxn {
  readonly #state: MvccState;
  /** rev is the main revision this transaction writes at. */
  readonly rev: number;
  #sub = 0;
  readonly #events: MvccEvent[] = [];

  /** constructor opens a write transaction at the store's next revision. */
  constructor(state: MvccState) {
    this.#state = state;
    this.rev = state.currentRev + 1;
  }

  /** viewRev is the revision reads inside the transaction see: `rev` once it has written. */
  get viewRev(): number {
    return this.#sub > 0 ? this.rev : this.rev - 1;
  }

  /** changed says whether anything has been written. */
  get changed(): boolean {
    return this.#sub > 0;
  }

  /**
   * put writes one key. ignore_value/ignore_lease on a key that does not exist were rejected by
   * the checks; should an earlier operation of the same transaction have deleted it (etcd's API
   * layer refuses such transactions), they fall back to an empty value and no lease.
   */
  put(req: PutRequest): PutResult {
    const state = this.#state;
    const rev = this.rev;
    const sub = this.#sub++;
    const keyStr = latin1(req.key);
    const existing = state.tree.get(keyStr);
    const live = existing !== undefined && existing.live ? existing : undefined;
    let prev: KeyValue | undefined;
    if (live !== undefined && (req.prev_kv === true || req.ignore_value === true)) {
      prev = readLatest(state, [live])[0];
    }
    const value = req.ignore_value === true ? (prev?.value ?? EMPTY_BUFFER) : (req.value ?? EMPTY_BUFFER);
    const lease = req.ignore_lease === true ? (live?.lease ?? 0n) : (req.lease ?? 0n);
    const created = live?.created ?? rev;
    const version = live !== undefined ? live.ver + 1 : 1;
    const enc = encodeKeyValue(req.key, { create_revision: created, mod_revision: rev, version, value, lease });
    state.backend.putRev(rev, sub, false, enc.bytes);
    const oldLease = live?.lease ?? 0n;
    let ki = existing;
    if (ki === undefined) {
      ki = new KeyIndex(keyStr, rev, sub * 2, rev, 1, lease);
      state.tree.insert(ki);
    } else {
      if (state.beforeChange !== null) state.beforeChange(ki);
      ki.put(rev, sub, lease);
      if (live === undefined) state.tree.liveChanged(keyStr, 1);
    }
    if (oldLease !== lease) {
      detachLease(state, oldLease, ki);
      attachLease(state, lease, ki);
    }
    this.#events.push({ type: 'PUT', kv: enc.kv });
    return req.prev_kv === true && prev !== undefined ? { revision: rev, prev_kv: prev } : { revision: rev };
  }

  /** deleteRange deletes every live key in range, writing a tombstone for each. */
  deleteRange(req: DeleteRangeRequest): DeleteRangeResult {
    const state = this.#state;
    const victims: KeyIndex[] = [];
    forEachInSpan(state, keySpan(req.key, req.range_end), (ki) => {
      if (ki.live) victims.push(ki);
    });
    const prevKvs = req.prev_kv === true && victims.length > 0 ? readLatest(state, victims) : [];
    for (const ki of victims) this.#tombstone(ki);
    return { revision: this.viewRev, deleted: victims.length, prev_kvs: prevKvs };
  }

  /** deleteKeys deletes the given live keys (lease revocation), in the order given. */
  deleteKeys(keys: readonly KeyIndex[]): number {
    let n = 0;
    for (const ki of keys) {
      if (!ki.live) continue;
      this.#tombstone(ki);
      n++;
    }
    return n;
  }

  #tombstone(ki: KeyIndex): void {
    const state = this.#state;
    const rev = this.rev;
    const sub = this.#sub++;
    const key = Buffer.from(ki.key, 'latin1');
    // etcd stores a tombstone as KeyValue{key} under the revision key marked 't'.
    const enc = encodeKeyValue(key, { create_revision: 0, mod_revision: 0, version: 0, value: EMPTY_BUFFER, lease: 0n });
    state.backend.putRev(rev, sub, true, enc.bytes);
    detachLease(state, ki.lease, ki);
    if (state.beforeChange !== null) state.beforeChange(ki);
    ki.tombstone(rev, sub);
    state.tree.liveChanged(ki.key, -1);
    this.#events.push({
      type: 'DELETE',
      kv: { key: enc.kv.key, create_revision: 0, mod_revision: rev, version: 0, value: EMPTY_BUFFER, lease: 0n },
    });
  }

  /** end publishes the revision if anything changed and returns the change set (null if none). */
  end(): ChangeSet | null {
    if (this.#sub === 0) return null;
    this.#state.currentRev = this.rev;
    return { revision: this.rev, events: this.#events };
  }
}
