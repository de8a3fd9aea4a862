/**
 * Tests written after the mutation run of the Raft state machine (`npm run test:mutation --
 * --mutate src/raft/raft.ts`, see test/README.md): each pins a rule of src/raft/raft.ts that a
 * surviving (or never covered) mutant showed no other test checks. Messages are delivered by
 * hand (test/sim/harness.ts); every `it` names the rule it pins.
 */
import { describe, expect, it } from 'vitest';
import type { AppendResponse, ConfState, Entry, Message, RaftConfig, SnapshotMessage } from '../../src/raft/index.js';
import { MemoryStorage, NO_NODE, RawNode, encodeConfChange, logIndex, nodeId, term } from '../../src/raft/index.js';
import { PaperNet, PaperNode, derivedRng, makeEntries } from '../sim/index.js';

const id = nodeId;
const enc = new TextEncoder();
const conf = (voters: number[], learners: number[] = []): ConfState => ({ voters: voters.map(id), learners: learners.map(id) });

/** drainRaw handles a bare RawNode's Readies against `storage` and returns what it sent. */
function drainRaw(r: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = [];
  while (r.hasReady()) {
    const rd = r.ready();
    out.push(...rd.messages);
    if (rd.snapshot !== null) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState !== null) storage.setHardState(rd.hardState);
    out.push(...rd.messagesAfterPersist);
    r.advance(rd);
  }
  return out;
}

/** rawNode builds node 1 on `storage` with only the settings given (the rest defaulted). */
function rawNode(storage: MemoryStorage, extra: Partial<RaftConfig> = {}): RawNode {
  return new RawNode({ id: id(1), storage, electionTick: 10, heartbeatTick: 1, rng: derivedRng(1, 1), ...extra });
}

/** elect makes a bare node 1 (pre-vote off) leader of term 1 with a stand-in vote from 2, its no-op acknowledged by 2. */
function elect(r: RawNode, s: MemoryStorage): void {
  r.campaign();
  drainRaw(r, s);
  r.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
  drainRaw(r, s);
  expect(r.status().role).toBe('leader');
  r.step({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
  drainRaw(r, s);
  expect(r.status().commit).toBe(1);
}

/** threeNodes is a PaperNet of voters 1, 2, 3 with node 1 elected and its no-op committed. */
function threeNodes(): PaperNet {
  const net = new PaperNet([new PaperNode(1), new PaperNode(2), new PaperNode(3)]);
  net.act(1, (r) => r.campaign());
  expect(net.node(1).status()).toMatchObject({ role: 'leader', commit: 1 });
  return net;
}

describe('settings and restart (raft.ts constructor)', () => {
  it('pre-vote is on when the setting is left out: a campaign asks for pre-votes and keeps the term', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s);
    r.campaign();
    const out = drainRaw(r, s);
    expect(out.map((m) => m.type)).toEqual(['pre-vote', 'pre-vote']);
    // Only a leader transfer may override a voter's leader lease; a timeout's pre-votes do not.
    expect(out.map((m) => m.type === 'pre-vote' && m.force)).toEqual([false, false]);
    expect(r.status()).toMatchObject({ role: 'pre-candidate', term: 0 });
  });

  it('check-quorum is on when the setting is left out: a leader that hears from no one steps down', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false });
    r.campaign();
    drainRaw(r, s);
    r.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
    drainRaw(r, s);
    expect(r.status().role).toBe('leader');
    for (let i = 0; i < 10; i++) {
      r.tick();
      drainRaw(r, s);
    }
    expect(r.status()).toMatchObject({ role: 'follower', term: 1, leader: NO_NODE });
  });

  it('after an acknowledgement the leader streams as many appends as the window allows', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false, maxSizePerMsg: 1, maxInflightMsgs: 4 });
    elect(r, s);
    r.proposeBatch([enc.encode('a'), enc.encode('b'), enc.encode('c')]);
    const first = drainRaw(r, s).filter((m) => m.type === 'app' && m.to === 2);
    expect(first.map((m) => (m.type === 'app' ? m.entries.map((e) => e.index) : []))).toEqual([[2]]);
    r.step({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(2), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    const rest = drainRaw(r, s).filter((m) => m.type === 'app' && m.to === 2);
    expect(rest.map((m) => (m.type === 'app' ? m.entries.map((e) => e.index) : []))).toEqual([[3], [4]]);
  });

  it('a setting the core cannot work with is refused at construction, naming it', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    expect(() => rawNode(s, { heartbeatTick: 10 })).toThrow(RangeError);
    expect(() => rawNode(s, { heartbeatTick: 10 })).toThrow(/electionTick \(10\) must be .* above heartbeatTick \(10\)/);
  });

  it('a freshly started node has nothing to hand out: no Ready, no dropped proposals', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s);
    expect(r.hasReady()).toBe(false);
    expect(r.ready().droppedProposals).toEqual([]);
  });

  it('maxSizePerMsg caps the entries of one append (the first always goes)', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false, maxSizePerMsg: 1 });
    elect(r, s);
    expect(r.proposeBatch([enc.encode('a'), enc.encode('b'), enc.encode('c')]).ok).toBe(true);
    const apps = drainRaw(r, s).filter((m) => m.type === 'app' && m.to === 2);
    expect(apps.map((m) => (m.type === 'app' ? m.entries.length : -1))).toEqual([1]);
  });

  it('maxCommittedSizePerReady caps the committed entries of one Ready (the first always goes)', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    s.append(makeEntries([1, 1, 1]));
    s.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(3) });
    const r = rawNode(s, { maxCommittedSizePerReady: 1 });
    const sizes: number[] = [];
    while (r.hasReady()) {
      const rd = r.ready();
      sizes.push(rd.committedEntries.length);
      r.advance(rd);
    }
    expect(sizes).toEqual([1, 1, 1]);
  });

  it('maxLearnerLag: a learner further behind than the setting is not promoted', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3], [4]));
    const r = rawNode(s, { preVote: false, maxLearnerLag: 1 });
    elect(r, s);
    r.propose(enc.encode('x'));
    drainRaw(r, s);
    const got = r.proposeConfChange({ type: 'promote', nodeId: id(4) });
    expect(got).toMatchObject({ ok: false, reason: 'invalid-conf-change' });
    expect(got.ok === false && 'detail' in got && /not caught up yet \(at 0 of 2\)/.test(String(got.detail))).toBe(true);
  });

  it('maxLearnerLag 0: a learner that holds the leader\'s whole log is promoted', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3], [4]));
    const r = rawNode(s, { preVote: false, maxLearnerLag: 0 });
    elect(r, s);
    r.step({ type: 'app-resp', from: id(4), to: id(1), term: term(1), index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    drainRaw(r, s);
    expect(r.matchOf(id(4))).toBe(1);
    expect(r.proposeConfChange({ type: 'promote', nodeId: id(4) })).toEqual({ ok: true, index: 2, term: 1 });
  });

  it('maxInflightMsgs bounds the unacknowledged appends to a replicating follower', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false, maxInflightMsgs: 2 });
    elect(r, s);
    const sent: Message[] = [];
    for (let n = 0; n < 4; n++) {
      expect(r.propose(enc.encode(`p${n}`)).ok).toBe(true);
      sent.push(...drainRaw(r, s));
    }
    const toTwo = sent.filter((m) => m.type === 'app' && m.to === 2 && m.entries.length > 0);
    expect(toTwo).toHaveLength(2);
    // An acknowledgement frees the window, and what waited goes out at once (no heartbeat needed).
    const first = toTwo[0]!;
    const upTo = first.type === 'app' ? first.entries.at(-1)!.index : logIndex(0);
    r.step({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: upTo, reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    const next = drainRaw(r, s).filter((m) => m.type === 'app' && m.to === 2 && m.entries.length > 0);
    expect(next.map((m) => (m.type === 'app' ? m.entries.map((e) => e.index) : []))).toEqual([[4, 5]]);
  });

  it('a restart with applied past the persisted commit raises the commit to applied, never past the log', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    s.append(makeEntries([1, 1, 1, 1, 1]));
    s.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(2) });
    const r = rawNode(s, { applied: logIndex(4) });
    expect(r.status()).toMatchObject({ commit: 4, applied: 4 });
    // Nothing applied is handed out again.
    expect(r.hasReady() ? r.ready().committedEntries : []).toEqual([]);
  });

  it('a restart replays the conf changes between the snapshot and applied, skipping an undecodable one', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const cc = (index: number, data: Uint8Array): Entry => ({ index: logIndex(index), term: term(1), type: 'conf-change', data });
    s.append([
      { index: logIndex(1), term: term(1), type: 'normal', data: encodeConfChange({ type: 'add-learner', nodeId: id(6) }) }, // data only
      cc(2, encodeConfChange({ type: 'add-learner', nodeId: id(4) })),
      cc(3, new Uint8Array([9])), // unknown type code: changes nothing, alike on every member
      cc(4, encodeConfChange({ type: 'promote', nodeId: id(4) })),
      cc(5, encodeConfChange({ type: 'add-learner', nodeId: id(5) })), // not applied yet
    ]);
    s.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(5) });
    const r = rawNode(s, { applied: logIndex(4) });
    expect(r.confState()).toEqual(conf([1, 2, 3, 4]));
    expect(r.status().applied).toBe(4);
  });
});

