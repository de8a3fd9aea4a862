/**
 * driver-edges: the production RaftDriver's edges that the simulator runs rarely reach, on real
 * cores and drivers, a hand-routed network and a ManualClock (timers fire only when the test
 * advances it): refusals and their reasons, proposal and read timeouts, stop settling every
 * promise, an I/O failure of the log store, `exclusive`, and a clock without `defer`.
 * Written for the surviving mutants of driver.ts (test/README.md, "driver.ts and trace.ts").
 */
import { describe, expect, it } from 'vitest';
import { ProposalError, RaftDriver } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { logIndex, nodeId, term } from '../../src/raft/types.js';
import { DriverNet, ManualClock, threeMembers, turn } from './driver-net.js';

/** rejection awaits `p` and returns its ProposalError (failing the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<ProposalError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProposalError);
  return err as ProposalError;
}

describe('RaftDriver refusals', () => {
  it('refuses a proposal on a follower at once, naming the leader', async () => {
    const net = await threeMembers();
    try {
      const err = await rejection(net.get(2).driver.propose(new Uint8Array([5])));
      expect(err.reason).toBe('not-leader');
      expect(err.leaderHint).toBe(1);
      expect(err.message).toBe('Proposal refused: not-leader');
    } finally {
      net.stop();
    }
  });

  it('refuses an invalid membership change with the core\'s explanation', async () => {
    const net = await threeMembers();
    try {
      const err = await rejection(net.get(1).driver.proposeConfChange({ type: 'remove', nodeId: nodeId(9) }));
      expect(err.reason).toBe('invalid-conf-change');
      expect(err.message).not.toMatch(/^Proposal refused/);
      expect(err.message.length).toBeGreaterThan(0);
    } finally {
      net.stop();
    }
  });

  it('refuses submissions and reads while no leader is known, and submissions during a transfer', async () => {
    const net = new DriverNet();
    for (const id of [1, 2, 3]) net.add(id, [1, 2, 3]);
    try {
      const sub = await rejection(net.get(2).driver.submit(new Uint8Array([1])));
      expect([sub.reason, sub.leaderHint, sub.message]).toEqual(['not-leader', 0, 'No leader is known; retry shortly']);
      const read = await rejection(net.get(2).driver.readIndex(1_000));
      expect([read.reason, read.message]).toEqual(['not-leader', 'No leader is known; retry shortly']);
      await net.elect(1);
      // A transfer to a member that cannot answer (its messages are held) stays in progress.
      net.hold = (m) => m.to === 3 || m.from === 3;
      expect(net.get(1).driver.node.transferLeader(nodeId(3)).ok).toBe(true);
      const tr = await rejection(net.get(1).driver.submit(new Uint8Array([2])));
      expect([tr.reason, tr.leaderHint, tr.message]).toEqual(['transferring', 1, 'Leadership is being transferred; retry shortly']);
    } finally {
      net.stop();
    }
  });

  it('takes only an 8-byte incarnation', () => {
    const storage = MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] });
    const node = new RawNode({ id: nodeId(1), storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(1) });
    const make = (incarnation: Uint8Array): RaftDriver<void> => new RaftDriver<void>({
      node, storage, logStore: { save: () => Promise.resolve() }, transport: { send: () => undefined },
      stateMachine: { applyEntry: () => undefined, applySnapshot: () => Promise.resolve() }, clock: new ManualClock(), tickMs: 10, incarnation,
    });
    expect(() => make(new Uint8Array(7))).toThrow(/incarnation must be 8 bytes, not 7/);
    expect(make(new Uint8Array(8))).toBeInstanceOf(RaftDriver);
  });
});

describe('RaftDriver timeouts', () => {
  it('fails a proposal that does not commit in time with a timeout, and only then', async () => {
    const net = new DriverNet();
    for (const id of [1, 2, 3]) net.add(id, [1, 2, 3], { proposalTimeoutMs: 2_000 });
    try {
      await net.elect(1);
      net.hold = () => true;
      const p = net.get(1).driver.propose(new Uint8Array([7]));
      let settled = false;
      p.then(() => (settled = true), () => (settled = true));
      await net.settle();
      net.clock.advance(1_999);
      await turn();
      expect(settled).toBe(false);
      net.clock.advance(1);
      const err = await rejection(p);
      expect([err.reason, err.leaderHint]).toEqual(['timeout', 1]);
      expect(err.message).toMatch(/timed out waiting for the proposal to commit/);
      // The entry commits later: the timed-out proposal stays rejected, nothing throws.
      net.hold = () => false;
      await net.settle();
      expect(net.get(1).applied.length).toBeGreaterThan(0);
    } finally {
      net.stop();
    }
  });

  it('resolves a proposal with the state machine\'s result when it applies, and its timer is gone', async () => {
    const net = await threeMembers();
    try {
      const before = net.clock.pendingTimeouts;
      const p = net.get(1).driver.propose(new Uint8Array([7]));
      expect(net.clock.pendingTimeouts).toBe(before + 1);
      await net.settle();
      const index = await p;
      expect(net.get(1).applied).toContain(index);
      expect(net.clock.pendingTimeouts).toBe(before);
    } finally {
      net.stop();
    }
  });

  it('times a read round out after the longest timeout among the reads that share it', async () => {
    const net = await threeMembers();
    try {
      net.hold = (m) => m.type === 'heartbeat' || m.type === 'heartbeat-resp';
      const d = net.get(1).driver;
      const short = d.readIndex(1_000);
      const long = d.readIndex(3_000);
      const states: string[] = [];
      short.catch(() => states.push('short'));
      long.catch(() => states.push('long'));
      await net.settle();
      net.clock.advance(2_999);
      await turn();
      expect(states).toEqual([]);
      net.clock.advance(1);
      const err = await rejection(long);
      await rejection(short);
      expect([err.reason, err.leaderHint]).toEqual(['timeout', 1]);
      expect(err.message).toMatch(/Linearizable read timed out/);
    } finally {
      net.stop();
    }
  });

  it('gives reads of separate turns separate rounds, each answered', async () => {
    const net = await threeMembers();
    try {
      const d = net.get(2).driver;
      const a = d.readIndex(1_000);
      await net.settle();
      const b = d.readIndex(1_000);
      await net.settle();
      expect(await a).toBeGreaterThan(0);
      expect(await b).toBeGreaterThanOrEqual(await a);
      expect(net.clock.pendingTimeouts).toBe(0);
    } finally {
      net.stop();
    }
  });
});

describe('RaftDriver stop', () => {
  it('rejects pending proposals, queued submissions and reads with "stopped", and ignores input after', async () => {
    const net = await threeMembers();
    const d = net.get(1).driver;
    net.hold = () => true;
    const p = d.propose(new Uint8Array([1]));
    await net.settle();
    const s = d.submit(new Uint8Array([2]));
    const r = d.readIndex(60_000);
    for (const x of [p, s, r]) x.catch(() => undefined);
    d.stop();
    for (const x of [p, s, r]) {
      const err = await rejection(x);
      expect([err.reason, err.leaderHint, err.message]).toEqual(['stopped', 0, 'The member is shutting down; retry on another member']);
    }
    expect(net.clock.pendingTimeouts).toBe(0);
    // Stopped: received messages are not stepped, and nothing more is persisted.
    const saves = net.get(1).saves.length;
    net.hold = () => false;
    net.queue = [];
    const t = d.node.status().term;
    d.receive({ type: 'heartbeat', from: nodeId(2), to: nodeId(1), term: term(t + 5), commit: logIndex(0), context: null });
    expect(d.node.status().term).toBe(t);
    d.kick();
    await turn();
    await turn();
    expect(net.queue).toEqual([]);
    expect(net.get(1).saves.length).toBe(saves);
    net.stop();
  });

  it('refuses every request made after stop at once, rather than leaving it hanging', async () => {
    const net = await threeMembers();
    const d = net.get(1).driver;
    d.stop();
    for (const late of [d.propose(new Uint8Array([1])), d.proposeConfChange({ type: 'add-learner', nodeId: nodeId(4) }), d.submit(new Uint8Array([2])), d.readIndex(1_000)]) {
      expect((await rejection(late)).reason).toBe('stopped');
    }
    expect(net.clock.pendingTimeouts).toBe(0);
    net.stop();
  });

  it('can be stopped without having started', () => {
    const net = new DriverNet();
    const storage = MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] });
    const node = new RawNode({ id: nodeId(1), storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(1) });
    const d = new RaftDriver<void>({
      node, storage, logStore: { save: () => Promise.resolve() }, transport: { send: () => undefined },
      stateMachine: { applyEntry: () => undefined, applySnapshot: () => Promise.resolve() }, clock: net.clock, tickMs: 10,
    });
    expect(() => d.stop()).not.toThrow();
  });

  it('starts once: a second start adds no second ticker, and stop disposes of it', async () => {
    const net = await threeMembers();
    const ticking = net.clock.intervals;
    net.get(2).driver.start();
    expect(net.clock.intervals).toBe(ticking);
    net.get(2).driver.stop();
    expect(net.clock.intervals).toBe(ticking - 1);
    net.stop();
    expect(net.clock.intervals).toBe(0);
  });
});

describe('RaftDriver I/O failure', () => {
  it('stops and hands the error to onFatal when the log store fails', async () => {
    const net = new DriverNet();
    const fatal: unknown[] = [];
    const boom = new Error('disk gone');
    const m = net.add(1, [1], { logStore: { save: () => Promise.reject(boom) }, onFatal: (e) => fatal.push(e) });
    m.driver.node.campaign();
    m.driver.kick();
    await net.settle();
    await turn();
    expect(fatal).toEqual([boom]);
    // No longer running: requests are refused at once rather than left hanging.
    await expect(m.driver.waitApplied(99)).rejects.toThrow(/shutting down/);
    expect((await rejection(m.driver.submit(new Uint8Array([1])))).reason).toBe('stopped');
    net.stop();
  });
});

describe('RaftDriver exclusive', () => {
  it('handles no Ready while fn runs, resumes after, and returns fn\'s result', async () => {
    const net = new DriverNet();
    const m = net.add(1, [1]);
    try {
      await net.elect(1);
      const appliedBefore = m.applied.length;
      let release = (): void => undefined;
      const gate = new Promise<void>((r) => (release = r));
      // The submission schedules a loop before exclusive starts; that loop must not run inside it.
      const s = m.driver.submit(new Uint8Array([3]));
      const ex = m.driver.exclusive(async () => {
        await gate;
        return 'done';
      });
      for (let i = 0; i < 5; i++) await turn();
      expect(m.applied.length).toBe(appliedBefore);
      release();
      expect(await ex).toBe('done');
      await s;
      await net.settle();
      expect(m.applied.length).toBe(appliedBefore + 1);
    } finally {
      net.stop();
    }
  });

  it('waits for a Ready being handled to finish before fn runs', async () => {
    const net = new DriverNet();
    let finishSave = (): void => undefined;
    let saving = false;
    const m = net.add(1, [1], {
      logStore: {
        save: () => {
          saving = true;
          return new Promise<void>((r) => (finishSave = () => { saving = false; r(); }));
        },
      },
    });
    try {
      m.driver.node.campaign();
      m.driver.kick();
      for (let i = 0; i < 5 && !saving; i++) await turn();
      expect(saving).toBe(true);
      const seen: boolean[] = [];
      const ex = m.driver.exclusive(() => {
        seen.push(saving);
        return Promise.resolve();
      });
      for (let i = 0; i < 5; i++) await turn();
      expect(seen).toEqual([]);
      finishSave();
      await ex;
      expect(seen).toEqual([false]);
    } finally {
      finishSave();
      net.stop();
    }
  });
});

describe('RaftDriver scheduling', () => {
  it('runs its loop on setImmediate when the clock has no defer', async () => {
    const net = new DriverNet(new ManualClock({ noDefer: true }));
    const m = net.add(1, [1]);
    try {
      await net.elect(1);
      await m.driver.propose(new Uint8Array([9]));
      expect(m.applied.length).toBeGreaterThan(1);
    } finally {
      net.stop();
    }
  });

  it('ticks the core on the clock\'s interval: a lone member elects itself after its election timeout', async () => {
    const net = new DriverNet();
    const m = net.add(1, [1]);
    try {
      expect(m.driver.status().leader).toBe(0);
      net.clock.advance(100 * 25);
      await net.settle();
      await turn();
      expect(m.driver.status().leader).toBe(1);
    } finally {
      net.stop();
    }
  });
});

describe('RaftDriver apply path', () => {
  it('tells the applied index, and resolves apply waiters exactly when their index applies', async () => {
    const net = new DriverNet();
    const m = net.add(1, [1]);
    try {
      await net.elect(1);
      const d = m.driver;
      expect(d.applied).toBe(m.applied[m.applied.length - 1]);
      // Already applied: resolves with no further Ready.
      let now = false;
      void d.waitApplied(d.applied).then(() => (now = true));
      await turn();
      expect(now).toBe(true);
      const done: number[] = [];
      const base = d.applied;
      void d.waitApplied(base + 1).then(() => done.push(1));
      void d.waitApplied(base + 2).then(() => done.push(2));
      await d.propose(new Uint8Array([1]));
      await turn();
      expect(done).toEqual([1]);
      await d.propose(new Uint8Array([2]));
      await turn();
      expect(done).toEqual([1, 2]);
      expect(d.applied).toBe(base + 2);
    } finally {
      net.stop();
    }
  });

  it('calls afterApply once per applied batch with its last index, and keeps the hard state in storage', async () => {
    const net = new DriverNet();
    const after: number[] = [];
    const m = net.add(1, [1], {
      stateMachine: { applyEntry: (e) => e.index, applySnapshot: () => Promise.resolve(), afterApply: (i) => (after.push(i), Promise.resolve()) },
    });
    try {
      await net.elect(1);
      await m.driver.propose(new Uint8Array([1]));
      await net.settle();
      expect(after.length).toBeGreaterThan(0);
      expect(after[after.length - 1]).toBe(m.driver.applied);
      // Strictly increasing: no call for a Ready that applied nothing.
      for (let i = 1; i < after.length; i++) expect(after[i]!).toBeGreaterThan(after[i - 1]!);
      const hs = m.storage.initialState().hardState;
      expect([hs.term, hs.vote, hs.commit]).toEqual([m.driver.status().term, 1, m.driver.applied]);
      // A Ready that changes no hard state (a read) leaves the stored one alone.
      await m.driver.readIndex(1_000);
      expect(m.storage.initialState().hardState).toEqual(hs);
    } finally {
      net.stop();
    }
  });

  it("takes a store's saveNow when it says the batch is durable, falls back to save when it declines, and awaits a promise from afterApply", async () => {
    const net = new DriverNet();
    const now: number[] = [];
    const later: number[] = [];
    let declines = 0;
    const after: number[] = [];
    for (const id of [1, 2, 3]) {
      net.add(id, [1, 2, 3], {
        // every other batch is handed back to save(); afterApply is synchronous on odd indexes
        logStore: {
          saveNow: (b) => (declines++ % 2 === 0 ? false : (now.push(b.entries.length), true)),
          save: (b) => (later.push(b.entries.length), Promise.resolve()),
        },
        stateMachine: { applyEntry: (e) => e.index, applySnapshot: () => Promise.resolve(), afterApply: (i) => (after.push(i), i % 2 === 1 ? undefined : Promise.resolve()) },
      });
    }
    try {
      await net.elect(1);
      for (let k = 0; k < 6; k++) {
        const p = net.get(1).driver.propose(new Uint8Array([k]));
        await net.settle();
        expect(await p).toBe(net.get(1).driver.applied);
      }
      expect(now.length).toBeGreaterThan(0);
      expect(later.length).toBeGreaterThan(0);
      // each batch persisted once: by saveNow, or by save after saveNow declined it
      expect(now.length + later.length).toBe(declines);
      for (const id of [1, 2, 3]) expect(net.get(id).driver.applied).toBe(net.get(1).driver.applied);
      expect(after.some((i) => i % 2 === 1) && after.some((i) => i % 2 === 0)).toBe(true);
    } finally {
      net.stop();
    }
  });

  it('resolves a membership change once it applies and tells onConfChange, only for conf-change entries', async () => {
    const net = new DriverNet();
    const changes: unknown[] = [];
    for (const id of [1, 2, 3]) net.add(id, [1, 2, 3], id === 1 ? { onConfChange: (cc) => changes.push(cc) } : {});
    try {
      await net.elect(1);
      const normal = net.get(1).driver.propose(new Uint8Array([4]));
      await net.settle();
      await normal;
      expect(changes).toEqual([]);
      const p = net.get(1).driver.proposeConfChange({ type: 'add-learner', nodeId: nodeId(4) });
      await net.settle();
      await p;
      expect(changes).toEqual([{ type: 'add-learner', nodeId: 4 }]);
    } finally {
      net.stop();
    }
  });

  it('rejects a proposal a new leader overwrote with "dropped"', async () => {
    const net = await threeMembers();
    try {
      // Member 1 leads but is cut off: its proposal stays in its log only.
      net.hold = (m) => m.from === 1 || m.to === 1;
      const lost = net.get(1).driver.propose(new Uint8Array([8]));
      lost.catch(() => undefined);
      await net.settle();
      // Member 2 wins an election without it and commits its own entry at that index.
      net.get(2).driver.node.campaign();
      net.get(2).driver.kick();
      await net.settle();
      expect(net.get(2).driver.status().leader).toBe(2);
      await net.get(2).driver.submit(new Uint8Array([9]));
      await net.settle();
      // Reconnected, member 1 follows 2 and its entry is replaced.
      net.hold = () => false;
      net.get(2).driver.node.tick();
      net.get(2).driver.kick();
      await net.settle();
      const err = await rejection(lost);
      expect([err.reason, err.leaderHint]).toEqual(['dropped', 2]);
      expect(err.message).toBe('The proposal was lost in a leader change; retry it');
      expect(err.name).toBe('ProposalError');
    } finally {
      net.stop();
    }
  });
});
