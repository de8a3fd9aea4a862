/**
 * driver-client: the simulated clients of real RaftDrivers, using the driver's own promises as
 * an application does. Writes go two ways: `propose` at the member believed to lead (the
 * promise resolves with the applied record, or rejects — 'dropped' when a leader change lost the
 * entry), and `submit` at any member, acknowledged when that member applies the write's key, as
 * the KV server acknowledges a forwarded request. Reads call `readIndex` and, when it resolves,
 * read the member's state machine: it must hold every write acknowledged before the read was
 * invoked, and have applied the read index it got, which must be at least the highest commit
 * index known anywhere then.
 *
 * Every promise the client holds is an Op. Ops of a crashed incarnation are abandoned (the
 * process is gone); every other op must settle — on a clean stop at once, otherwise by the time
 * the cluster has settled — or the run fails.
 */
import { ProposalError } from '../../src/raft/driver.js';
import type { Rng } from '../../src/raft/rng.js';
import type { Entry, NodeId } from '../../src/raft/types.js';
import { NO_NODE } from '../../src/raft/types.js';
import type { Ack, InvariantChecker } from './invariants.js';
import { InvariantViolation } from './invariants.js';
import type { AppliedRecord, ListStateMachine } from './state-machine.js';
import { entryKey, payload } from './state-machine.js';

/** DriverRef is what the client needs of one running member incarnation. */
export interface DriverRef {
  readonly id: NodeId;
  readonly incarnation: number;
  readonly sm: ListStateMachine;
  propose(data: Uint8Array): Promise<AppliedRecord | null>;
  submit(data: Uint8Array): Promise<void>;
  readIndex(timeoutMs: number): Promise<number>;
}

/** DriverClientStats counts what the client saw, for the properties' exercise checks. */
export interface DriverClientStats {
  submitted: number;
  acked: number;
  proposes: number;
  submits: number;
  /** rejected counts rejected write attempts by ProposalError reason. */
  rejected: Record<string, number>;
  readsStarted: number;
  readsServed: number;
  readsServedDuringPartition: number;
  readsRejected: number;
  /** stoppedRejections counts ops rejected with 'stopped' when their member stopped. */
  stoppedRejections: number;
  abandoned: number;
}

interface Op {
  readonly seq: number;
  readonly kind: 'propose' | 'submit' | 'read';
  readonly node: NodeId;
  readonly incarnation: number;
  readonly key: string;
  readonly startedAt: number;
  settled: boolean;
  abandoned: boolean;
}

interface WriteReq {
  readonly key: string;
  ack: Ack | null;
  /** retryAt is the virtual time at which the write is due for another attempt. */
  retryAt: number;
}

interface AwaitApply {
  readonly key: string;
  readonly incarnation: number;
  readonly deadline: number;
}

/** DriverClientEnv is the cluster as the client sees it. */
export interface DriverClientEnv {
  readonly rng: Rng;
  readonly checker: InvariantChecker;
  /** now is the virtual time in milliseconds. */
  now(): number;
  /** running lists the members that accept requests, ascending by id. */
  running(): readonly DriverRef[];
  /** maxCommitKnown is the highest commit index any member knows or ever persisted. */
  maxCommitKnown(): number;
  /** partitioned tells whether some link is cut right now. */
  partitioned(): boolean;
  /** fail reports a violation found inside a promise callback. */
  fail(e: unknown): void;
  trace(line: string): void;
}

/** DriverClient issues writes and reads through real drivers and checks what they answer. */
export class DriverClient {
  readonly #env: DriverClientEnv;
  readonly #retryMs: number;
  readonly #readTimeoutMs: number;
  readonly #requests = new Map<string, WriteReq>();
  readonly #pending = new Set<string>();
  readonly #ops = new Map<number, Op>();
  readonly #awaiting = new Map<number, AwaitApply[]>();
  #leaderHint: NodeId = NO_NODE;
  #next = 0;
  #opSeq = 0;
  readonly stats: DriverClientStats = {
    submitted: 0, acked: 0, proposes: 0, submits: 0, rejected: {}, readsStarted: 0, readsServed: 0,
    readsServedDuringPartition: 0, readsRejected: 0, stoppedRejections: 0, abandoned: 0,
  };

  constructor(env: DriverClientEnv, o: { readonly retryMs: number; readonly readTimeoutMs: number }) {
    this.#env = env;
    this.#retryMs = o.retryMs;
    this.#readTimeoutMs = o.readTimeoutMs;
  }