describe('who may campaign (hup)', () => {
  it('a leader asked to campaign keeps leading in its term', () => {
    const net = threeNodes();
    net.act(1, (r) => r.campaign());
    expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 1 });
    expect(net.node(2).status()).toMatchObject({ term: 1, leader: 1 });
  });

  it('a learner never campaigns, even when told to time out now', () => {
    const s = MemoryStorage.withConf(conf([2, 3], [1]));
    const r = rawNode(s, { preVote: false });
    r.campaign();
    expect(drainRaw(r, s)).toEqual([]);
    r.step({ type: 'timeout-now', from: id(2), to: id(1), term: term(0) });
    expect(drainRaw(r, s)).toEqual([]);
    expect(r.status()).toMatchObject({ role: 'follower', term: 0 });
  });

  it('a node does not campaign while a committed conf change waits to be applied, and does once it is applied', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    s.append([...makeEntries([1]), { index: logIndex(2), term: term(1), type: 'conf-change', data: encodeConfChange({ type: 'add-learner', nodeId: id(4) }) }]);
    s.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(2) });
    const r = rawNode(s, { preVote: false, applied: logIndex(1) });
    r.campaign();
    expect(r.status()).toMatchObject({ role: 'follower', term: 1 });
    const rd = r.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    expect(rd.messages.concat(rd.messagesAfterPersist)).toEqual([]);
    r.advance(rd);
    r.campaign();
    expect(r.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('a conf change already applied does not hold a campaign back, though later entries wait', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    s.append([...makeEntries([1]), { index: logIndex(2), term: term(1), type: 'conf-change', data: encodeConfChange({ type: 'add-learner', nodeId: id(4) }) }, ...makeEntries([1], 3)]);
    s.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(3) });
    const r = rawNode(s, { preVote: false, applied: logIndex(2) });
    r.campaign();
    expect(r.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('a sole voter with pre-vote on wins at once, in a new term', () => {
    const s = MemoryStorage.withConf(conf([1]));
    const r = rawNode(s);
    r.campaign();
    expect(r.status()).toMatchObject({ role: 'leader', term: 1, vote: 1 });
  });
});

describe('messages of an older term', () => {
  const stale = (type: 'app' | 'heartbeat' | 'vote' | 'pre-vote'): Message => {
    const base = { from: id(2), to: id(1), term: term(1) } as const;
    switch (type) {
      case 'app':
        return { ...base, type, index: logIndex(0), logTerm: term(0), entries: [], commit: logIndex(0) };
      case 'heartbeat':
        return { ...base, type, commit: logIndex(0), context: null };
      case 'vote':
      case 'pre-vote':
        return { ...base, type, index: logIndex(9), logTerm: term(1), force: false };
    }
  };

  it('with check-quorum or pre-vote, a stale leader\'s append or heartbeat is answered with the current term; a stale vote is not', () => {
    for (const opts of [{ checkQuorum: true }, { preVote: true }]) {
      const n = new PaperNode(1, { term: 3, ...opts });
      for (const type of ['app', 'heartbeat'] as const) {
        n.raft.step(stale(type));
        expect(n.drain(), type).toEqual([{ type: 'app-resp', from: 1, to: 2, term: 3, index: 0, reject: false, rejectHint: 0, logTerm: 0 }]);
      }
      n.raft.step(stale('vote'));
      expect(n.drain()).toEqual([]);
      n.raft.step(stale('pre-vote'));
      expect(n.drain()).toEqual([{ type: 'pre-vote-resp', from: 1, to: 2, term: 3, reject: true }]);
      expect(n.status()).toMatchObject({ term: 3, role: 'follower' });
    }
  });

  it('with both off (the paper\'s rules), a stale append or heartbeat is dropped unanswered', () => {
    const n = new PaperNode(1, { term: 3 });
    for (const type of ['app', 'heartbeat'] as const) {
      n.raft.step(stale(type));
      expect(n.drain(), type).toEqual([]);
    }
  });
});

