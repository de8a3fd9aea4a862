/**
 * driver-cluster: the deterministic simulator with the production RaftDriver in every member.
 * Each member is a real RaftDriver over a RawNode, a MemoryLogStore (the simulated WAL, with
 * optional slow fsyncs) and a ListStateMachine; its transport is the seeded SimNetwork and its
 * clock a SimScheduler view, so the driver's ticker, proposal and read timeouts and its deferred
 * Ready loop all run on virtual time. A step is one virtual millisecond: messages due are
 * delivered, slow fsyncs may complete, timers due fire, then the drivers' deferred loops and
 * every promise continuation run to a fixed point. The same seed replays the same run exactly.
 *
 * Invariants are those of the core simulator, observed at the driver's edges: election safety
 * from every status, log matching and durable-state rules when a save becomes durable,
 * persist-before-send on every message the driver hands its transport (checked against the
 * disk, not the core), state machine safety on every apply, leader completeness on the disk, no
 * acknowledged write lost and linearizable reads (see DriverClient), and on a clean stop every
 * waiter settles. A crash loses whatever was not yet durable.
 */
import { RaftDriver } from '../../src/raft/driver.js';
import type { PersistBatch } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import type { MemoryStorage } from '../../src/raft/storage.js';
import type { ConfState, Entry, HardState, Message, NodeId, Ready, Snapshot } from '../../src/raft/types.js';
import { logIndex, nodeId } from '../../src/raft/types.js';
import type { DriverRef } from './driver-client.js';
import { DriverClient } from './driver-client.js';
import { InvariantChecker, InvariantViolation } from './invariants.js';
import { MemoryLogStore } from './memory-log-store.js';
import type { NetworkFaults } from './network.js';
import { RELIABLE, SimNetwork } from './network.js';
import { chance, deriveSeed, derivedRng } from './rand.js';
import { ClockOwner, SimScheduler, settleMicrotasks } from './scheduler.js';
import type { AppliedRecord } from './state-machine.js';
import { ListStateMachine } from './state-machine.js';
import { Trace, describeEntries, describeMessage } from './trace.js';

/** DriverClusterOptions configures a simulated cluster of drivers; only `seed` is required. */
export interface DriverClusterOptions {
  readonly seed: number;
  /** size is the number of voters, ids 1..size (default 3). */
  readonly size?: number;
  readonly electionTick?: number;
  /** tickMs is the drivers' tick interval in virtual milliseconds (= simulator steps; default 4). */
  readonly tickMs?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly faults?: NetworkFaults;
  /** snapshotEvery: each member snapshots after this many applied entries (0 = never). */
  readonly snapshotEvery?: number;
  readonly snapshotKeep?: number;
  /** slowFsyncPct: 0 makes saves durable at once; otherwise each pending fsync completes at each step with this chance. */
  readonly slowFsyncPct?: number;
  /** timeoutTicks bounds proposals and reads (the drivers' timeouts) and the client's wait for a submitted write to apply (default 6 × electionTick). */
  readonly timeoutTicks?: number;
  /** readPct: each tick the client starts a read at a random member with this chance (default 30). */
  readonly readPct?: number;
  readonly keepTrace?: boolean;
}

/** DriverSimFailure is any failure inside a run, with the seed to replay it. */
export class DriverSimFailure extends Error {
  override readonly name = 'DriverSimFailure';
  constructor(message: string, readonly seed: number, override readonly cause: unknown) {
    super(message);
  }
}

/** DriverSimNode is one member: its disk outlives incarnations; the rest is one incarnation's. */
export class DriverSimNode {
  readonly store: MemoryLogStore;
  incarnation = 0;
  driver: RaftDriver<AppliedRecord | null> | null = null;
  storage: MemoryStorage | null = null;
  sm = new ListStateMachine();
  owner: ClockOwner | null = null;
  /** stopping marks a clean stop in progress: its driver finishes the Ready at hand but sends nothing. */
  stopping = false;

  constructor(readonly id: NodeId, conf: ConfState) {
    this.store = new MemoryLogStore(conf);
  }

