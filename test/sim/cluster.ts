/**
 * cluster: the deterministic simulator. N members, one seeded network, one virtual clock and a
 * client, all driven from one seed. Time advances in steps: each step delivers the messages due
 * (shuffled), every `stepsPerTick` steps each running node ticks and the client pumps, and after
 * every event the node's Readies are handled (persist → send → apply → advance). Invariants are
 * checked after every event and every step; any failure is rethrown with the seed and the
 * trace's tail, and the same seed replays the same run exactly.
 */
import type { RawNode } from '../../src/raft/index.js';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ProposeResult, Ready, Snapshot } from '../../src/raft/types.js';
import { decodeConfChange } from '../../src/raft/index.js';
import { NO_NODE, logIndex, nodeId } from '../../src/raft/types.js';
import { SimClient } from './client.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { ReadChecker } from './reads.js';
import type { NetworkFaults } from './network.js';
import { RELIABLE, SimNetwork } from './network.js';
import type { CrashPoint, ReadyHooks } from './node.js';
import { SimNode } from './node.js';
import { chance, deriveSeed, derivedRng } from './rand.js';
import type { AppliedRecord } from './state-machine.js';
import { payload } from './state-machine.js';
import { Trace, describeEntries, describeMessage } from './trace.js';

/** ClusterOptions configures a simulated cluster; only `seed` is required. */
export interface ClusterOptions {
  readonly seed: number;
  /** size is the number of initial voters, ids 1..size (default 3). */
  readonly size?: number;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  /** stepsPerTick is how many network steps make one clock tick (default 4). */
  readonly stepsPerTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly faults?: NetworkFaults;
  /** snapshotEvery: each node snapshots after this many applied entries (0 = never). */
  readonly snapshotEvery?: number;
  /** snapshotKeep: entries kept in the log before a snapshot's index when compacting. */
  readonly snapshotKeep?: number;
  /**
   * asyncPersistPct: 0 handles each Ready at once; otherwise a taken Ready is persisted at each
   * later step with this chance, and messages keep arriving meanwhile (a slow fsync).
   */
  readonly asyncPersistPct?: number;
  /** tickSkipPct: each node skips each clock tick with this chance (clocks running at different speeds). */
  readonly tickSkipPct?: number;
  /** retryTicks: the client retries a write unresolved for this long (default 3 × electionTick). */
  readonly retryTicks?: number;
  readonly keepTrace?: boolean;
}

/** SimStats counts what a run exercised, so a property can require its schedules to do so. */
export interface SimStats {
  crashes: number;
  restarts: number;
  readsStarted: number;
  /**
   * earlierTermCommits counts entries a leader of term T committed that were written in an
   * earlier term and known committed by no member before (§5.4.2: the Figure 8 shape).
   */
  earlierTermCommits: number;
  /** staleLeaderReads counts reads started at a node that believed it led while a newer term had a leader. */
  staleLeaderReads: number;
}

/** SimFailure is any failure inside a simulated run, with what is needed to replay it. */
export class SimFailure extends Error {
  override readonly name = 'SimFailure';
  constructor(message: string, readonly seed: number, override readonly cause: unknown) {
    super(message);
  }
}

const MAX_READY_LOOP = 1000;

