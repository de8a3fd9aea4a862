/**
 * raft: the consensus state machine. Pure and deterministic: it reacts to ticks, messages and
 * proposals by changing its state and queueing messages; RawNode packages the results as Ready.
 * Section numbers cite the Raft paper (§) or Ongaro's thesis.
 *
 * NB: this file is longer than our ~600-line guide. What could leave it already has (settings,
 * quorum arithmetic, the progress tracker and per-peer flow control, log, membership, read-only
 * queue); the rest reads and writes the node's private state on every path, and splitting it
 * would mean widening that state to other modules.
 */
import type {
  AppendMessage, AppendResponse, ConfChange, ConfState, DroppedProposal, Entry, ForwardResult, HardState,
  HeartbeatMessage, LogIndex, Message, NodeId, ProposeResult, ReadIndexResult, ReadState, Role, Snapshot,
  SnapshotMessage, SoftState, Term, TransferResult, VoteRequest,
} from './types.js';
import { NO_NODE, logIndex, term as toTerm } from './types.js';
import type { Rng } from './rng.js';
import {
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY, DEFAULT_MAX_INFLIGHT_MSGS, DEFAULT_MAX_LEARNER_LAG, DEFAULT_MAX_SIZE_PER_MSG,
  raftConfigProblem, type RaftConfig,
} from './config.js';
import { RaftLog } from './log.js';
import type { Progress } from './progress.js';
import { ProgressTracker } from './tracker.js';
import { ReadOnlyQueue } from './read-only.js';
import { applyConfChange, encodeConfChange, parseConfChange, validateConfChange } from './membership.js';

interface FollowerRole { readonly role: 'follower' }
/** CandidateRole: the votes of the election are in the tracker. */
interface CandidateRole { readonly role: 'candidate' | 'pre-candidate' }
/** LeaderRole: the followers' progress is in the tracker. */
interface LeaderRole {
  readonly role: 'leader';
  readonly readOnly: ReadOnlyQueue;
  /** pendingReads wait until the leader commits an entry of its own term (thesis §6.4). */
  pendingReads: { from: NodeId; context: Uint8Array }[];
  transferee: NodeId;
  /** bcastPending: entries or a commit advance wait for flushBroadcast. */
  bcastPending: boolean;
}
type RoleState = FollowerRole | CandidateRole | LeaderRole;

