/**
 * client: the simulated clients' writes. Each request has a unique key; the client proposes it
 * at the node it believes leads (following `leaderHint`s), and an attempt is acknowledged only
 * when the node that accepted it applies that key at the (index, term) propose() returned. An
 * attempt fails when that node applies something else there, reports it dropped, or crashes;
 * an attempt that stays unresolved too long is retried elsewhere (it may still commit later:
 * writes are at-least-once, and every acknowledged one must survive). Some writes are sent with
 * forwardBatch at any node instead: such a write has no index until the leader appends it, so
 * it is acknowledged when the node that forwarded it applies an entry carrying its key.
 */
import type { Rng } from '../../src/raft/rng.js';
import type { DroppedProposal, Entry, LogIndex, NodeId, Term } from '../../src/raft/types.js';
import { NO_NODE, logIndex } from '../../src/raft/types.js';
import type { Ack } from './invariants.js';
import type { SimNode } from './node.js';
import type { ListStateMachine } from './state-machine.js';
import { entryKey, payload } from './state-machine.js';

interface Attempt {
  readonly key: string;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly index: LogIndex;
  readonly term: Term;
  readonly tick: number;
}

interface Forwarded {
  readonly key: string;
  readonly incarnation: number;
  readonly tick: number;
}

interface Request {
  readonly key: string;
  readonly submittedTick: number;
  ack: Ack | null;
  lastAttemptTick: number;
  attempts: number;
}

/** ClientStats counts client outcomes. */
export interface ClientStats {
  submitted: number;
  acked: number;
  proposals: number;
  forwarded: number;
  rejected: number;
  failedAttempts: number;
  droppedReported: number;
}

/** SimClient issues, retries and acknowledges writes. */
export class SimClient {
  readonly #rng: Rng;
  readonly #retryTicks: number;
  readonly #onAck: (a: Ack) => void;
  readonly #requests = new Map<string, Request>();
  readonly #pending = new Set<string>();
  /** NB: open attempts by node; resolved ones are removed. */
  readonly #open = new Map<number, Attempt[]>();
  /** forwarded writes by the node that forwarded them, awaiting their application there. */
  readonly #forwarded = new Map<number, Forwarded[]>();
  #leaderHint: NodeId = NO_NODE;
  #next = 0;
  readonly stats: ClientStats = { submitted: 0, acked: 0, proposals: 0, forwarded: 0, rejected: 0, failedAttempts: 0, droppedReported: 0 };

  constructor(rng: Rng, retryTicks: number, onAck: (a: Ack) => void) {
    this.#rng = rng;
    this.#retryTicks = retryTicks;
    this.#onAck = onAck;
  }

