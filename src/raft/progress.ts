/**
 * progress: what a leader knows of one follower's log, and the flow-control state machine that
 * decides how appends are sent to it (etcd-io/raft's tracker):
 * - probe: the leader does not know where the follower's log ends; one append at a time;
 * - replicate: appends stream optimistically, bounded by a window of in-flight messages;
 * - snapshot: the follower needs a snapshot; nothing else is sent until it is reported.
 * Every transition is a method here; the core reports events (an acknowledgement, a rejection,
 * a heartbeat answer, a timeout) and asks whether it may send.
 */
import type { LogIndex } from './types.js';
import { logIndex } from './types.js';

/**
 * SNAPSHOT_RETRY_TIMEOUTS is how many leader election timeouts a snapshot may stay unreported
 * before it is presumed lost and the follower is probed again (which sends a fresh one if the
 * follower still needs it).
 */
export const SNAPSHOT_RETRY_TIMEOUTS = 2;

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

  /** count is the number of appends in flight. */
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

  /** reset forgets every append in flight. */
  reset(): void {
    this.#start = 0;
    this.#count = 0;
  }
}

/** ProgressState names the flow-control state of a follower. */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Progress tracks one peer from the leader's point of view; only its methods change it. */
export class Progress {
  #match: LogIndex = logIndex(0);
  #next: LogIndex;
  #state: ProgressState = 'probe';
  #pendingSnapshot: LogIndex = logIndex(0);
  #recentActive = false;
  #sentCommit: LogIndex = logIndex(0);
  #snapshotTimeouts = 0;
  /** #probeSent pauses a probing follower until it answers (one probe in flight). */
  #probeSent = false;
  #isLearner: boolean;
  readonly #inflights: Inflights;

  constructor(next: LogIndex, maxInflight: number, isLearner: boolean) {
    this.#next = next;
    this.#isLearner = isLearner;
    this.#inflights = new Inflights(maxInflight);
  }

  /** match is the highest index known to be in the peer's log. */
  get match(): LogIndex {
    return this.#match;
  }

  /** next is the index of the next entry to send. */
  get next(): LogIndex {
    return this.#next;
  }

  /** state is the flow-control state. */
  get state(): ProgressState {
    return this.#state;
  }

  /** pendingSnapshot is the index of the snapshot in flight while state is 'snapshot' (0 if failed). */
  get pendingSnapshot(): LogIndex {
    return this.#pendingSnapshot;
  }

  /** recentActive is set by any message from the peer; check-quorum reads and clears it. */
  get recentActive(): boolean {
    return this.#recentActive;
  }

  /** sentCommit is the commit index carried by the last append sent to this peer. */
  get sentCommit(): LogIndex {
    return this.#sentCommit;
  }

  /** isLearner tells whether the peer replicates without voting. */
  get isLearner(): boolean {
    return this.#isLearner;
  }

  /** inflightCount is the number of unacknowledged appends in replicate state. */
  get inflightCount(): number {
    return this.#inflights.count;
  }

  /** setLearner records the peer's role after a configuration change. */
  setLearner(isLearner: boolean): void {
    this.#isLearner = isLearner;
  }

  /** markActive records that the peer was heard from (see recentActive). */
  markActive(): void {
    this.#recentActive = true;
  }

  /** clearActive starts a new check-quorum period for this peer. */
  clearActive(): void {
    this.#recentActive = false;
  }

