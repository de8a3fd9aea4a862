/**
 * driver: the thin asynchronous shell around RawNode — the only async code in src/raft. It
 * turns clock ticks and transport messages into core inputs and runs the Ready loop:
 * send the leader's appends at once, persist (one fsync for the whole batch: group commit),
 * send what depended on the persist, apply, advance. Proposals resolve when their entry applies.
 */
import type {
  Entry, HardState, LogIndex, Message, NodeId, ProposeFailure, Ready, Snapshot, Term,
} from './types.js';
import { NO_NODE } from './types.js';
import type { MemoryStorage } from './storage.js';
import type { RawNode, NodeStatus } from './raw-node.js';
import { parseConfChange } from './membership.js';
import type { ConfChange } from './types.js';
import { DriverTrace, type RaftTracer, type TracedAppend } from './trace.js';
import { READ_CONTEXT_BYTES, contextKey, readContext } from './read-context.js';

export { READ_CONTEXT_BYTES, readContext } from './read-context.js';

/** Disposable owns a resource such as a timer. */
export interface Disposable {
  dispose(): void;
}

/**
 * Clock is the driver's only source of time and of deferred work: every timer and deferral the
 * driver uses goes through it, so a simulator can run the real driver on virtual time.
 */
export interface Clock {
  /** now returns monotonic milliseconds. */
  now(): number;
  setInterval(fn: () => void, ms: number): Disposable;
  setTimeout(fn: () => void, ms: number): Disposable;
  /**
   * defer runs `fn` once, soon, after the current event-loop turn's other work: what is queued
   * in one turn joins one Ready. Without it the driver uses setImmediate, as systemClock does;
   * a simulated clock must provide it to keep the driver on virtual time.
   */
  defer?(fn: () => void): void;
}

/** systemClock is the production Clock (monotonic, Node timers). */
export const systemClock: Clock = {
  now: () => performance.now(),
  defer(fn) {
    setImmediate(fn);
  },
  setInterval(fn, ms) {
    const h = setInterval(fn, ms);
    h.unref();
    return { dispose: () => clearInterval(h) };
  },
  setTimeout(fn, ms) {
    const h = setTimeout(fn, ms);
    h.unref();
    return { dispose: () => clearTimeout(h) };
  },
};

/** Transport delivers messages to peers; it never blocks and drops what it cannot deliver. */
export interface Transport {
  send(messages: readonly Message[]): void;
}

/** PersistBatch is what one Ready asks the log store to make durable. */
export interface PersistBatch {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  /** snapshot is a snapshot received from the leader: its data must be kept until applied. */
  readonly snapshot: Snapshot | null;
}

/** LogStore makes Raft state durable (the write-ahead log). */
export interface LogStore {
  save(batch: PersistBatch): Promise<void>;
  /**
   * saveNow, if a store has it, makes the batch durable before returning true; false (having done
   * nothing) means the driver must use save(). It throws where save() would reject.
   */
  saveNow?(batch: PersistBatch): boolean;
}

/** StateMachine is the application the log drives. */
export interface StateMachine<R> {
  /** applyEntry applies one committed entry (normal or conf change) and returns its result. */
  applyEntry(entry: Entry): R;
  /** applySnapshot replaces the state with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): Promise<void>;
  /** afterApply runs after each applied batch (e.g. to commit the batch to the backend); the driver waits for a promise it returns. */
  afterApply?(applied: LogIndex): Promise<void> | void;
}

/** ProposalError says why a proposal did not apply. */
export class ProposalError extends Error {
  override readonly name = 'ProposalError';
  constructor(
    readonly reason: ProposeFailure['reason'] | 'dropped' | 'timeout' | 'stopped',
    readonly leaderHint: NodeId,
    message: string,
  ) {
    super(message);
  }
}

