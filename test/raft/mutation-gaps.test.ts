/**
 * Tests written after the mutation run (`npm run test:mutation`, see test/README.md): each
 * pins a rule of the core that a surviving mutant showed no other test checks. Kept apart from
 * the per-module tests so the reason for each is easy to find; every `it` names what it pins.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyConfChange, decodeConfChange, encodeConfChange, parseConfChange, validateConfChange } from '../../src/raft/membership.js';
import { Inflights, Progress } from '../../src/raft/progress.js';
import { committedIndex } from '../../src/raft/quorum.js';
import { ReadOnlyQueue } from '../../src/raft/read-only.js';
import { CompactedError, MemoryStorage, UnavailableError, entrySize, limitSize } from '../../src/raft/storage.js';
import { ProgressTracker } from '../../src/raft/tracker.js';
import type { ConfChange, ConfState, Entry, NodeId } from '../../src/raft/types.js';
import { logIndex, nodeId, term } from '../../src/raft/types.js';
import { InvariantViolation, SimCluster, healAndSettle, payload } from '../sim/index.js';

const i = logIndex;

describe('Inflights (progress.ts)', () => {
  it('refuses an append when the window is full, with a message naming the caller\'s duty', () => {
    const w = new Inflights(2);
    w.add(3);
    w.add(4);
    expect(w.full()).toBe(true);
    expect(() => w.add(5)).toThrow(/window is full/);
    expect(w.count).toBe(2);
  });

  it('freeing an empty window frees nothing, whatever was in its slots before', () => {
    const w = new Inflights(3);
    w.add(5);
    w.freeLE(5);
    expect(w.count).toBe(0);
    w.freeLE(100); // the slots still hold 0s and the freed 5: none of them is in flight
    expect(w.count).toBe(0);
    w.freeFirstOne();
    expect(w.count).toBe(0);
    expect(w.full()).toBe(false);
  });

  it('freeFirstOne releases the oldest slot and the ring keeps its order across the wrap', () => {
    const w = new Inflights(3);
    w.add(1);
    w.add(2);
    w.add(3);
    w.freeFirstOne(); // frees 1
    w.add(4); // wraps into the first slot
    expect(w.count).toBe(3);
    w.freeLE(2); // frees 2 only
    expect(w.count).toBe(2);
    w.freeFirstOne(); // frees 3
    w.freeLE(3);
    expect(w.count).toBe(1); // 4 is still in flight
    w.freeLE(4);
    expect(w.count).toBe(0);
  });
});

describe('Progress (progress.ts)', () => {
  it('an acknowledgement of the index already matched is stale: maybeUpdate reports false', () => {
    const pr = new Progress(i(6), 3, false);
    expect(pr.maybeUpdate(i(5))).toBe(true);
    expect(pr.maybeUpdate(i(5))).toBe(false);
    expect(pr.maybeUpdate(i(4))).toBe(false);
    expect(pr.match).toBe(5);
  });

  it('a late acknowledgement in replicate does not pull next back below what is in flight', () => {
    const pr = new Progress(i(6), 4, false);
    pr.acknowledge(i(5), i(1));
    expect(pr.state).toBe('replicate');
    pr.sentAppend(i(5), i(8));
    pr.sentAppend(i(5), i(10));
    expect(pr.next).toBe(11);
    expect(pr.acknowledge(i(8), i(1))).toBe(true);
    expect(pr.next).toBe(11);
    expect(pr.inflightCount).toBe(1);
  });

  it('maybeUpdate moves next just past an acknowledged index that is ahead of it', () => {
    const pr = new Progress(i(3), 3, false);
    expect(pr.maybeUpdate(i(9))).toBe(true);
    expect(pr.next).toBe(10);
    expect(pr.maybeUpdate(i(9))).toBe(false);
    expect(pr.next).toBe(10);
  });

  it('a probe accepted below the leader\'s first index still starts replicating (the next send decides on a snapshot)', () => {
    const pr = new Progress(i(6), 3, false);
    pr.sentAppend(i(0), null);
    expect(pr.acknowledge(i(5), i(10))).toBe(true);
    expect(pr.state).toBe('replicate');
    expect(pr.next).toBe(6);
  });

  it('a snapshot follower replicates as soon as its log reaches exactly the leader\'s first index', () => {
    const pr = new Progress(i(4), 3, false);
    pr.becomeSnapshot(i(10));
    expect(pr.acknowledge(i(10), i(11))).toBe(true);
    expect(pr.state).toBe('replicate');
    expect(pr.next).toBe(11);
  });

  it('a probe rejection whose hint is below the match never moves next to or below the match', () => {
    const pr = new Progress(i(6), 3, false);
    pr.maybeUpdate(i(5)); // match 5, next 6, still probing
    expect(pr.state).toBe('probe');
    pr.becomeProbe();
    expect(pr.next).toBe(6);
    expect(pr.reject(i(5), i(1))).toBe(true);
    expect(pr.next).toBe(6);
  });

  it('an empty append changes nothing in replicate and does not throw in snapshot', () => {
    const pr = new Progress(i(6), 3, false);
    pr.acknowledge(i(5), i(1));
    pr.sentAppend(i(7), null);
    expect(pr.next).toBe(6);
    expect(pr.inflightCount).toBe(0);
    expect(pr.sentCommit).toBe(7);
    pr.becomeSnapshot(i(20));
    expect(() => pr.sentAppend(i(8), null)).not.toThrow();
    expect(pr.sentCommit).toBe(8);
    expect(pr.state).toBe('snapshot');
  });
});

describe('committedIndex (quorum.ts)', () => {
  /** matchOf answers for the given voters only and fails loudly if asked about anyone else. */
  function matchOf(entries: ReadonlyArray<readonly [number, number]>): (id: NodeId) => number {
    const m = new Map(entries.map(([id, match]) => [nodeId(id), match] as const));
    return (id) => {
      const v = m.get(id);
      if (v === undefined) throw new Error(`committedIndex asked for the match of ${String(id)}, not a voter`);
      return v;
    };
  }

  it('is 0 with no voters', () => {
    expect(committedIndex([], matchOf([]))).toBe(0);
  });

  it('asks only the voters for their match, and takes the majority-th highest', () => {
    const voters = [1, 2, 3].map(nodeId);
    expect(committedIndex(voters, matchOf([[1, 7], [2, 3], [3, 5]]))).toBe(5);
    const four = [1, 2, 3, 4].map(nodeId);
    expect(committedIndex(four, matchOf([[1, 9], [2, 2], [3, 8], [4, 1]]))).toBe(2);
  });

  it('is the majority-th highest match for any voters and matches', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 9 }), (matches) => {
        const voters = matches.map((_, k) => nodeId(k + 1));
        const highestFirst = [...matches].sort((a, b) => b - a);
        expect(committedIndex(voters, matchOf(matches.map((v, k) => [k + 1, v] as const)))).toBe(highestFirst[Math.floor(matches.length / 2)]);
      }),
      { seed: 12, numRuns: 500 },
    );
  });
});

