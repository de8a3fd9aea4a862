/**
 * raw-node: the Ready/advance surface of the Raft core (etcd-io/raft's RawNode). The driver
 * feeds ticks, messages and proposals in, takes a Ready out, persists, sends and applies it,
 * and acknowledges with advance(). Nothing here blocks, sleeps or reads a clock.
 */
import type {
  ConfChange, ConfState, ForwardResult, HardState, LogIndex, Message, NodeId, ProposeResult,
  ReadIndexResult, Ready, Role, SoftState, Term, TransferResult,
} from './types.js';
import type { RaftConfig } from './config.js';
import { Raft } from './raft.js';

/** NodeStatus is a read-only summary of a node, for status endpoints and tests. */
export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly lastIndex: LogIndex;
  readonly confState: ConfState;
}

/** RawNode wraps the Raft state machine with Ready/advance bookkeeping. */
export class RawNode {
  readonly #r: Raft;
  #prevHard: HardState;
  #prevSoft: SoftState;

  constructor(config: RaftConfig) {
    this.#r = new Raft(config);
    this.#prevHard = this.#hardState();
    this.#prevSoft = this.#softState();
  }

  #hardState(): HardState {
    return this.#r.hardState();
  }

  #softState(): SoftState {
    return this.#r.softState();
  }

  /** tick advances the logical clock by one tick. */
  tick(): void {
    this.#r.tick();
  }

  /** step delivers a message from a peer; messages for another node are ignored. */
  step(msg: Message): void {
    if (msg.to !== this.#r.id) return;
    this.#r.step(msg);
  }

  /** campaign starts an election now (with pre-vote if enabled). */
  campaign(): void {
    this.#r.hup(false);
  }

  /** propose appends one entry if this node leads. */
  propose(data: Uint8Array): ProposeResult {
    return this.#r.propose([data]);
  }

  /** proposeBatch appends several entries at once; the result names the last one. */
  proposeBatch(data: readonly Uint8Array[]): ProposeResult {
    return this.#r.propose(data);
  }

  /** forwardBatch appends entries on the leader or forwards them to it (see Raft.forward). */
  forwardBatch(data: readonly Uint8Array[]): ForwardResult {
    return this.#r.forward(data);
  }

  /** proposeConfChange proposes a membership change; one may be pending at a time. */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return this.#r.proposeConfChange(cc);
  }

  /** readIndex requests a linearizable read point; the ReadState comes in a later Ready. */
  readIndex(context: Uint8Array): ReadIndexResult {
    return this.#r.readIndex(context);
  }

  /** transferLeader asks the leader to hand leadership to `to`. */
  transferLeader(to: NodeId): TransferResult {
    return this.#r.transferLeader(to);
  }

  /** reportUnreachable tells the core a send to `id` failed. */
  reportUnreachable(id: NodeId): void {
    this.#r.reportUnreachable(id);
  }

  /** reportSnapshot tells the core whether a snapshot send to `id` succeeded. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#r.reportSnapshot(id, ok);
  }

  /** hasReady tells whether ready() would return any work. */
  hasReady(): boolean {
    const r = this.#r;
    if (r.hasOutput()) return true;
    const hs = this.#prevHard;
    if (hs.term !== r.term || hs.vote !== r.vote || hs.commit !== r.committed) return true;
    const ss = this.#prevSoft;
    return ss.leader !== r.leader || ss.role !== r.role;
  }

  /** ready collects the work accumulated since the last Ready. Call advance() before the next. */
  ready(): Ready {
    const r = this.#r;
    r.flushBroadcast();
    const hs = this.#hardState();
    const prevHs = this.#prevHard;
    const hardChanged = hs.term !== prevHs.term || hs.vote !== prevHs.vote || hs.commit !== prevHs.commit;
    const ss = this.#softState();
    const softChanged = ss.leader !== this.#prevSoft.leader || ss.role !== this.#prevSoft.role;
    const entries = r.unstableEntries();
    const rd: Ready = {
      softState: softChanged ? ss : null,
      hardState: hardChanged ? hs : null,
      snapshot: r.unstableSnapshot(),
      entries,
      committedEntries: r.takeCommittedEntries(),
      messages: r.takeMessages(),
      messagesAfterPersist: r.takeMessagesAfterPersist(),
      readStates: r.takeReadStates(),
      droppedProposals: r.takeDroppedProposals(),
      mustSync: entries.length > 0 || hs.term !== prevHs.term || hs.vote !== prevHs.vote,
    };
    if (hardChanged) this.#prevHard = hs;
    if (softChanged) this.#prevSoft = ss;
    return rd;
  }

  /** advance acknowledges that `rd` was persisted, sent and applied. */
  advance(rd: Ready): void {
    const r = this.#r;
    if (rd.snapshot !== null) r.snapshotPersisted(rd.snapshot.metadata.index);
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      r.stableTo(last.index, last.term);
    }
    // Conf changes take effect when applied (single-server changes, thesis §4.1).
    r.appliedTo(rd.committedEntries);
  }

  /** confState is the current configuration. */
  confState(): ConfState {
    return this.#r.conf;
  }

  /** status summarises the node. */
  status(): NodeStatus {
    const r = this.#r;
    // NB: the driver takes a status after every Ready: keep it free of per-peer allocations.
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.leader,
      commit: r.committed,
      applied: r.applied,
      lastIndex: r.lastIndex(),
      confState: r.conf,
    };
  }

  /** matchOf is how much of the log the leader knows `id` holds (undefined unless leading). */
  matchOf(id: NodeId): LogIndex | undefined {
    return this.#r.matchOf(id);
  }

  /** transferee is the node leadership is being transferred to, if any. */
  transferee(): NodeId {
    return this.#r.transferee();
  }
}
