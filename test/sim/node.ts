/**
 * node: one simulated member — a RawNode, its "disk" (a MemoryStorage that only the persist
 * step writes), and its state machine. A crash throws away the RawNode and the state machine;
 * whatever reached the storage survives, and nothing else: a restart builds a new RawNode on
 * the same storage and rebuilds the state machine from the storage's snapshot, after which the
 * core re-delivers the committed entries past it.
 */
import type { RaftConfig } from '../../src/raft/index.js';
import { RawNode } from '../../src/raft/index.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { ConfState, Entry, HardState, Message, NodeId, Ready, ReadState, Snapshot } from '../../src/raft/types.js';
import { logIndex } from '../../src/raft/types.js';
import { derivedRng } from './rand.js';
import type { AppliedRecord } from './state-machine.js';
import { ListStateMachine } from './state-machine.js';

/** SimNodeConfig configures one member; `seed` is the root seed its rng streams derive from. */
export interface SimNodeConfig {
  readonly id: NodeId;
  readonly initialConf: ConfState;
  readonly seed: number;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
}

/** ReadyHooks is how a node reports what handling a Ready did (to the network, checker, client). */
export interface ReadyHooks {
  send(node: SimNode, msg: Message, afterPersist: boolean): void;
  persisted(node: SimNode, before: HardState, rd: Ready): void;
  restored(node: SimNode, snap: Snapshot): void;
  applied(node: SimNode, e: Entry, rec: AppliedRecord | null): void;
  advanced(node: SimNode, rd: Ready): void;
}

/** CrashPoint says where in Ready handling a crash strikes. */
export type CrashPoint = 'clean' | 'after-ready' | 'after-persist';

/** ObservedReadState is a ReadState with the step it arrived at. */
export interface ObservedReadState extends ReadState {
  readonly step: number;
}

/** SimNode is one simulated member. */
export class SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly #cfg: SimNodeConfig;
  #raft: RawNode | null = null;
  #sm = new ListStateMachine();
  #incarnation = 0;
  /** pending is a Ready taken from the core whose persist step has not happened yet. */
  pending: Ready | null = null;
  /** readStates collects every ReadState this node reported, across incarnations. */
  readonly readStates: ObservedReadState[] = [];

  constructor(cfg: SimNodeConfig) {
    this.id = cfg.id;
    this.#cfg = cfg;
    this.storage = MemoryStorage.withConf(cfg.initialConf);
  }

  /** up tells whether the node is running. */
  get up(): boolean {
    return this.#raft !== null;
  }

  /** incarnation counts restarts (0 for the first start). */
  get incarnation(): number {
    return this.#incarnation;
  }

  /** raft returns the running core; it throws if the node is down (a simulator bug). */
  get raft(): RawNode {
    if (this.#raft === null) throw new Error(`Node ${this.id} is down; restart it before using it`);
    return this.#raft;
  }

  /** sm is the node's current state machine. */
  get sm(): ListStateMachine {
    return this.#sm;
  }

  /**
   * start (re)creates the core from storage. The state machine is rebuilt from the snapshot and
   * `applied` is set to the snapshot's index, so the core replays every committed entry after it.
   */
  start(hooks: ReadyHooks): void {
    if (this.#raft !== null) throw new Error(`Node ${this.id} is already running`);
    const snap = this.storage.snapshot();
    this.#sm = new ListStateMachine();
    if (snap.metadata.index > 0) {
      this.#sm.restore(snap);
      hooks.restored(this, snap);
    }
    const cfg = this.#cfg;
    const config: RaftConfig = {
      id: cfg.id,
      storage: this.storage,
      electionTick: cfg.electionTick,
      heartbeatTick: cfg.heartbeatTick,
      rng: derivedRng(cfg.seed, cfg.id, this.#incarnation),
      preVote: cfg.preVote,
      checkQuorum: cfg.checkQuorum,
      applied: snap.metadata.index,
      ...(cfg.maxSizePerMsg !== undefined ? { maxSizePerMsg: cfg.maxSizePerMsg } : {}),
      ...(cfg.maxInflightMsgs !== undefined ? { maxInflightMsgs: cfg.maxInflightMsgs } : {}),
    };
    this.#raft = new RawNode(config);
  }

  /**
   * crash stops the node at `point`: 'clean' between Readies; 'after-ready' takes a Ready and
   * sends its `messages` (allowed before persisting) but dies before persisting it;
   * 'after-persist' also persists it but dies before sending the acknowledgements, applying
   * and advancing. A Ready already pending (asynchronous persistence) is lost or persisted the
   * same way. Returns whether a Ready was caught mid-flight.
   */
  crash(point: CrashPoint, hooks: ReadyHooks): boolean {
    const raft = this.raft;
    let rd = this.pending;
    if (rd === null && point !== 'clean' && raft.hasReady()) {
      rd = raft.ready();
      for (const m of rd.messages) hooks.send(this, m, false);
    }
    if (rd !== null && point === 'after-persist') this.persist(rd, hooks);
    this.#raft = null;
    this.pending = null;
    this.#incarnation++;
    return rd !== null;
  }

  /** take takes the next Ready and sends its early `messages` (it becomes `pending`). */
  take(hooks: ReadyHooks): Ready {
    if (this.pending !== null) throw new Error(`Node ${this.id} already has a pending Ready`);
    const rd = this.raft.ready();
    this.pending = rd;
    for (const m of rd.messages) hooks.send(this, m, false);
    return rd;
  }

  /** finish persists the pending Ready, sends the rest, applies and advances. */
  finish(hooks: ReadyHooks): void {
    const rd = this.pending;
    if (rd === null) throw new Error(`Node ${this.id} has no pending Ready`);
    this.persist(rd, hooks);
    for (const m of rd.messagesAfterPersist) hooks.send(this, m, true);
    if (rd.snapshot !== null) {
      this.#sm.restore(rd.snapshot);
      hooks.restored(this, rd.snapshot);
    }
    for (const e of rd.committedEntries) hooks.applied(this, e, this.#sm.apply(e));
    this.pending = null;
    this.raft.advance(rd);
    hooks.advanced(this, rd);
  }

  /** persist writes a Ready's snapshot, entries and hard state to storage (the simulated fsync). */
  persist(rd: Ready, hooks: ReadyHooks): void {
    const before = this.storage.hardState();
    if (rd.snapshot !== null) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState !== null) this.storage.setHardState(rd.hardState);
    hooks.persisted(this, before, rd);
  }

  /**
   * maybeSnapshot takes an application snapshot once `every` entries were applied since the last
   * one, and compacts the log to keep `keep` entries before it. Returns the snapshot index, or 0.
   */
  maybeSnapshot(every: number, keep: number): number {
    if (every <= 0) return 0;
    const applied = this.#sm.appliedIndex;
    const snapIndex = this.storage.snapshot().metadata.index;
    if (applied - snapIndex < every) return 0;
    return this.snapshotNow(keep);
  }

  /** snapshotNow snapshots at the applied index and compacts, keeping `keep` entries. */
  snapshotNow(keep: number): number {
    const applied = this.#sm.appliedIndex;
    if (applied <= this.storage.snapshot().metadata.index) return 0;
    this.storage.createSnapshot(applied, this.raft.confState(), this.#sm.encode());
    const to = applied - keep;
    if (to >= this.storage.firstIndex()) this.storage.compact(logIndex(to));
    return applied;
  }
}