describe('ReadIndex confirmation (read-only.ts)', () => {
  const ctx = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('lastContext is the newest pending read\'s context, and null when none is pending', () => {
    const q = new ReadOnlyQueue();
    expect(q.lastContext()).toBeNull();
    q.add(logIndex(4), nodeId(1), ctx('a'));
    q.add(logIndex(5), nodeId(2), ctx('b'));
    expect(q.lastContext()).toEqual(ctx('b'));
    expect(q.advance(ctx('a')).map((r) => r.index)).toEqual([4]);
    expect(q.lastContext()).toEqual(ctx('b'));
    q.advance(ctx('b'));
    expect(q.lastContext()).toBeNull();
  });

  it('a read whose own heartbeat round is lost is confirmed by the next periodic heartbeat', () => {
    const ET = 10;
    const c = new SimCluster({ seed: 7101, size: 3, electionTick: ET });
    const leader = c.waitLeader(6 * ET).id;
    const keys = c.client.submit(1, c.ticks);
    if (c.runUntil(() => keys.every((k) => c.client.ackOf(k) !== null), 10 * ET) === null) {
      c.fail(new InvariantViolation('liveness', 'a write of the leader\'s term was not acknowledged'));
    }
    const followers = c.ids().filter((id) => id !== leader);
    for (const f of followers) c.cutLink(leader, f); // the heartbeat sent with the read is lost
    const node = c.node(leader);
    const before = node.readStates.length;
    const read = c.read(leader);
    expect(read).not.toBeNull();
    c.run(3); // its own round and a few periodic heartbeats are lost
    expect(node.readStates.length).toBe(before);
    c.heal(); // well within an election timeout: the leader still leads
    const served = c.runUntil(() => node.readStates.slice(before).some((r) => new TextDecoder().decode(r.context) === read), 2 * ET);
    expect(served).not.toBeNull();
    expect(c.leaderId()).toBe(leader);
    healAndSettle(c, { leaderTicks: 6 * ET, convergeTicks: 15 * ET });
  });
});