  #reset(state: ProgressState): void {
    this.#probeSent = false;
    this.#pendingSnapshot = logIndex(0);
    this.#snapshotTimeouts = 0;
    this.#state = state;
    this.#inflights.reset();
  }

  /** becomeProbe starts probing from just after the last known match (or the snapshot sent). */
  becomeProbe(): void {
    if (this.#state === 'snapshot') {
      const pending = this.#pendingSnapshot;
      this.#reset('probe');
      this.#next = logIndex(Math.max(this.#match + 1, pending + 1));
    } else {
      this.#reset('probe');
      this.#next = logIndex(this.#match + 1);
    }
  }

  /** becomeReplicate starts streaming appends after the match. */
  becomeReplicate(): void {
    this.#reset('replicate');
    this.#next = logIndex(this.#match + 1);
  }

  /** becomeSnapshot waits for the follower to install snapshot `index`. */
  becomeSnapshot(index: LogIndex): void {
    this.#reset('snapshot');
    this.#pendingSnapshot = index;
  }

  /** maybeUpdate records an acknowledgement of `n`; false if it was stale. */
  maybeUpdate(n: LogIndex): boolean {
    let updated = false;
    if (this.#match < n) {
      this.#match = n;
      updated = true;
      this.#probeSent = false;
    }
    if (this.#next < n + 1) this.#next = logIndex(n + 1);
    return updated;
  }

  /**
   * acknowledge handles an accepted append up to `n`: a probe that found the match starts
   * replicating, a follower that installed its snapshot (its log now reaches the leader's
   * `firstIndex`) replicates from there, and a replicating one frees its window. False (and no
   * change of state) when the acknowledgement is stale.
   */
  acknowledge(n: LogIndex, firstIndex: LogIndex): boolean {
    if (!this.maybeUpdate(n)) return false;
    switch (this.#state) {
      case 'probe':
        this.becomeReplicate();
        break;
      case 'snapshot':
        if (this.#match + 1 >= firstIndex) {
          this.becomeProbe();
          this.becomeReplicate();
        }
        break;
      case 'replicate':
        this.#inflights.freeLE(n);
        break;
    }
    return true;
  }

  /**
   * maybeDecrTo handles a rejection of the append at `rejected`; `hint` is the highest index
   * the follower might match. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: LogIndex, hint: LogIndex): boolean {
    if (this.#state === 'replicate') {
      // A rejection at or below the match is a duplicate from before the match was known.
      if (rejected <= this.#match) return false;
      this.#next = logIndex(this.#match + 1);
      return true;
    }
    // In probe, only the rejection of the probe we sent (at next-1) counts.
    if (this.#next - 1 !== rejected) return false;
    this.#next = logIndex(Math.max(Math.min(rejected, hint + 1), this.#match + 1, 1));
    this.#probeSent = false;
    return true;
  }

  /**
   * reject handles a rejected append (see maybeDecrTo): a replicating follower falls back to
   * probing. True when the leader should send a new probe at once.
   */
  reject(rejected: LogIndex, hint: LogIndex): boolean {
    if (!this.maybeDecrTo(rejected, hint)) return false;
    if (this.#state === 'replicate') this.becomeProbe();
    return true;
  }

  /**
   * heartbeatAnswered handles a heartbeat response: the peer is alive, so a probe may go out
   * again and a full window frees its oldest slot (an append may have been lost).
   */
  heartbeatAnswered(): void {
    this.#recentActive = true;
    this.#probeSent = false;
    if (this.#state === 'replicate' && this.#inflights.full()) this.#inflights.freeFirstOne();
  }

  /**
   * sentAppend records an append carrying commit index `commit` whose last entry is `last`
   * (null for an empty append, which pauses a probe as well).
   */
  sentAppend(commit: LogIndex, last: LogIndex | null): void {
    this.#sentCommit = commit;
    switch (this.#state) {
      case 'replicate':
        if (last === null) return;
        this.#next = logIndex(last + 1);
        this.#inflights.add(last);
        return;
      case 'probe':
        this.#probeSent = true;
        return;
      case 'snapshot':
        if (last === null) return;
        throw new Error('Progress.sentAppend: cannot send entries while a snapshot is pending');
    }
  }

  /** unreachable handles a failed send: a replicating follower falls back to probing. */
  unreachable(): void {
    if (this.#state === 'replicate') this.becomeProbe();
  }

  /**
   * snapshotReported handles the outcome of a snapshot send (a failed one forgets the pending
   * index, so probing restarts from the match); either way the leader then waits for the
   * follower's append response before sending more (probe, paused).
   */
  snapshotReported(ok: boolean): void {
    if (this.#state !== 'snapshot') return;
    if (!ok) this.#pendingSnapshot = logIndex(0);
    this.becomeProbe();
    this.#probeSent = true;
  }

  /**
   * electionTimeoutElapsed is called on the leader at each election timeout: a snapshot not
   * reported within SNAPSHOT_RETRY_TIMEOUTS of them is presumed lost, and probing starts again.
   */
  electionTimeoutElapsed(): void {
    if (this.#state === 'snapshot' && ++this.#snapshotTimeouts >= SNAPSHOT_RETRY_TIMEOUTS) this.becomeProbe();
  }

  /** isPaused tells whether the leader must hold further appends to this peer. */
  isPaused(): boolean {
    switch (this.#state) {
      case 'probe':
        return this.#probeSent;
      case 'replicate':
        return this.#inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
