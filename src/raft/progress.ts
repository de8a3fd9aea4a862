/**
 * progress: what a leader knows of one follower's log, and the flow-control state machine that
 * decides how appends are sent to it (etcd-io/raft's tracker):
 * - probe: the leader does not know where the follower's log ends; one append at a time;
 * - replicate: appends stream optimistically, bounded by a window of in-flight messages;
 * - snapshot: the follower needs a snapshot; nothing else is sent until it is reported.
 */
import type { LogIndex } from './types.js';
import { logIndex } from './types.js';

/** Inflights is a bounded ring of the last index of each append message not yet acknowledged. */
export class Inflights {
  readonly #buf: number[];
  #start = 0;
  #count = 0;

  constructor(readonly capacity: number) {
    this.#buf = new Array<number>(capacity).fill(0);
  }

  /** full tells whether no more appends may be in flight. */
  full(): boolean {
    return this.#count >= this.capacity;
  }

  get count(): number {
    return this.#count;
  }

  /** add records an append whose last entry is `last`. */
  add(last: number): void {
    if (this.full()) throw new Error('Inflights.add: window is full (caller must check full() first)');
    this.#buf[(this.#start + this.#count) % this.capacity] = last;
    this.#count++;
  }

  /** freeLE releases every in-flight append whose last index is ≤ `to`. */
  freeLE(to: number): void {
    while (this.#count > 0 && this.#buf[this.#start]! <= to) {
      this.#start = (this.#start + 1) % this.capacity;
      this.#count--;
    }
  }

  /** freeFirstOne releases the oldest in-flight append (a heartbeat answered: the link is alive). */
  freeFirstOne(): void {
    if (this.#count === 0) return;
    this.#start = (this.#start + 1) % this.capacity;
    this.#count--;
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
  }
}

/** ProgressState names the flow-control state of a follower. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Progress tracks one peer from the leader's point of view. */
export class Progress {
  match: LogIndex;
  next: LogIndex;
  state: ProgressState = 'probe';
  /** pendingSnapshot is the index of the snapshot in flight while state is 'snapshot'. */
  pendingSnapshot: LogIndex = logIndex(0);
  /** recentActive is set by any message from the peer; check-quorum reads and clears it. */
  recentActive = false;
  /** sentCommit is the commit index carried by the last append sent to this peer. */
  sentCommit: LogIndex = logIndex(0);
  /** snapshotTicks counts election timeouts spent waiting for a snapshot to be reported. */
  snapshotTicks = 0;
  /** probeSent pauses a probing follower until it answers (one probe in flight). */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: LogIndex, maxInflight: number, public isLearner: boolean) {
    this.match = logIndex(0);
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  #reset(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = logIndex(0);
    this.snapshotTicks = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** becomeProbe starts probing from just after the last known match (or the snapshot sent). */
  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.#reset('probe');
      this.next = logIndex(Math.max(this.match + 1, pending + 1));
    } else {
      this.#reset('probe');
      this.next = logIndex(this.match + 1);
    }
  }

  /** becomeReplicate starts streaming appends after the match. */
  becomeReplicate(): void {
    this.#reset('replicate');
    this.next = logIndex(this.match + 1);
  }

  /** becomeSnapshot waits for the follower to install snapshot `index`. */
  becomeSnapshot(index: LogIndex): void {
    this.#reset('snapshot');
    this.pendingSnapshot = index;
  }

  /** maybeUpdate records an acknowledgement of `n`; false if it was stale. */
  maybeUpdate(n: LogIndex): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = logIndex(n + 1);
    return updated;
  }

  /** sentEntries records an append of entries ending at `last`. */
  sentEntries(last: LogIndex): void {
    switch (this.state) {
      case 'replicate':
        this.next = logIndex(last + 1);
        this.inflights.add(last);
        break;
      case 'probe':
        this.probeSent = true;
        break;
      case 'snapshot':
        throw new Error('Progress.sentEntries: cannot send entries while a snapshot is pending');
    }
  }

  /**
   * maybeDecrTo handles a rejection of the append at `rejected`; `hint` is the highest index
   * the follower might match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: LogIndex, hint: LogIndex): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below the match is a duplicate from before the match was known.
      if (rejected <= this.match) return false;
      this.next = logIndex(this.match + 1);
      return true;
    }
    // In probe, only the rejection of the probe we sent (at next-1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = logIndex(Math.max(Math.min(rejected, hint + 1), this.match + 1, 1));
    this.probeSent = false;
    return true;
  }

  /** isPaused tells whether the leader must hold further appends to this peer. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