describe('ProgressTracker (tracker.ts)', () => {
  const conf = (voters: number[]): ConfState => ({ voters: voters.map(nodeId), learners: [] });

  it('after clearProgress a configuration change creates no Progress (a follower tracks no one)', () => {
    const t = new ProgressTracker(conf([1, 2, 3]), 4);
    t.resetProgress(logIndex(5));
    t.clearProgress();
    t.setConf(conf([1, 2, 3, 4]), logIndex(6));
    expect(t.progress(nodeId(4))).toBeUndefined();
    expect(t.progress(nodeId(1))).toBeUndefined();
    const seen: NodeId[] = [];
    t.visit((id) => seen.push(id));
    expect(seen).toEqual([]);
  });

  it('a tracker that tracks no one has no active quorum (it does not fail on the missing Progress)', () => {
    expect(new ProgressTracker(conf([1, 2, 3]), 4).quorumActive()).toBe(false);
  });

  it('mostUpToDateVoter picks the lowest id when no voter has matched anything yet', () => {
    const t = new ProgressTracker(conf([3, 2, 4]), 4);
    t.resetProgress(logIndex(1));
    expect(t.mostUpToDateVoter()).toBe(2);
  });
});

describe('RaftLog.maybeAppend (log.ts)', () => {
  it.each([1, 3])('a deposed leader whose %i uncommitted entries are overwritten reports them as dropped proposals', (lost) => {
    const ET = 10;
    const c = new SimCluster({ seed: 7200 + lost, size: 3, electionTick: ET });
    const old = c.waitLeader(6 * ET).id;
    const first = c.client.submit(1, c.ticks);
    if (c.runUntil(() => first.every((k) => c.client.ackOf(k) !== null), 10 * ET) === null) {
      c.fail(new InvariantViolation('liveness', 'a write of the first leader\'s term was not acknowledged'));
    }
    c.isolate(old);
    for (let n = 0; n < lost; n++) expect(c.propose(old, payload(`lost-${n}`)).ok).toBe(true);
    const others = c.ids().filter((id) => id !== old);
    const elected = c.runUntil(() => others.some((id) => c.node(id).raft.status().role === 'leader'), 10 * ET);
    expect(elected).not.toBeNull();
    const newer = others.find((id) => c.node(id).raft.status().role === 'leader')!;
    expect(c.propose(newer, payload('kept')).ok).toBe(true);
    c.run(2);
    const before = c.client.stats.droppedReported;
    c.heal();
    const reported = c.runUntil(() => c.client.stats.droppedReported >= before + lost, 10 * ET);
    expect(reported).not.toBeNull();
    healAndSettle(c, { leaderTicks: 6 * ET, convergeTicks: 15 * ET });
  });
});

