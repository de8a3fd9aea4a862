/**
 * The simulator's own tests: a seed replays exactly, the network does what its settings say,
 * a crash loses exactly what was not persisted, and the invariant checker catches violations.
 */
import { describe, expect, it } from 'vitest';
import type { Entry, Message, Ready } from '../../src/raft/index.js';
import { MemoryStorage, NO_NODE, logIndex, nodeId, seededRng, term } from '../../src/raft/index.js';
import type { FaultAction } from '../sim/index.js';
import { InvariantChecker, InvariantViolation, ReadChecker, SimCluster, SimNetwork, healAndSettle, payload, runSchedule } from '../sim/index.js';

const BOUNDS = { leaderTicks: 80, convergeTicks: 200 };

const SCHEDULE: FaultAction[] = [
  { kind: 'net', dropPct: 15, dupPct: 10, maxDelay: 8 },
  { kind: 'run', ticks: 25 },
  { kind: 'submit', count: 12 },
  { kind: 'run', ticks: 10 },
  { kind: 'crash-leader', point: 'after-ready' },
  { kind: 'submit', count: 6 },
  { kind: 'partition', groups: [0, 1, 1, 0, 1] },
  { kind: 'run', ticks: 30 },
  { kind: 'cut', from: 1, to: 2 },
  { kind: 'restart', node: 0 },
  { kind: 'restart', node: 1 },
  { kind: 'restart', node: 2 },
  { kind: 'snapshot', node: 1, keep: 0 },
  { kind: 'run', ticks: 20 },
];

function play(seed: number, size: number): SimCluster {
  const c = new SimCluster({ seed, size, keepTrace: true, snapshotEvery: 6 });
  runSchedule(c, SCHEDULE);
  healAndSettle(c, BOUNDS);
  return c;
}

describe('simulator determinism', () => {
  it.each([3, 5])('the same seed replays the same run exactly (%i nodes)', (size) => {
    const a = play(1234, size);
    const b = play(1234, size);
    expect(a.trace.count).toBeGreaterThan(500);
    expect(b.trace.hash).toBe(a.trace.hash);
    expect(b.trace.lines()).toEqual(a.trace.lines());
    expect(b.describe()).toBe(a.describe());
    const other = play(1235, size);
    expect(other.trace.hash).not.toBe(a.trace.hash);
  });
});

function msg(from: number, to: number): Message {
  return { type: 'heartbeat', from: nodeId(from), to: nodeId(to), term: term(1), commit: logIndex(0), context: null };
}

describe('simulated network', () => {
  it('delivers within the delay bounds, in some shuffled order', () => {
    const net = new SimNetwork(seededRng(7), { dropPct: 0, dupPct: 0, minDelay: 2, maxDelay: 5 });
    for (let i = 0; i < 200; i++) net.send(msg(1, 2), 0);
    expect(net.due(1)).toEqual([]);
    let got = 0;
    for (let t = 2; t <= 5; t++) got += net.due(t).length;
    expect(got).toBe(200);
    expect(net.inFlight).toBe(0);
  });

  it('drops and duplicates at the configured rates', () => {
    const net = new SimNetwork(seededRng(8), { dropPct: 30, dupPct: 20, minDelay: 1, maxDelay: 1 });
    for (let i = 0; i < 1000; i++) net.send(msg(1, 2), 0);
    const n = net.due(1).length;
    expect(net.stats.dropped).toBeGreaterThan(230);
    expect(net.stats.dropped).toBeLessThan(370);
    expect(n).toBe(1000 - net.stats.dropped + net.stats.duplicated);
    expect(net.stats.duplicated).toBeGreaterThan(100);
  });

  it('partitions both ways, cuts single links one way, and loses messages in flight when a cut starts', () => {
    const net = new SimNetwork(seededRng(9));
    net.cutLink(nodeId(1), nodeId(2));
    expect(net.isCut(nodeId(1), nodeId(2))).toBe(true);
    expect(net.isCut(nodeId(2), nodeId(1))).toBe(false);
    net.heal();
    net.send(msg(3, 1), 0);
    net.partition([[nodeId(1), nodeId(2)], [nodeId(3)]]);
    expect(net.isCut(nodeId(3), nodeId(2))).toBe(true);
    expect(net.isCut(nodeId(2), nodeId(3))).toBe(true);
    expect(net.isCut(nodeId(1), nodeId(2))).toBe(false);
    const out = [...net.due(1), ...net.due(2)];
    expect(out.map((d) => d.cut)).toEqual([true]);
  });
});