describe('granting votes (§5.2, thesis §9.6)', () => {
  const ask = (type: 'vote' | 'pre-vote', from: number, t: number): Message => ({ type, from: id(from), to: id(1), term: term(t), index: logIndex(0), logTerm: term(0), force: false });
  const answer = (n: PaperNode, m: Message): Message | undefined => {
    n.raft.step(m);
    return n.drain().find((x) => x.type === 'vote-resp' || x.type === 'pre-vote-resp');
  };

  it('a repeated request from the candidate already voted for is granted again', () => {
    const n = new PaperNode(1);
    expect(answer(n, ask('vote', 2, 1))).toMatchObject({ to: 2, reject: false });
    expect(answer(n, ask('vote', 2, 1))).toMatchObject({ to: 2, reject: false });
  });

  it('a node that knows the leader of its term refuses a vote in that term, even without having voted', () => {
    const n = new PaperNode(1);
    n.raft.step({ type: 'heartbeat', from: id(2), to: id(1), term: term(1), commit: logIndex(0), context: null });
    n.drain();
    expect(n.status()).toMatchObject({ term: 1, vote: NO_NODE, leader: 2 });
    expect(answer(n, ask('vote', 3, 1))).toMatchObject({ to: 3, reject: true });
  });

  it('a pre-vote for the current term is refused once the vote of that term is given', () => {
    const n = new PaperNode(1, { term: 2, vote: 2 });
    expect(answer(n, ask('pre-vote', 3, 2))).toMatchObject({ type: 'pre-vote-resp', to: 3, reject: true });
    expect(answer(n, ask('pre-vote', 3, 3))).toMatchObject({ type: 'pre-vote-resp', to: 3, reject: false, term: 3 });
  });
});

describe('leader lease (thesis §4.2.3)', () => {
  it('the real election after a won pre-vote does not override leases either (only a transfer does)', () => {
    const n = new PaperNode(1, { preVote: true });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: 'pre-vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
    const votes = n.drain().filter((m) => m.type === 'vote');
    expect(votes.map((m) => m.type === 'vote' && m.force)).toEqual([false, false]);
  });


  const beat = { type: 'heartbeat', from: id(2), to: id(1), term: term(1), commit: logIndex(0), context: null } as const;
  const ask = (type: 'vote' | 'pre-vote'): Message => ({ type, from: id(3), to: id(1), term: term(2), index: logIndex(0), logTerm: term(0), force: false });

  it('a follower that heard from its leader within the election timeout ignores pre-votes too', () => {
    const n = new PaperNode(1, { checkQuorum: true, preVote: true });
    n.raft.step(beat);
    n.drain();
    n.raft.step(ask('pre-vote'));
    expect(n.drain()).toEqual([]);
    expect(n.status()).toMatchObject({ term: 1, leader: 2 });
  });

  it('the lease ends exactly one election timeout after the leader was last heard', () => {
    // Seed 3 draws a randomized timeout above electionTick for node 1: it does not campaign itself.
    const n = new PaperNode(1, { checkQuorum: true, seed: 3 });
    n.raft.step(beat);
    n.drain();
    for (let i = 0; i < 9; i++) n.raft.tick();
    n.raft.step(ask('vote'));
    expect(n.drain()).toEqual([]);
    n.raft.tick();
    expect(n.status()).toMatchObject({ role: 'follower', term: 1, leader: 2 });
    n.raft.step(ask('vote'));
    expect(n.drain().find((m) => m.type === 'vote-resp')).toMatchObject({ to: 3, reject: false, term: 2 });
  });
});

describe('leader ticks', () => {
  it('with check-quorum off, a leader that hears from no one keeps leading', () => {
    const n = new PaperNode(1, { checkQuorum: false });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
    n.drain();
    for (let i = 0; i < 50; i++) {
      n.raft.tick();
      n.drain();
    }
    expect(n.status()).toMatchObject({ role: 'leader', term: 1 });
  });

  it('heartbeats go out every heartbeatTick ticks, not more often nor less', () => {
    const n = new PaperNode(1, { heartbeatTick: 3 });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
    n.drain();
    const beats: number[] = [];
    const toSelf: Message[] = [];
    for (let t = 1; t <= 9; t++) {
      n.raft.tick();
      for (const m of n.drain()) {
        if (m.type === 'heartbeat' && m.to === 2) beats.push(t);
        if (m.to === 1) toSelf.push(m);
      }
    }
    expect(beats).toEqual([3, 6, 9]);
    expect(toSelf).toEqual([]);
  });

  it('a leader removed from the configuration steps down after an election timeout if its hand-over does not finish', () => {
    const net = threeNodes();
    net.drop = (m) => m.type === 'timeout-now';
    net.act(1, (r) => void r.proposeConfChange({ type: 'remove', nodeId: id(1) }));
    const leader = net.node(1);
    expect(leader.raft.confState().voters).toEqual([2, 3]);
    expect(leader.status().role).toBe('leader');
    expect(net.take((m) => m.type === 'timeout-now')).toHaveLength(1);
    net.tick(1, 10);
    expect(leader.status()).toMatchObject({ role: 'follower', leader: NO_NODE });
  });

  it('a snapshot never reported is presumed lost after two election timeouts, and sent again', () => {
    const net = threeNodes();
    net.drop = (m) => m.to === 3 || m.from === 3;
    for (let n = 0; n < 3; n++) net.act(1, (r) => void r.propose(enc.encode(`p${n}`)));
    const leader = net.node(1);
    expect(leader.status().commit).toBe(4);
    leader.storage.createSnapshot(logIndex(4), conf([1, 2, 3]), new Uint8Array([1]));
    leader.storage.compact(logIndex(4));
    // Node 3 is back, but every snapshot to it is lost and none is reported.
    net.drop = (m) => m.type === 'snap';
    net.undelivered = [];
    const snapsAt: number[] = [];
    for (let t = 1; t <= 30; t++) {
      net.tick(1);
      for (const m of net.take((x) => x.type === 'snap')) if (m.to === 3) snapsAt.push(t);
    }
    expect(snapsAt.length).toBeGreaterThanOrEqual(2);
    expect(snapsAt[1]! - snapsAt[0]!).toBeGreaterThanOrEqual(10);
  });
});

