/**
 * driver-trace: the production RaftDriver's calls into its tracer (bench kv --trace) on three
 * real cores and drivers, a hand-routed network and a clock that never fires on its own. A
 * sampled write (forwarded from a follower too) and a sampled linearizable read must leave every
 * stage of their path marked on the member that passed it, in order; with the tracer off, or
 * for requests that are not sampled, nothing is marked. DriverTrace's own rules are in
 * trace.test.ts; this covers the driver's wiring.
 */
import { describe, expect, it } from 'vitest';
import { RaftDriver, type Clock, type Disposable } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { RaftTracer, RaftTraceStage } from '../../src/raft/trace.js';
import type { Entry, Message } from '../../src/raft/types.js';
import { nodeId } from '../../src/raft/types.js';

const IDLE: Disposable = { dispose: () => undefined };
/** A clock whose timers never fire (the test ticks the cores itself); deferred work runs on setImmediate. */
const stillClock: Clock = { now: () => 0, setInterval: () => IDLE, setTimeout: () => IDLE, defer: (fn) => void setImmediate(fn) };

type Mark = readonly [key: string, stage: RaftTraceStage, peer?: number];

/** Recorder samples entries whose data starts with 0xEE (key: the rest, as text). */
class Recorder implements RaftTracer {
  on = true;
  marks: Mark[] = [];
  entryKey(data: Uint8Array): string | null {
    return data[0] === 0xee ? new TextDecoder().decode(data.subarray(1)) : null;
  }
  mark(key: string, stage: RaftTraceStage, peer?: number): void {
    this.marks.push(peer === undefined ? [key, stage] : [key, stage, peer]);
  }
  /** of lists the marks for `key`, in the order they were made. */
  of(key: string): Mark[] {
    return this.marks.filter((m) => m[0] === key);
  }
}

interface Member {
  readonly driver: RaftDriver<number>;
  readonly tracer: Recorder;
}

class Net {
  readonly members = new Map<number, Member>();
  queue: Message[] = [];

  add(id: number): Member {
    const storage = MemoryStorage.withConf({ voters: [1, 2, 3].map((v) => nodeId(v)), learners: [] });
    const node = new RawNode({ id: nodeId(id), storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(id), preVote: false, checkQuorum: false });
    const tracer = new Recorder();
    const driver = new RaftDriver<number>({
      node,
      storage,
      logStore: { save: () => Promise.resolve() },
      transport: { send: (ms) => this.queue.push(...ms) },
      stateMachine: { applyEntry: (e: Entry) => e.index, applySnapshot: () => Promise.resolve() },
      clock: stillClock,
      tickMs: 100,
      tracer,
    });
    const m = { driver, tracer };
    this.members.set(id, m);
    driver.start();
    return m;
  }