/** DriverOptions wires a RawNode to its edges. */
export interface DriverOptions<R> {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  readonly logStore: LogStore;
  readonly transport: Transport;
  readonly stateMachine: StateMachine<R>;
  readonly clock?: Clock;
  readonly tickMs: number;
  /** proposalTimeoutMs fails a proposal that has not applied in time (default 10 s). */
  readonly proposalTimeoutMs?: number;
  /** onReady observes each Ready handled (metrics, status line). */
  readonly onReady?: (rd: Ready) => void;
  /** onConfChange observes each applied membership change (to connect to new peers). */
  readonly onConfChange?: (cc: ConfChange) => void;
  /** onFatal receives an I/O error the driver cannot continue after (the process should exit). */
  readonly onFatal?: (err: unknown) => void;
  /**
   * incarnation tells this run of the member from its earlier ones in ReadIndex contexts (8
   * bytes; default: random). A restarted member counts its reads from 1 again, so without it a
   * leader could take a new read for one of the previous run's and answer it with an old index.
   */
  readonly incarnation?: Uint8Array;
  /** tracer hears of sampled requests' entries and reads passing this member (bench kv --trace). */
  readonly tracer?: RaftTracer;
}

/** stoppedError is the rejection of everything a stopped member cannot finish. */
function stoppedError(): ProposalError {
  return new ProposalError('stopped', NO_NODE, 'The member is shutting down; retry on another member');
}

interface Pending<R> {
  readonly term: Term;
  readonly resolve: (r: R) => void;
  readonly reject: (e: ProposalError) => void;
  readonly timer: Disposable;
}

interface ReadWaiter {
  readonly resolve: (index: LogIndex) => void;
  readonly reject: (e: ProposalError) => void;
  readonly timeoutMs: number;
  /** trace hears the round's trace key if this read is sampled. */
  readonly trace: ((key: string) => void) | undefined;
}

interface ReadGroup {
  readonly waiters: readonly ReadWaiter[];
  readonly timer: Disposable;
}

interface Submission {
  readonly data: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: ProposalError) => void;
}

/** RaftDriver runs one member's Ready loop. */
export class RaftDriver<R> {
  readonly #o: DriverOptions<R>;
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending<R>>();
  readonly #reads = new Map<string, ReadGroup>();
  #readQueue: ReadWaiter[] = [];
  #submitQueue: Submission[] = [];
  #appliedWaiters: { index: number; resolve: () => void; reject: (e: ProposalError) => void }[] = [];
  readonly #incarnation: Uint8Array;
  #ticker: Disposable | null = null;
  #running = false;
  /** #halted is set for good by stop() or a fatal I/O error: new requests are refused at once. */
  #halted = false;
  #looping = false;
  #scheduled = false;
  #readSeq = 0;
  #applied: LogIndex;
  #status: NodeStatus;
  /** #trace marks sampled requests' points (bench kv --trace); null without a tracer. */
  readonly #trace: DriverTrace | null;