/** SimCluster is the simulator. */
export class SimCluster {
  readonly seed: number;
  readonly electionTick: number;
  readonly stepsPerTick: number;
  readonly network: SimNetwork;
  readonly checker = new InvariantChecker();
  readonly trace: Trace;
  readonly client: SimClient;
  readonly nodes = new Map<number, SimNode>();
  /** now is the step count; ticks the number of clock ticks so far. */
  now = 0;
  ticks = 0;
  readonly #opts: ClusterOptions;
  readonly #hooks: ReadyHooks;
  readonly #faultRng;
  /** snapshotsDelivered counts snapshot messages delivered, per destination. */
  readonly snapshotsDelivered = new Map<number, number>();
  /** bootstrapConf is the configuration every node's storage starts with (index 0). */
  readonly bootstrapConf: ConfState;
  /** retired holds removed members, stopped for good once every remaining member applied the removal. */
  readonly retired = new Set<number>();
  #toRetire: number[] = [];
  /** peerRemoved holds "n>x" once node n applied the removal of x: their traffic is dropped. */
  readonly #peerRemoved = new Set<string>();
  /** removals maps a removed node to the members that must apply its removal before it retires. */
  readonly #removals = new Map<number, readonly NodeId[]>();
  /** reads checks every ReadIndex read against its linearizability bounds (see ReadChecker). */
  readonly reads = new ReadChecker();
  #readSeq = 0;
  /** crashOrder lists the crashed nodes, the one down longest first. */
  #crashOrder: NodeId[] = [];
  /** stats counts what the run exercised (see SimStats). */
  readonly stats: SimStats = { crashes: 0, restarts: 0, readsStarted: 0, earlierTermCommits: 0, staleLeaderReads: 0 };

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.seed = opts.seed >>> 0;
    this.electionTick = opts.electionTick ?? 10;
    this.stepsPerTick = opts.stepsPerTick ?? 4;
    this.trace = new Trace({ keepAll: opts.keepTrace ?? false });
    this.network = new SimNetwork(derivedRng(this.seed, 0x4e4554), opts.faults ?? RELIABLE);
    this.#faultRng = derivedRng(this.seed, 0x50455253);
    this.client = new SimClient(derivedRng(this.seed, 0x434c49), opts.retryTicks ?? 3 * this.electionTick, (a) => {
      this.checker.recordAck(a);
      this.reads.noteAck(a.index);
    });
    this.#hooks = this.#makeHooks();
    const size = opts.size ?? 3;
    const voters = Array.from({ length: size }, (_, i) => nodeId(i + 1));
    this.bootstrapConf = { voters, learners: [] };
    this.guard(() => {
      for (const id of voters) this.#createNode(id, this.bootstrapConf);
    });
  }

  #createNode(id: NodeId, conf: ConfState): SimNode {
    const o = this.#opts;
    const node = new SimNode({
      id,
      initialConf: conf,
      seed: this.seed,
      electionTick: this.electionTick,
      heartbeatTick: o.heartbeatTick ?? 1,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      ...(o.maxSizePerMsg !== undefined ? { maxSizePerMsg: o.maxSizePerMsg } : {}),
      ...(o.maxInflightMsgs !== undefined ? { maxInflightMsgs: o.maxInflightMsgs } : {}),
    });
    this.nodes.set(id, node);
    node.start(this.#hooks);
    this.trace.record(`@${this.now} start ${id} conf v[${conf.voters.join(',')}] l[${conf.learners.join(',')}]`);
    return node;
  }

  /** ids lists every node id ever created, ascending. */
  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b).map((i) => nodeId(i));
  }

  /** node returns member `id`; it throws for an unknown id. */
  node(id: number): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`No simulated node ${id}`);
    return n;
  }

  #makeHooks(): ReadyHooks {
    return {
      send: (from: SimNode, m: Message, afterPersist: boolean): void => {
        this.checker.checkPersistedBeforeSend(from.id, m, from.storage);
        const fate = this.network.send(m, this.now);
        this.trace.record(`@${this.now} send${afterPersist ? '*' : ''} ${describeMessage(m)}${fate === 'sent' ? '' : ` (${fate})`}`);
      },
      persisted: (node: SimNode, before: HardState, rd: Ready): void => {
        const hs = rd.hardState;
        this.trace.record(
          `@${this.now} persist ${node.id}${hs === null ? '' : ` hs t${hs.term} v${hs.vote} c${hs.commit}`} ents${describeEntries(rd.entries)}${rd.snapshot === null ? '' : ` snap i${rd.snapshot.metadata.index}`}`,
        );
        this.checker.observePersist(node.id, before, rd, node.storage);
      },
      restored: (node: SimNode, snap: Snapshot): void => {
        this.trace.record(`@${this.now} restore ${node.id} snap i${snap.metadata.index} t${snap.metadata.term}`);
        this.checker.observeRestore(node.id, snap);
        this.client.onRestore(node, node.sm);
      },
      applied: (node: SimNode, e: Entry, rec: AppliedRecord | null): void => {
        this.checker.observeApply(node.id, e, node.raft.status().term);
        this.client.onApply(node, e);
        if (e.type === 'conf-change') {
          const cc = decodeConfChange(e.data);
          if (cc.type === 'remove') this.#appliedRemoval(node, cc.nodeId);
        }
        void rec;
      },
      advanced: (node: SimNode, rd: Ready): void => {
        if (rd.committedEntries.length > 0) this.trace.record(`@${this.now} apply ${node.id} ${describeEntries(rd.committedEntries)}`);
        for (const rs of rd.readStates) {
          node.readStates.push({ ...rs, step: this.now });
          this.#checkRead(node, rs.index, rs.context);
        }
        if (rd.droppedProposals.length > 0) {
          this.trace.record(`@${this.now} dropped ${node.id} ${rd.droppedProposals.map((d) => `${d.index}@t${d.term}`).join(',')}`);
          this.client.onDropped(node, rd.droppedProposals);
        }
        const snapAt = node.maybeSnapshot(this.#opts.snapshotEvery ?? 0, this.#opts.snapshotKeep ?? 0);
        if (snapAt > 0) this.trace.record(`@${this.now} snapshot ${node.id} i${snapAt} first${node.storage.firstIndex()}`);
      },
    };
  }

  /**
   * guard runs `fn`, rethrowing any failure as a SimFailure carrying the seed, the clock and the
   * tail of the trace (once: nested guards pass a SimFailure through).
   */
  guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e: unknown) {
      if (e instanceof SimFailure) throw e;
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new SimFailure(
        `${what}\n  seed=${this.seed} step=${this.now} tick=${this.ticks} (replay: new SimCluster({ seed: ${this.seed}, ... }) with the same schedule)\n` +
          `  nodes: ${this.describe()}\n--- last trace lines ---\n${this.trace.tail()}`,
        this.seed,
        e,
      );
    }
  }

  /** describe summarises every node's status on one line. */
  describe(): string {
    return this.ids()
      .map((id) => {
        const n = this.node(id);
        if (!n.up) return `${id}:down`;
        const s = n.raft.status();
        return `${id}:${s.role[0]}${s.role === 'pre-candidate' ? 'p' : ''} t${s.term} L${s.leader} c${s.commit} a${s.applied} li${s.lastIndex}`;
      })
      .join(' | ');
  }

  /** afterEvent observes the node's role and handles its Readies (synchronous persistence). */
  #afterEvent(node: SimNode): void {
    this.#handleReadies(node);
    if (this.#toRetire.length > 0) this.#retire();
  }

  /**
   * appliedRemoval models what etcd does when a member applies the removal of x: its transport
   * stops exchanging messages with x (so a removed node cannot disrupt it). x itself is stopped
   * for good (retired) only once every remaining member has applied the removal. NB: retiring
   * it earlier can wedge the cluster, because membership takes effect when applied: a member
   * that holds the removal entry but has not learnt it committed still counts x as a voter and
   * needs its vote (e.g. a leader that removed itself and vanished at once).
   */
  #appliedRemoval(node: SimNode, x: NodeId): void {
    if (node.id !== x) this.#peerRemoved.add(`${node.id}>${x}`);
    if (!this.#removals.has(x)) {
      const conf = node.raft.confState();
      this.#removals.set(x, [...conf.voters, ...conf.learners].filter((id) => id !== x));
    }
    const done = this.#removals.get(x)!.every((m) => this.#peerRemoved.has(`${m}>${x}`) || this.retired.has(m));
    if (done && !this.retired.has(x)) this.#toRetire.push(x);
  }

  /** linkRemoved tells whether a membership removal stopped traffic between a and b. */
  #linkRemoved(a: number, b: number): boolean {
    return this.#peerRemoved.size > 0 && (this.#peerRemoved.has(`${a}>${b}`) || this.#peerRemoved.has(`${b}>${a}`));
  }

  /** retire stops, for good, the removed members every remaining member knows are removed. */
  #retire(): void {
    const ids = this.#toRetire;
    this.#toRetire = [];
    for (const id of ids) {
      if (this.retired.has(id)) continue;
      this.retired.add(id);
      this.trace.record(`@${this.now} retire ${id}`);
      const node = this.nodes.get(id);
      if (node?.up === true) this.crash(id);
    }
  }

  #handleReadies(node: SimNode): void {
    if (!node.up) return;
    const raft = node.raft;
    const st = raft.status();
    this.checker.observeRole(node.id, st.role, st.term);
    this.#noteCommit(node);
    if ((this.#opts.asyncPersistPct ?? 0) > 0) {
      if (node.pending === null && raft.hasReady()) node.take(this.#hooks);
      return;
    }
    for (let i = 0; raft.hasReady(); i++) {
      if (i >= MAX_READY_LOOP) throw new Error(`Node ${node.id} produced ${MAX_READY_LOOP} Readies in a row without settling`);
      node.take(this.#hooks);
      node.finish(this.#hooks);
      const s = raft.status();
      this.checker.observeRole(node.id, s.role, s.term);
      this.#noteCommit(node);
    }
  }

  /**
   * noteCommit raises commitHigh to what `node` knows committed. A leader that raises it commits
   * those entries itself; the ones of earlier terms are counted (the Figure 8 shape, §5.4.2).
   */
  #noteCommit(node: SimNode): void {
    const s = node.raft.status();
    const high = this.reads.commitHigh;
    if (s.commit <= high) return;
    if (s.role === 'leader') {
      const st = node.storage;
      const lo = Math.max(high + 1, st.firstIndex());
      const hi = Math.min(s.commit, st.lastIndex());
      for (let i = lo; i <= hi; i++) if (st.term(logIndex(i)) < s.term) this.stats.earlierTermCommits++;
    }
    this.reads.noteCommit(s.commit);
  }

  /** readsServed counts the ReadStates checked against the linearizability bounds. */
  get readsServed(): number {
    return this.reads.served;
  }

  /** step advances the clock by one network step and checks the invariants. */
  step(): void {
    this.guard(() => {
      this.now++;
      for (const d of this.network.due(this.now)) this.#deliver(d.msg, d.cut);
      if ((this.#opts.asyncPersistPct ?? 0) > 0) this.#asyncPersist();
      this.#tickNodes();
      if (this.now % this.stepsPerTick === 0) this.#tick();
      this.#checkStep();
    });
  }

  #deliver(m: Message, cut: boolean): void {
    const node = this.nodes.get(m.to);
    const removed = this.#linkRemoved(m.from, m.to);
    if (cut || removed || node === undefined || !node.up) {
      this.trace.record(`@${this.now} lost ${describeMessage(m)} (${cut ? 'link cut' : removed ? 'peer removed' : 'node down'})`);
      this.#reportLost(m);
      return;
    }
    this.trace.record(`@${this.now} recv ${describeMessage(m)}`);
    node.raft.step(m);
    this.#afterEvent(node);
    if (m.type === 'snap') {
      this.snapshotsDelivered.set(m.to, (this.snapshotsDelivered.get(m.to) ?? 0) + 1);
      const sender = this.nodes.get(m.from);
      if (sender?.up === true) {
        sender.raft.reportSnapshot(m.to, true);
        this.#afterEvent(sender);
      }
    }
  }

  /**
   * reportLost tells the sender what its transport would notice of a message that could not be
   * delivered (cut link or dead peer): the peer is unreachable, and a snapshot send failed.
   */
  #reportLost(m: Message): void {
    const sender = this.nodes.get(m.from);
    if (sender === undefined || !sender.up) return;
    sender.raft.reportUnreachable(m.to);
    if (m.type === 'snap') sender.raft.reportSnapshot(m.to, false);
    this.#afterEvent(sender);
  }

  #asyncPersist(): void {
    const pct = this.#opts.asyncPersistPct ?? 0;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      if (node.pending !== null && chance(this.#faultRng, pct)) node.finish(this.#hooks);
      this.#afterEvent(node);
    }
  }

  /**
   * tickNodes ticks the nodes whose clock ticks at this step. NB: each node's clock has its own
   * phase within the tick (as real tickers do); with clocks in lockstep, equal randomized
   * timeouts expire at the very same step far more often, and split votes repeat.
   */
  #tickNodes(): void {
    const skip = this.#opts.tickSkipPct ?? 0;
    for (const node of this.nodes.values()) {
      if (!node.up || (this.now + this.#phase(node.id)) % this.stepsPerTick !== 0 || chance(this.#faultRng, skip)) continue;
      node.raft.tick();
      this.#afterEvent(node);
    }
  }

  #phase(id: number): number {
    return deriveSeed(this.seed, 0x5048, id) % this.stepsPerTick;
  }

  /** tick is the cluster clock: it counts ticks and pumps the client. */
  #tick(): void {
    this.ticks++;
    this.trace.record(`@${this.now} tick ${this.ticks}`);
    this.client.pump(this.nodes, this.ids(), this.ticks);
    for (const node of this.nodes.values()) this.#afterEvent(node);
  }

  #checkStep(): void {
    for (const node of this.nodes.values()) {
      if (!node.up || node.pending !== null) continue;
      const s = node.raft.status();
      if (s.role === 'leader') this.checker.checkLeaderCompleteness(node.id, s.term, node.storage);
    }
  }

  /** runSteps runs `n` steps. */
  runSteps(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }

  /** run runs `ticks` clock ticks. */
  run(ticks: number): void {
    this.runSteps(ticks * this.stepsPerTick);
  }

  /** runUntil steps until `pred` holds (checked every step); returns the ticks taken, or null after maxTicks. */
  runUntil(pred: () => boolean, maxTicks: number): number | null {
    const start = this.ticks;
    const end = this.now + maxTicks * this.stepsPerTick;
    while (this.now < end) {
      if (this.guard(pred)) return this.ticks - start;
      this.step();
    }
    return this.guard(pred) ? this.ticks - start : null;
  }

  /** with runs `fn` against a running node's core and handles the Readies it caused. */
  with<T>(id: number, fn: (raft: RawNode) => T): T {
    return this.guard(() => {
      const node = this.node(id);
      const out = fn(node.raft);
      this.#afterEvent(node);
      return out;
    });
  }

  /** leader returns the running leader with the highest term, if any. */
  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const s = node.raft.status();
      if (s.role === 'leader' && s.term > bestTerm) {
        best = node;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** leaderId is leader()'s id, or NO_NODE. */
  leaderId(): NodeId {
    return this.leader()?.id ?? NO_NODE;
  }

  /** waitLeader runs until some node leads; returns it, or throws a liveness violation after maxTicks. */
  waitLeader(maxTicks: number): SimNode {
    const took = this.runUntil(() => this.leader() !== null, maxTicks);
    const l = this.leader();
    if (took === null || l === null) this.fail(new InvariantViolation('liveness', `no leader within ${maxTicks} ticks`));
    return l;
  }

  /** fail throws `e` wrapped with the seed and trace. */
  fail(e: unknown): never {
    return this.guard(() => {
      throw e;
    });
  }

  /** propose proposes `key`-less raw data at node `id` (outside the client). */
  propose(id: number, data: Uint8Array): ProposeResult {
    return this.with(id, (r) => r.propose(data));
  }

  /** proposeConfChange proposes a membership change at node `id`. */
  proposeConfChange(id: number, cc: ConfChange): ProposeResult {
    const res = this.with(id, (r) => r.proposeConfChange(cc));
    this.trace.record(`@${this.now} conf-change at ${id} ${cc.type} ${cc.nodeId}: ${res.ok ? `i${res.index}` : res.reason}`);
    return res;
  }

  /** crash crashes node `id` at `point` (see SimNode.crash). */
  crash(id: number, point: CrashPoint = 'clean'): void {
    this.guard(() => {
      const node = this.node(id);
      if (!node.up) return;
      const caught = node.crash(point, this.#hooks);
      this.stats.crashes++;
      this.#crashOrder.push(node.id);
      this.client.onCrash(node);
      this.trace.record(`@${this.now} crash ${id} ${point}${caught ? ' mid-ready' : ''}`);
    });
  }

  /** downLongest is the crashed (not retired) node that has been down longest, or null. */
  downLongest(): NodeId | null {
    return this.#crashOrder.find((id) => !this.retired.has(id)) ?? null;
  }

  /** restart restarts a crashed node from its storage (retired nodes stay down). */
  restart(id: number): void {
    this.guard(() => {
      const node = this.node(id);
      if (node.up || this.retired.has(id)) return;
      this.trace.record(`@${this.now} restart ${id} (incarnation ${node.incarnation})`);
      this.stats.restarts++;
      this.#crashOrder = this.#crashOrder.filter((n) => n !== node.id);
      node.start(this.#hooks);
      this.#afterEvent(node);
    });
  }

  /**
   * addNode starts a new member with an empty log (it takes part once a conf change adds it).
   * NB: its storage starts from the bootstrap configuration, not an empty one. The bootstrap
   * configuration lives only in the snapshot metadata at index 0, not in the log, so a node
   * that started empty and replayed the log from index 1 would apply only the later changes
   * (add-voter 4 on {} gives voters [4]) and elect itself alone (seed 343080981).
   */
  addNode(id: number): SimNode {
    return this.guard(() => this.#createNode(nodeId(id), this.bootstrapConf));
  }

  /** snapshotNow makes node `id` snapshot at its applied index and compact (keeping `keep`). */
  snapshotNow(id: number, keep = 0): number {
    return this.guard(() => {
      const node = this.node(id);
      if (!node.up) return 0;
      const at = node.snapshotNow(keep);
      if (at > 0) this.trace.record(`@${this.now} snapshot ${id} i${at} first${node.storage.firstIndex()}`);
      return at;
    });
  }

  /** partition splits the nodes into groups that cannot talk to each other. */
  partition(groups: readonly (readonly number[])[]): void {
    this.network.partition(groups.map((g) => g.map((i) => nodeId(i))));
    this.trace.record(`@${this.now} partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }

  /** isolate cuts node `id` off from all others. */
  isolate(id: number): void {
    this.network.isolate(nodeId(id), this.ids());
    this.trace.record(`@${this.now} isolate ${id}`);
  }

  /** cutLink cuts the one-way link from → to. */
  cutLink(from: number, to: number): void {
    this.network.cutLink(nodeId(from), nodeId(to));
    this.trace.record(`@${this.now} cut ${from}>${to}`);
  }

  /** heal restores every link. */
  heal(): void {
    this.network.heal();
    this.trace.record(`@${this.now} heal`);
  }

  /** setFaults changes the network's drop/dup/delay settings. */
  setFaults(f: NetworkFaults): void {
    this.network.setFaults(f);
    this.trace.record(`@${this.now} faults drop${f.dropPct} dup${f.dupPct} delay${f.minDelay}-${f.maxDelay}`);
  }

  /** members returns the configuration as the leader (or else the first running node) sees it. */
  members(): NodeId[] {
    const from = this.leader() ?? [...this.nodes.values()].find((n) => n.up);
    if (from === undefined) return [];
    const conf = from.raft.confState();
    return [...conf.voters, ...conf.learners].filter((id) => this.nodes.has(id)).sort((a, b) => a - b);
  }

  /** nextId is the smallest id never used in this cluster. */
  nextId(): NodeId {
    return nodeId(Math.max(0, ...this.nodes.keys()) + 1);
  }

  /**
   * read starts a ReadIndex read at node `id`; its ReadState, when it comes, is checked by
   * `reads` (linearizability in real-time order). Returns the read's context, or null if refused.
   */
  read(id: number): string | null {
    return this.guard(() => {
      const node = this.node(id);
      if (!node.up) return null;
      const ctx = `read-${++this.#readSeq}`;
      const st = node.raft.status();
      if (st.role === 'leader' && this.#newerLeaderThan(st.term)) this.stats.staleLeaderReads++;
      // NB: registered before readIndex, which may answer at once (a sole voter, or a bug).
      this.reads.start(ctx, node.id, this.now);
      this.stats.readsStarted++;
      const res = this.with(id, (r) => r.readIndex(payload(ctx)));
      this.trace.record(`@${this.now} read ${id} ${ctx} min${this.reads.commitHigh} ${res.ok ? 'ok' : res.reason}`);
      if (!res.ok) this.reads.cancel(ctx);
      return res.ok ? ctx : null;
    });
  }

  #newerLeaderThan(t: number): boolean {
    for (const lt of this.checker.leaders().keys()) if (lt > t) return true;
    return false;
  }

  #checkRead(node: SimNode, index: number, context: Uint8Array): void {
    const ctx = new TextDecoder().decode(context);
    if (!this.reads.has(ctx)) return;
    this.trace.record(`@${this.now} read-state ${node.id} ${ctx} i${index}`);
    this.reads.complete(ctx, index);
  }
}
