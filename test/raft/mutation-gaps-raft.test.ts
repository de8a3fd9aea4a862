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
    const r = rawNode(s, { preVote: false, maxLearnerLag: 0 });
    elect(r, s);
    const got = r.proposeConfChange({ type: 'promote', nodeId: id(4) });
    expect(got).toMatchObject({ ok: false, reason: 'invalid-conf-change' });
    expect(got.ok === false && 'detail' in got && /not caught up yet \(at 0 of 1\)/.test(String(got.detail))).toBe(true);
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

describe('proposals refused or empty', () => {
  it('an empty batch appends nothing and names the last index and the term', () => {
    const net = threeNodes();
    const leader = net.node(1);
    expect(leader.raft.proposeBatch([])).toEqual({ ok: true, index: 1, term: 1 });
    expect(leader.raft.hasReady()).toBe(false);
    expect(leader.status().lastIndex).toBe(1);
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

describe('leader transfer (thesis §3.10)', () => {
  it('is refused on a follower (with the leader as hint) and to a learner', () => {
    const net = new PaperNet([new PaperNode(1, { learners: [4] }), new PaperNode(2, { learners: [4] }), new PaperNode(3, { learners: [4] }), new PaperNode(4, { learners: [4] })]);
    net.act(1, (r) => r.campaign());
    expect(net.node(2).raft.transferLeader(id(3))).toEqual({ ok: false, reason: 'not-leader', leaderHint: 1 });
    expect(net.node(1).raft.transferLeader(id(4))).toEqual({ ok: false, reason: 'is-learner', leaderHint: 1 });
    expect(net.node(1).raft.transferee()).toBe(NO_NODE);
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

  it('a forged rejection naming the leader itself makes it send nothing to itself', () => {
    const net = threeNodes();
    const leader = net.node(1);
    const forged: AppendResponse = { type: 'app-resp', from: id(1), to: id(1), term: term(1), index: logIndex(2), reject: true, rejectHint: logIndex(0), logTerm: term(0) };
    leader.raft.step(forged);
    expect(leader.drain().filter((m) => m.to === 1)).toEqual([]);
  });
});