  /** submitWrites queues `count` new writes; they are sent on the next pump. */
  submitWrites(count: number): void {
    for (let i = 0; i < count; i++) {
      const key = `w${++this.#next}`;
      this.#requests.set(key, { key, ack: null, retryAt: 0 });
      this.#pending.add(key);
    }
    this.stats.submitted += count;
  }

  /** pendingWrites is the number of writes not yet acknowledged. */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  /** openOps lists the unsettled ops of live incarnations (for liveness reports). */
  openOps(): string[] {
    const out: string[] = [];
    for (const op of this.#ops.values()) if (!op.settled && !op.abandoned) out.push(`${op.kind} ${op.key} at ${op.node}/${op.incarnation} since ${op.startedAt}ms`);
    return out;
  }

  /** pump sends every write due for an attempt: proposed at the hinted leader, or submitted anywhere. */
  pump(): void {
    const env = this.#env;
    const now = env.now();
    this.#expireAwaits(now);
    const running = env.running();
    if (running.length === 0) return;
    for (const key of this.#pending) {
      const r = this.#requests.get(key)!;
      if (r.retryAt > now) continue;
      r.retryAt = now + this.#retryMs;
      if (env.rng.int(2) === 0) {
        const hinted = running.find((d) => d.id === this.#leaderHint);
        this.#propose(hinted ?? running[env.rng.int(running.length)]!, key);
      } else {
        this.#submit(running[env.rng.int(running.length)]!, key);
      }
    }
  }

  #open(kind: Op['kind'], d: DriverRef, key: string): Op {
    const op: Op = { seq: ++this.#opSeq, kind, node: d.id, incarnation: d.incarnation, key, startedAt: this.#env.now(), settled: false, abandoned: false };
    this.#ops.set(op.seq, op);
    return op;
  }

  /** settle closes an op; false if it was abandoned (its incarnation crashed: the answer is moot). */
  #settle(op: Op): boolean {
    op.settled = true;
    this.#ops.delete(op.seq);
    return !op.abandoned;
  }

  #rejected(op: Op, err: unknown): void {
    if (!(err instanceof ProposalError)) {
      this.#env.fail(err);
      return;
    }
    if (err.reason === 'stopped') this.stats.stoppedRejections++;
    if (op.kind === 'read') this.stats.readsRejected++;
    else this.stats.rejected[err.reason] = (this.stats.rejected[err.reason] ?? 0) + 1;
    if (err.leaderHint !== NO_NODE) this.#leaderHint = err.leaderHint;
    this.#env.trace(`@${this.#env.now()} ${op.kind} ${op.key} at ${op.node} rejected: ${err.reason}`);
    const r = this.#requests.get(op.key);
    // NB: retry at once: the outcome is known to be a failure (or unknown, for a timeout).
    if (r !== undefined && r.ack === null) r.retryAt = 0;
  }

  #propose(d: DriverRef, key: string): void {
    this.stats.proposes++;
    const op = this.#open('propose', d, key);
    d.propose(payload(key)).then(
      (rec) => {
        if (!this.#settle(op)) return;
        if (rec === null || rec.key !== key) {
          this.#env.fail(new InvariantViolation('acknowledged-lost', `propose of ${key} at ${d.id} resolved with ${rec === null ? 'a no-op' : rec.key}`));
          return;
        }
        this.#leaderHint = d.id;
        this.#ack({ key, index: rec.index, term: rec.term });
      },
      (err: unknown) => {
        if (this.#settle(op)) this.#rejected(op, err);
      },
    );
  }

  #submit(d: DriverRef, key: string): void {
    this.stats.submits++;
    const op = this.#open('submit', d, key);
    d.submit(payload(key)).then(
      () => {
        if (!this.#settle(op)) return;
        const list = this.#awaiting.get(d.id) ?? [];
        list.push({ key, incarnation: d.incarnation, deadline: this.#env.now() + this.#retryMs });
        this.#awaiting.set(d.id, list);
      },
      (err: unknown) => {
        if (this.#settle(op)) this.#rejected(op, err);
      },
    );
  }

  #expireAwaits(now: number): void {
    for (const [id, list] of this.#awaiting) this.#awaiting.set(id, list.filter((a) => a.deadline > now));
  }

  #ack(a: Ack): void {
    this.#env.checker.recordAck(a);
    const r = this.#requests.get(a.key);
    if (r !== undefined && r.ack === null) {
      r.ack = a;
      this.#pending.delete(a.key);
      this.stats.acked++;
      this.#env.trace(`@${this.#env.now()} ack ${a.key} i${a.index} t${a.term}`);
    }
  }

  /** onApply acknowledges writes submitted through `d` once it applies their key. */
  onApply(id: NodeId, incarnation: number, e: Entry): void {
    const list = this.#awaiting.get(id);
    if (list === undefined || list.length === 0 || e.type !== 'normal') return;
    const key = entryKey(e);
    const hit = list.findIndex((a) => a.key === key && a.incarnation === incarnation);
    if (hit < 0) return;
    list.splice(hit, 1);
    this.#ack({ key, index: e.index, term: e.term });
  }

  /** onRestore acknowledges awaited writes a snapshot restored on `id` holds. */
  onRestore(id: NodeId, incarnation: number, sm: ListStateMachine): void {
    const list = this.#awaiting.get(id);
    if (list === undefined) return;
    this.#awaiting.set(id, list.filter((a) => {
      const r = a.incarnation === incarnation ? sm.find(a.key) : undefined;
      if (r === undefined) return true;
      this.#ack({ key: a.key, index: r.index, term: r.term });
      return false;
    }));
  }