describe('membership changes (membership.ts)', () => {
  const conf = (voters: number[], learners: number[] = []): ConfState => ({ voters: voters.map(nodeId), learners: learners.map(nodeId) });
  const cc = (type: ConfChange['type'], id: number): ConfChange => ({ type, nodeId: nodeId(id) });
  const c = conf([1, 2], [3]);

  it.each([
    { change: cc('add-learner', 1), want: /already a voter/ },
    { change: cc('add-learner', 3), want: /already a learner/ },
    { change: cc('add-learner', 4), want: null },
    { change: cc('add-voter', 2), want: /already a voter/ },
    { change: cc('add-voter', 4), want: null },
    { change: cc('add-voter', 3), want: null },
    { change: cc('promote', 1), want: /not a learner/ },
    { change: cc('promote', 4), want: /not a learner/ },
    { change: cc('promote', 3), want: null },
    { change: cc('remove', 9), want: /not in the cluster/ },
    { change: cc('remove', 3), want: null },
    { change: cc('remove', 2), want: null },
  ])('validateConfChange $change.type $change.nodeId on voters 1,2 and learner 3', ({ change, want }) => {
    const got = validateConfChange(c, change, null);
    if (want === null) expect(got).toEqual({ ok: true });
    else expect(got.ok === false && want.test(got.detail)).toBe(true);
  });

  it('the last voter cannot be removed, a learner beside it can', () => {
    const one = conf([1], [2]);
    const last = validateConfChange(one, cc('remove', 1), null);
    expect(last.ok === false && /last voting member/.test(last.detail)).toBe(true);
    expect(validateConfChange(one, cc('remove', 2), null)).toEqual({ ok: true });
  });

  it('a learner is promoted only once it lags by at most maxLag entries (unknown match counts as 0)', () => {
    const at = (match: number | undefined) => ({ match: () => match, lastIndex: 100, maxLag: 10 });
    expect(validateConfChange(c, cc('promote', 3), at(90))).toEqual({ ok: true });
    const behind = validateConfChange(c, cc('promote', 3), at(89));
    expect(behind.ok === false && /not caught up yet \(at 89 of 100\)/.test(behind.detail)).toBe(true);
    const unknown = validateConfChange(c, cc('promote', 3), at(undefined));
    expect(unknown.ok === false && /at 0 of 100/.test(unknown.detail)).toBe(true);
    expect(validateConfChange(c, cc('promote', 3), { match: () => 0, lastIndex: 5, maxLag: 10 })).toEqual({ ok: true });
  });

  it('applyConfChange keeps the other members of both lists, and is idempotent', () => {
    const big = conf([1, 2], [3, 4]);
    expect(applyConfChange(big, cc('remove', 3))).toEqual(conf([1, 2], [4]));
    expect(applyConfChange(big, cc('promote', 3))).toEqual(conf([1, 2, 3], [4]));
    expect(applyConfChange(big, cc('add-learner', 5))).toEqual(conf([1, 2], [3, 4, 5]));
    expect(applyConfChange(big, cc('add-learner', 1))).toBe(big);
    expect(applyConfChange(applyConfChange(big, cc('add-voter', 6)), cc('add-voter', 6))).toEqual(conf([1, 2, 6], [3, 4]));
  });

  it('every change round-trips through its entry encoding, with and without a context', () => {
    for (const type of ['add-learner', 'add-voter', 'promote', 'remove'] as const) {
      expect(decodeConfChange(encodeConfChange(cc(type, 7)))).toEqual(cc(type, 7));
      const withCtx: ConfChange = { type, nodeId: nodeId(8), context: new Uint8Array([1, 2, 3]) };
      const data = encodeConfChange(withCtx);
      expect(data.byteLength).toBe(12);
      expect(decodeConfChange(data)).toEqual(withCtx);
    }
  });

  it('malformed entry data is reported, never thrown, by parseConfChange; decodeConfChange throws it', () => {
    const good = encodeConfChange(cc('add-voter', 5));
    const short = parseConfChange(good.slice(0, 8));
    expect(short.ok === false && /8 bytes, need at least 9/.test(short.error)).toBe(true);
    const badType = good.slice();
    badType[0] = 9;
    const bt = parseConfChange(badType);
    expect(bt.ok === false && /unknown type code 9/.test(bt.error)).toBe(true);
    for (const id of [0, -3, 1.5, Number.NaN]) {
      const d = good.slice();
      new DataView(d.buffer).setFloat64(1, id, true);
      const r = parseConfChange(d);
      expect(r.ok === false && /is not a positive integer/.test(r.error)).toBe(true);
    }
    expect(() => decodeConfChange(badType)).toThrow(/unknown type code 9/);
  });
});

