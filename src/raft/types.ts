/**
 * types: the vocabulary of the Raft core — identifiers, log entries, hard state, snapshots,
 * configuration and the messages peers exchange. Everything here is plain data: the core
 * never holds a socket, a file or a clock, so these values are all that crosses its edge.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** NodeId identifies a member. A positive safe integer (etcd member IDs are uint64; ours stay below 2^53). */
export type NodeId = Brand<number, 'NodeId'>;
/** Term is a Raft term (§5.1). 0 means "no term yet". */
export type Term = Brand<number, 'Term'>;
/** LogIndex is a position in the replicated log; the first real entry has index 1. */
export type LogIndex = Brand<number, 'LogIndex'>;

/** nodeId brands a number as a NodeId, rejecting values that cannot be one. */
export function nodeId(n: number): NodeId {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`Node id must be a positive safe integer, got ${n}`);
  return n as NodeId;
}
/** term brands a number as a Term. */
export function term(n: number): Term {
  return n as Term;
}
/** logIndex brands a number as a LogIndex. */
export function logIndex(n: number): LogIndex {
  return n as LogIndex;
}
/** NO_NODE is the id used where no node is meant ("no leader known", "voted for nobody"). */
export const NO_NODE = 0 as NodeId;

/** EntryType tells a normal application command from a membership change. */
export type EntryType = 'normal' | 'conf-change';

/**
 * Entry is one slot of the replicated log. `data` is opaque to the core; an empty normal entry
 * is the no-op a new leader appends to commit entries of earlier terms (§5.4.2).
 */
export interface Entry {
  readonly term: Term;
  readonly index: LogIndex;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** HardState is what must be on stable storage before a node answers a message (Figure 2). */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: LogIndex;
}

/** ConfState is a cluster configuration: who votes and who only replicates. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** SnapshotMetadata says which prefix of the log a snapshot replaces and under which configuration. */
export interface SnapshotMetadata {
  readonly index: LogIndex;
  readonly term: Term;
  readonly confState: ConfState;
}

/** Snapshot is the application's state at `metadata.index`; `data` is opaque to the core. */
export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  readonly data: Uint8Array;
}

/**
 * ConfChange is a single membership change, applied one at a time (Raft thesis §4.1):
 * a new member joins as a learner, is promoted once caught up, and any member can be removed.
 */
export type ConfChange =
  | { readonly type: 'add-learner'; readonly nodeId: NodeId; readonly context?: Uint8Array }
  | { readonly type: 'add-voter'; readonly nodeId: NodeId; readonly context?: Uint8Array }
  | { readonly type: 'promote'; readonly nodeId: NodeId; readonly context?: Uint8Array }
  | { readonly type: 'remove'; readonly nodeId: NodeId; readonly context?: Uint8Array };

/** ReadState answers a ReadIndex request: once `index` is applied, a read for `context` is linearizable. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: Uint8Array;
}

/** Role is the name of the role a node plays now. */
export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** SoftState is volatile state worth telling the application about when it changes. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** AppendMessage (MsgApp) carries entries after (index, logTerm) and the leader's commit index (§5.3). */
export interface AppendMessage extends Envelope {
  readonly type: 'app';
  readonly index: LogIndex;
  readonly logTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * AppendResponse (MsgAppResp) acknowledges up to `index`, or rejects the append at `index` with a
 * hint (`rejectHint`, `logTerm`) that lets the leader skip a whole conflicting term at once.
 */
export interface AppendResponse extends Envelope {
  readonly type: 'app-resp';
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly rejectHint: LogIndex;
  readonly logTerm: Term;
}

/**
 * VoteRequest asks for a vote (§5.2) or, as a pre-vote (thesis §9.6), whether a vote would be
 * granted. `term` of a pre-vote is the term the candidate would use. `force` marks an election
 * started by leader transfer, which voters honour even inside a leader lease.
 */
export interface VoteRequest extends Envelope {
  readonly type: 'vote' | 'pre-vote';
  readonly index: LogIndex;
  readonly logTerm: Term;
  readonly force: boolean;
}

/** VoteResponse grants or rejects a vote or pre-vote. */
export interface VoteResponse extends Envelope {
  readonly type: 'vote-resp' | 'pre-vote-resp';
  readonly reject: boolean;
}

/** HeartbeatMessage keeps followers from campaigning and carries commit and a ReadIndex context. */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: LogIndex;
  readonly context: Uint8Array | null;
}