describe('commit and transfer at the leader', () => {
  it('a commit advance is sent to the followers at once, without waiting for a heartbeat', () => {
    const net = threeNodes();
    net.act(1, (r) => void r.propose(enc.encode('x')));
    for (const n of [1, 2, 3]) expect(net.node(n).status().commit, `node ${n}`).toBe(2);
  });

  it('a commit that waited for the leader\'s own persistence makes a Ready that broadcasts it', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false });
    elect(r, s);
    r.propose(enc.encode('x'));
    const rd = r.ready(); // entry 2 goes out to the followers before the leader has persisted it
    expect(rd.messages.filter((m) => m.type === 'app').map((m) => m.to)).toEqual([2]); // 3 is still being probed
    r.step({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(2), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    expect(r.status().commit).toBe(1); // one follower's copy is not a majority without the leader's own
    s.append(rd.entries);
    r.advance(rd);
    expect(r.status().commit).toBe(2);
    expect(r.hasReady()).toBe(true);
    const next = r.ready();
    const commits = next.messages.filter((m) => m.type === 'app').map((m) => (m.type === 'app' ? [m.to, m.commit] : []));
    expect(commits).toEqual([[2, 2]]);
  });

  it('a sole voter commits its own entries as soon as they are persisted', () => {
    const s = MemoryStorage.withConf(conf([1]));
    const r = rawNode(s);
    r.campaign();
    drainRaw(r, s);
    r.propose(enc.encode('x'));
    drainRaw(r, s);
    expect(r.status()).toMatchObject({ role: 'leader', commit: 2 });
  });

  it('TimeoutNow goes to the transferee only once it has acknowledged the leader\'s last entry', () => {
    const net = threeNodes();
    net.drop = (m) => m.to === 3;
    net.act(1, (r) => void r.proposeBatch([enc.encode('a'), enc.encode('b')]));
    net.act(1, (r) => void r.transferLeader(id(3)));
    expect(net.take((m) => m.type === 'timeout-now')).toEqual([]); // 3 lags: it gets an append first
    expect(net.take((m) => m.type === 'app' && m.to === 3).length).toBeGreaterThan(0);
    net.undelivered = [];
    const ackFrom3 = (index: number): Message => ({ type: 'app-resp', from: id(3), to: id(1), term: term(1), index: logIndex(index), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    net.send(ackFrom3(2));
    expect(net.take((m) => m.type === 'timeout-now')).toEqual([]);
    net.send(ackFrom3(3));
    expect(net.take((m) => m.type === 'timeout-now').map((m) => m.to)).toEqual([3]);
  });
});

describe('reads and reports from the driver', () => {
  it('a read on a node that knows no leader is refused and sends nothing', () => {
    const n = new PaperNode(1);
    expect(n.raft.readIndex(enc.encode('r'))).toEqual({ ok: false, reason: 'no-leader', leaderHint: NO_NODE });
    expect(n.raft.hasReady()).toBe(false);
  });

  it('reportUnreachable sends a replicating follower back to probing: one append at a time', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false });
    elect(r, s);
    const appsToTwo = (): number => drainRaw(r, s).filter((m) => m.type === 'app' && m.to === 2 && m.entries.length > 0).length;
    r.propose(enc.encode('a'));
    r.propose(enc.encode('b'));
    expect(appsToTwo()).toBe(1); // one Ready, one append
    r.propose(enc.encode('c'));
    expect(appsToTwo()).toBe(1); // replicating: sent without waiting for the acknowledgement
    r.reportUnreachable(id(2));
    r.propose(enc.encode('d'));
    expect(appsToTwo()).toBe(1); // the probe
    r.propose(enc.encode('e'));
    expect(appsToTwo()).toBe(0); // probing: nothing more until 2 answers
  });

  it('reportSnapshot(false) makes the leader retry the snapshot at once, not after two election timeouts', () => {
    const net = threeNodes();
    net.drop = (m) => m.to === 3 || m.from === 3;
    for (let n = 0; n < 3; n++) net.act(1, (r) => void r.propose(enc.encode(`p${n}`)));
    const leader = net.node(1);
    leader.storage.createSnapshot(logIndex(4), conf([1, 2, 3]), new Uint8Array([1]));
    leader.storage.compact(logIndex(4));
    net.drop = (m) => m.type === 'snap';
    net.undelivered = [];
    let first = 0;
    for (let t = 1; t <= 5 && first === 0; t++) {
      net.tick(1);
      if (net.take((x) => x.type === 'snap' && x.to === 3).length > 0) first = t;
    }
    expect(first).toBeGreaterThan(0);
    net.act(1, (r) => r.reportSnapshot(id(3), false));
    const again: number[] = [];
    for (let t = 1; t <= 3; t++) {
      net.tick(1);
      if (net.take((x) => x.type === 'snap' && x.to === 3).length > 0) again.push(t);
    }
    expect(again.length).toBeGreaterThan(0);
  });

  it('reports about a node outside the configuration, or made on a follower, are ignored', () => {
    const net = threeNodes();
    const leader = net.node(1);
    expect(() => {
      leader.raft.reportUnreachable(id(9));
      leader.raft.reportSnapshot(id(9), false);
      net.node(2).raft.reportUnreachable(id(3));
      net.node(2).raft.reportSnapshot(id(3), true);
    }).not.toThrow();
    expect(leader.raft.hasReady()).toBe(false);
    expect(net.node(2).raft.hasReady()).toBe(false);
  });
});

describe('leader-only views (matchOf, transferee)', () => {
  it('matchOf is what the leader knows each member holds, undefined for an unknown id and on followers', () => {
    const net = threeNodes();
    net.act(1, (r) => void r.propose(enc.encode('x')));
    const leader = net.node(1).raft;
    expect(leader.matchOf(id(2))).toBe(2);
    expect(leader.matchOf(id(3))).toBe(2);
    expect(leader.matchOf(id(9))).toBeUndefined();
    expect(net.node(2).raft.matchOf(id(1))).toBeUndefined();
  });

  it('transferee names the target while a transfer is under way, NO_NODE on a follower', () => {
    const net = threeNodes();
    net.drop = (m) => m.type === 'timeout-now';
    net.act(1, (r) => void r.transferLeader(id(3)));
    expect(net.node(1).raft.transferee()).toBe(3);
    expect(net.node(3).raft.transferee()).toBe(NO_NODE);
  });
});