  /**
   * read invokes a linearizable read at `d`. When it resolves, `d`'s state machine must have
   * applied the highest commit known when the read was invoked, and hold every write
   * acknowledged before then.
   */
  read(d: DriverRef): void {
    const env = this.#env;
    this.stats.readsStarted++;
    const minIndex = Math.max(env.maxCommitKnown(), env.checker.maxCommitted);
    const acked = env.checker.acks().length;
    const op = this.#open('read', d, `r${this.#opSeq + 1}`);
    env.trace(`@${env.now()} read ${op.key} at ${d.id} min${minIndex} acks${acked}`);
    d.readIndex(this.#readTimeoutMs).then(
      (index) => {
        if (!this.#settle(op)) return;
        this.stats.readsServed++;
        if (env.partitioned()) this.stats.readsServedDuringPartition++;
        const applied = d.sm.appliedIndex;
        env.trace(`@${env.now()} read ${op.key} at ${d.id} served i${index} applied${applied}`);
        // The driver's promise: it resolves only once the state machine has applied the read index.
        if (applied < index) {
          env.fail(new InvariantViolation('read-linearizability', `read ${op.key} at ${d.id} resolved with read index ${index} while its state machine had applied only ${applied}`));
          return;
        }
        if (index < minIndex) {
          env.fail(new InvariantViolation('read-linearizability', `read ${op.key} at ${d.id} invoked at ${op.startedAt}ms when ${minIndex} was committed got read index ${index} and a state machine applied to ${applied}`));
          return;
        }
        const acks = env.checker.acks();
        for (let i = 0; i < acked; i++) {
          const a = acks[i]!;
          const r = d.sm.at(a.index);
          if (r === undefined || r.key !== a.key || r.term !== a.term) {
            env.fail(new InvariantViolation('read-linearizability', `read ${op.key} at ${d.id} (invoked at ${op.startedAt}ms) does not see ${a.key}, acknowledged at ${a.index} before it`));
            return;
          }
        }
      },
      (err: unknown) => {
        if (this.#settle(op)) this.#rejected(op, err);
      },
    );
  }

  /** unsettledOf lists the ops of `id`'s incarnation still open (a clean stop must leave none). */
  unsettledOf(id: NodeId, incarnation: number): string[] {
    const out: string[] = [];
    for (const op of this.#ops.values()) if (op.node === id && op.incarnation === incarnation && !op.abandoned) out.push(`${op.kind} ${op.key}`);
    return out;
  }

  /** onDown forgets the incarnation's awaited applies and, on a crash, abandons its ops. */
  onDown(id: NodeId, incarnation: number, crashed: boolean): void {
    const list = this.#awaiting.get(id);
    if (list !== undefined) {
      for (const a of list) {
        const r = this.#requests.get(a.key);
        if (r !== undefined && r.ack === null) r.retryAt = 0;
      }
      this.#awaiting.delete(id);
    }
    if (this.#leaderHint === id) this.#leaderHint = NO_NODE;
    if (!crashed) return;
    for (const op of this.#ops.values()) {
      if (op.node !== id || op.incarnation !== incarnation) continue;
      op.abandoned = true;
      this.#ops.delete(op.seq);
      this.stats.abandoned++;
      const r = this.#requests.get(op.key);
      if (r !== undefined && r.ack === null) r.retryAt = 0;
    }
  }
}
