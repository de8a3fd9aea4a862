/**
 * Named scenarios on the simulator: each sets up one situation by hand (partitions, crashes,
 * membership changes, transfers, reads) with a fixed seed, asserts what Raft promises about
 * it, and ends with healAndSettle (liveness, converged logs, no acknowledged write lost). The
 * simulator checks every safety invariant after every step throughout.
 */
import { describe, expect, it } from 'vitest';
import type { ConfChange, NodeId } from '../../src/raft/index.js';
import { nodeId } from '../../src/raft/index.js';
import type { Ack, SimNode } from '../sim/index.js';
import { InvariantViolation, SimCluster, healAndSettle, payload } from '../sim/index.js';

/** RAFT_SCENARIO_SEED shifts every scenario's seed, to try the same scenarios on other runs. */
const SHIFT = Number.parseInt(process.env['RAFT_SCENARIO_SEED'] ?? '0', 10);
const ET = 10;
const BOUNDS = { leaderTicks: 6 * ET, convergeTicks: 15 * ET };

/** writeAcked submits `n` writes and runs until all are acknowledged. */
function writeAcked(c: SimCluster, n: number, maxTicks = 10 * ET): Ack[] {
  const keys = c.client.submit(n, c.ticks);
  const took = c.runUntil(() => keys.every((k) => c.client.ackOf(k) !== null), maxTicks);
  if (took === null) c.fail(new InvariantViolation('liveness', `${n} writes not acknowledged within ${maxTicks} ticks`));
  return keys.map((k) => c.client.ackOf(k)!);
}

function st(c: SimCluster, id: number): ReturnType<SimNode['raft']['status']> {
  return c.node(id).raft.status();
}

function maxCommit(c: SimCluster, ids: readonly number[]): number {
  return Math.max(...ids.map((id) => st(c, id).commit));
}

/** changeConf proposes `cc` at whoever leads, retrying refusals, until the leader has applied it. */
function changeConf(c: SimCluster, cc: ConfChange, maxTicks = 20 * ET): void {
  const applied = (): boolean => {
    const l = c.leader();
    if (l === null) return false;
    const conf = l.raft.confState();
    switch (cc.type) {
      case 'add-learner':
        return conf.learners.includes(cc.nodeId);
      case 'add-voter':
      case 'promote':
        return conf.voters.includes(cc.nodeId);
      case 'remove':
        return !conf.voters.includes(cc.nodeId) && !conf.learners.includes(cc.nodeId);
    }
  };
  const end = c.ticks + maxTicks;
  let proposedAt = -Infinity;
  while (!applied()) {
    if (c.ticks >= end) c.fail(new InvariantViolation('liveness', `${cc.type} ${cc.nodeId} not applied within ${maxTicks} ticks`));
    const l = c.leader();
    if (l !== null && c.ticks - proposedAt >= 2 * ET) {
      const res = c.proposeConfChange(l.id, cc);
      if (res.ok) proposedAt = c.ticks;
    }
    c.run(1);
  }
}

describe('split brain', () => {
  it('5 nodes split 2|3 then 3|2, the old leader always on the minority side', () => {
    const c = new SimCluster({ seed: SHIFT + 101, size: 5, electionTick: ET });
    let leader = c.waitLeader(6 * ET).id;
    writeAcked(c, 5);
    const all = c.ids();
    const lostWrites: { index: number; key: string }[] = [];

    for (const round of [1, 2]) {
      const t0 = st(c, leader).term;
      const others = all.filter((id) => id !== leader);
      const minority = [leader, others[round - 1]!];
      const majority = all.filter((id) => !minority.includes(id));
      c.partition([minority, majority]);
      const commitCap = maxCommit(c, all);
      // The old leader still accepts a write it can never commit.
      const key = `minority-${round}`;
      const res = c.propose(leader, payload(key));
      expect(res.ok).toBe(true);
      if (res.ok) lostWrites.push({ index: res.index, key });
      c.client.submit(10, c.ticks);

      let steppedDownAt: number | null = null;
      const start = c.ticks;
      const took = c.runUntil(() => {
        // Minority commits nothing new, at any step.
        expect(maxCommit(c, minority)).toBeLessThanOrEqual(commitCap);
        if (steppedDownAt === null && st(c, leader).role !== 'leader') steppedDownAt = c.ticks - start;
        const l = c.leader();
        return steppedDownAt !== null && l !== null && majority.includes(l.id) && st(c, l.id).commit > commitCap;
      }, 8 * ET);
      expect(took).not.toBeNull();
      // Check-quorum: the old leader gives up within about one election timeout.
      expect(steppedDownAt).toBeLessThanOrEqual(2 * ET);
      const next = c.leader()!;
      expect(st(c, next.id).term).toBeGreaterThan(t0);
      writeAcked(c, 5);
      expect(maxCommit(c, minority)).toBeLessThanOrEqual(commitCap);
      leader = next.id;
    }

    healAndSettle(c, BOUNDS);
    for (const w of lostWrites) expect(c.checker.committedAt(w.index)?.key).not.toBe(w.key);
    for (const id of all) expect(c.node(id).sm.records().some((r) => r.key.startsWith('minority-'))).toBe(false);
  });
});