describe('Ready contents', () => {
  it('a Ready\'s entries are a copy: a proposal made before advance does not join them', () => {
    const s = MemoryStorage.withConf(conf([1]));
    const r = rawNode(s);
    r.campaign();
    drainRaw(r, s);
    expect(r.status()).toMatchObject({ role: 'leader', commit: 1 });
    r.propose(enc.encode('a'));
    const rd = r.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    r.propose(enc.encode('b')); // arrives while the driver persists the Ready
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    s.append(rd.entries);
    r.advance(rd);
    // Entry 3 is still unstable: the next Ready carries it, and only then does it commit.
    expect(r.status().commit).toBe(2);
    const next = r.ready();
    expect(next.entries.map((e) => e.index)).toEqual([3]);
  });
});

describe('forwarded proposals (MsgProp)', () => {
  it('a follower forwards a proposal to the leader at once (not after persisting), and the leader appends it', () => {
    const net = threeNodes();
    const follower = net.node(2);
    expect(follower.raft.forwardBatch([enc.encode('fwd')])).toEqual({ ok: true, forwarded: true });
    const rd = follower.raft.ready();
    expect(rd.messages.map((m) => [m.type, m.to])).toEqual([['prop', 1]]);
    expect(rd.messagesAfterPersist).toEqual([]);
    follower.raft.advance(rd);
    net.send(...rd.messages);
    const last = net.node(1).entries().at(-1);
    expect(last && new TextDecoder().decode(last.data)).toBe('fwd');
    expect(net.node(1).status().commit).toBe(2);
  });
});

describe('appends and snapshots at a follower (§5.3, §7)', () => {
  const app = (from: number, t: number, index: number, logTerm: number, entries: Entry[], commit: number): Message => ({
    type: 'app', from: id(from), to: id(1), term: term(t), index: logIndex(index), logTerm: term(logTerm), entries, commit: logIndex(commit),
  });
  const snap = (t: number, index: number, snapTerm: number): Message => ({
    type: 'snap', from: id(2), to: id(1), term: term(t),
    snapshot: { metadata: { index: logIndex(index), term: term(snapTerm), confState: conf([1, 2, 3]) }, data: new Uint8Array(0) },
  });
  const ack = (out: Message[]): Message | undefined => out.find((m) => m.type === 'app-resp');

  it('an append below the commit index is answered with the commit index at once', () => {
    const n = new PaperNode(1, { log: [1, 1, 1], term: 1, commit: 3 });
    n.raft.step(app(2, 1, 1, 1, makeEntries([1], 2), 3));
    expect(ack(n.drain())).toMatchObject({ reject: false, index: 3 });
  });

  it('a snapshot at or below the commit index is ignored and answered with the commit index, not the last index', () => {
    const n = new PaperNode(1, { log: [1, 1, 2], term: 2, commit: 2 });
    n.raft.step(snap(3, 2, 1));
    const out = n.drain();
    expect(ack(out)).toMatchObject({ reject: false, index: 2 });
    expect(n.readies.some((r) => r.snapshot !== null)).toBe(false);
    expect(n.logTerms()).toEqual([1, 1, 2]);
  });

  it('a snapshot whose last entry the follower holds only advances the commit, answered with the commit index', () => {
    const n = new PaperNode(1, { log: [1, 1, 1, 2], term: 2, commit: 1 });
    n.raft.step(snap(3, 3, 1));
    const out = n.drain();
    expect(ack(out)).toMatchObject({ reject: false, index: 3 });
    expect(n.status()).toMatchObject({ commit: 3, lastIndex: 4 });
    expect(n.readies.some((r) => r.snapshot !== null)).toBe(false);
  });

  it('a snapshot older than the one installed is ignored (the state never goes back)', () => {
    const n = new PaperNode(1, { term: 1 });
    n.raft.step(snap(1, 10, 1));
    n.drain();
    expect(n.storage.firstIndex()).toBe(11);
    expect(n.status().applied).toBe(10); // the snapshot counts as applied once persisted
    n.raft.step(snap(1, 5, 1));
    const out = n.drain();
    expect(ack(out)).toMatchObject({ reject: false, index: 10 });
    expect(n.readies.filter((r) => r.snapshot !== null).map((r) => r.snapshot?.metadata.index)).toEqual([10]);
    expect(n.status()).toMatchObject({ commit: 10, lastIndex: 10 });
  });

  it('a follower reports no dropped proposals for overwritten entries of terms it never led', () => {
    const n = new PaperNode(1, { log: [1, 1, 2], term: 2, commit: 2 });
    n.raft.step(app(3, 3, 2, 1, makeEntries([3], 3), 2));
    n.drain();
    expect(n.logTerms()).toEqual([1, 1, 3]);
    expect(n.readies.flatMap((r) => r.droppedProposals)).toEqual([]);
  });

  /** deposed makes node 1 leader of term 2 over log [1], with its no-op (2) and proposal "x" (3) unreplicated. */
  function deposed(): PaperNode {
    const n = new PaperNode(1, { log: [1], term: 1, commit: 1 });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(2), reject: false });
    n.drain();
    expect(n.raft.propose(enc.encode('x'))).toMatchObject({ ok: true, index: 3, term: 2 });
    n.drain();
    return n;
  }

  it('a deposed leader whose entries are overwritten reports its proposals dropped, but not its no-op', () => {
    const n = deposed();
    n.raft.step(app(2, 3, 1, 1, makeEntries([3, 3], 2), 1));
    n.drain();
    expect(n.logTerms()).toEqual([1, 3, 3]);
    expect(n.readies.flatMap((r) => r.droppedProposals)).toEqual([{ index: 3, term: 2 }]);
  });

  it('a committed entry that a snapshot covers is never reported dropped', () => {
    const n = deposed(); // entries 1 (term 1), 2 (no-op) and 3 ("x") of term 2
    n.raft.proposeBatch([enc.encode('y'), enc.encode('z')]); // 4 and 5, never replicated
    n.drain();
    // The next leader committed 1..3 as they are, then its own no-op at 4; its snapshot ends there.
    n.raft.step(snap(3, 4, 3));
    n.drain();
    expect(n.status()).toMatchObject({ role: 'follower', lastIndex: 4, commit: 4 });
    const dropped = n.readies.flatMap((r) => r.droppedProposals);
    expect(dropped).toContainEqual({ index: 5, term: 2 });
    expect(dropped.filter((d) => d.index <= 3)).toEqual([]);
  });

  it('a deposed leader whose entries past a snapshot are discarded reports those proposals dropped', () => {
    const n = deposed();
    n.raft.step(snap(3, 2, 3));
    n.drain();
    expect(n.status()).toMatchObject({ role: 'follower', lastIndex: 2, commit: 2 });
    expect(n.readies.flatMap((r) => r.droppedProposals)).toEqual([{ index: 3, term: 2 }]);
  });
});