function assertNever(x: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(x)}`);
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Raft is the core state machine; drive it through RawNode. Its state is private: RawNode reads
 * it through accessors and hands results back through methods (stableTo, snapshotPersisted,
 * appliedTo), never by writing fields.
 */
export class Raft {
  readonly id: NodeId;
  readonly #log: RaftLog;
  readonly #trk: ProgressTracker;
  #term: Term;
  #vote: NodeId;
  #leader: NodeId = NO_NODE;
  #state: RoleState = { role: 'follower' };
  #msgs: Message[] = [];
  #msgsAfterPersist: Message[] = [];
  #readStates: ReadState[] = [];
  #dropped: DroppedProposal[] = [];
  #pendingConfIndex: LogIndex = logIndex(0);

  readonly #electionTimeout: number;
  readonly #heartbeatTimeout: number;
  readonly #rng: Rng;
  readonly #preVote: boolean;
  readonly #checkQuorum: boolean;
  readonly #maxMsgSize: number;
  readonly #maxLearnerLag: number;
  readonly #maxCommittedSize: number;
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedTimeout = 0;
  /** #termsLed lets a node recognise its own proposals among entries a new leader overwrites. */
  readonly #termsLed = new Set<number>();

  constructor(c: RaftConfig) {
    const bad = raftConfigProblem(c);
    if (bad !== null) throw new RangeError(bad);
    this.id = c.id;
    this.#electionTimeout = c.electionTick;
    this.#heartbeatTimeout = c.heartbeatTick;
    this.#rng = c.rng;
    this.#preVote = c.preVote ?? true;
    this.#checkQuorum = c.checkQuorum ?? true;
    this.#maxMsgSize = c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.#maxLearnerLag = c.maxLearnerLag ?? DEFAULT_MAX_LEARNER_LAG;
    this.#maxCommittedSize = c.maxCommittedSizePerReady ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY;
    this.#log = new RaftLog(c.storage);
    const { hardState, confState } = c.storage.initialState();
    this.#term = hardState.term;
    this.#vote = hardState.vote;
    this.#trk = new ProgressTracker(confState, c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS);
    if (hardState.commit > 0) this.#log.commitTo(hardState.commit);
    if (c.applied !== undefined && c.applied > this.#log.committed) {
      // The state machine applied past the persisted commit (commit is synced lazily): what was
      // applied was committed, so the commit index can be raised to it.
      this.#log.commitTo(logIndex(Math.min(c.applied, this.#log.lastIndex())));
    }
    if (c.applied !== undefined && c.applied > this.#log.applied) {
      // Conf changes between the snapshot and `applied` were applied before the restart: redo them.
      this.#replayConfChanges(logIndex(this.#log.applied + 1), logIndex(Math.min(c.applied, this.#log.committed)));
      this.#log.applied = logIndex(Math.min(c.applied, this.#log.committed));
      this.#log.applying = this.#log.applied;
    }
    this.#becomeFollower(this.#term, NO_NODE);
  }

  #replayConfChanges(lo: LogIndex, hi: LogIndex): void {
    for (const e of this.#log.slice(lo, logIndex(hi + 1), Infinity)) {
      if (e.type !== 'conf-change') continue;
      const cc = parseConfChange(e.data);
      if (cc.ok) this.#setConf(applyConfChange(this.#trk.conf, cc.value));
    }
  }

  #setConf(conf: ConfState): void {
    this.#trk.setConf(conf, logIndex(this.#log.lastIndex() + 1));
  }

  // ---- read-only views, for RawNode ---------------------------------------------------------

  get role(): Role {
    return this.#state.role;
  }

  /** term is the current term. */
  get term(): Term {
    return this.#term;
  }

  /** vote is the node voted for in the current term, or NO_NODE. */
  get vote(): NodeId {
    return this.#vote;
  }

  /** leader is the leader this node knows of in the current term, or NO_NODE. */
  get leader(): NodeId {
    return this.#leader;
  }

  /** conf is the current configuration. */
  get conf(): ConfState {
    return this.#trk.conf;
  }

  /** committed is the commit index. */
  get committed(): LogIndex {
    return this.#log.committed;
  }

  /** applied is the highest index the application acknowledged applying. */
  get applied(): LogIndex {
    return this.#log.applied;
  }

  /** lastIndex is the index of the last entry in the log. */
  lastIndex(): LogIndex {
    return this.#log.lastIndex();
  }

  /** hardState is what must be persisted before messages that depend on it are sent. */
  hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  /** softState is the volatile state the application is told about when it changes. */
  softState(): SoftState {
    return { leader: this.#leader, role: this.#state.role };
  }

  /** hasOutput tells whether messages, entries, a snapshot, reads or committed entries wait. */
  hasOutput(): boolean {
    if (this.#msgs.length > 0 || this.#msgsAfterPersist.length > 0 || this.#needsFlush()) return true;
    if (this.#log.unstable.length > 0 || this.#log.unstableSnapshot !== null) return true;
    if (this.#readStates.length > 0 || this.#dropped.length > 0) return true;
    return this.#log.hasNextCommittedEntries();
  }

  /** unstableEntries are the entries not yet persisted (a copy). */
  unstableEntries(): readonly Entry[] {
    return this.#log.unstable.length > 0 ? this.#log.unstable.slice() : EMPTY;
  }

  /** unstableSnapshot is the snapshot to persist, if one arrived. */
  unstableSnapshot(): Snapshot | null {
    return this.#log.unstableSnapshot;
  }

  /** takeCommittedEntries hands out the next committed entries to apply (bounded in bytes). */
  takeCommittedEntries(): readonly Entry[] {
    const ents = this.#log.nextCommittedEntries(this.#maxCommittedSize);
    if (ents.length > 0) this.#log.applying = ents[ents.length - 1]!.index;
    return ents;
  }

  /** takeMessages hands out the messages that may be sent at once (and forgets them). */
  takeMessages(): readonly Message[] {
    const m = this.#msgs;
    if (m.length === 0) return EMPTY;
    this.#msgs = [];
    return m;
  }

  /** takeMessagesAfterPersist hands out the messages that wait for the Ready's persistence. */
  takeMessagesAfterPersist(): readonly Message[] {
    const m = this.#msgsAfterPersist;
    if (m.length === 0) return EMPTY;
    this.#msgsAfterPersist = [];
    return m;
  }

  /** takeReadStates hands out the answered ReadIndex requests. */
  takeReadStates(): readonly ReadState[] {
    const r = this.#readStates;
    if (r.length === 0) return EMPTY;
    this.#readStates = [];
    return r;
  }

  /** takeDroppedProposals hands out this node's proposals that were overwritten. */
  takeDroppedProposals(): readonly DroppedProposal[] {
    const d = this.#dropped;
    if (d.length === 0) return EMPTY;
    this.#dropped = [];
    return d;
  }

  /** matchOf is how much of the log the leader knows `id` holds (undefined unless leading). */
  matchOf(id: NodeId): LogIndex | undefined {
    return this.#state.role === 'leader' ? this.#trk.progress(id)?.match : undefined;
  }

  /** promotable tells whether this node may campaign: only voters can. */
  #promotable(): boolean {
    return this.#trk.isVoter(this.id);
  }

  #send(m: Message): void {
    // NB: the leader's appends, snapshots, heartbeats and TimeoutNow promise nothing about this
    // node's unpersisted state and may leave at once; every other message waits for the fsync.
    if (m.type === 'prop') {
      this.#msgs.push(m);
    } else if (this.#state.role === 'leader' && (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' || m.type === 'timeout-now' || m.type === 'read-index-resp')) {
      this.#msgs.push(m);
    } else {
      this.#msgsAfterPersist.push(m);
    }
  }

  // ---- role transitions -------------------------------------------------------------------

  #reset(t: Term): void {
    if (this.#term !== t) {
      this.#term = t;
      this.#vote = NO_NODE;
    }
    this.#leader = NO_NODE;
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    this.#randomizedTimeout = this.#electionTimeout + this.#rng.int(this.#electionTimeout);
    this.#trk.resetVotes();
    this.#trk.clearProgress();
  }

  #becomeFollower(t: Term, leader: NodeId): void {
    this.#reset(t);
    this.#state = { role: 'follower' };
    this.#leader = leader;
  }

  #becomeLeader(): void {
    this.#reset(this.#term);
    const last = this.#log.lastIndex();
    this.#trk.resetProgress(logIndex(last + 1));
    const self = this.#trk.progress(this.id);
    if (self !== undefined) {
      // The leader holds what it has persisted; it replicates to itself and is always active.
      self.maybeUpdate(this.#log.lastStableIndex());
      self.becomeReplicate();
      self.markActive();
    }
    this.#state = { role: 'leader', readOnly: new ReadOnlyQueue(), pendingReads: [], transferee: NO_NODE, bcastPending: false };
    this.#leader = this.id;
    this.#termsLed.add(this.#term);
    // NB: no conf change until every entry of earlier terms is applied (the last may be one).
    this.#pendingConfIndex = last;
    // A no-op entry of the new term lets earlier entries commit (§5.4.2).
    this.#appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
  }

  /** hup starts an election (or pre-election) if this node may. */
  hup(transfer: boolean): void {
    if (this.#state.role === 'leader') return;
    if (!this.#promotable()) return;
    if (this.#hasUnappliedConfChanges()) return;
    if (this.#preVote && !transfer) this.#campaign('pre-vote', false);
    else this.#campaign('vote', transfer);
  }

  #hasUnappliedConfChanges(): boolean {
    if (this.#log.applied >= this.#log.committed) return false;
    const ents = this.#log.slice(logIndex(Math.max(this.#log.applied + 1, this.#log.firstIndex())), logIndex(this.#log.committed + 1), Infinity);
    return ents.some((e) => e.type === 'conf-change');
  }

  #campaign(kind: 'vote' | 'pre-vote', force: boolean): void {
    let voteTerm: Term;
    if (kind === 'pre-vote') {
      this.#reset(this.#term);
      this.#state = { role: 'pre-candidate' };
      // Pre-vote asks with the term we would use, without incrementing ours (thesis §9.6).
      voteTerm = toTerm(this.#term + 1);
    } else {
      this.#reset(toTerm(this.#term + 1));
      this.#vote = this.id;
      this.#state = { role: 'candidate' };
      voteTerm = this.#term;
    }
    this.#trk.recordVote(this.id, true);
    if (this.#trk.tallyVotes().result === 'won') {
      if (kind === 'pre-vote') this.#campaign('vote', force);
      else this.#becomeLeader();
      return;
    }
    const index = this.#log.lastIndex();
    const logTerm = this.#log.lastTerm();
    for (const to of this.#trk.voters) {
      if (to === this.id) continue;
      this.#send({ type: kind, from: this.id, to, term: voteTerm, index, logTerm, force });
    }
  }

  // ---- ticks ------------------------------------------------------------------------------

  /** tick advances the logical clock by one. */
  tick(): void {
    if (this.#state.role === 'leader') this.#tickLeader(this.#state);
    else this.#tickElection();
  }

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.#promotable() && this.#electionElapsed >= this.#randomizedTimeout) {
      this.#electionElapsed = 0;
      this.hup(false);
    }
  }

  #tickLeader(s: LeaderRole): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#electionTimeout) {
      this.#electionElapsed = 0;
      if (!this.#trk.isVoter(this.id)) {
        // Removed and the hand-over did not finish: stop leading (see applyConfChange).
        this.#becomeFollower(this.#term, NO_NODE);
        return;
      }
      if (this.#checkQuorum) {
        // Check-quorum (thesis §6.2): a leader that has not heard from a majority steps down.
        const active = this.#trk.quorumActive();
        this.#trk.resetRecentActive(this.id);
        if (!active) {
          this.#becomeFollower(this.#term, NO_NODE);
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      s.transferee = NO_NODE;
      // Snapshots not reported for long are presumed lost (see Progress.electionTimeoutElapsed).
      this.#trk.visit((_, pr) => pr.electionTimeoutElapsed());
    }
    if (this.#heartbeatElapsed >= this.#heartbeatTimeout) {
      this.#heartbeatElapsed = 0;
      this.#bcastHeartbeat(s.readOnly.lastContext());
    }
  }

  // ---- messages ---------------------------------------------------------------------------

  /** step handles a message from a peer. */
  step(m: Message): void {
    if (m.term > this.#term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // Leader lease: with check-quorum, a node that heard from a leader within the election
        // timeout ignores elections, so a partitioned node cannot depose a healthy leader.
        const inLease = this.#checkQuorum && this.#leader !== NO_NODE && this.#electionElapsed < this.#electionTimeout;
        if (!m.force && inLease) return;
      }
      if (m.type === 'pre-vote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'pre-vote-resp' && !m.reject) {
        // A granted pre-vote carries the future term; the election itself will adopt it.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.#becomeFollower(m.term, m.from);
      } else {
        this.#becomeFollower(m.term, NO_NODE);
      }
    } else if (m.term < this.#term) {
      if ((this.#checkQuorum || this.#preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A stale leader (e.g. healed from a partition) learns the new term from our answer.
        this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: logIndex(0), reject: false, rejectHint: logIndex(0), logTerm: toTerm(0) });
      } else if (m.type === 'pre-vote') {
        this.#send({ type: 'pre-vote-resp', from: this.id, to: m.from, term: this.#term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.#handleVote(m);
      return;
    }
    const s = this.#state;
    switch (s.role) {
      case 'follower':
        this.#stepFollower(m);
        return;
      case 'pre-candidate':
      case 'candidate':
        this.#stepCandidate(s, m);
        return;
      case 'leader':
        this.#stepLeader(s, m);
        return;
      default:
        assertNever(s);
    }
  }

  #handleVote(m: VoteRequest): void {
    // §5.2: one vote per term; a repeat request from the same candidate is granted again.
    const canVote =
      this.#vote === m.from ||
      (this.#vote === NO_NODE && this.#leader === NO_NODE) ||
      (m.type === 'pre-vote' && m.term > this.#term);
    const respType = m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp';
    // §5.4.1: only a candidate whose log is at least as up to date gets the vote.
    if (canVote && this.#log.isUpToDate(m.index, m.logTerm)) {
      this.#send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.#electionElapsed = 0;
        this.#vote = m.from;
      }
    } else {
      this.#send({ type: respType, from: this.id, to: m.from, term: this.#term, reject: true });
    }
  }

  #stepFollower(m: Message): void {
    switch (m.type) {
      case 'app':
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#handleHeartbeat(m);
        return;
      case 'snap':
        this.#electionElapsed = 0;
        this.#leader = m.from;
        this.#handleSnapshot(m);
        return;
      case 'timeout-now':
        // Leader transfer: campaign at once, skipping pre-vote, overriding leases (thesis §3.10).
        this.hup(true);
        return;
      case 'read-index-resp':
        this.#readStates.push({ index: m.index, context: m.context });
        return;
      case 'app-resp':
      case 'vote':
      case 'pre-vote':
      case 'vote-resp':
      case 'pre-vote-resp':
      case 'heartbeat-resp':
      case 'read-index':
      case 'prop':
        // A proposal that reached a former leader is dropped; its proposer times out and retries.
        return;
      default:
        assertNever(m);
    }
  }

  #stepCandidate(s: CandidateRole, m: Message): void {
    switch (m.type) {
      case 'app':
        this.#becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        return;
      case 'heartbeat':
        this.#becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return;
      case 'snap':
        this.#becomeFollower(m.term, m.from);
        this.#handleSnapshot(m);
        return;
      case 'vote-resp':
      case 'pre-vote-resp': {
        const expected = s.role === 'candidate' ? 'vote-resp' : 'pre-vote-resp';
        if (m.type !== expected) return;
        this.#trk.recordVote(m.from, !m.reject);
        const r = this.#trk.tallyVotes().result;
        if (r === 'won') {
          if (s.role === 'pre-candidate') this.#campaign('vote', false);
          else this.#becomeLeader();
        } else if (r === 'lost') {
          this.#becomeFollower(this.#term, NO_NODE);
        }
        return;
      }
      case 'timeout-now':
      case 'app-resp':
      case 'vote':
      case 'pre-vote':
      case 'heartbeat-resp':
      case 'read-index':
      case 'read-index-resp':
      case 'prop':
        return;
      default:
        assertNever(m);
    }
  }

  #stepLeader(s: LeaderRole, m: Message): void {
    switch (m.type) {
      case 'app-resp':
        this.#handleAppendResponse(s, m);
        return;
      case 'heartbeat-resp': {
        const pr = this.#trk.progress(m.from);
        if (pr === undefined) return;
        pr.heartbeatAnswered();
        if (pr.match < this.#log.lastIndex()) this.#sendAppend(s, m.from, true);
        if (m.context !== null) this.#ackRead(s, m.from, m.context);
        return;
      }
      case 'read-index':
        this.#handleReadIndex(s, m.from, m.context);
        return;
      case 'prop':
        // Proposals forwarded by a follower; refused (dropped) while leadership is handed over.
        if (s.transferee === NO_NODE && m.entries.length > 0) {
          this.#appendEntries(m.entries.filter((e) => e.type === 'normal').map((e) => ({ type: 'normal' as const, data: e.data })));
        }
        return;
      case 'app':
      case 'heartbeat':
      case 'snap':
      case 'timeout-now':
      case 'vote':
      case 'pre-vote':
      case 'vote-resp':
      case 'pre-vote-resp':
      case 'read-index-resp':
        // Same-term messages a leader cannot receive from a correct peer (§5.2: one leader a term).
        return;
      default:
        assertNever(m);
    }
  }

  #handleAppend(m: AppendMessage): void {
    if (m.index < this.#log.committed) {
      this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: this.#log.committed, reject: false, rejectHint: logIndex(0), logTerm: toTerm(0) });
      return;
    }
    const truncated: Entry[] = [];
    const lastNew = this.#log.maybeAppend(m.index, m.logTerm, m.commit, m.entries, truncated);
    if (truncated.length > 0) this.#reportDropped(truncated);
    if (lastNew !== null) {
      this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: lastNew, reject: false, rejectHint: logIndex(0), logTerm: toTerm(0) });
      return;
    }
    // §5.3 consistency check failed: hint where our log could match, skipping a whole term.
    const hint = this.#log.findConflictByTerm(logIndex(Math.min(m.index, this.#log.lastIndex())), m.logTerm);
    this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  #reportDropped(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (this.#termsLed.has(e.term) && !(e.type === 'normal' && e.data.byteLength === 0)) {
        this.#dropped.push({ index: e.index, term: e.term });
      }
    }
  }

  #handleHeartbeat(m: HeartbeatMessage): void {
    // NB: the leader sends min(match, commit), so this never commits past what we hold.
    this.#log.commitTo(logIndex(Math.min(m.commit, this.#log.lastIndex())));
    this.#send({ type: 'heartbeat-resp', from: this.id, to: m.from, term: this.#term, context: m.context });
  }

  #handleSnapshot(m: SnapshotMessage): void {
    if (this.#restore(m)) {
      this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: this.#log.lastIndex(), reject: false, rejectHint: logIndex(0), logTerm: toTerm(0) });
    } else {
      this.#send({ type: 'app-resp', from: this.id, to: m.from, term: this.#term, index: this.#log.committed, reject: false, rejectHint: logIndex(0), logTerm: toTerm(0) });
    }
  }

  #restore(m: SnapshotMessage): boolean {
    const meta = m.snapshot.metadata;
    if (meta.index <= this.#log.committed) return false;
    if (this.#log.matchTerm(meta.index, meta.term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit.
      this.#log.commitTo(meta.index);
      return false;
    }
    const lost: Entry[] = [];
    const last = this.#log.lastIndex();
    if (last > meta.index) {
      for (const e of this.#log.slice(logIndex(meta.index + 1), logIndex(last + 1), Infinity)) lost.push(e);
    }
    this.#reportDropped(lost);
    this.#log.restore(m.snapshot);
    this.#setConf(meta.confState);
    return true;
  }

  #handleAppendResponse(s: LeaderRole, m: AppendResponse): void {
    const pr = this.#trk.progress(m.from);
    if (pr === undefined) return;
    pr.markActive();
    if (m.reject) {
      let next = m.rejectHint;
      if (m.logTerm > 0) next = this.#log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.reject(m.index, next)) this.#sendAppend(s, m.from, true);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.acknowledge(m.index, this.#log.firstIndex())) return;
    if (this.#maybeCommit(s)) {
      s.bcastPending = true;
    } else if (wasPaused) {
      this.#sendAppend(s, m.from, true);
    }
    // Stream as much as the window allows.
    while (this.#sendAppend(s, m.from, false)) { /* keep sending */ }
    if (m.from === s.transferee && pr.match === this.#log.lastIndex()) {
      this.#send({ type: 'timeout-now', from: this.id, to: m.from, term: this.#term });
    }
  }

  /** maybeCommit advances the commit index by counting replicas (§5.3), own-term only (§5.4.2). */
  #maybeCommit(s: LeaderRole): boolean {
    const mci = this.#trk.committed();
    if (mci <= this.#log.committed) return false;
    if (this.#log.term(mci) !== this.#term) return false;
    const hadOwnTermCommit = this.#log.term(this.#log.committed) === this.#term;
    this.#log.commitTo(mci);
    if (!hadOwnTermCommit) this.#releasePendingReads(s);
    return true;
  }

  #sendAppend(s: LeaderRole, to: NodeId, sendIfEmpty: boolean): boolean {
    if (to === this.id) return false;
    const pr = this.#trk.progress(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = logIndex(pr.next - 1);
    const prevTerm = this.#log.term(prevIndex);
    if (prevTerm === null || pr.next < this.#log.firstIndex()) return this.#sendSnapshot(to, pr);
    const entries = this.#log.entriesFrom(pr.next, this.#maxMsgSize);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const msg: AppendMessage = { type: 'app', from: this.id, to, term: this.#term, index: prevIndex, logTerm: prevTerm, entries, commit: this.#log.committed };
    this.#send(msg);
    pr.sentAppend(msg.commit, entries.length > 0 ? entries[entries.length - 1]!.index : null);
    return true;
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    const snapshot = this.#log.snapshot();
    if (snapshot.metadata.index === 0) throw new Error('Raft invariant broken: log compacted without a snapshot');
    pr.becomeSnapshot(snapshot.metadata.index);
    this.#send({ type: 'snap', from: this.id, to, term: this.#term, snapshot });
    return true;
  }

  #bcastHeartbeat(context: Uint8Array | null): void {
    this.#trk.visit((id, pr) => {
      if (id === this.id) return;
      const commit = logIndex(Math.min(pr.match, this.#log.committed));
      this.#send({ type: 'heartbeat', from: this.id, to: id, term: this.#term, commit, context });
    });
  }

  // ---- proposals --------------------------------------------------------------------------

  #appendEntries(items: readonly { type: Entry['type']; data: Uint8Array }[]): LogIndex {
    const s = this.#state;
    if (s.role !== 'leader') throw new Error('Raft bug: only a leader appends');
    let idx = this.#log.lastIndex();
    const ents: Entry[] = new Array<Entry>(items.length);
    for (let i = 0; i < items.length; i++) {
      idx = logIndex(idx + 1);
      ents[i] = { term: this.#term, index: idx, type: items[i]!.type, data: items[i]!.data };
    }
    this.#log.append(ents);
    // NB: our own match advances only once the driver reports the entries persisted (advance).
    // The appends go out when the Ready is collected, so every proposal of a turn shares them.
    s.bcastPending = true;
    return idx;
  }

  /** propose appends normal entries as leader. */
  propose(data: readonly Uint8Array[]): ProposeResult {
    const s = this.#state;
    if (s.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.#leader };
    if (s.transferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderHint: this.#leader };
    if (data.length === 0) return { ok: true, index: this.#log.lastIndex(), term: this.#term };
    const items = data.map((d) => ({ type: 'normal' as const, data: d }));
    const index = this.#appendEntries(items);
    return { ok: true, index, term: this.#term };
  }

  /**
   * forward appends normal entries if this node leads, else sends them to the leader (MsgProp).
   * A forwarded proposal has no index yet: the proposer recognises it when it applies (by an ID
   * inside its data) and gives up after a timeout if it is lost with a leader change.
   */
  forward(data: readonly Uint8Array[]): ForwardResult {
    const s = this.#state;
    if (s.role === 'leader') {
      if (s.transferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderHint: this.#leader };
      if (data.length > 0) this.#appendEntries(data.map((d) => ({ type: 'normal' as const, data: d })));
      return { ok: true, forwarded: false };
    }
    if (this.#leader === NO_NODE) return { ok: false, reason: 'no-leader', leaderHint: NO_NODE };
    const entries: Entry[] = data.map((d) => ({ term: toTerm(0), index: logIndex(0), type: 'normal', data: d }));
    this.#send({ type: 'prop', from: this.id, to: this.#leader, term: this.#term, entries });
    return { ok: true, forwarded: true };
  }

  /** proposeConfChange appends a membership change, one at a time. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const s = this.#state;
    if (s.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.#leader };
    if (s.transferee !== NO_NODE) return { ok: false, reason: 'transferring', leaderHint: this.#leader };
    if (this.#pendingConfIndex > this.#log.applied) return { ok: false, reason: 'conf-change-pending', leaderHint: this.#leader };
    const check = validateConfChange(this.#trk.conf, cc, {
      match: (id) => this.#trk.progress(id)?.match,
      lastIndex: this.#log.lastIndex(),
      maxLag: this.#maxLearnerLag,
    });
    if (!check.ok) return { ok: false, reason: 'invalid-conf-change', leaderHint: this.#leader, detail: check.detail };
    const index = this.#appendEntries([{ type: 'conf-change', data: encodeConfChange(cc) }]);
    this.#pendingConfIndex = index;
    return { ok: true, index, term: this.#term };
  }

  /**
   * appliedTo records that the application applied `entries` (committed entries handed out by
   * takeCommittedEntries); conf changes among them take effect now (thesis §4.1).
   */
  appliedTo(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.#log.applied) continue;
      this.#log.applied = e.index;
      if (e.type !== 'conf-change') continue;
      // An undecodable conf change changes nothing, alike on every member (parseConfChange).
      const cc = parseConfChange(e.data);
      if (cc.ok) this.#applyConfChange(cc.value);
    }
  }

  /** snapshotPersisted records that the snapshot up to `index` was persisted (and so applied). */
  snapshotPersisted(index: LogIndex): void {
    this.#log.stableSnapTo(index);
    if (index > this.#log.applied) {
      this.#log.applied = index;
      this.#log.applying = index;
    }
  }

  /** applyConfChange makes a committed, applied change take effect. */
  #applyConfChange(cc: ConfChange): void {
    this.#setConf(applyConfChange(this.#trk.conf, cc));
    const s = this.#state;
    if (s.role !== 'leader') return;
    if (!this.#trk.isVoter(this.id)) {
      // A leader removed from the configuration hands over and steps down (thesis §4.2.2). It
      // must not simply stop: a remaining voter that has not yet learnt the removal committed
      // still needs this node's vote, which a longer log here would refuse — no leader, ever.
      // Transferring to the most up-to-date voter makes that voter campaign with a log no one
      // refuses; if the transfer cannot finish within an election timeout, tick steps down.
      const best = this.#trk.mostUpToDateVoter();
      if (best === NO_NODE) {
        this.#becomeFollower(this.#term, NO_NODE);
        return;
      }
      s.transferee = best;
      this.#electionElapsed = 0;
      const pr = this.#trk.progress(best)!;
      if (pr.match === this.#log.lastIndex()) this.#send({ type: 'timeout-now', from: this.id, to: best, term: this.#term });
      else this.#sendAppend(s, best, true);
      return;
    }
    if (s.transferee !== NO_NODE && this.#trk.progress(s.transferee) === undefined) s.transferee = NO_NODE;
    // The quorum changed: entries may now be committed, and new members need appends.
    this.#maybeCommit(s);
    s.bcastPending = true;
  }

  /** stableTo is called when the driver persisted entries up to (i, t). */
  stableTo(i: LogIndex, t: Term): void {
    if (!this.#log.stableTo(i, t)) return;
    const s = this.#state;
    if (s.role !== 'leader') return;
    const self = this.#trk.progress(this.id);
    if (self !== undefined && self.maybeUpdate(i) && this.#maybeCommit(s)) s.bcastPending = true;
  }

  /** needsFlush tells whether appends wait to be broadcast (see flushBroadcast). */
  #needsFlush(): boolean {
    return this.#state.role === 'leader' && this.#state.bcastPending;
  }

  /**
   * flushBroadcast sends what proposals and commit advances since the last Ready call for: new
   * entries to every follower that can take them, and the new commit index to those that did
   * not get it yet. Coalescing them here sends one append per follower per Ready instead of
   * one per proposal or acknowledgement.
   */
  flushBroadcast(): void {
    const s = this.#state;
    if (s.role !== 'leader' || !s.bcastPending) return;
    s.bcastPending = false;
    this.#trk.visit((id, pr) => {
      if (id === this.id) return;
      if (this.#sendAppend(s, id, false)) return;
      if (pr.sentCommit < this.#log.committed) this.#sendAppend(s, id, true);
    });
  }

  // ---- reads and transfer -----------------------------------------------------------------

  /** readIndex starts a linearizable read (thesis §6.4). */
  readIndex(context: Uint8Array): ReadIndexResult {
    const s = this.#state;
    if (s.role === 'leader') {
      this.#handleReadIndex(s, this.id, context);
      return { ok: true };
    }
    if (this.#leader === NO_NODE) return { ok: false, reason: 'no-leader', leaderHint: NO_NODE };
    this.#send({ type: 'read-index', from: this.id, to: this.#leader, term: this.#term, context });
    return { ok: true };
  }

  #handleReadIndex(s: LeaderRole, from: NodeId, context: Uint8Array): void {
    if (this.#log.term(this.#log.committed) !== this.#term) {
      // The leader does not know the commit index until it commits an entry of its term.
      s.pendingReads.push({ from, context });
      return;
    }
    if (this.#trk.isSoleVoter(this.id)) {
      this.#answerRead(from, this.#log.committed, context);
      return;
    }
    s.readOnly.add(this.#log.committed, from, context);
    this.#ackRead(s, this.id, context);
    this.#bcastHeartbeat(context);
  }

  #ackRead(s: LeaderRole, from: NodeId, context: Uint8Array): void {
    const acks = s.readOnly.recvAck(from, context);
    if (acks === null) return;
    if (!this.#trk.hasQuorum(acks)) return;
    for (const r of s.readOnly.advance(context)) this.#answerRead(r.from, r.index, r.context);
  }

  #answerRead(to: NodeId, index: LogIndex, context: Uint8Array): void {
    if (to === this.id) this.#readStates.push({ index, context });
    else this.#send({ type: 'read-index-resp', from: this.id, to, term: this.#term, index, context });
  }

  #releasePendingReads(s: LeaderRole): void {
    const pending = s.pendingReads;
    s.pendingReads = [];
    for (const r of pending) this.#handleReadIndex(s, r.from, r.context);
  }

  /** transferLeader hands leadership to `to` once it is caught up (thesis §3.10). */
  transferLeader(to: NodeId): TransferResult {
    const s = this.#state;
    if (s.role !== 'leader') return { ok: false, reason: 'not-leader', leaderHint: this.#leader };
    if (to === this.id) return { ok: false, reason: 'already-leader', leaderHint: this.#leader };
    const pr = this.#trk.progress(to);
    if (pr === undefined) return { ok: false, reason: 'unknown-node', leaderHint: this.#leader };
    if (pr.isLearner) return { ok: false, reason: 'is-learner', leaderHint: this.#leader };
    if (s.transferee === to) return { ok: true };
    s.transferee = to;
    this.#electionElapsed = 0;
    if (pr.match === this.#log.lastIndex()) this.#send({ type: 'timeout-now', from: this.id, to, term: this.#term });
    else this.#sendAppend(s, to, true);
    return { ok: true };
  }

  /** transferee is the node leadership is being handed to, or NO_NODE. */
  transferee(): NodeId {
    return this.#state.role === 'leader' ? this.#state.transferee : NO_NODE;
  }

  /** reportUnreachable tells the leader a peer could not be reached: fall back to probing. */
  reportUnreachable(id: NodeId): void {
    const s = this.#state;
    if (s.role !== 'leader') return;
    this.#trk.progress(id)?.unreachable();
  }

  /** reportSnapshot tells the leader whether a snapshot reached `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const s = this.#state;
    if (s.role !== 'leader') return;
    this.#trk.progress(id)?.snapshotReported(ok);
  }
}