  /** submit queues `count` new writes; they are proposed on the next pump. */
  submit(count: number, tick: number): string[] {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const key = `w${++this.#next}`;
      this.#requests.set(key, { key, submittedTick: tick, ack: null, lastAttemptTick: -Infinity, attempts: 0 });
      this.#pending.add(key);
      keys.push(key);
    }
    this.stats.submitted += count;
    return keys;
  }

  /** pendingKeys lists the writes not yet acknowledged. */
  pendingKeys(): string[] {
    return [...this.#pending];
  }

  /** pendingCount is the number of writes not yet acknowledged. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** ackOf returns the acknowledgement of `key`, if any. */
  ackOf(key: string): Ack | null {
    return this.#requests.get(key)?.ack ?? null;
  }

  /**
   * pump proposes every pending write that has no recent open attempt, at the hinted leader
   * (or a random member when no hint is known). Writes going to one node are sometimes batched.
   */
  pump(nodes: ReadonlyMap<number, SimNode>, ids: readonly NodeId[], tick: number): void {
    const due: Request[] = [];
    for (const key of this.#pending) {
      const r = this.#requests.get(key)!;
      if (tick - r.lastAttemptTick >= this.#retryTicks) due.push(r);
    }
    if (due.length === 0 || ids.length === 0) return;
    let i = 0;
    let tries = 0;
    while (i < due.length && tries < 4) {
      tries++;
      const target = this.#leaderHint !== NO_NODE ? this.#leaderHint : ids[this.#rng.int(ids.length)]!;
      const node = nodes.get(target);
      if (node === undefined || !node.up) {
        this.#leaderHint = NO_NODE;
        continue;
      }
      const batch = due.length - i >= 2 && this.#rng.int(2) === 0 ? due.slice(i, i + 1 + this.#rng.int(Math.min(4, due.length - i))) : [due[i]!];
      if (this.#rng.int(4) === 0) {
        // Forward through any node (it may or may not lead).
        const via = nodes.get(ids[this.#rng.int(ids.length)]!);
        if (via === undefined || !via.up) continue;
        this.stats.forwarded++;
        const fr = via.raft.forwardBatch(batch.map((r) => payload(r.key)));
        if (!fr.ok) {
          this.stats.rejected++;
          continue;
        }
        const list = this.#forwarded.get(via.id) ?? [];
        for (const r of batch) {
          list.push({ key: r.key, incarnation: via.incarnation, tick });
          r.lastAttemptTick = tick;
          r.attempts++;
        }
        this.#forwarded.set(via.id, list);
        i += batch.length;
        continue;
      }
      this.stats.proposals++;
      const res = batch.length === 1 ? node.raft.propose(payload(batch[0]!.key)) : node.raft.proposeBatch(batch.map((r) => payload(r.key)));
      if (!res.ok) {
        this.stats.rejected++;
        this.#leaderHint = res.leaderHint === target ? NO_NODE : res.leaderHint;
        continue;
      }
      this.#leaderHint = target;
      for (let b = 0; b < batch.length; b++) {
        const r = batch[b]!;
        const index = logIndex(res.index - (batch.length - 1 - b));
        this.#addOpen({ key: r.key, node: target, incarnation: node.incarnation, index, term: res.term, tick });
        r.lastAttemptTick = tick;
        r.attempts++;
      }
      i += batch.length;
    }
  }

  #addOpen(a: Attempt): void {
    const list = this.#open.get(a.node);
    if (list === undefined) this.#open.set(a.node, [a]);
    else list.push(a);
  }

  /** onApply resolves the node's open attempts at the applied entry's index, and its forwarded writes. */
  onApply(node: SimNode, e: Entry): void {
    const fwd = this.#forwarded.get(node.id);
    if (fwd !== undefined && fwd.length > 0 && e.type === 'normal') {
      const key = entryKey(e);
      const hit = fwd.filter((f) => f.key === key && f.incarnation === node.incarnation);
      if (hit.length > 0) {
        this.#forwarded.set(node.id, fwd.filter((f) => !hit.includes(f)));
        this.#ackForwarded(key, e.index, e.term);
      }
    }
    const list = this.#open.get(node.id);
    if (list === undefined || list.length === 0) return;
    const key = e.type === 'normal' ? entryKey(e) : null;
    this.#resolve(node, list, (a) => a.index === e.index, (a) => a.term === e.term && a.key === key);
  }

  /** onRestore resolves attempts and forwarded writes covered by a snapshot the node just restored. */
  onRestore(node: SimNode, sm: ListStateMachine): void {
    const fwd = this.#forwarded.get(node.id);
    if (fwd !== undefined && fwd.length > 0) {
      const keep: Forwarded[] = [];
      for (const f of fwd) {
        const r = f.incarnation === node.incarnation ? sm.find(f.key) : undefined;
        if (r === undefined) keep.push(f);
        else this.#ackForwarded(f.key, r.index, r.term);
      }
      this.#forwarded.set(node.id, keep);
    }
    const list = this.#open.get(node.id);
    if (list === undefined || list.length === 0) return;
    this.#resolve(
      node,
      list,
      (a) => a.index <= sm.appliedIndex,
      (a) => {
        const r = sm.at(a.index);
        return r !== undefined && r.key === a.key && r.term === a.term;
      },
    );
  }

  /** onDropped fails the attempts the node reports it will never commit. */
  onDropped(node: SimNode, dropped: readonly DroppedProposal[]): void {
    if (dropped.length === 0) return;
    this.stats.droppedReported += dropped.length;
    const list = this.#open.get(node.id);
    if (list === undefined) return;
    const gone = new Set(dropped.map((d) => `${d.index}:${d.term}`));
    this.#resolve(node, list, (a) => gone.has(`${a.index}:${a.term}`), () => false);
  }

  /** onCrash abandons the node's open attempts: their outcome is unknown, so they are retried. */
  onCrash(node: SimNode): void {
    for (const f of this.#forwarded.get(node.id) ?? []) {
      const r = this.#requests.get(f.key)!;
      if (r.ack === null && r.lastAttemptTick <= f.tick) r.lastAttemptTick = -Infinity;
    }
    this.#forwarded.delete(node.id);
    const list = this.#open.get(node.id) ?? [];
    for (const a of list) this.#fail(a);
    this.#open.delete(node.id);
    if (this.#leaderHint === node.id) this.#leaderHint = NO_NODE;
  }

  #resolve(node: SimNode, list: Attempt[], matches: (a: Attempt) => boolean, succeeded: (a: Attempt) => boolean): void {
    const keep: Attempt[] = [];
    for (const a of list) {
      if (a.incarnation !== node.incarnation || !matches(a)) {
        if (a.incarnation === node.incarnation) keep.push(a);
        continue;
      }
      if (succeeded(a)) this.#ack(a);
      else this.#fail(a);
    }
    this.#open.set(node.id, keep);
  }

  #ackForwarded(key: string, index: LogIndex, t: Term): void {
    this.#ackOnce({ key, index, term: t });
  }

  #ack(a: Attempt): void {
    this.#ackOnce({ key: a.key, index: a.index, term: a.term });
  }

  #ackOnce(ack: Ack): void {
    const r = this.#requests.get(ack.key)!;
    this.#onAck(ack);
    if (r.ack === null) {
      r.ack = ack;
      this.#pending.delete(ack.key);
      this.stats.acked++;
    }
  }

  #fail(a: Attempt): void {
    this.stats.failedAttempts++;
    const r = this.#requests.get(a.key)!;
    // NB: retry at once (next pump) unless a newer attempt of this write is still open.
    if (r.ack === null && r.lastAttemptTick <= a.tick) r.lastAttemptTick = -Infinity;
  }
}