describe('forward (RawNode.forwardBatch) on each role', () => {
  it('on the leader it appends locally and says so', () => {
    const net = threeNodes();
    expect(net.node(1).raft.forwardBatch([enc.encode('a'), enc.encode('b')])).toEqual({ ok: true, forwarded: false });
    const rd = net.node(1).raft.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2, 3]);
    expect(rd.messages.filter((m) => m.type === 'prop')).toEqual([]);
  });

  it('on a leader handing over leadership it is refused', () => {
    const net = threeNodes();
    net.drop = (m) => m.type === 'timeout-now';
    net.act(1, (r) => void r.transferLeader(id(3)));
    expect(net.node(1).raft.forwardBatch([enc.encode('a')])).toEqual({ ok: false, reason: 'transferring', leaderHint: 1 });
    expect(net.node(1).raft.propose(enc.encode('a'))).toEqual({ ok: false, reason: 'transferring', leaderHint: 1 });
    expect(net.node(1).raft.proposeConfChange({ type: 'add-learner', nodeId: id(4) })).toEqual({ ok: false, reason: 'transferring', leaderHint: 1 });
  });

  it('with no leader known it is refused and sends nothing', () => {
    const n = new PaperNode(1);
    expect(n.raft.forwardBatch([enc.encode('a')])).toEqual({ ok: false, reason: 'no-leader', leaderHint: NO_NODE });
    expect(n.raft.hasReady()).toBe(false);
  });
});

describe('forwarded proposals reaching the leader', () => {
  const prop = (entries: Entry[]): Message => ({ type: 'prop', from: id(2), to: id(1), term: term(1), entries });
  const fwd = (type: Entry['type'], data: Uint8Array): Entry => ({ term: term(0), index: logIndex(0), type, data });

  it('only normal entries are appended: a conf change must be proposed on the leader itself', () => {
    const net = threeNodes();
    net.send(prop([fwd('conf-change', encodeConfChange({ type: 'add-learner', nodeId: id(4) })), fwd('normal', enc.encode('n'))]));
    const leader = net.node(1);
    expect(leader.entries().slice(1).map((e) => [e.index, e.type, new TextDecoder().decode(e.data)])).toEqual([[2, 'normal', 'n']]);
    expect(leader.raft.confState()).toEqual(conf([1, 2, 3]));
  });

  it('are dropped while leadership is being transferred', () => {
    const net = threeNodes();
    net.drop = (m) => m.type === 'timeout-now';
    net.act(1, (r) => void r.transferLeader(id(3)));
    net.send(prop([fwd('normal', enc.encode('late'))]));
    expect(net.node(1).status().lastIndex).toBe(1);
  });
});

describe('what a leader may send before its Ready is persisted (thesis §10.2.1)', () => {
  /** early lists the types of the Ready's messages that may leave at once, and checks none waits for the fsync. */
  function early(n: PaperNode): string[] {
    const rd = n.raft.ready();
    expect(rd.messagesAfterPersist).toEqual([]);
    n.raft.advance(rd);
    return rd.messages.map((m) => m.type);
  }

  it('heartbeats, TimeoutNow and read answers leave at once', () => {
    const net = threeNodes();
    const leader = net.node(1);
    leader.raft.tick();
    expect(early(leader)).toEqual(['heartbeat', 'heartbeat']);
    const ctx = enc.encode('r');
    leader.raft.step({ type: 'read-index', from: id(2), to: id(1), term: term(1), context: ctx });
    expect(early(leader)).toEqual(['heartbeat', 'heartbeat']);
    leader.raft.step({ type: 'heartbeat-resp', from: id(3), to: id(1), term: term(1), context: ctx });
    expect(early(leader)).toEqual(['read-index-resp']);
    leader.raft.transferLeader(id(3));
    expect(early(leader)).toEqual(['timeout-now']);
  });

  it('a snapshot leaves at once', () => {
    const net = threeNodes();
    net.drop = (m) => m.to === 3 || m.from === 3;
    net.act(1, (r) => void r.propose(enc.encode('x')));
    const leader = net.node(1);
    leader.storage.createSnapshot(logIndex(2), conf([1, 2, 3]), new Uint8Array([1]));
    leader.storage.compact(logIndex(2));
    leader.raft.reportUnreachable(id(3)); // back to probing from its match (1), which is compacted
    leader.raft.step({ type: 'heartbeat-resp', from: id(3), to: id(1), term: term(1), context: null });
    expect(early(leader)).toEqual(['snap']);
  });
});

describe('proposals refused or empty', () => {
  it('an empty batch appends nothing and names the last index and the term', () => {
    const net = threeNodes();
    const leader = net.node(1);
    expect(leader.raft.proposeBatch([])).toEqual({ ok: true, index: 1, term: 1 });
    expect(leader.raft.hasReady()).toBe(false);
    expect(leader.status().lastIndex).toBe(1);
  });

  it('a proposal on a follower is refused with the leader as hint, and appends nothing', () => {
    const net = threeNodes();
    expect(net.node(2).raft.propose(enc.encode('x'))).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
    expect(net.node(2).raft.hasReady()).toBe(false);
  });

  it('a conf change proposed on a follower is refused with the leader as hint', () => {
    const net = threeNodes();
    expect(net.node(2).raft.proposeConfChange({ type: 'add-learner', nodeId: id(4) })).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
  });

  it('an invalid conf change is refused with the reason and appends nothing', () => {
    const net = threeNodes();
    const got = net.node(1).raft.proposeConfChange({ type: 'add-voter', nodeId: id(2) });
    expect(got).toMatchObject({ ok: false, reason: 'invalid-conf-change', leaderHint: 1 });
    expect(got.ok === false && 'detail' in got && /already a voter/.test(String(got.detail))).toBe(true);
    expect(net.node(1).status().lastIndex).toBe(1);
  });
});