  get(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  /** settle lets the drivers' loops run and delivers every message, until quiet. */
  async settle(): Promise<void> {
    for (let round = 0; round < 200; round++) {
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const deliver = this.queue;
      this.queue = [];
      if (deliver.length === 0) return;
      for (const msg of deliver) this.members.get(msg.to)?.driver.receive(msg);
    }
    throw new Error('the network did not go quiet');
  }

  stop(): void {
    for (const m of this.members.values()) m.driver.stop();
  }
}

async function threeMembers(): Promise<Net> {
  const net = new Net();
  for (const id of [1, 2, 3]) net.add(id);
  net.get(1).driver.node.campaign();
  net.get(1).driver.kick();
  await net.settle();
  expect(net.get(1).driver.status().leader).toBe(1);
  await net.get(1).driver.submit(new Uint8Array([1]));
  await net.settle();
  return net;
}

const sampled = (key: string): Uint8Array => Uint8Array.of(0xee, ...new TextEncoder().encode(key));

/** stages lists a member's marks for `key` as `stage` or `stage@peer`. */
function stages(m: Member, key: string): string[] {
  return m.tracer.of(key).map(([, s, p]) => (p === undefined ? s : `${s}@${p}`));
}

/** inOrder asserts that `want` appear in `got` in this order (other marks may come between). */
function expectInOrder(got: readonly string[], want: readonly string[]): void {
  let at = -1;
  for (const w of want) {
    const i = got.indexOf(w, at + 1);
    expect(i, `${w} after ${want[want.indexOf(w) - 1] ?? 'start'} in [${got.join(', ')}]`).toBeGreaterThan(at);
    at = i;
  }
}

describe('RaftDriver tracing', () => {
  it('marks every stage of a sampled write on the leader and on each follower', async () => {
    const net = await threeMembers();
    try {
      await net.get(1).driver.submit(sampled('w'));
      await net.settle();
      const leader = stages(net.get(1), 'w');
      expectInOrder(leader, ['proposed', 'ready', 'synced', 'commit', 'applied']);
      expect(leader).toEqual(expect.arrayContaining(['app-sent@2', 'app-sent@3', 'ack-recv@2', 'ack-recv@3']));
      expectInOrder(leader, ['ready', 'app-sent@2']);
      for (const f of [2, 3]) {
        const got = stages(net.get(f), 'w');
        expectInOrder(got, ['app-recv@1', 'ready', 'synced', 'ack-sent@1', 'commit-recv@1', 'commit', 'applied']);
        // Each stage once.
        expect(new Set(got).size).toBe(got.length);
      }
      expect(new Set(leader).size).toBe(leader.length);
    } finally {
      net.stop();
    }
  });

  it('marks a sampled write forwarded by a follower, and nothing for a write that is not sampled', async () => {
    const net = await threeMembers();
    try {
      await net.get(2).driver.submit(sampled('f'));
      await net.get(2).driver.submit(Uint8Array.of(7));
      await net.settle();
      expectInOrder(stages(net.get(2), 'f'), ['proposed', 'prop-sent@1', 'app-recv@1', 'ready', 'synced', 'ack-sent@1', 'commit', 'applied']);
      expectInOrder(stages(net.get(1), 'f'), ['prop-recv@2', 'ready', 'synced', 'commit', 'applied']);
      for (const id of [1, 2, 3]) expect(net.get(id).tracer.marks.every(([k]) => k === 'f')).toBe(true);
    } finally {
      net.stop();
    }
  });

  it('marks a sampled read served through the leader, and hands its key to the caller', async () => {
    const net = await threeMembers();
    try {
      const keys: string[] = [];
      const read = net.get(3).driver.readIndex(60_000, (k) => keys.push(k));
      await net.settle();
      const index = await read;
      expect(index).toBe(net.get(1).driver.status().commit);
      expect(keys).toHaveLength(1);
      const key = keys[0]!;
      expectInOrder(stages(net.get(3), key), ['read-start', 'read-index-sent@1', 'hb-recv@1', 'hb-resp-sent@1', 'read-index-resp-recv@1', 'read-state']);
      expect(stages(net.get(1), key)).toEqual(expect.arrayContaining(['read-index-recv@3', 'hb-sent@2', 'hb-sent@3', 'hb-resp-recv@2', 'read-index-resp-sent@3']));
      expectInOrder(stages(net.get(1), key), ['read-index-recv@3', 'hb-sent@2', 'read-index-resp-sent@3']);
      expectInOrder(stages(net.get(2), key), ['hb-recv@1', 'hb-resp-sent@1']);
      // A read nobody asked to trace is not marked, even with the tracer on.
      const before = net.get(3).tracer.marks.length;
      const plain = net.get(3).driver.readIndex(60_000);
      await net.settle();
      await plain;
      expect(net.get(3).tracer.marks.slice(before)).toEqual([]);
    } finally {
      net.stop();
    }
  });

  it('traces a round that a sampled and an unsampled read share, and answers both', async () => {
    const net = await threeMembers();
    try {
      const keys: string[] = [];
      const plain = net.get(2).driver.readIndex(60_000);
      const traced = net.get(2).driver.readIndex(60_000, (k) => keys.push(k));
      await net.settle();
      expect(await plain).toBe(await traced);
      expect(keys).toHaveLength(1);
      expectInOrder(stages(net.get(2), keys[0]!), ['read-start', 'read-index-sent@1', 'read-state']);
    } finally {
      net.stop();
    }
  });

  it('marks no proposal the core refused', async () => {
    const net = new Net();
    for (const id of [1, 2, 3]) net.add(id);
    try {
      await expect(net.get(2).driver.submit(sampled('refused'))).rejects.toThrow(/No leader is known/);
      expect(net.get(2).tracer.marks).toEqual([]);
    } finally {
      net.stop();
    }
  });

  it('marks nothing while the tracer is off', async () => {
    const net = await threeMembers();
    try {
      for (const m of net.members.values()) m.tracer.on = false;
      const keys: string[] = [];
      await net.get(2).driver.submit(sampled('off'));
      await net.get(1).driver.submit(sampled('off2'));
      const read = net.get(3).driver.readIndex(60_000, (k) => keys.push(k));
      await net.settle();
      await read;
      expect(keys).toEqual([]);
      for (const m of net.members.values()) expect(m.tracer.marks).toEqual([]);
    } finally {
      net.stop();
    }
  });
});