  /** up tells whether the member runs and talks. */
  get up(): boolean {
    return this.driver !== null && !this.stopping;
  }

  /** live returns the running driver; it throws if the member is down (a simulator bug). */
  live(): RaftDriver<AppliedRecord | null> {
    if (this.driver === null) throw new Error(`Node ${this.id} is down`);
    return this.driver;
  }
}

/** DriverStats counts the faults a run injected, for the properties' exercise checks. */
export interface DriverStats {
  crashes: number;
  stops: number;
  restarts: number;
  snapshotsSent: number;
}

const MAX_QUIESCE_ROUNDS = 10_000;

/** DriverCluster is the simulator of real drivers. */
export class DriverCluster {
  readonly seed: number;
  readonly electionTick: number;
  readonly tickMs: number;
  readonly network: SimNetwork;
  readonly scheduler = new SimScheduler();
  readonly checker = new InvariantChecker();
  readonly trace: Trace;
  readonly client: DriverClient;
  readonly nodes = new Map<number, DriverSimNode>();
  readonly stats: DriverStats = { crashes: 0, stops: 0, restarts: 0, snapshotsSent: 0 };
  /** commitHigh is the highest commit index any member was seen to know (see maxCommitKnown). */
  #commitHigh = 0;
  readonly #o: DriverClusterOptions;
  readonly #faultRng;
  readonly #conf: ConfState;
  readonly #timeoutMs: number;
  #failure: Error | null = null;