/** HeartbeatResponse echoes the heartbeat's context so ReadIndex can count confirmations. */
export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat-resp';
  readonly context: Uint8Array | null;
}

/** SnapshotMessage (MsgSnap) installs the leader's snapshot on a follower too far behind (§7). */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snap';
  readonly snapshot: Snapshot;
}

/** TimeoutNowMessage tells a caught-up follower to campaign at once (leader transfer, thesis §3.10). */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeout-now';
}

/** ReadIndexRequest forwards a follower's ReadIndex request to the leader. */
export interface ReadIndexRequest extends Envelope {
  readonly type: 'read-index';
  readonly context: Uint8Array;
}

/** ReadIndexResponse returns the leader's read index to the follower that asked. */
export interface ReadIndexResponse extends Envelope {
  readonly type: 'read-index-resp';
  readonly index: LogIndex;
  readonly context: Uint8Array;
}

/**
 * ProposalMessage (MsgProp) carries proposals a follower forwards to the leader, which appends
 * them as its own. Entries have term and index 0 until the leader assigns them.
 */
export interface ProposalMessage extends Envelope {
  readonly type: 'prop';
  readonly entries: readonly Entry[];
}

/** Message is anything one node sends another. */
export type Message =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposalMessage;

/** MessageType is the discriminant of Message. */
export type MessageType = Message['type'];

/**
 * ProposalDropped reports an entry this node appended as leader that was later removed from its
 * log by a new leader: it will never commit, and the proposer should retry it.
 */
export interface DroppedProposal {
  readonly index: LogIndex;
  readonly term: Term;
}

/**
 * Ready is one batch of work the core hands its driver. The driver must, in order:
 * 1. persist `hardState`, `entries` and `snapshot` (fsync) — entries may overwrite a suffix;
 * 2. send `messagesAfterPersist` (votes and acknowledgements that promise what was just persisted);
 * 3. apply `snapshot` then `committedEntries` to the state machine;
 * then call `advance(ready)`. `messages` (the leader's appends and heartbeats) may be sent at
 * once, before or while persisting (Raft thesis §10.2.1): the leader counts its own copy of an
 * entry toward commitment only after `advance` reports it persisted.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly droppedProposals: readonly DroppedProposal[];
  /** mustSync is true when hard state or entries changed and the driver must fsync before step 2. */
  readonly mustSync: boolean;
}

/** ProposeResult is the outcome of offering data to the log. */
export type ProposeResult =
  | { readonly ok: true; readonly index: LogIndex; readonly term: Term }
  | { readonly ok: false; readonly reason: 'not-leader'; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly reason: 'transferring'; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly reason: 'conf-change-pending'; readonly leaderHint: NodeId }
  | { readonly ok: false; readonly reason: 'invalid-conf-change'; readonly leaderHint: NodeId; readonly detail: string }
  | { readonly ok: false; readonly reason: 'too-large'; readonly leaderHint: NodeId };

/** ProposeFailure is the failing arm of ProposeResult. */
export type ProposeFailure = Extract<ProposeResult, { ok: false }>;

/** ReadIndexResult tells whether a read request was accepted (its ReadState comes later in a Ready). */
export type ReadIndexResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'no-leader' | 'not-committed-yet'; readonly leaderHint: NodeId };

/** ForwardResult tells whether proposals were appended (leader) or sent on to the leader. */
export type ForwardResult =
  | { readonly ok: true; readonly forwarded: boolean }
  | { readonly ok: false; readonly reason: 'no-leader' | 'transferring'; readonly leaderHint: NodeId };

/** TransferResult tells whether a leader transfer started. */
export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'not-leader' | 'unknown-node' | 'is-learner' | 'already-leader'; readonly leaderHint: NodeId };
