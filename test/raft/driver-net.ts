/**
 * driver-net: a hand-routed network of real RaftDrivers for the driver's unit tests. Each member
 * has a RawNode, an in-memory log store and a state machine that records what it applied; the
 * clock is a ManualClock (timers fire only when the test advances it; deferred loops run on
 * setImmediate). `settle()` runs the loops and delivers messages until the network is quiet.
 */
import { expect } from 'vitest';
import { RaftDriver, type Clock, type Disposable, type DriverOptions, type LogStore, type PersistBatch } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { nodeId } from '../../src/raft/types.js';

interface Timer {
  readonly due: number;
  readonly every: number | null;
  readonly fn: () => void;
  live: boolean;
}

/** ManualClock fires its timers only in advance(); `defer` is setImmediate unless `noDefer`. */
export class ManualClock implements Clock {
  #now = 0;
  #timers: Timer[] = [];
  defer?: (fn: () => void) => void;

  constructor(opts: { noDefer?: boolean } = {}) {
    if (opts.noDefer !== true) this.defer = (fn) => void setImmediate(fn);
  }

  now(): number {
    return this.#now;
  }

  setInterval(fn: () => void, ms: number): Disposable {
    return this.#add({ due: this.#now + ms, every: ms, fn, live: true });
  }

  setTimeout(fn: () => void, ms: number): Disposable {
    return this.#add({ due: this.#now + ms, every: null, fn, live: true });
  }

  /** pendingTimeouts is the number of live one-shot timers. */
  get pendingTimeouts(): number {
    return this.#timers.filter((t) => t.live && t.every === null).length;
  }

  /** intervals is the number of live repeating timers. */
  get intervals(): number {
    return this.#timers.filter((t) => t.live && t.every !== null).length;
  }

  /** advance moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#timers.filter((t) => t.live && t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (next === undefined) break;
      this.#now = next.due;
      next.live = false;
      if (next.every !== null) this.#add({ due: next.due + next.every, every: next.every, fn: next.fn, live: true });
      next.fn();
    }
    this.#now = end;
    this.#timers = this.#timers.filter((t) => t.live);
  }

  #add(t: Timer): Disposable {
    this.#timers.push(t);
    return { dispose: () => (t.live = false) };
  }
}

/** NetMember is one member of a DriverNet. */
export interface NetMember {
  readonly id: number;
  readonly storage: MemoryStorage;
  readonly driver: RaftDriver<number>;
  /** applied lists the indexes of the entries applied, in order. */
  readonly applied: number[];
  /** saves lists what each Ready persisted. */
  readonly saves: PersistBatch[];
}

/** DriverNet routes messages between drivers by hand. */
export class DriverNet {
  readonly members = new Map<number, NetMember>();
  readonly clock: ManualClock;
  queue: Message[] = [];
  /** hold decides which messages stay queued instead of being delivered. */
  hold: (m: Message) => boolean = () => false;

  constructor(clock = new ManualClock()) {
    this.clock = clock;
  }

  /** add starts member `id` of the voters `voters`; `extra` overrides driver options. */
  add(id: number, voters: readonly number[], extra: Partial<DriverOptions<number>> & { logStore?: LogStore } = {}): NetMember {
    const storage = MemoryStorage.withConf({ voters: voters.map((v) => nodeId(v)), learners: [] });
    const node = new RawNode({ id: nodeId(id), storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(id), preVote: false, checkQuorum: false });
    const applied: number[] = [];
    const saves: PersistBatch[] = [];
    const driver = new RaftDriver<number>({
      node,
      storage,
      logStore: { save: (b) => (saves.push(b), Promise.resolve()) },
      transport: { send: (ms) => this.queue.push(...ms) },
      stateMachine: { applyEntry: (e: Entry) => (applied.push(e.index), e.index), applySnapshot: () => Promise.resolve() },
      clock: this.clock,
      tickMs: 100,
      ...extra,
    });
    const m: NetMember = { id, storage, driver, applied, saves };
    this.members.set(id, m);
    driver.start();
    return m;
  }

  get(id: number): NetMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** settle lets the drivers' loops run and delivers every message not held, until quiet. */
  async settle(): Promise<void> {
    for (let round = 0; round < 200; round++) {
      await turn();
      await turn();
      const deliver = this.queue.filter((m) => !this.hold(m));
      this.queue = this.queue.filter((m) => this.hold(m));
      if (deliver.length === 0) return;
      for (const msg of deliver) this.members.get(msg.to)?.driver.receive(msg);
    }
    throw new Error('the network did not go quiet');
  }

  /** elect makes `id` the leader and commits an entry of its term (so it may serve reads). */
  async elect(id: number): Promise<void> {
    const d = this.get(id).driver;
    d.node.campaign();
    d.kick();
    await this.settle();
    expect(d.status().leader).toBe(id);
    await d.submit(new Uint8Array([1]));
    await this.settle();
  }

  stop(): void {
    for (const m of this.members.values()) m.driver.stop();
  }
}

/** turn waits for the event loop to run what is queued now (deferred loops, promise continuations). */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** threeMembers starts members 1–3 with 1 elected. */
export async function threeMembers(): Promise<DriverNet> {
  const net = new DriverNet();
  for (const id of [1, 2, 3]) net.add(id, [1, 2, 3]);
  await net.elect(1);
  return net;
}