describe('crash-restart', () => {
  function leaderOf(c: SimCluster): number {
    return c.waitLeader(100).id;
  }

  it('a crash between ready() and persisting loses the unpersisted entry, and restart rebuilds from storage', () => {
    const c = new SimCluster({ seed: 3 });
    const l = leaderOf(c);
    c.run(5);
    const node = c.node(l);
    const before = node.storage.lastIndex();
    const res = node.raft.propose(payload('unpersisted'));
    expect(res.ok).toBe(true);
    c.crash(l, 'after-ready');
    expect(node.storage.lastIndex()).toBe(before);
    c.restart(l);
    expect(node.raft.status().lastIndex).toBe(before);
    expect(node.sm.appliedIndex).toBe(node.raft.status().applied);
    healAndSettle(c, BOUNDS);
  });

  it('a crash after persisting keeps the entry (only the acknowledgements are lost)', () => {
    const c = new SimCluster({ seed: 4 });
    const l = leaderOf(c);
    c.run(5);
    const node = c.node(l);
    const before = node.storage.lastIndex();
    node.raft.propose(payload('persisted'));
    c.crash(l, 'after-persist');
    expect(node.storage.lastIndex()).toBe(before + 1);
    healAndSettle(c, BOUNDS);
  });

  it('a restarted node replays its committed entries onto its snapshot', () => {
    const c = new SimCluster({ seed: 5, snapshotEvery: 4 });
    leaderOf(c);
    c.client.submit(10, c.ticks);
    c.run(30);
    c.crash(2);
    c.restart(2);
    healAndSettle(c, BOUNDS);
    const n = c.node(2);
    expect(n.storage.snapshot().metadata.index).toBeGreaterThan(0);
    expect(n.sm.records().filter((r) => r.key.startsWith('w')).length).toBeGreaterThanOrEqual(10);
  });
});

