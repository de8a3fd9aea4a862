/**
 * driver-read-index: the production RaftDriver's ReadIndex across a member's restart. Three
 * real cores and drivers on a hand-routed network and a clock that never fires on its own:
 * a follower's read waits at the leader (its heartbeats held back), writes commit, the follower
 * restarts and reads again. The new read must see the new writes: neither the leader's
 * deduplication of pending reads nor the old read's late answer may hand it the old index.
 * Also: reads and apply waiters settle when the member stops.
 *
 * Giving the restarted member the same incarnation as before reproduces the old contexts
 * (member id and sequence only), and the restart test fails: the new read gets index 2 although
 * index 5 was committed before it was issued — a stale read.
 */
import { describe, expect, it } from 'vitest';
import { RaftDriver, readContext, type Clock, type Disposable } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { Entry, Message, NodeId } from '../../src/raft/types.js';
import { nodeId } from '../../src/raft/types.js';

const IDLE: Disposable = { dispose: () => undefined };
/** A clock whose timers never fire (the test ticks the cores itself); deferred work runs on setImmediate. */
const stillClock: Clock = { now: () => 0, setInterval: () => IDLE, setTimeout: () => IDLE, defer: (fn) => void setImmediate(fn) };

interface Member {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  driver: RaftDriver<number>;
  applied: number;
}

class Net {
  readonly members = new Map<number, Member>();
  queue: Message[] = [];
  /** hold decides which messages stay queued instead of being delivered. */
  hold: (m: Message) => boolean = () => false;

  add(id: number, incarnation: number): Member {
    const prev = this.members.get(id);
    const storage = prev?.storage ?? MemoryStorage.withConf({ voters: [1, 2, 3].map((v) => nodeId(v)), learners: [] });
    const node = new RawNode({ id: nodeId(id), storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(id * 10 + incarnation), preVote: false, checkQuorum: false });
    const m: Member = { id: nodeId(id), storage, applied: 0, driver: undefined as unknown as RaftDriver<number> };
    m.driver = new RaftDriver<number>({
      node,
      storage,
      logStore: { save: () => Promise.resolve() },
      transport: { send: (ms) => this.queue.push(...ms) },
      stateMachine: {
        applyEntry: (e: Entry) => (m.applied = e.index),
        applySnapshot: () => Promise.resolve(),
      },
      clock: stillClock,
      tickMs: 100,
      incarnation: new Uint8Array(8).fill(incarnation),
    });
    this.members.set(id, m);
    m.driver.start();
    return m;
  }

  /** settle lets the drivers' loops run and delivers every message not held, until quiet. */
  async settle(): Promise<void> {
    for (let round = 0; round < 200; round++) {
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const deliver = this.queue.filter((m) => !this.hold(m));
      this.queue = this.queue.filter((m) => this.hold(m));
      if (deliver.length === 0) return;
      for (const msg of deliver) this.members.get(msg.to)?.driver.receive(msg);
    }
    throw new Error('the network did not go quiet');
  }
}

async function threeMembers(): Promise<Net> {
  const net = new Net();
  for (const id of [1, 2, 3]) net.add(id, 1);
  net.members.get(1)!.driver.node.campaign();
  net.members.get(1)!.driver.kick();
  await net.settle();
  expect(net.members.get(1)!.driver.status().leader).toBe(1);
  // An entry of the leader's term commits, so it may serve reads.
  await net.members.get(1)!.driver.submit(new Uint8Array([1]));
  await net.settle();
  return net;
}

describe('RaftDriver ReadIndex', () => {
  it('tells one incarnation\'s read contexts from another\'s', () => {
    expect(readContext(2, new Uint8Array(8).fill(1), 1)).not.toEqual(readContext(2, new Uint8Array(8).fill(2), 1));
    expect(readContext(2, new Uint8Array(8).fill(1), 1)).toEqual(readContext(2, new Uint8Array(8).fill(1), 1));
  });

  it('never answers a restarted follower\'s read with the index of its previous run\'s read', async () => {
    const net = await threeMembers();
    const leader = net.members.get(1)!;
    // The follower's first read reaches the leader, but the heartbeats that would confirm it are held.
    net.hold = (m) => m.type === 'heartbeat' || m.type === 'heartbeat-resp';
    const oldRead = net.members.get(2)!.driver.readIndex(60_000);
    oldRead.catch(() => undefined);
    await net.settle();
    const before = leader.driver.status().commit;
    // Writes commit meanwhile (appends flow; heartbeats are still held).
    for (let i = 0; i < 3; i++) await leader.driver.submit(new Uint8Array([2, i]));
    await net.settle();
    const committed = leader.driver.status().commit;
    expect(committed).toBeGreaterThan(before);
    // The follower restarts (same id, same log) and reads again, now that the writes are acknowledged.
    net.members.get(2)!.driver.stop();
    await expect(oldRead).rejects.toThrow(/shutting down/);
    const restarted = net.add(2, 2);
    // It learns the leader from the next append (heartbeats are still held).
    await leader.driver.submit(new Uint8Array([3]));
    await net.settle();
    expect(restarted.driver.status().leader).toBe(1);
    const newRead = restarted.driver.readIndex(60_000);
    await net.settle();
    // Let the held heartbeats (the old read's confirmation) and a fresh heartbeat round through.
    net.hold = () => false;
    leader.driver.node.tick();
    leader.driver.kick();
    await net.settle();
    expect(await newRead).toBeGreaterThanOrEqual(committed);
  });

  it('settles reads and apply waiters when the member stops', async () => {
    const net = await threeMembers();
    const follower = net.members.get(3)!;
    net.hold = () => true;
    const read = follower.driver.readIndex(60_000);
    const waiting = follower.driver.waitApplied(1_000);
    await new Promise((r) => setImmediate(r));
    follower.driver.stop();
    await expect(read).rejects.toThrow(/shutting down/);
    await expect(waiting).rejects.toThrow(/shutting down/);
    await expect(follower.driver.waitApplied(2_000)).rejects.toThrow(/shutting down/);
  });
});