describe('leader failover', () => {
  it.each([3, 5])('crashing the leader of %i nodes during writes elects a new leader quickly and loses no acknowledged write', (size) => {
    const c = new SimCluster({ seed: SHIFT + 200 + size, size, electionTick: ET });
    const first = c.waitLeader(6 * ET).id;
    writeAcked(c, 10);
    c.client.submit(20, c.ticks);
    c.run(2);
    // The crash strikes with writes in flight (and an unpersisted Ready on the leader).
    expect(c.client.pendingCount).toBeGreaterThan(0);
    c.crash(first, 'after-ready');
    const took = c.runUntil(() => c.leader() !== null, 3 * ET);
    expect(took).not.toBeNull();
    expect(took!).toBeLessThanOrEqual(3 * ET);
    expect(c.leaderId()).not.toBe(first);
    writeAcked(c, 10);
    c.restart(first);
    const r = healAndSettle(c, BOUNDS);
    expect(c.client.stats.acked).toBe(40);
    expect(r.leader).not.toBe(0);
  });
});

describe('pre-vote', () => {
  it('a partitioned node that rejoins does not disrupt the cluster: the term does not rise, the leader stays', () => {
    const c = new SimCluster({ seed: SHIFT + 301, size: 5, electionTick: ET });
    const leader = c.waitLeader(6 * ET).id;
    writeAcked(c, 3);
    const term = st(c, leader).term;
    const f = c.ids().find((id) => id !== leader)!;
    c.isolate(f);
    c.client.submit(10, c.ticks);
    c.runUntil(() => {
      expect(st(c, f).term).toBe(term);
      return false;
    }, 10 * ET);
    c.heal();
    writeAcked(c, 3);
    c.run(5 * ET);
    expect(c.leaderId()).toBe(leader);
    for (const id of c.ids()) expect(st(c, id).term).toBe(term);
    healAndSettle(c, BOUNDS);
    expect(c.checker.leaders().size).toBe(1);
  });

  it('without pre-vote the same rejoin forces an election (what pre-vote prevents)', () => {
    const c = new SimCluster({ seed: SHIFT + 301, size: 5, electionTick: ET, preVote: false });
    const leader = c.waitLeader(6 * ET).id;
    const term = st(c, leader).term;
    const f = c.ids().find((id) => id !== leader)!;
    c.isolate(f);
    c.run(10 * ET);
    expect(st(c, f).term).toBeGreaterThan(term);
    c.heal();
    // Its higher term reaches the leader (in answers to heartbeats) and deposes it.
    const took = c.runUntil(() => {
      const l = c.leader();
      return l !== null && st(c, l.id).term > term;
    }, 15 * ET);
    expect(took).not.toBeNull();
    healAndSettle(c, BOUNDS);
  });
});

describe('snapshots', () => {
  it('a follower far behind catches up by snapshot after the leader compacted its log', () => {
    const c = new SimCluster({ seed: SHIFT + 401, size: 3, electionTick: ET, snapshotEvery: 10, snapshotKeep: 0 });
    const leader = c.waitLeader(6 * ET).id;
    const f = c.ids().find((id) => id !== leader)!;
    c.isolate(f);
    writeAcked(c, 60);
    const lead = c.node(leader);
    expect(lead.storage.firstIndex()).toBeGreaterThan(st(c, f).lastIndex + 1);
    c.heal();
    healAndSettle(c, BOUNDS);
    expect(c.snapshotsDelivered.get(f) ?? 0).toBeGreaterThanOrEqual(1);
    expect(c.node(f).sm.records().filter((r) => r.key.startsWith('w')).length).toBe(60);
  });
});