  constructor(o: DriverClusterOptions) {
    this.#o = o;
    this.seed = o.seed >>> 0;
    this.electionTick = o.electionTick ?? 10;
    this.tickMs = o.tickMs ?? 4;
    this.#timeoutMs = (o.timeoutTicks ?? 6 * this.electionTick) * this.tickMs;
    this.trace = new Trace({ keepAll: o.keepTrace ?? false });
    this.network = new SimNetwork(derivedRng(this.seed, 0x4e4554), o.faults ?? RELIABLE);
    this.#faultRng = derivedRng(this.seed, 0x50455253);
    const size = o.size ?? 3;
    this.#conf = { voters: Array.from({ length: size }, (_, i) => nodeId(i + 1)), learners: [] };
    this.client = new DriverClient(
      {
        rng: derivedRng(this.seed, 0x434c49),
        checker: this.checker,
        now: () => this.now,
        running: () => this.ids().map((id) => this.nodes.get(id)!).filter((n) => n.up).map((n) => this.#ref(n)),
        maxCommitKnown: () => this.#maxCommitKnown(),
        partitioned: () => this.network.cutLinks().length > 0,
        fail: (e) => this.#fail(e),
        trace: (line) => this.trace.record(line),
      },
      { retryMs: this.#timeoutMs, readTimeoutMs: this.#timeoutMs },
    );
    // Members start within the first tick, each at its own phase (as real tickers do).
    const boot = this.scheduler.clockFor(new ClockOwner('boot'));
    for (const id of this.#conf.voters) {
      const n = new DriverSimNode(id, this.#conf);
      this.nodes.set(id, n);
      boot.setTimeout(() => {
        if (n.driver === null && n.incarnation === 0) this.#start(n);
      }, 1 + (deriveSeed(this.seed, 0x5048, id) % this.tickMs));
    }
  }

  /** now is the virtual time in milliseconds (one step each). */
  get now(): number {
    return this.scheduler.now;
  }

  /** ticks is the virtual time in ticks. */
  get ticks(): number {
    return Math.floor(this.now / this.tickMs);
  }

  /** ids lists the member ids, ascending. */
  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b).map((i) => nodeId(i));
  }

  /** node returns member `id`; it throws for an unknown id. */
  node(id: number): DriverSimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`No simulated member ${id}`);
    return n;
  }

  #ref(n: DriverSimNode): DriverRef {
    const d = n.live();
    return {
      id: n.id,
      incarnation: n.incarnation,
      sm: n.sm,
      propose: (data) => d.propose(data),
      submit: (data) => d.submit(data),
      readIndex: (ms) => d.readIndex(ms),
    };
  }

  /**
   * maxCommitKnown is the highest commit index any member knows now or ever knew: what a member
   * that crashed since knew committed (in memory, persisted or not) stays committed.
   */
  #maxCommitKnown(): number {
    let max = this.#commitHigh;
    for (const n of this.nodes.values()) {
      max = Math.max(max, n.store.disk.hardState().commit);
      if (n.driver !== null) max = Math.max(max, n.driver.node.status().commit);
    }
    this.#commitHigh = max;
    return max;
  }

  #fail(e: unknown): void {
    if (this.#failure === null) this.#failure = e instanceof Error ? e : new Error(String(e));
  }

  /** guard runs `fn`, rethrowing a failure with the seed, the time and the trace's tail. */
  async guard<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      const out = await fn();
      if (this.#failure !== null) throw this.#failure;
      return out;
    } catch (e: unknown) {
      if (e instanceof DriverSimFailure) throw e;
      const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new DriverSimFailure(
        `${what}\n  seed=${this.seed} t=${this.now}ms tick=${this.ticks}\n  nodes: ${this.describe()}\n--- last trace lines ---\n${this.trace.tail()}`,
        this.seed,
        e,
      );
    }
  }

  /** describe summarises every member on one line. */
  describe(): string {
    return this.ids()
      .map((id) => {
        const n = this.node(id);
        if (n.driver === null) return `${id}:down`;
        const s = n.driver.node.status();
        return `${id}:${s.role[0]}${s.role === 'pre-candidate' ? 'p' : ''} t${s.term} L${s.leader} c${s.commit} a${n.sm.appliedIndex} li${s.lastIndex} d${n.store.disk.lastIndex()}`;
      })
      .join(' | ');
  }

  #start(n: DriverSimNode): void {
    const storage = n.store.recover();
    const snap = storage.snapshot();
    const sm = new ListStateMachine();
    const inc = n.incarnation;
    if (snap.metadata.index > 0) this.#restored(n, inc, sm, snap);
    const owner = new ClockOwner(`${n.id}/${inc}`);
    n.store.attach((this.#o.slowFsyncPct ?? 0) > 0, (before, batch, disk) => this.#durable(n, before, batch, disk));
    const node = new RawNode({
      id: n.id,
      storage,
      electionTick: this.electionTick,
      heartbeatTick: 1,
      rng: derivedRng(this.seed, n.id, inc),
      preVote: this.#o.preVote ?? true,
      checkQuorum: this.#o.checkQuorum ?? true,
      applied: snap.metadata.index,
    });
    const incBytes = new Uint8Array(8);
    new DataView(incBytes.buffer).setUint32(0, deriveSeed(this.seed, 0x494e43, n.id, inc));
    const driver: RaftDriver<AppliedRecord | null> = new RaftDriver<AppliedRecord | null>({
      node,
      storage,
      logStore: n.store,
      transport: { send: (ms) => this.#send(n, owner, ms) },
      stateMachine: {
        applyEntry: (e) => this.#apply(n, inc, owner, sm, e),
        applySnapshot: async (s) => this.#restored(n, inc, sm, s),
      },
      clock: this.scheduler.clockFor(owner),
      tickMs: this.tickMs,
      proposalTimeoutMs: this.#timeoutMs,
      onReady: (rd) => this.#onReady(n, owner, sm, rd),
      onFatal: (err) => this.#fail(err),
      incarnation: incBytes,
    });
    n.driver = driver;
    n.storage = storage;
    n.sm = sm;
    n.owner = owner;
    n.stopping = false;
    this.trace.record(`@${this.now} start ${n.id} incarnation ${inc} from disk li${n.store.disk.lastIndex()} snap i${snap.metadata.index}`);
    driver.start();
  }

  #restored(n: DriverSimNode, inc: number, sm: ListStateMachine, snap: Snapshot): void {
    sm.restore(snap);
    this.trace.record(`@${this.now} restore ${n.id} snap i${snap.metadata.index} t${snap.metadata.term}`);
    this.checker.observeRestore(n.id, snap);
    this.client.onRestore(n.id, inc, sm);
  }

  #durable(n: DriverSimNode, before: HardState, batch: PersistBatch, disk: MemoryStorage): void {
    const hs = batch.hardState;
    this.trace.record(
      `@${this.now} durable ${n.id}${hs === null ? '' : ` hs t${hs.term} v${hs.vote} c${hs.commit}`} ents${describeEntries(batch.entries)}${batch.snapshot === null ? '' : ` snap i${batch.snapshot.metadata.index}`}`,
    );
    this.checker.observePersist(n.id, before, batch, disk);
  }

  #send(n: DriverSimNode, owner: ClockOwner, msgs: readonly Message[]): void {
    if (!owner.alive) throw new Error(`Node ${n.id}'s dead incarnation ${owner.label} tried to send`);
    for (let m of msgs) {
      if (n.stopping) {
        this.trace.record(`@${this.now} mute ${describeMessage(m)} (stopping)`);
        continue;
      }
      this.checker.checkPersistedBeforeSend(n.id, m, n.store.disk);
      if (m.type === 'snap') {
        // The core's copy of a snapshot carries no data; ship the one on disk (as the transport streams the backend).
        m = { ...m, snapshot: { ...m.snapshot, data: n.store.snapshotData(m.snapshot.metadata.index) } };
        this.stats.snapshotsSent++;
      }
      const fate = this.network.send(m, this.now);
      this.trace.record(`@${this.now} send ${describeMessage(m)}${fate === 'sent' ? '' : ` (${fate})`}`);
    }
  }

  #apply(n: DriverSimNode, inc: number, owner: ClockOwner, sm: ListStateMachine, e: Entry): AppliedRecord | null {
    if (!owner.alive) throw new Error(`Node ${n.id}'s dead incarnation ${owner.label} applied an entry`);
    const rec = sm.apply(e);
    this.checker.observeApply(n.id, e, n.live().node.status().term);
    this.client.onApply(n.id, inc, e);
    return rec;
  }

  #onReady(n: DriverSimNode, owner: ClockOwner, sm: ListStateMachine, rd: Ready): void {
    if (!owner.alive || n.driver === null) return;
    const s = n.driver.node.status();
    this.checker.observeRole(n.id, s.role, s.term);
    if (rd.softState !== null) this.trace.record(`@${this.now} role ${n.id} ${rd.softState.role} t${s.term} L${rd.softState.leader}`);
    if (rd.committedEntries.length > 0) this.trace.record(`@${this.now} apply ${n.id} ${describeEntries(rd.committedEntries)}`);
    if (rd.droppedProposals.length > 0) this.trace.record(`@${this.now} dropped ${n.id} ${rd.droppedProposals.map((d) => `${d.index}@t${d.term}`).join(',')}`);
    for (const r of rd.readStates) this.trace.record(`@${this.now} read-state ${n.id} i${r.index}`);
    this.#maybeSnapshot(n, sm);
  }

  /** maybeSnapshot snapshots a member's state machine and compacts both logs, as the member does. */
  #maybeSnapshot(n: DriverSimNode, sm: ListStateMachine, force = false, keepArg?: number): number {
    const every = this.#o.snapshotEvery ?? 0;
    const storage = n.storage;
    if (storage === null || n.driver === null) return 0;
    const at = logIndex(Math.min(sm.appliedIndex, n.store.disk.lastIndex(), storage.lastIndex()));
    const snapIndex = storage.snapshot().metadata.index;
    if (at <= snapIndex || at <= n.store.disk.snapshot().metadata.index) return 0;
    if (!force && (every <= 0 || at - snapIndex < every)) return 0;
    const keep = keepArg ?? this.#o.snapshotKeep ?? 0;
    const conf = n.driver.node.confState();
    const data = sm.encode();
    storage.createSnapshot(at, conf, data);
    const to = logIndex(at - keep);
    if (to >= storage.firstIndex()) storage.compact(to);
    n.store.snapshotAt(at, conf, data, to);
    this.trace.record(`@${this.now} snapshot ${n.id} i${at} first${storage.firstIndex()}`);
    return at;
  }

  /** snapshotNow snapshots member `id` at its applied index, keeping `keep` entries. */
  snapshotNow(id: number, keep: number): number {
    const n = this.node(id);
    if (!n.up) return 0;
    return this.#maybeSnapshot(n, n.sm, true, keep);
  }

  /** step advances virtual time by one millisecond and runs everything due to a fixed point. */
  async step(): Promise<void> {
    await this.guard(async () => {
      this.scheduler.advanceTo(this.now + 1);
      for (const d of this.network.due(this.now)) this.#deliver(d.msg, d.cut);
      const pct = this.#o.slowFsyncPct ?? 0;
      if (pct > 0) {
        for (const id of this.ids()) {
          const n = this.node(id);
          if (n.up && n.store.pendingCount > 0 && chance(this.#faultRng, pct)) n.store.completeNext();
        }
      }
      this.scheduler.fireDue();
      if (this.now % this.tickMs === 0) this.#clientTick();
      await this.#drain();
      this.#checkStep();
    });
  }

  #clientTick(): void {
    this.client.pump();
    if (chance(this.#faultRng, this.#o.readPct ?? 30)) {
      const up = this.ids().filter((id) => this.node(id).up);
      if (up.length > 0) this.client.read(this.#ref(this.node(up[this.#faultRng.int(up.length)]!)));
    }
  }

  /** quiesce runs the drivers' deferred loops and every promise continuation until nothing is left. */
  async quiesce(): Promise<void> {
    await this.guard(() => this.#drain());
  }

  async #drain(): Promise<void> {
    for (let round = 0; ; round++) {
      if (round >= MAX_QUIESCE_ROUNDS) throw new Error(`The drivers did not quiesce after ${MAX_QUIESCE_ROUNDS} rounds`);
      const ran = this.scheduler.runDeferred();
      await settleMicrotasks();
      if (this.#failure !== null) throw this.#failure;
      if (ran === 0 && this.scheduler.pendingDeferred === 0) return;
    }
  }

  #deliver(m: Message, cut: boolean): void {
    const to = this.nodes.get(m.to);
    if (cut || to === undefined || !to.up) {
      this.trace.record(`@${this.now} lost ${describeMessage(m)} (${cut ? 'link cut' : 'node down'})`);
      const from = this.nodes.get(m.from);
      if (from?.up === true) {
        // What the sender's transport notices: the peer is unreachable, a snapshot send failed.
        from.live().node.reportUnreachable(m.to);
        if (m.type === 'snap') from.live().node.reportSnapshot(m.to, false);
        from.live().kick();
      }
      return;
    }
    this.trace.record(`@${this.now} recv ${describeMessage(m)}`);
    to.live().receive(m);
    if (m.type === 'snap') {
      const from = this.nodes.get(m.from);
      if (from?.up === true) {
        from.live().node.reportSnapshot(m.to, true);
        from.live().kick();
      }
    }
  }

  #checkStep(): void {
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const s = n.live().node.status();
      if (s.commit > this.#commitHigh) this.#commitHigh = s.commit;
      this.checker.observeRole(n.id, s.role, s.term);
      if (s.role === 'leader' && n.store.pendingCount === 0) this.checker.checkLeaderCompleteness(n.id, s.term, n.store.disk);
    }
  }

  /** runSteps runs `k` steps. */
  async runSteps(k: number): Promise<void> {
    for (let i = 0; i < k; i++) await this.step();
  }

  /** run runs `ticks` ticks. */
  async run(ticks: number): Promise<void> {
    await this.runSteps(ticks * this.tickMs);
  }

  /** runUntil steps until `pred` holds; returns the ticks taken, or null after maxTicks. */
  async runUntil(pred: () => boolean, maxTicks: number): Promise<number | null> {
    const start = this.ticks;
    const end = this.now + maxTicks * this.tickMs;
    while (this.now < end) {
      if (pred()) return this.ticks - start;
      await this.step();
    }
    return pred() ? this.ticks - start : null;
  }

  /** leader returns the running leader with the highest term, if any. */
  leader(): DriverSimNode | null {
    let best: DriverSimNode | null = null;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const s = n.live().node.status();
      if (s.role === 'leader' && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /** with runs `fn` on a running member's driver and lets its loop run. */
  async with(id: number, fn: (d: RaftDriver<AppliedRecord | null>) => void): Promise<void> {
    const n = this.node(id);
    if (!n.up) return;
    fn(n.live());
    n.live().kick();
    await this.quiesce();
  }

  /** read starts a linearizable read at member `id` (checked when it resolves). */
  read(id: number): void {
    const n = this.node(id);
    if (n.up) this.client.read(this.#ref(n));
  }

  /**
   * crash kills member `id`: what is not durable is lost ('after-persist' makes pending saves
   * durable, as if the process died right after its fsync, but nothing after it runs), its
   * timers die with it, and its clients' promises are abandoned.
   */
  crash(id: number, point: 'clean' | 'after-ready' | 'after-persist' = 'clean'): void {
    const n = this.node(id);
    if (n.driver === null) return;
    this.#down(n, true, point === 'after-persist');
    this.stats.crashes++;
    this.trace.record(`@${this.now} crash ${id} ${point}`);
  }

  /**
   * stop stops member `id` cleanly: driver.stop() must settle every waiter at once (each op of
   * this incarnation rejected or resolved by the time the loop has quiesced); the Ready at hand
   * finishes its fsync, and the member goes down.
   */
  async stop(id: number): Promise<void> {
    const n = this.node(id);
    if (!n.up) return;
    await this.guard(async () => {
      this.trace.record(`@${this.now} stop ${id}`);
      n.stopping = true;
      n.live().stop();
      n.store.flushAll();
      await this.#drain();
      const open = this.client.unsettledOf(n.id, n.incarnation);
      if (open.length > 0) throw new InvariantViolation('liveness', `member ${id} stopped but ${open.length} of its waiters never settled: ${open.slice(0, 5).join(', ')}`);
      this.#down(n, false);
      this.stats.stops++;
    });
  }

  #down(n: DriverSimNode, crashed: boolean, fsynced = false): void {
    // What it knew committed stays committed after it is gone.
    if (n.driver !== null) this.#commitHigh = Math.max(this.#commitHigh, n.driver.node.status().commit);
    n.store.crash(fsynced);
    n.owner?.kill();
    this.client.onDown(n.id, n.incarnation, crashed);
    n.driver = null;
    n.storage = null;
    n.owner = null;
    n.stopping = false;
    n.incarnation++;
  }

  /** restart starts a down member from its disk. */
  restart(id: number): void {
    const n = this.node(id);
    if (n.driver !== null) return;
    this.stats.restarts++;
    this.#start(n);
  }

  /** partition, isolate, cutLink, heal and setFaults change the network (recorded in the trace). */
  partition(groups: readonly (readonly number[])[]): void {
    this.network.partition(groups.map((g) => g.map((i) => nodeId(i))));
    this.trace.record(`@${this.now} partition ${groups.map((g) => g.join(',')).join(' | ')}`);
  }

  isolate(id: number): void {
    this.network.isolate(nodeId(id), this.ids());
    this.trace.record(`@${this.now} isolate ${id}`);
  }

  cutLink(from: number, to: number): void {
    this.network.cutLink(nodeId(from), nodeId(to));
    this.trace.record(`@${this.now} cut ${from}>${to}`);
  }

  heal(): void {
    this.network.heal();
    this.trace.record(`@${this.now} heal`);
  }

  setFaults(f: NetworkFaults): void {
    this.network.setFaults(f);
    this.trace.record(`@${this.now} faults drop${f.dropPct} dup${f.dupPct} delay${f.minDelay}-${f.maxDelay}`);
  }

  /** leaderChanges is the number of terms that had a leader, minus one. */
  get leaderChanges(): number {
    return Math.max(0, this.checker.leaders().size - 1);
  }

  /** droppedByLeaderChange is how many proposals the drivers rejected as lost to a leader change. */
  get droppedByLeaderChange(): number {
    return this.client.stats.rejected['dropped'] ?? 0;
  }
}
