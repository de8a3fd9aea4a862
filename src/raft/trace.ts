/**
 * trace: what the driver tells a tracer about sampled requests (`raftkube bench kv --trace`).
 * The driver knows nothing of requests; the member's tracer tells it which entries and which
 * ReadIndex contexts belong to a sampled request, and the driver marks the points each one
 * passes on this member (received, appended, sent, synced, acknowledged, committed, applied).
 *
 * NB: the cost when nothing is traced is one read of `on` per Ready and per received message;
 * nothing is allocated. Everything else is behind that branch.
 */

/** RaftTraceStage names a point of a sampled write's or read's path that the driver marks. */
export type RaftTraceStage =
  // writes (keyed by the entry's request ID)
  | 'proposed' // the core took the proposal (appended on the leader, queued for forwarding on a follower)
  | 'prop-sent' // a follower handed the forwarded proposal (MsgProp) to the transport
  | 'prop-recv' // the leader received the forwarded proposal
  | 'ready' // a Ready holds the new entry (the driver starts handling it)
  | 'app-sent' // the leader handed an append carrying the entry to the transport (peer: to)
  | 'app-recv' // a follower received the append carrying the entry (peer: from)
  | 'synced' // the entry is durable in this member's WAL
  | 'ack-sent' // a follower handed its acknowledgement of the entry to the transport
  | 'ack-recv' // the leader received an acknowledgement of the entry (peer: from)
  | 'commit-recv' // a follower received a commit index covering the entry (peer: from)
  | 'commit' // a Ready holds the entry as committed (the driver starts handling it)
  | 'applied' // the state machine applied the entry here
  // linearizable reads (keyed by the ReadIndex context)
  | 'read-start' // the core took the ReadIndex request
  | 'read-index-sent' // a follower handed MsgReadIndex to the transport
  | 'read-index-recv' // the leader received MsgReadIndex (peer: from)
  | 'hb-sent' // the leader handed the heartbeat carrying the context to the transport (peer: to)
  | 'hb-recv' // a follower received that heartbeat (peer: from)
  | 'hb-resp-sent' // the follower handed its answer to the transport
  | 'hb-resp-recv' // the leader received the answer (peer: from)
  | 'read-index-resp-sent' // the leader handed the read index to the asking follower's transport
  | 'read-index-resp-recv' // the asking follower received the read index
  | 'read-state'; // the read index is known to the member that asked (its Ready)

/** RaftTracer is what the driver asks of a tracer; the member's implementation records. */
export interface RaftTracer {
  /** on is false while nothing is traced: the driver then does no tracing work at all. */
  readonly on: boolean;
  /** entryKey returns the trace key of an entry's data if it belongs to a sampled request, else null. */
  entryKey(data: Uint8Array): string | null;
  /** mark records that `key` reached `stage` now; `peer` is the other member of a message stage. */
  mark(key: string, stage: RaftTraceStage, peer?: number): void;
}