describe('membership', () => {
  it('add a learner, promote it and remove a partitioned voter, then remove the leader', () => {
    const c = new SimCluster({ seed: SHIFT + 501, size: 3, electionTick: ET, snapshotEvery: 20 });
    const leader = c.waitLeader(6 * ET).id;
    writeAcked(c, 5);
    const [x, y] = c.ids().filter((id) => id !== leader) as [NodeId, NodeId];
    c.isolate(x);
    const four = nodeId(4);
    c.addNode(four);
    changeConf(c, { type: 'add-learner', nodeId: four });
    writeAcked(c, 5);
    // A learner replicates but does not vote: the quorum is still 2 of {leader, x, y}.
    expect(c.leader()!.raft.confState()).toMatchObject({ learners: [four] });
    c.runUntil(() => st(c, four).applied >= st(c, leader).commit, 10 * ET);
    changeConf(c, { type: 'promote', nodeId: four });
    writeAcked(c, 5);
    changeConf(c, { type: 'remove', nodeId: x });
    expect([...c.leader()!.raft.confState().voters].sort()).toEqual([leader, y, four].sort());
    writeAcked(c, 5);
    c.heal();
    c.run(3 * ET);
    expect(c.retired.has(x)).toBe(true);

    // The leader removes itself: it hands leadership to one of the other two and stops leading.
    changeConf(c, { type: 'remove', nodeId: nodeId(leader) });
    c.runUntil(() => {
      const l = c.leader();
      const old = c.node(leader);
      return l !== null && (l.id === y || l.id === four) && (!old.up || old.raft.status().role !== 'leader');
    }, 6 * ET);
    const next = c.leader()!;
    expect([y, four]).toContain(next.id);
    // Once every remaining member applied its removal the old leader is stopped for good.
    c.run(3 * ET);
    expect(c.retired.has(leader)).toBe(true);
    writeAcked(c, 5);
    healAndSettle(c, BOUNDS);
    expect(c.members()).toEqual([y, four].sort((a, b) => a - b));
    for (const id of c.members()) expect(st(c, id).confState.voters.length).toBe(2);
  });
});

describe('leader transfer', () => {
  it('transfers leadership under load without losing acknowledged writes', () => {
    const c = new SimCluster({ seed: SHIFT + 601, size: 5, electionTick: ET });
    const from = c.waitLeader(6 * ET).id;
    writeAcked(c, 5);
    const term = st(c, from).term;
    const to = c.ids().find((id) => id !== from)!;
    c.client.submit(30, c.ticks);
    c.run(1);
    const res = c.with(from, (r) => r.transferLeader(to));
    expect(res.ok).toBe(true);
    c.client.submit(30, c.ticks);
    const took = c.runUntil(() => c.leaderId() === to, 2 * ET);
    expect(took).not.toBeNull();
    expect(st(c, to).term).toBe(term + 1);
    writeAcked(c, 10);
    healAndSettle(c, BOUNDS);
    expect(c.checker.acks().length).toBeGreaterThanOrEqual(75);
  });
});

describe('ReadIndex', () => {
  it('a read returns an index at or past every write acknowledged before it was issued', () => {
    const c = new SimCluster({ seed: SHIFT + 701, size: 5, electionTick: ET, faults: { dropPct: 10, dupPct: 5, minDelay: 1, maxDelay: 4 } });
    c.waitLeader(6 * ET);
    let served = 0;
    for (let round = 0; round < 20; round++) {
      const acks = writeAcked(c, 3, 20 * ET);
      const maxAcked = Math.max(...c.checker.acks().map((a) => a.index));
      expect(Math.max(...acks.map((a) => a.index))).toBeLessThanOrEqual(maxAcked);
      const at = c.ids()[round % 5]!;
      const node = c.node(at);
      const before = node.readStates.length;
      const ctx = c.read(at);
      if (ctx === null) continue;
      const got = c.runUntil(() => node.readStates.slice(before).some((r) => new TextDecoder().decode(r.context) === ctx), 3 * ET);
      if (got === null) continue; // the request or its answer was dropped: a client would retry
      const rs = node.readStates.slice(before).find((r) => new TextDecoder().decode(r.context) === ctx)!;
      expect(rs.index).toBeGreaterThanOrEqual(maxAcked);
      served++;
    }
    expect(served).toBeGreaterThanOrEqual(10);
    healAndSettle(c, BOUNDS);
  });

  it('a leader cut off from the majority never answers a read, even before it steps down', () => {
    const c = new SimCluster({ seed: SHIFT + 702, size: 5, electionTick: ET });
    const leader = c.waitLeader(6 * ET).id;
    writeAcked(c, 3);
    c.isolate(leader);
    const node = c.node(leader);
    const before = node.readStates.length;
    expect(c.read(leader)).not.toBeNull();
    c.run(5 * ET);
    expect(node.readStates.length).toBe(before);
    writeAcked(c, 3);
    c.heal();
    healAndSettle(c, BOUNDS);
  });
});
