/**
 * trace: what the driver tells a tracer about sampled requests (`raftkube bench kv --trace`).
 * The driver knows nothing of requests; the member's tracer tells it which entries and which
 * ReadIndex contexts belong to a sampled request, and the driver marks the points each one
 * passes on this member (received, appended, sent, synced, acknowledged, committed, applied).
 *
 * DriverTrace holds that marking logic and the little state it needs (the sampled entries not yet
 * committed here); the driver calls it only while `tracer.on`.
 *
 * NB: the cost when nothing is traced is one read of `on` per Ready and per received message;
 * nothing is allocated. Everything else is behind that branch.
 */
import type { Entry, Message, NodeId, Ready } from './types.js';
import { NO_NODE } from './types.js';
import { READ_CONTEXT_BYTES, contextKey } from './read-context.js';


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

/** isTracedReadContext tells whether a ReadIndex context belongs to a sampled read (negative sequence). */
export function isTracedReadContext(ctx: Uint8Array | null): ctx is Uint8Array {
  return ctx !== null && ctx.byteLength === READ_CONTEXT_BYTES && (ctx[READ_CONTEXT_BYTES - 1]! & 0x80) !== 0;
}

/** TracedAppend is a sampled entry a Ready appends here: its index and trace key. */
export interface TracedAppend {
  readonly index: number;
  readonly key: string;
}

/** TracedEntry is a sampled entry this member holds and has not yet seen committed. */
interface TracedEntry {
  readonly key: string;
  /** acked lists the followers whose acknowledgement was marked (on the leader). */
  readonly acked: Set<number>;
  /** noticed is whether a commit index covering it was marked as received. */
  noticed: boolean;
}

/** MAX_TRACED_OPEN bounds the sampled entries a member follows at once (the rest go unmarked). */
export const MAX_TRACED_OPEN = 1024;

type ReadMessageType = 'heartbeat' | 'heartbeat-resp' | 'read-index' | 'read-index-resp';
const SENT_STAGE: Readonly<Record<ReadMessageType, RaftTraceStage>> = { heartbeat: 'hb-sent', 'heartbeat-resp': 'hb-resp-sent', 'read-index': 'read-index-sent', 'read-index-resp': 'read-index-resp-sent' };
const RECEIVED_STAGE: Readonly<Record<ReadMessageType, RaftTraceStage>> = { heartbeat: 'hb-recv', 'heartbeat-resp': 'hb-resp-recv', 'read-index': 'read-index-recv', 'read-index-resp': 'read-index-resp-recv' };

/**
 * DriverTrace marks the points sampled entries and reads pass on one member, from what the
 * driver hands it: the data it submits, each Ready, the messages it sends and receives. One per
 * driver; the driver calls it only while `on`.
 */
export class DriverTrace {
  readonly #t: RaftTracer;
  /** #open maps the index of each sampled entry not yet committed here to its trace state. */
  readonly #open = new Map<number, TracedEntry>();
  /** #noticed is the highest commit index a leader's message brought while tracing, and from whom. */
  #noticed: { readonly commit: number; readonly from: NodeId } = { commit: 0, from: NO_NODE };

  constructor(tracer: RaftTracer) {
    this.#t = tracer;
  }

  /** on is the tracer's: false while nothing is traced. */
  get on(): boolean {
    return this.#t.on;
  }

  /** openCount is how many sampled entries this member follows (not yet seen committed). */
  get openCount(): number {
    return this.#open.size;
  }

  /** proposed marks the sampled entries among data the core just took. */
  proposed(data: readonly Uint8Array[]): void {
    for (const d of data) {
      const key = this.#t.entryKey(d);
      if (key !== null) this.#t.mark(key, 'proposed');
    }
  }

  /** readStart marks a sampled read round the core just took. */
  readStart(key: string): void {
    this.#t.mark(key, 'read-start');
  }

