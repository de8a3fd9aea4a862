/**
 * tracker: the cluster as the core sees it (etcd-io/raft's ProgressTracker) — the voter and
 * learner configuration, each member's Progress while this node leads, and the votes of the
 * current election. The quorum questions the core asks (what is committed, is a quorum still
 * active, is the election won) are answered here, over the voters only: learners replicate but
 * never count. Every walk over the members goes in ascending id order, so what the core sends
 * does not depend on the history of configuration changes.
 *
 * There is no joint consensus: membership changes one server at a time (membership.ts), so the
 * configuration is a single voter set.
 */
import type { ConfState, LogIndex, NodeId } from './types.js';
import { NO_NODE } from './types.js';
import { Progress } from './progress.js';
import { committedIndex, hasQuorum, voteResult, type VoteOutcome } from './quorum.js';

/** VoteTally is the state of an election: votes granted and refused by voters, and the outcome. */
export interface VoteTally {
  readonly granted: number;
  readonly rejected: number;
  readonly result: VoteOutcome;
}

function sortedIds(ids: readonly NodeId[]): readonly NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

/** ProgressTracker owns the configuration, the per-member progress and the votes. */
export class ProgressTracker {
  readonly #maxInflight: number;
  #conf: ConfState;
  /** #voters and #learners are the configuration's members in ascending id order. */
  #voters: readonly NodeId[];
  #learners: readonly NodeId[];
  readonly #progress = new Map<NodeId, Progress>();
  /** #order is the progress entries in ascending id order, the order visit() walks. */
  #order: readonly (readonly [NodeId, Progress])[] = [];
  /** #tracking is true while progress is kept for every member (this node leads). */
  #tracking = false;
  readonly #votes = new Map<NodeId, boolean>();

  /** maxInflight bounds each member's window of unacknowledged appends (see Progress). */
  constructor(conf: ConfState, maxInflight: number) {
    this.#maxInflight = maxInflight;
    this.#conf = conf;
    this.#voters = sortedIds(conf.voters);
    this.#learners = sortedIds(conf.learners);
  }

  // ---- configuration ----------------------------------------------------------------------

  /** conf is the current configuration, as given to the tracker. */
  get conf(): ConfState {
    return this.#conf;
  }

  /** voters are the voting members in ascending id order. */
  get voters(): readonly NodeId[] {
    return this.#voters;
  }

  /** learners are the non-voting members in ascending id order. */
  get learners(): readonly NodeId[] {
    return this.#learners;
  }

  /** isVoter tells whether `id` votes in the current configuration. */
  isVoter(id: NodeId): boolean {
    return this.#voters.includes(id);
  }

  /** isLearner tells whether `id` is a learner in the current configuration. */
  isLearner(id: NodeId): boolean {
    return this.#learners.includes(id);
  }

  /** isSoleVoter tells whether `id` is the only voter, so that it alone is a quorum. */
  isSoleVoter(id: NodeId): boolean {
    return this.#voters.length === 1 && this.#voters[0] === id;
  }

  /**
   * setConf replaces the configuration. While progress is tracked, members that left lose
   * their Progress, members that joined get one starting at `next` (counted as recently active,
   * so check-quorum gives them a full period), and every member's learner flag is updated.
   */
  setConf(conf: ConfState, next: LogIndex): void {
    this.#conf = conf;
    this.#voters = sortedIds(conf.voters);
    this.#learners = sortedIds(conf.learners);
    if (!this.#tracking) return;
    for (const id of [...this.#progress.keys()]) {
      if (!this.isVoter(id) && !this.isLearner(id)) this.#progress.delete(id);
    }
    for (const id of [...this.#voters, ...this.#learners]) {
      const learner = this.isLearner(id);
      const pr = this.#progress.get(id);
      if (pr === undefined) {
        const fresh = new Progress(next, this.#maxInflight, learner);
        fresh.markActive();
        this.#progress.set(id, fresh);
      } else {
        pr.setLearner(learner);
      }
    }
    this.#reorder();
  }

  // ---- progress ---------------------------------------------------------------------------

  /**
   * resetProgress starts tracking: every member gets a fresh Progress, probing from `next`
   * (a new leader knows nothing of its followers' logs).
   */
  resetProgress(next: LogIndex): void {
    this.#progress.clear();
    for (const id of this.#voters) this.#progress.set(id, new Progress(next, this.#maxInflight, false));
    for (const id of this.#learners) this.#progress.set(id, new Progress(next, this.#maxInflight, true));
    this.#tracking = true;
    this.#reorder();
  }

  /** clearProgress stops tracking (this node no longer leads). */
  clearProgress(): void {
    if (!this.#tracking) return;
    this.#progress.clear();
    this.#order = [];
    this.#tracking = false;
  }

  #reorder(): void {
    this.#order = [...this.#progress].sort((a, b) => a[0] - b[0]);
  }

  /** progress is the Progress of `id`, or undefined when `id` is not tracked. */
  progress(id: NodeId): Progress | undefined {
    return this.#progress.get(id);
  }

  /**
   * visit calls `fn` for every tracked member, in ascending id order. `fn` may change the
   * Progress it is given but must not change the configuration.
   */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    const order = this.#order;
    for (let i = 0; i < order.length; i++) fn(order[i]![0], order[i]![1]);
  }

  /** committed is the highest index a quorum of voters holds, from their match indexes (§5.3). */
  committed(): LogIndex {
    return committedIndex(this.#voters, (id) => this.#progress.get(id)?.match ?? 0);
  }

  /**
   * quorumActive tells whether a quorum of voters was heard from since the last
   * resetRecentActive (check-quorum, thesis §6.2). NB: the leader's own Progress is marked
   * active when it starts leading and is never cleared, so the leader counts itself.
   */
  quorumActive(): boolean {
    return hasQuorum(this.#voters, (id) => this.#progress.get(id)?.recentActive === true);
  }

  /** resetRecentActive starts a new check-quorum period for every member except `self`. */
  resetRecentActive(self: NodeId): void {
    this.visit((id, pr) => {
      if (id !== self) pr.clearActive();
    });
  }

  /** hasQuorum tells whether the voters among `ids` form a quorum (e.g. ReadIndex acknowledgements). */
  hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    return hasQuorum(this.#voters, (id) => ids.has(id));
  }

  /**
   * mostUpToDateVoter is the tracked voter with the highest match index (the lowest id among
   * equals), or NO_NODE when no voter is tracked.
   */
  mostUpToDateVoter(): NodeId {
    let best: NodeId = NO_NODE;
    let bestMatch = -1;
    for (const id of this.#voters) {
      const m = this.#progress.get(id)?.match ?? -1;
      if (m > bestMatch) {
        best = id;
        bestMatch = m;
      }
    }
    return best;
  }

  // ---- votes ------------------------------------------------------------------------------

  /** resetVotes forgets every vote (a new election starts). */
  resetVotes(): void {
    this.#votes.clear();
  }

  /** recordVote records `id`'s answer; a later answer from the same member replaces it. */
  recordVote(id: NodeId, granted: boolean): void {
    this.#votes.set(id, granted);
  }

  /** tallyVotes counts the voters' answers and says whether the election is won, lost or pending. */
  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const id of this.#voters) {
      const v = this.#votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.#voters, this.#votes) };
  }
}
