/**
 * tracer: a member's record of where sampled requests spend their time (`raftkube bench kv
 * --trace`). The bench marks a request with the gRPC metadata key `raftkube-trace` (its token);
 * the member that serves it records the client-facing points under the token and binds the
 * token to the request's trace key — the request ID for a write (carried in the entry, with
 * TRACED_ID_BIT set, so the leader and every follower recognise the entry), the ReadIndex
 * context for a read (negative sequence, see isTracedReadContext). The driver marks the Raft
 * points under that key on every member. The bench joins them after the run.
 *
 * Times are process.hrtime.bigint(): CLOCK_MONOTONIC, one clock for every process on a
 * machine, so members' and the client's times compare directly (README: "Where a put's time
 * goes").
 *
 * While recording, the member also keeps its own GC pauses on the same clock, so the bench can
 * tell which requests found a member on their path standing still, and stamps each point with its
 * event-loop thread's run-queue wait so far (Linux schedstat, where the kernel has it), so the
 * bench can tell how much of a hop the member spent ready to run but waiting for a CPU.
 *
 * NB: tracing is off until the bench enables it (POST /debug/trace?enable=true); while off, the
 * request path pays one boolean test and no GC pause is observed. Events go to a fixed-size ring
 * (the oldest are dropped and counted), read and emptied by GET /debug/trace.
 */
import type { RaftTracer, RaftTraceStage } from '../../raft/index.js';
import { CpuWaitClock } from './cpu-wait.js';
import { GcPauseWatch } from './gc-pauses.js';
import { tracedEntryKey } from './requests.js';

/** TRACE_METADATA_KEY is the gRPC metadata key that marks a sampled request; its value is the token. */
export { TRACE_METADATA_KEY } from '../client/etcd-client.js';

/** TRACE_TOKEN_PATTERN is what a token may look like (it is echoed into the records). */
export const TRACE_TOKEN_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** TRACE_RING_EVENTS is how many events a member keeps between two reads. */
export const TRACE_RING_EVENTS = 65_536;

/**
 * ServeStage names a point the serving member marks under the request's token:
 * recv (the gRPC handler started), read-done (a linearizable read may proceed: ReadIndex and
 * apply waited for), reply (the handler returns its response), sent (the call's trailers, its
 * last frame, were handed to HTTP/2, which writes them out on its next event-loop turn; calls on
 * the direct path only, see direct-unary.ts), bind (token → trace key, in ref).
 */
export type ServeStage = 'recv' | 'read-done' | 'reply' | 'sent' | 'bind';

/** TraceStage is any point a member records. */
export type TraceStage = RaftTraceStage | ServeStage;

/** TraceEvent is one recorded point, as GET /debug/trace returns it. */
export interface TraceEvent {
  /** key is the token (serving points) or the trace key (Raft points). */
  readonly key: string;
  readonly stage: TraceStage;
  /** t is process.hrtime.bigint() in nanoseconds, as a decimal string (JSON has no bigint). */
  readonly t: string;
  /** peer is the other member of a message stage (hex ID). */
  readonly peer?: string;
  /** ref is the trace key a token is bound to (stage bind). */
  readonly ref?: string;
  /**
   * waited is the member's event-loop thread's run-queue wait so far, in nanoseconds as a decimal
   * string, read at the point (absent where the kernel does not say).
   */
  readonly waited?: string;
}

/** TracePause is one of the member's GC pauses, process.hrtime.bigint() nanoseconds as decimal strings. */
export interface TracePause {
  readonly start: string;
  readonly end: string;
}

/** TraceDump is the body of GET /debug/trace. */
export interface TraceDump {
  /** member is this member's ID in hex. */
  readonly member: string;
  readonly enabled: boolean;
  /** dropped counts events the ring overwrote since the last read. */
  readonly dropped: number;
  readonly events: readonly TraceEvent[];
  /** gc is the member's GC pauses since recording started or the last read (absent from members that do not record them). */
  readonly gc?: readonly TracePause[];
  /** gcDropped counts pauses that did not fit between two reads. */
  readonly gcDropped?: number;
}

interface Slot {
  key: string;
  stage: TraceStage;
  t: bigint;
  peer: number;
  ref: string | null;
  /** waited is the run-queue wait so far in nanoseconds, -1 when not read. */
  waited: number;
}

/** MemberTracer records a member's trace events (see the file comment). */
export class MemberTracer implements RaftTracer {
  #on = false;
  readonly #ring: (Slot | undefined)[];
  #next = 0;
  #size = 0;
  #dropped = 0;
  #gc: GcPauseWatch | null = null;
  #cpu: CpuWaitClock | null = null;

  constructor(readonly member: string, capacity = TRACE_RING_EVENTS) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
    this.#ring = new Array<Slot | undefined>(capacity);
  }

  /** on is whether sampled requests are being recorded. */
  get on(): boolean {
    return this.#on;
  }

  /** enable starts recording, with an empty ring and no GC pause yet. */
  enable(): void {
    this.#clear();
    if (this.#gc === null) this.#gc = new GcPauseWatch();
    else this.#gc.take();
    this.#cpu ??= CpuWaitClock.open();
    this.#on = true;
  }

  /** disable stops recording and forgets what was recorded. */
  disable(): void {
    this.#on = false;
    this.#clear();
    this.#gc?.stop();
    this.#gc = null;
    this.#cpu?.close();
    this.#cpu = null;
  }

  entryKey(data: Uint8Array): string | null {
    return tracedEntryKey(data);
  }

  mark(key: string, stage: TraceStage, peer = 0): void {
    this.#push(key, stage, peer, null);
  }

  /** bind records that the request with token `token` has trace key `key`. */
  bind(token: string, key: string): void {
    this.#push(token, 'bind', 0, key);
  }

  /** drain returns the recorded events, oldest first, and the GC pauses since the last drain, and empties both. */
  drain(): TraceDump {
    const n = this.#ring.length;
    const events: TraceEvent[] = [];
    for (let i = 0; i < this.#size; i++) {
      const s = this.#ring[(this.#next - this.#size + i + n) % n];
      if (s === undefined) continue;
      events.push({ key: s.key, stage: s.stage, t: s.t.toString(), ...(s.peer !== 0 ? { peer: s.peer.toString(16) } : {}), ...(s.ref !== null ? { ref: s.ref } : {}), ...(s.waited >= 0 ? { waited: s.waited.toString() } : {}) });
    }
    const gc = this.#gc?.take() ?? { pauses: [], dropped: 0 };
    const dump: TraceDump = {
      member: this.member,
      enabled: this.#on,
      dropped: this.#dropped,
      events,
      gc: gc.pauses.map((p) => ({ start: p.startNs.toString(), end: p.endNs.toString() })),
      gcDropped: gc.dropped,
    };
    this.#clear();
    return dump;
  }

  #push(key: string, stage: TraceStage, peer: number, ref: string | null): void {
    if (!this.#on) return;
    const t = process.hrtime.bigint();
    const waited = this.#cpu?.waitedNs() ?? -1;
    const slot = this.#ring[this.#next];
    if (slot === undefined) this.#ring[this.#next] = { key, stage, t, peer, ref, waited };
    else {
      slot.key = key;
      slot.stage = stage;
      slot.t = t;
      slot.peer = peer;
      slot.ref = ref;
      slot.waited = waited;
    }
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#size < this.#ring.length) this.#size++;
    else this.#dropped++;
  }

  #clear(): void {
    this.#next = 0;
    this.#size = 0;
    this.#dropped = 0;
  }
}