  /** ready marks the sampled entries a Ready appends or commits; it returns the appended ones. */
  ready(rd: Ready): TracedAppend[] | null {
    const t = this.#t;
    let fresh: TracedAppend[] | null = null;
    for (const e of rd.entries) {
      const key = t.entryKey(e.data);
      if (key === null) continue;
      t.mark(key, 'ready');
      (fresh ??= []).push({ index: e.index, key });
      // NB: a follower busy with an earlier Ready can hear the entry's commit (the other
      // follower completed the quorum) before a Ready takes the entry; the notice counts now.
      const noticed = e.index <= this.#noticed.commit;
      if (noticed) t.mark(key, 'commit-recv', this.#noticed.from);
      if (this.#open.size < MAX_TRACED_OPEN && !this.#open.has(e.index)) this.#open.set(e.index, { key, acked: new Set(), noticed });
    }
    for (const e of rd.committedEntries) {
      const key = t.entryKey(e.data);
      if (key === null) continue;
      t.mark(key, 'commit');
      this.#open.delete(e.index);
    }
    return fresh;
  }

  /** synced marks the entries a Ready appended as durable here. */
  synced(fresh: readonly TracedAppend[] | null): void {
    if (fresh !== null) for (const n of fresh) this.#t.mark(n.key, 'synced');
  }

  /** applied marks an entry the state machine just applied, if sampled. */
  applied(e: Entry): void {
    const key = this.#t.entryKey(e.data);
    if (key !== null) this.#t.mark(key, 'applied');
  }

  /** readState marks a read round whose index is now known here, if sampled. */
  readState(ctx: Uint8Array): void {
    if (isTracedReadContext(ctx)) this.#t.mark(contextKey(ctx), 'read-state');
  }

  /** sent marks the sampled entries and reads in messages just handed to the transport. */
  sent(msgs: readonly Message[], fresh: readonly TracedAppend[] | null): void {
    const t = this.#t;
    for (const m of msgs) {
      switch (m.type) {
        case 'prop':
        case 'app':
          for (const e of m.entries) {
            const key = t.entryKey(e.data);
            if (key !== null) t.mark(key, m.type === 'prop' ? 'prop-sent' : 'app-sent', m.to);
          }
          break;
        case 'app-resp':
          if (!m.reject && fresh !== null) for (const n of fresh) if (n.index <= m.index) t.mark(n.key, 'ack-sent', m.to);
          break;
        case 'heartbeat':
        case 'heartbeat-resp':
        case 'read-index':
        case 'read-index-resp':
          if (isTracedReadContext(m.context)) t.mark(contextKey(m.context), SENT_STAGE[m.type], m.to);
          break;
        case 'vote':
        case 'pre-vote':
        case 'vote-resp':
        case 'pre-vote-resp':
        case 'snap':
        case 'timeout-now':
          break;
      }
    }
  }

  /** received marks the sampled entries, acknowledgements, commit notices and reads in a received message. */
  received(m: Message): void {
    const t = this.#t;
    switch (m.type) {
      case 'prop':
      case 'app':
        for (const e of m.entries) {
          const key = t.entryKey(e.data);
          if (key !== null) t.mark(key, m.type === 'prop' ? 'prop-recv' : 'app-recv', m.from);
        }
        if (m.type === 'app') this.#commitNotice(m.commit, m.from);
        break;
      case 'app-resp':
        if (m.reject) break;
        for (const [index, o] of this.#open) {
          if (index > m.index || o.acked.has(m.from)) continue;
          o.acked.add(m.from);
          t.mark(o.key, 'ack-recv', m.from);
        }
        break;
      case 'heartbeat':
      case 'heartbeat-resp':
      case 'read-index':
      case 'read-index-resp':
        if (isTracedReadContext(m.context)) t.mark(contextKey(m.context), RECEIVED_STAGE[m.type], m.from);
        if (m.type === 'heartbeat') this.#commitNotice(m.commit, m.from);
        break;
      case 'vote':
      case 'pre-vote':
      case 'vote-resp':
      case 'pre-vote-resp':
      case 'snap':
      case 'timeout-now':
        break;
    }
  }

  #commitNotice(commit: number, from: NodeId): void {
    if (commit > this.#noticed.commit) this.#noticed = { commit, from };
    for (const [index, o] of this.#open) {
      if (index > commit || o.noticed) continue;
      o.noticed = true;
      this.#t.mark(o.key, 'commit-recv', from);
    }
  }
}