describe('membership changes through the core (thesis §4.1)', () => {
  it('one change at a time: a second is refused until the first is applied, then accepted', () => {
    const net = threeNodes();
    const leader = net.node(1);
    net.drop = () => true; // the first change cannot commit yet
    expect(leader.raft.proposeConfChange({ type: 'add-learner', nodeId: id(4) })).toEqual({ ok: true, index: 2, term: 1 });
    expect(leader.raft.proposeConfChange({ type: 'add-learner', nodeId: id(5) })).toEqual({ ok: false, reason: 'conf-change-pending', leaderHint: 1 });
    net.send(...leader.drain());
    net.drop = () => false;
    net.tickAll(2);
    expect(leader.status().applied).toBe(2);
    expect(leader.raft.confState()).toEqual(conf([1, 2, 3], [4]));
    expect(leader.raft.proposeConfChange({ type: 'add-learner', nodeId: id(5) })).toEqual({ ok: true, index: 3, term: 1 });
  });

  it('a new learner gets the log at once, without waiting for a heartbeat', () => {
    const net = threeNodes();
    net.nodes.set(id(4), new PaperNode(4));
    net.act(1, (r) => void r.proposeConfChange({ type: 'add-learner', nodeId: id(4) }));
    expect(net.node(1).raft.confState()).toEqual(conf([1, 2, 3], [4]));
    expect(net.node(4).status()).toMatchObject({ lastIndex: 2, leader: 1 });
  });

  it('a follower that applies its own removal keeps following its leader', () => {
    const n = new PaperNode(1, { term: 1 });
    const removal: Entry = { index: logIndex(1), term: term(1), type: 'conf-change', data: encodeConfChange({ type: 'remove', nodeId: id(1) }) };
    n.raft.step({ type: 'app', from: id(2), to: id(1), term: term(1), index: logIndex(0), logTerm: term(0), entries: [removal], commit: logIndex(1) });
    n.drain();
    expect(n.raft.confState()).toEqual(conf([2, 3]));
    expect(n.status()).toMatchObject({ role: 'follower', leader: 2, applied: 1 });
  });

  it('a learner that has caught up is promoted', () => {
    const all = [1, 2, 3, 4].map((n) => new PaperNode(n, { learners: [4] }));
    const net = new PaperNet(all);
    net.act(1, (r) => r.campaign());
    expect(net.node(1).raft.matchOf(id(4))).toBe(1);
    net.act(1, (r) => void r.proposeConfChange({ type: 'promote', nodeId: id(4) }));
    expect(net.node(1).raft.confState()).toEqual(conf([1, 2, 3, 4]));
  });

  it('a normal entry whose data happens to encode a conf change changes nothing', () => {
    const net = threeNodes();
    net.act(1, (r) => void r.propose(encodeConfChange({ type: 'add-learner', nodeId: id(4) })));
    for (const n of [1, 2, 3]) {
      expect(net.node(n).status().applied).toBe(2);
      expect(net.node(n).raft.confState()).toEqual(conf([1, 2, 3]));
    }
  });

  it('a committed conf change that cannot be decoded is skipped when applied, alike on every member', () => {
    const n = new PaperNode(1, { term: 1 });
    const bad: Entry = { index: logIndex(1), term: term(1), type: 'conf-change', data: new Uint8Array([9, 9]) };
    n.raft.step({ type: 'app', from: id(2), to: id(1), term: term(1), index: logIndex(0), logTerm: term(0), entries: [bad], commit: logIndex(1) });
    n.drain();
    expect(n.status().applied).toBe(1);
    expect(n.raft.confState()).toEqual(conf([1, 2, 3]));
  });
});