describe('storage.ts', () => {
  const ent = (index: number, t: number, bytes = 0): Entry => ({ index: logIndex(index), term: term(t), type: 'normal', data: new Uint8Array(bytes) });

  it('limitSize keeps entries while their total stays within maxBytes, and always the first', () => {
    const ents = [ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)];
    const each = entrySize(ents[0]!);
    expect(each).toBe(34);
    expect(limitSize(ents, 0)).toEqual([ents[0]]);
    expect(limitSize(ents, 2 * each)).toEqual(ents.slice(0, 2));
    expect(limitSize(ents, 2 * each + 1)).toEqual(ents.slice(0, 2));
    expect(limitSize(ents, 3 * each)).toEqual(ents);
    expect(limitSize(ents, Infinity)).toEqual(ents);
    expect(limitSize([], 0)).toEqual([]);
  });

  function stored(): MemoryStorage {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
    return s;
  }

  it('MemoryStorage refuses compacted and unavailable indexes with typed errors', () => {
    const s = stored();
    s.compact(logIndex(2));
    expect(s.firstIndex()).toBe(3);
    expect(() => s.entries(logIndex(2), logIndex(4), Infinity)).toThrow(CompactedError);
    expect(() => s.entries(logIndex(3), logIndex(6), Infinity)).toThrow(UnavailableError);
    expect(s.entries(logIndex(3), logIndex(5), Infinity).map((e) => e.index)).toEqual([3, 4]);
    expect(() => s.term(logIndex(1))).toThrow(CompactedError);
    expect(s.term(logIndex(2))).toBe(1); // the dummy entry keeps the compacted index's term
    expect(() => s.term(logIndex(5))).toThrow(UnavailableError);
    expect(() => s.compact(logIndex(9))).toThrow(UnavailableError);
    s.compact(logIndex(1)); // already compacted: nothing happens
    expect(s.firstIndex()).toBe(3);
    expect(() => s.createSnapshot(logIndex(9), { voters: [], learners: [] }, new Uint8Array(0))).toThrow(UnavailableError);
  });

  it('MemoryStorage.append overwrites a conflicting suffix, skips what a snapshot covers, and refuses a gap', () => {
    const s = stored();
    s.append([ent(3, 3), ent(4, 3), ent(5, 3)]);
    expect([3, 4, 5].map((i) => s.term(logIndex(i)))).toEqual([3, 3, 3]);
    s.append([ent(2, 1)]);
    expect(s.lastIndex()).toBe(2);
    s.compact(logIndex(2));
    s.append([ent(1, 1), ent(2, 1), ent(3, 4)]);
    expect(s.lastIndex()).toBe(3);
    expect(s.term(logIndex(3))).toBe(4);
    expect(() => s.append([ent(9, 4)])).toThrow(/gap in the log/);
  });

  it('MemoryStorage keeps its newest snapshot: an older one is ignored, createSnapshot at or below it returns it', () => {
    const s = stored();
    const conf = { voters: [nodeId(1)], learners: [] };
    const snap = s.createSnapshot(logIndex(3), conf, new Uint8Array([7]));
    expect(snap.metadata).toEqual({ index: 3, term: 2, confState: conf });
    expect(s.createSnapshot(logIndex(3), conf, new Uint8Array([8]))).toBe(snap);
    expect(s.createSnapshot(logIndex(2), conf, new Uint8Array([8]))).toBe(snap);
    s.applySnapshot({ metadata: { index: logIndex(3), term: term(2), confState: conf }, data: new Uint8Array([9]) });
    expect(s.snapshot()).toBe(snap);
    expect(s.lastIndex()).toBe(4);
    s.applySnapshot({ metadata: { index: logIndex(10), term: term(5), confState: conf }, data: new Uint8Array([9]) });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(logIndex(10))).toBe(5);
  });
});

describe('types.ts', () => {
  it('nodeId refuses anything but a positive safe integer, naming the value', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(() => nodeId(bad)).toThrow(RangeError);
    expect(() => nodeId(-7)).toThrow(/positive safe integer, got -7/);
    expect(nodeId(1)).toBe(1);
  });
});
