/**
 * harness: a tiny explicit-delivery network for single-rule tests (etcd-io/raft's `network`).
 * Nodes are built from a given durable state (log terms, hard state); `drain` handles a node's
 * Readies (persist, apply, advance) and returns what it sent; `send` delivers messages and
 * everything they cause until the network is quiet. Messages to ids with no node (stand-ins
 * the test plays by hand) and messages the `drop` filter rejects are kept in `undelivered`.
 */
import { RawNode } from '../../src/raft/index.js';
import type { NodeStatus } from '../../src/raft/index.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry, LogIndex, Message, NodeId, ReadState, Ready, Term } from '../../src/raft/types.js';
import { NO_NODE, logIndex, nodeId, term } from '../../src/raft/types.js';
import { derivedRng } from './rand.js';

/** PaperNodeOptions describes a node's durable starting state and settings. */
export interface PaperNodeOptions {
  readonly voters?: readonly number[];
  readonly learners?: readonly number[];
  /** log lists the terms of entries 1..n (their data is "e<index>"). */
  readonly log?: readonly number[];
  readonly term?: number;
  readonly vote?: number;
  readonly commit?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly seed?: number;
}

const encoder = new TextEncoder();

/** makeEntries builds entries 1..n with the given terms and data "e<index>". */
export function makeEntries(terms: readonly number[], from = 1): Entry[] {
  return terms.map((t, i) => ({ index: logIndex(from + i), term: term(t), type: 'normal' as const, data: encoder.encode(`e${from + i}`) }));
}

/** PaperNode is a RawNode with its storage and everything its Readies carried. */
export class PaperNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly opts: PaperNodeOptions;
  raft: RawNode;
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly readies: Ready[] = [];

  constructor(id: number, opts: PaperNodeOptions = {}) {
    this.id = nodeId(id);
    this.opts = opts;
    const voters = (opts.voters ?? [1, 2, 3]).map((v) => nodeId(v));
    const learners = (opts.learners ?? []).map((v) => nodeId(v));
    this.storage = MemoryStorage.withConf({ voters, learners });
    this.storage.append(makeEntries(opts.log ?? []));
    this.storage.setHardState({ term: term(opts.term ?? 0), vote: opts.vote === undefined || opts.vote === 0 ? NO_NODE : nodeId(opts.vote), commit: logIndex(opts.commit ?? 0) });
    this.raft = this.#newRaft(0);
  }

  #newRaft(incarnation: number): RawNode {
    const o = this.opts;
    return new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      rng: derivedRng(o.seed ?? 1, this.id, incarnation),
      preVote: o.preVote ?? false,
      checkQuorum: o.checkQuorum ?? false,
      applied: this.storage.snapshot().metadata.index,
    });
  }

  /** restart replaces the core with a new one built from the same storage (a crash-restart). */
  restart(): void {
    this.raft = this.#newRaft(this.readies.length + 1);
  }

  /** drain handles every Ready (persist, apply, advance) and returns the messages sent, in order. */
  drain(): Message[] {
    const out: Message[] = [];
    while (this.raft.hasReady()) {
      const rd = this.raft.ready();
      this.readies.push(rd);
      out.push(...rd.messages);
      if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== null) this.storage.setHardState(rd.hardState);
      out.push(...rd.messagesAfterPersist);
      this.applied.push(...rd.committedEntries);
      this.readStates.push(...rd.readStates);
      this.raft.advance(rd);
    }
    return out;
  }

  /** status is the core's status. */
  status(): NodeStatus {
    return this.raft.status();
  }

  /** logTerms lists the terms of the persisted entries from firstIndex on. */
  logTerms(): number[] {
    const s = this.storage;
    if (s.lastIndex() < s.firstIndex()) return [];
    return s.entries(s.firstIndex(), logIndex(s.lastIndex() + 1), Infinity).map((e) => e.term);
  }

  /** entries returns the persisted entries from firstIndex on. */
  entries(): Entry[] {
    const s = this.storage;
    if (s.lastIndex() < s.firstIndex()) return [];
    return s.entries(s.firstIndex(), logIndex(s.lastIndex() + 1), Infinity);
  }
}

/** PaperNet delivers messages between PaperNodes by hand. */
export class PaperNet {
  readonly nodes = new Map<number, PaperNode>();
  /** undelivered keeps messages to absent nodes or rejected by `drop`, in order. */
  undelivered: Message[] = [];
  /** drop, when it returns true, keeps a message from being delivered. */
  drop: (m: Message) => boolean = () => false;

  constructor(nodes: readonly PaperNode[] = []) {
    for (const n of nodes) this.nodes.set(n.id, n);
  }

  /** node returns node `id`. */
  node(id: number): PaperNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`No harness node ${id}`);
    return n;
  }

  /** send delivers `msgs` and every message they cause, breadth first, until quiet. */
  send(...msgs: Message[]): void {
    const queue = [...msgs];
    for (let n = 0; queue.length > 0; n++) {
      if (n > 100_000) throw new Error('PaperNet.send did not quiesce');
      const m = queue.shift()!;
      const node = this.nodes.get(m.to);
      if (node === undefined || this.drop(m)) {
        this.undelivered.push(m);
        continue;
      }
      node.raft.step(m);
      queue.push(...node.drain());
    }
  }

  /** act runs `fn` on node `id`'s core, then delivers whatever it sent. */
  act(id: number, fn: (r: RawNode) => void): void {
    const node = this.node(id);
    fn(node.raft);
    this.send(...node.drain());
  }

  /** tick ticks node `id` n times, delivering what each tick causes. */
  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) this.act(id, (r) => r.tick());
  }

  /** tickAll ticks every node n times, delivering after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) this.act(id, (r) => r.tick());
  }

  /** take removes and returns the undelivered messages matching `pred`. */
  take(pred: (m: Message) => boolean = () => true): Message[] {
    const hit = this.undelivered.filter(pred);
    this.undelivered = this.undelivered.filter((m) => !pred(m));
    return hit;
  }
}

/** termOf is a typed shorthand for term(n). */
export function termOf(n: number): Term {
  return term(n);
}

/** idx is a typed shorthand for logIndex(n). */
export function idx(n: number): LogIndex {
  return logIndex(n);
}