  constructor(o: DriverOptions<R>) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#status = o.node.status();
    this.#applied = this.#status.applied;
    if (o.incarnation !== undefined && o.incarnation.byteLength !== 8) throw new RangeError(`incarnation must be 8 bytes, not ${o.incarnation.byteLength}`);
    this.#incarnation = o.incarnation ?? globalThis.crypto.getRandomValues(new Uint8Array(8));
    this.#trace = o.tracer === undefined ? null : new DriverTrace(o.tracer);
  }

  /** #tracing is the trace while something is traced, else null (then no tracing work is done). */
  #tracing(): DriverTrace | null {
    return this.#trace !== null && this.#trace.on ? this.#trace : null;
  }

  /** start begins ticking and processing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#ticker = this.#clock.setInterval(() => {
      this.#o.node.tick();
      this.#schedule();
    }, this.#o.tickMs);
    this.#schedule();
  }

  /** stop halts the loop and fails everything pending. */
  stop(): void {
    this.#running = false;
    this.#halted = true;
    this.#ticker?.dispose();
    this.#ticker = null;
    for (const [i, p] of this.#pending) {
      p.timer.dispose();
      p.reject(stoppedError());
      this.#pending.delete(i);
    }
    for (const [k, g] of this.#reads) {
      g.timer.dispose();
      for (const w of g.waiters) w.reject(stoppedError());
      this.#reads.delete(k);
    }
    for (const w of this.#readQueue) w.reject(stoppedError());
    for (const x of this.#submitQueue) x.reject(stoppedError());
    for (const w of this.#appliedWaiters) w.reject(stoppedError());
    this.#readQueue = [];
    this.#submitQueue = [];
    this.#appliedWaiters = [];
  }

  /** status is the node's status as of the last Ready. */
  status(): NodeStatus {
    return this.#status;
  }

  get applied(): LogIndex {
    return this.#applied;
  }

  /** receive steps a message from the transport. */
  receive(m: Message): void {
    if (!this.#running) return;
    this.#tracing()?.received(m);
    this.#o.node.step(m);
    this.#schedule();
  }

  /** node gives direct access to the core for synchronous calls (transfer, reports). */
  get node(): RawNode {
    return this.#o.node;
  }

  /** kick asks the loop to run (after calling the core directly). */
  kick(): void {
    this.#schedule();
  }

  /**
   * propose appends `data` if this member leads and resolves with the state machine's result once
   * the entry applies here. Otherwise it rejects, once: at once if this member does not lead,
   * with 'dropped' if a leader change lost the entry, with 'timeout' or 'stopped' if neither
   * happened in time.
   */
  propose(data: Uint8Array): Promise<R> {
    if (this.#halted) return Promise.reject(stoppedError());
    return this.#track(this.#o.node.propose(data));
  }

  /** proposeConfChange offers a membership change and resolves once it applies. */
  proposeConfChange(cc: ConfChange): Promise<R> {
    if (this.#halted) return Promise.reject(stoppedError());
    return this.#track(this.#o.node.proposeConfChange(cc));
  }

  #track(r: ReturnType<RawNode['propose']>): Promise<R> {
    if (!r.ok) {
      const detail = r.reason === 'invalid-conf-change' ? r.detail : `Proposal refused: ${r.reason}`;
      return Promise.reject(new ProposalError(r.reason, r.leaderHint, detail));
    }
    this.#schedule();
    return new Promise<R>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#pending.delete(r.index)) {
          reject(new ProposalError('timeout', this.#status.leader, 'Request timed out waiting for the proposal to commit; the cluster may have lost its leader or quorum'));
        }
      }, this.#o.proposalTimeoutMs ?? 10_000);
      this.#pending.set(r.index, { term: r.term, resolve, reject, timer });
    });
  }

  /**
   * readIndex resolves with an index such that a read of the state machine once it has applied
   * that index is linearizable (thesis §6.4); it waits for the apply too. Reads issued in the
   * same event-loop turn share one ReadIndex round (one heartbeat broadcast on the leader).
   */
  readIndex(timeoutMs = 5_000, trace?: (key: string) => void): Promise<LogIndex> {
    if (this.#halted) return Promise.reject(stoppedError());
    return new Promise<LogIndex>((resolve, reject) => {
      this.#readQueue.push({ resolve: (index) => void this.waitApplied(index).then(() => resolve(index), reject), reject, timeoutMs, trace });
      this.#schedule();
    });
  }

  /**
   * submit hands data to the log without waiting for an index: appended here if this member
   * leads, else forwarded to the leader (MsgProp). Resolves once the core took it; the caller
   * recognises the entry when it applies (by an ID inside the data). Submissions of one
   * event-loop turn travel together.
   */
  submit(data: Uint8Array): Promise<void> {
    if (this.#halted) return Promise.reject(stoppedError());
    return new Promise<void>((resolve, reject) => {
      this.#submitQueue.push({ data, resolve, reject });
      this.#schedule();
    });
  }

  #flushInputs(): void {
    if (this.#submitQueue.length > 0) {
      const q = this.#submitQueue;
      this.#submitQueue = [];
      const data = q.map((x) => x.data);
      const r = this.#o.node.forwardBatch(data);
      if (r.ok) this.#tracing()?.proposed(data);
      for (const x of q) {
        if (r.ok) x.resolve();
        else x.reject(new ProposalError(r.reason === 'no-leader' ? 'not-leader' : 'transferring', r.leaderHint, r.reason === 'no-leader' ? 'No leader is known; retry shortly' : 'Leadership is being transferred; retry shortly'));
      }
    }
    if (this.#readQueue.length > 0) {
      const waiters = this.#readQueue;
      this.#readQueue = [];
      const seq = ++this.#readSeq;
      const t = this.#tracing();
      const traced = t !== null && waiters.some((w) => w.trace !== undefined);
      // NB: the context must be unique cluster-wide and across restarts (the leader dedups
      // pending reads by it, and a late answer must never match a newer read).
      const ctx = readContext(this.#status.id, this.#incarnation, traced ? -seq : seq);
      const r = this.#o.node.readIndex(ctx);
      if (!r.ok) {
        for (const w of waiters) w.reject(new ProposalError('not-leader', r.leaderHint, 'No leader is known; retry shortly'));
        return;
      }
      const key = contextKey(ctx);
      if (traced) {
        for (const w of waiters) w.trace?.(key);
        t.readStart(key);
      }
      const timeoutMs = Math.max(...waiters.map((w) => w.timeoutMs));
      const timer = this.#clock.setTimeout(() => {
        const g = this.#reads.get(key);
        if (g === undefined) return;
        this.#reads.delete(key);
        for (const w of g.waiters) w.reject(new ProposalError('timeout', this.#status.leader, 'Linearizable read timed out; the cluster may have lost its leader or quorum'));
      }, timeoutMs);
      this.#reads.set(key, { waiters, timer });
    }
  }

  /** waitApplied resolves once the state machine has applied `index`; it rejects if the member stops first. */
  waitApplied(index: number): Promise<void> {
    if (this.#applied >= index) return Promise.resolve();
    if (!this.#running) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => this.#appliedWaiters.push({ index, resolve, reject }));
  }

  /**
   * exclusive runs `fn` while no Ready is handled: nothing is persisted, sent or applied until it
   * settles (inputs queue meanwhile). For maintenance that must see the state machine hold
   * still, as a store rebuild; heartbeats pause too, so keep `fn` short.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#looping) await new Promise<void>((r) => setImmediate(r));
    this.#looping = true;
    try {
      return await fn();
    } finally {
      this.#looping = false;
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#looping || !this.#running) return;
    this.#scheduled = true;
    // NB: deferring (setImmediate in production) lets every proposal and message of this
    // event-loop turn join one Ready.
    const run = (): void => {
      this.#scheduled = false;
      void this.#loop();
    };
    if (this.#clock.defer !== undefined) this.#clock.defer(run);
    else setImmediate(run);
  }

  async #loop(): Promise<void> {
    if (this.#looping) return;
    this.#looping = true;
    try {
      this.#flushInputs();
      while (this.#running && this.#o.node.hasReady()) {
        const waiting = this.#handle(this.#o.node.ready());
        if (waiting !== undefined) await waiting;
        this.#flushInputs();
      }
    } catch (err) {
      this.#running = false;
      this.#halted = true;
      this.#ticker?.dispose();
      if (this.#o.onFatal) this.#o.onFatal(err);
      else throw err;
    } finally {
      this.#looping = false;
    }
    if (this.#running && (this.#o.node.hasReady() || this.#submitQueue.length > 0 || this.#readQueue.length > 0)) this.#schedule();
  }

  /**
   * handle processes one Ready. It runs to the end on this turn unless it has to wait — for a save
   * the log store cannot finish at once, a snapshot's apply, or a promise from the state
   * machine's afterApply — and then returns the promise of the rest, which the loop awaits. A
   * member's usual Ready waits for nothing: no promise, no microtask, no async frame.
   */
  #handle(rd: Ready): Promise<void> | undefined {
    const o = this.#o;
    const t = this.#tracing();
    const tracedNew: TracedAppend[] | null = t === null ? null : t.ready(rd);
    // NB: #status is the previous Ready's; a proposal dropped in a leader change must point its
    // caller at the new leader, which this Ready's soft state names.
    const leader = rd.softState?.leader ?? this.#status.leader;
    // The leader's appends may go out while it persists (Raft thesis §10.2.1).
    // NB: traced before the send: a raw socket write can wake the receiver, which may record its
    // receipt before this process runs again (on two cores it often does).
    if (rd.messages.length > 0) {
      t?.sent(rd.messages, tracedNew);
      o.transport.send(rd.messages);
    }
    // NB: a change of commit index alone is not worth an fsync: after a crash the commit index
    // is learnt again from the leader (and the state machine's applied index bounds it below).
    if (rd.mustSync || rd.snapshot !== null) {
      const batch: PersistBatch = { hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot };
      if (o.logStore.saveNow?.(batch) !== true) return o.logStore.save(batch).then(() => this.#persisted(rd, t, tracedNew, leader, true));
      return this.#persisted(rd, t, tracedNew, leader, true);
    }
    return this.#persisted(rd, t, tracedNew, leader, false);
  }

  /** #persisted continues a Ready once its entries and hard state are durable (`synced`: it had some). */
  #persisted(rd: Ready, t: DriverTrace | null, tracedNew: TracedAppend[] | null, leader: NodeId, synced: boolean): Promise<void> | undefined {
    const o = this.#o;
    if (synced) t?.synced(tracedNew);
    // NB: the core's copy of a snapshot needs no data: the state machine ships its own state.
    if (rd.snapshot !== null) o.storage.applySnapshot({ metadata: rd.snapshot.metadata, data: new Uint8Array(0) });
    if (rd.hardState !== null) o.storage.setHardState(rd.hardState);
    if (rd.entries.length > 0) o.storage.append(rd.entries);
    if (rd.messagesAfterPersist.length > 0) {
      t?.sent(rd.messagesAfterPersist, tracedNew);
      o.transport.send(rd.messagesAfterPersist);
    }
    if (rd.snapshot !== null) {
      const index = rd.snapshot.metadata.index;
      return o.stateMachine.applySnapshot(rd.snapshot).then(() => {
        this.#applied = index;
        return this.#applyCommitted(rd, t, leader);
      });
    }
    return this.#applyCommitted(rd, t, leader);
  }

  /** #applyCommitted applies a Ready's committed entries and answers their proposers. */
  #applyCommitted(rd: Ready, t: DriverTrace | null, leader: NodeId): Promise<void> | undefined {
    const o = this.#o;
    for (const e of rd.committedEntries) {
      const result = o.stateMachine.applyEntry(e);
      t?.applied(e);
      if (e.type === 'conf-change' && o.onConfChange) {
        const cc = parseConfChange(e.data);
        if (cc.ok) o.onConfChange(cc.value);
      }
      this.#applied = e.index;
      const p = this.#pending.get(e.index);
      if (p !== undefined) {
        this.#pending.delete(e.index);
        p.timer.dispose();
        if (p.term === e.term) p.resolve(result);
        else p.reject(new ProposalError('dropped', leader, 'The proposal was lost in a leader change; retry it'));
      }
    }
    if (rd.committedEntries.length > 0 && o.stateMachine.afterApply) {
      const after = o.stateMachine.afterApply(this.#applied);
      if (after !== undefined) return after.then(() => this.#finish(rd, t, leader));
    }
    this.#finish(rd, t, leader);
    return undefined;
  }

  /** #finish ends a Ready: dropped proposals, advance, read states and apply waiters. */
  #finish(rd: Ready, t: DriverTrace | null, leader: NodeId): void {
    const o = this.#o;
    for (const d of rd.droppedProposals) {
      const p = this.#pending.get(d.index);
      if (p !== undefined && p.term === d.term) {
        this.#pending.delete(d.index);
        p.timer.dispose();
        p.reject(new ProposalError('dropped', leader, 'The proposal was lost in a leader change; retry it'));
      }
    }
    o.node.advance(rd);
    this.#status = o.node.status();
    for (const rs of rd.readStates) {
      if (rs.context.byteLength !== READ_CONTEXT_BYTES) continue;
      const key = contextKey(rs.context);
      const g = this.#reads.get(key);
      if (g === undefined) continue;
      this.#reads.delete(key);
      g.timer.dispose();
      t?.readState(rs.context);
      for (const w of g.waiters) w.resolve(rs.index);
    }
    if (this.#appliedWaiters.length > 0) {
      const ready = this.#appliedWaiters.filter((w) => w.index <= this.#applied);
      if (ready.length > 0) {
        this.#appliedWaiters = this.#appliedWaiters.filter((w) => w.index > this.#applied);
        for (const w of ready) w.resolve();
      }
    }
    o.onReady?.(rd);
  }
}