describe('leader transfer (thesis §3.10)', () => {
  it('is refused on a follower (with the leader as hint) and to a learner', () => {
    const net = new PaperNet([new PaperNode(1, { learners: [4] }), new PaperNode(2, { learners: [4] }), new PaperNode(3, { learners: [4] }), new PaperNode(4, { learners: [4] })]);
    net.act(1, (r) => r.campaign());
    expect(net.node(2).raft.transferLeader(id(3))).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
    expect(net.node(1).raft.transferLeader(id(4))).toEqual({ ok: false, reason: 'is-learner', leaderHint: 1 });
    expect(net.node(1).raft.transferee()).toBe(NO_NODE);
  });

  it('is refused to the leader itself and to a node outside the configuration', () => {
    const net = threeNodes();
    expect(net.node(1).raft.transferLeader(id(1))).toEqual({ ok: false, reason: 'already-leader', leaderHint: 1 });
    expect(net.node(1).raft.transferLeader(id(9))).toEqual({ ok: false, reason: 'unknown-node', leaderHint: 1 });
    expect(net.node(1).raft.transferee()).toBe(NO_NODE);
    expect(net.node(1).raft.hasReady()).toBe(false);
  });

  it('a removed leader whose successor lags sends it the log first, and TimeoutNow once it has caught up', () => {
    const s = MemoryStorage.withConf(conf([1, 2, 3]));
    const r = rawNode(s, { preVote: false });
    elect(r, s);
    expect(r.proposeConfChange({ type: 'remove', nodeId: id(1) }).ok).toBe(true); // index 2
    expect(r.propose(enc.encode('x')).ok).toBe(true); // index 3
    drainRaw(r, s);
    const ack = (index: number): Message => ({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(index), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    r.step(ack(2)); // commits the removal, which applies while 2 still lacks entry 3
    const out = drainRaw(r, s);
    expect(r.confState()).toEqual(conf([2, 3]));
    expect(r.transferee()).toBe(2);
    expect(out.filter((m) => m.type === 'timeout-now')).toEqual([]);
    r.step(ack(3));
    expect(drainRaw(r, s).filter((m) => m.type === 'timeout-now').map((m) => m.to)).toEqual([2]);
  });

  it('a conf change applied during a transfer drops the transfer only if it removes the target', () => {
    for (const [change, kept] of [[{ type: 'remove', nodeId: id(3) }, false], [{ type: 'add-learner', nodeId: id(4) }, true]] as const) {
      const s = MemoryStorage.withConf(conf([1, 2, 3]));
      const r = rawNode(s, { preVote: false });
      elect(r, s);
      expect(r.proposeConfChange(change).ok).toBe(true); // index 2
      drainRaw(r, s);
      expect(r.transferLeader(id(3))).toEqual({ ok: true }); // 3 lags: it is sent the log first
      drainRaw(r, s);
      r.step({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(2), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
      drainRaw(r, s);
      expect(r.status().applied, change.type).toBe(2);
      expect(r.transferee(), change.type).toBe(kept ? 3 : NO_NODE);
      expect(r.propose(enc.encode('y')).ok, change.type).toBe(!kept);
    }
  });

  it('asking again for the transfer under way is accepted and sends nothing more', () => {
    const net = threeNodes();
    net.drop = (m) => m.type === 'timeout-now';
    net.act(1, (r) => void r.transferLeader(id(3)));
    expect(net.take((m) => m.type === 'timeout-now')).toHaveLength(1);
    const leader = net.node(1);
    expect(leader.raft.transferLeader(id(3))).toEqual({ ok: true });
    expect(leader.raft.hasReady()).toBe(false);
  });
});

describe('messages a correct peer never sends', () => {
  it('a candidate that receives a snapshot from a leader of its term follows it and installs the snapshot', () => {
    const n = new PaperNode(1);
    n.raft.campaign();
    n.drain();
    const snap: SnapshotMessage = {
      type: 'snap', from: id(2), to: id(1), term: term(1),
      snapshot: { metadata: { index: logIndex(5), term: term(1), confState: conf([1, 2, 3]) }, data: new Uint8Array(0) },
    };
    n.raft.step(snap);
    const out = n.drain();
    expect(n.status()).toMatchObject({ role: 'follower', term: 1, leader: 2, commit: 5, lastIndex: 5 });
    expect(out.find((m) => m.type === 'app-resp')).toMatchObject({ to: 2, reject: false, index: 5 });
  });

  it('a leader ignores same-term messages only another leader or a candidate would send', () => {
    const net = threeNodes();
    const leader = net.node(1);
    const before = leader.status();
    const base = { from: id(2), to: id(1), term: term(1) } as const;
    const stray: Message[] = [
      { ...base, type: 'app', index: logIndex(1), logTerm: term(1), entries: makeEntries([1], 2), commit: logIndex(2) },
      { ...base, type: 'heartbeat', commit: logIndex(1), context: null },
      { ...base, type: 'snap', snapshot: { metadata: { index: logIndex(9), term: term(1), confState: conf([1, 2, 3]) }, data: new Uint8Array(0) } },
      { ...base, type: 'timeout-now' },
      { ...base, type: 'vote-resp', reject: false },
      { ...base, type: 'pre-vote-resp', reject: false },
      { ...base, type: 'read-index-resp', index: logIndex(7), context: enc.encode('r') },
    ];
    for (const m of stray) {
      leader.raft.step(m);
      expect(leader.drain(), m.type).toEqual([]);
    }
    expect(leader.status()).toEqual(before);
    expect(leader.readStates).toEqual([]);
  });

  it('a leader deposed by check-quorum ignores, in the same term, what its former followers still send it', () => {
    const n = new PaperNode(1, { checkQuorum: true });
    n.raft.campaign();
    n.drain();
    n.raft.step({ type: 'vote-resp', from: id(2), to: id(1), term: term(1), reject: false });
    n.drain();
    for (let i = 0; i < 10; i++) {
      n.raft.tick();
      n.drain();
    }
    const before = n.status();
    expect(before).toMatchObject({ role: 'follower', term: 1 });
    const base = { from: id(2), to: id(1), term: term(1) } as const;
    const late: Message[] = [
      { ...base, type: 'app-resp', index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) },
      { ...base, type: 'vote-resp', reject: false },
      { ...base, type: 'pre-vote-resp', reject: false },
      { ...base, type: 'heartbeat-resp', context: null },
      { ...base, type: 'read-index', context: enc.encode('r') },
      { ...base, type: 'prop', entries: makeEntries([0]) },
    ];
    for (const m of late) {
      n.raft.step(m);
      expect(n.drain(), m.type).toEqual([]);
    }
    expect(n.status()).toEqual(before);
  });

  it('a candidate ignores same-term messages that only a leader or its followers exchange', () => {
    const n = new PaperNode(1);
    n.raft.campaign();
    n.drain();
    const before = n.status();
    expect(before).toMatchObject({ role: 'candidate', term: 1 });
    const base = { from: id(2), to: id(1), term: term(1) } as const;
    const stray: Message[] = [
      { ...base, type: 'timeout-now' },
      { ...base, type: 'app-resp', index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) },
      { ...base, type: 'heartbeat-resp', context: null },
      { ...base, type: 'read-index', context: enc.encode('r') },
      { ...base, type: 'read-index-resp', index: logIndex(1), context: enc.encode('r') },
      { ...base, type: 'prop', entries: makeEntries([0]) },
    ];
    for (const m of stray) {
      n.raft.step(m);
      expect(n.drain(), m.type).toEqual([]);
    }
    expect(n.status()).toEqual(before);
    expect(n.readStates).toEqual([]);
  });

  it('a leader ignores responses from a node outside its configuration (e.g. one just removed)', () => {
    const net = threeNodes();
    const leader = net.node(1);
    const before = leader.status();
    const base = { from: id(9), to: id(1), term: term(1) } as const;
    for (const m of [
      { ...base, type: 'heartbeat-resp', context: null },
      { ...base, type: 'app-resp', index: logIndex(1), reject: false, rejectHint: logIndex(0), logTerm: term(0) },
      { ...base, type: 'app-resp', index: logIndex(1), reject: true, rejectHint: logIndex(0), logTerm: term(0) },
    ] satisfies Message[]) {
      leader.raft.step(m);
      expect(leader.drain(), m.type).toEqual([]);
    }
    expect(leader.status()).toEqual(before);
  });

  it('a heartbeat response from a caught-up follower sends nothing more', () => {
    const net = threeNodes();
    const leader = net.node(1);
    leader.raft.step({ type: 'heartbeat-resp', from: id(2), to: id(1), term: term(1), context: null });
    expect(leader.drain()).toEqual([]);
  });

  it('a forged rejection naming the leader itself makes it send nothing to itself', () => {
    const net = threeNodes();
    const leader = net.node(1);
    const forged: AppendResponse = { type: 'app-resp', from: id(1), to: id(1), term: term(1), index: logIndex(2), reject: true, rejectHint: logIndex(0), logTerm: term(0) };
    leader.raft.step(forged);
    expect(leader.drain().filter((m) => m.to === 1)).toEqual([]);
  });
});