describe('invariant checker', () => {
  const e = (i: number, t: number, d: string): Entry => ({ index: logIndex(i), term: term(t), type: 'normal', data: payload(d) });
  const rd = (entries: Entry[]): Ready => ({
    softState: null, hardState: null, snapshot: null, entries, committedEntries: [], messages: [],
    messagesAfterPersist: [], readStates: [], droppedProposals: [], mustSync: true,
  });
  const persist = (ck: InvariantChecker, id: number, entries: Entry[]): void => {
    const s = MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] });
    s.append(entries);
    ck.observePersist(nodeId(id), { term: term(0), vote: NO_NODE, commit: logIndex(0) }, rd(entries), s);
  };
  const expectViolation = (name: string, fn: () => void): void => {
    try {
      fn();
    } catch (err: unknown) {
      expect(err).toBeInstanceOf(InvariantViolation);
      expect((err as InvariantViolation).invariant).toBe(name);
      return;
    }
    throw new Error(`expected a ${name} violation`);
  };

  it('catches two leaders in one term', () => {
    const ck = new InvariantChecker();
    ck.observeRole(nodeId(1), 'leader', term(2));
    ck.observeRole(nodeId(1), 'leader', term(2));
    ck.observeRole(nodeId(2), 'leader', term(3));
    expectViolation('election-safety', () => ck.observeRole(nodeId(2), 'leader', term(2)));
  });

  it('catches two different entries with one index and term, or different predecessors', () => {
    const ck = new InvariantChecker();
    persist(ck, 1, [e(1, 1, 'a'), e(2, 1, 'b')]);
    expectViolation('log-matching', () => persist(ck, 2, [e(1, 1, 'a'), e(2, 1, 'c')]));
    const ck2 = new InvariantChecker();
    persist(ck2, 1, [e(1, 1, 'a'), e(2, 2, 'b')]);
    expectViolation('log-matching', () => persist(ck2, 2, [e(1, 2, 'x'), e(2, 2, 'b')]));
  });

  it('catches two nodes applying different entries at one index', () => {
    const ck = new InvariantChecker();
    ck.observeApply(nodeId(1), e(1, 1, 'a'), term(1));
    ck.observeApply(nodeId(2), e(1, 1, 'a'), term(1));
    expectViolation('state-machine-safety', () => ck.observeApply(nodeId(3), e(1, 2, 'b'), term(2)));
  });

  it('catches a leader missing a committed entry', () => {
    const ck = new InvariantChecker();
    ck.observeApply(nodeId(1), e(1, 1, 'a'), term(1));
    const s = MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] });
    ck.checkLeaderCompleteness(nodeId(2), term(1), s);
    expectViolation('leader-completeness', () => ck.checkLeaderCompleteness(nodeId(2), term(2), s));
  });

  it('catches an acknowledged write missing from a node', () => {
    const ck = new InvariantChecker();
    ck.observeApply(nodeId(1), e(1, 1, 'w1'), term(1));
    ck.recordAck({ key: 'w1', index: logIndex(1), term: term(1) });
    expectViolation('acknowledged-lost', () => ck.checkAcksApplied(nodeId(2), 0, () => undefined));
  });

  it('catches a vote or an acknowledgement sent before it was persisted', () => {
    const ck = new InvariantChecker();
    const s = MemoryStorage.withConf({ voters: [nodeId(1)], learners: [] });
    const grant: Message = { type: 'vote-resp', from: nodeId(1), to: nodeId(2), term: term(1), reject: false };
    expectViolation('persist-before-send', () => ck.checkPersistedBeforeSend(nodeId(1), grant, s));
    s.setHardState({ term: term(1), vote: nodeId(2), commit: logIndex(0) });
    ck.checkPersistedBeforeSend(nodeId(1), grant, s);
    const ack: Message = { type: 'app-resp', from: nodeId(1), to: nodeId(2), term: term(1), index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) };
    expectViolation('persist-before-send', () => ck.checkPersistedBeforeSend(nodeId(1), ack, s));
  });

  it('catches a read older than a commit known when it was invoked, even by a member gone since', () => {
    const rc = new ReadChecker();
    rc.noteCommit(7); // e.g. a leader that then crashed
    rc.start('r1', nodeId(2), 10);
    rc.noteCommit(9); // known only after r1 was invoked: not a bound for r1
    expect(rc.complete('r1', 7)).toBe(true);
    rc.start('r2', nodeId(3), 11);
    expectViolation('read-linearizability', () => rc.complete('r2', 8));
    expect(rc.complete('unknown', 0)).toBe(false);
  });

  it('catches a read older than a write acknowledged or a read completed before it was invoked', () => {
    const rc = new ReadChecker();
    rc.noteAck(5);
    rc.start('r1', nodeId(1), 1);
    expectViolation('read-linearizability', () => rc.complete('r1', 4));
    const rc2 = new ReadChecker();
    rc2.start('early', nodeId(1), 1);
    rc2.start('concurrent', nodeId(2), 2);
    expect(rc2.complete('early', 6)).toBe(true);
    // Invoked before 'early' completed: it may return an older index.
    expect(rc2.complete('concurrent', 3)).toBe(true);
    rc2.start('late', nodeId(3), 3);
    expectViolation('read-linearizability', () => rc2.complete('late', 5));
  });

  it('checks a read the leader answers inside readIndex() itself (a sole voter)', () => {
    const c = new SimCluster({ seed: 5, size: 1 });
    c.run(30);
    c.client.submit(3, c.ticks);
    c.run(10);
    const before = c.readsServed;
    expect(c.read(1)).not.toBeNull();
    expect(c.readsServed).toBe(before + 1);
  });

  it('a failing run reports its seed and trace', () => {
    const c = new SimCluster({ seed: 99 });
    c.run(30);
    expect(() => c.fail(new InvariantViolation('liveness', 'test'))).toThrow(/seed=99 step=\d+.*\n(.|\n)*last trace lines/);
  });
});
