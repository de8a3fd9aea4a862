/**
 * Paper tests: one rule of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
 * Consensus Algorithm") or of Ongaro's thesis per test, its section cited in the name. Messages
 * are delivered by hand (test/sim/harness.ts); pre-vote and check-quorum are off unless the
 * rule is about them, so the rules read as in the paper.
 */
import { describe, expect, it } from 'vitest';
import type { AppendMessage, Entry, Message, SnapshotMessage, VoteRequest, VoteResponse } from '../../src/raft/index.js';
import { NO_NODE, logIndex, nodeId, term } from '../../src/raft/index.js';
import { PaperNet, PaperNode, makeEntries } from '../sim/harness.js';

const id = nodeId;

function app(from: number, to: number, t: number, index: number, logTerm: number, entries: readonly Entry[], commit = 0): AppendMessage {
  return { type: 'app', from: id(from), to: id(to), term: term(t), index: logIndex(index), logTerm: term(logTerm), entries, commit: logIndex(commit) };
}

function voteReq(from: number, to: number, t: number, index: number, logTerm: number, type: 'vote' | 'pre-vote' = 'vote'): VoteRequest {
  return { type, from: id(from), to: id(to), term: term(t), index: logIndex(index), logTerm: term(logTerm), force: false };
}

function voteResp(from: number, to: number, t: number, reject = false): VoteResponse {
  return { type: 'vote-resp', from: id(from), to: id(to), term: term(t), reject };
}

/** granted tells whether `msgs` grant a vote (or pre-vote) to `to`. */
function granted(msgs: readonly Message[], to: number): boolean | null {
  const r = msgs.find((m) => (m.type === 'vote-resp' || m.type === 'pre-vote-resp') && m.to === to);
  return r === undefined || (r.type !== 'vote-resp' && r.type !== 'pre-vote-resp') ? null : !r.reject;
}

function deliver(n: PaperNode, m: Message): Message[] {
  n.raft.step(m);
  return n.drain();
}

/** elect makes node 1 of a lone harness leader of term `after campaign` with a stand-in vote from 2. */
function electAlone(n: PaperNode): void {
  n.raft.campaign();
  const out = n.drain();
  const t = out.find((m) => m.type === 'vote')?.term;
  if (t === undefined) throw new Error('campaign sent no vote request');
  deliver(n, voteResp(2, n.id, t));
  expect(n.status().role).toBe('leader');
}

describe('§5.1 terms', () => {
  it('§5.1 a follower seeing a higher term adopts it and follows the sender', () => {
    const n = new PaperNode(1, { term: 1 });
    deliver(n, { type: 'heartbeat', from: id(2), to: id(1), term: term(3), commit: logIndex(0), context: null });
    expect(n.status()).toMatchObject({ term: 3, leader: 2, role: 'follower' });
    expect(n.storage.hardState().term).toBe(3);
  });

  it('§5.1 a leader or candidate seeing a higher term reverts to follower', () => {
    const leader = new PaperNode(1);
    electAlone(leader);
    deliver(leader, app(3, 1, 5, 0, 0, []));
    expect(leader.status()).toMatchObject({ role: 'follower', term: 5, leader: 3 });

    const cand = new PaperNode(1);
    cand.raft.campaign();
    cand.drain();
    expect(cand.status().role).toBe('candidate');
    deliver(cand, { type: 'heartbeat', from: id(2), to: id(1), term: term(4), commit: logIndex(0), context: null });
    expect(cand.status()).toMatchObject({ role: 'follower', term: 4, leader: 2 });
  });

  it('§5.1 a request with a stale term is rejected and leaves the node unchanged', () => {
    const n = new PaperNode(1, { log: [1, 2], term: 3 });
    const out = deliver(n, app(2, 1, 2, 2, 2, makeEntries([2], 3)));
    expect(n.logTerms()).toEqual([1, 2]);
    expect(n.status().term).toBe(3);
    for (const m of out) expect(m.term).toBe(3);
    const out2 = deliver(n, voteReq(3, 1, 2, 5, 2));
    expect(granted(out2, 3)).not.toBe(true);
    expect(n.storage.hardState()).toMatchObject({ term: 3, vote: NO_NODE });
  });
});

describe('§5.2 leader election', () => {
  it('§5.2 a candidate increments its term, votes for itself, persists that, then asks every voter', () => {
    const n = new PaperNode(1, { log: [1, 1], term: 1 });
    n.raft.campaign();
    const out = n.drain();
    expect(n.status()).toMatchObject({ role: 'candidate', term: 2, vote: 1 });
    const reqs = out.filter((m): m is VoteRequest => m.type === 'vote');
    expect(reqs.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const m of reqs) expect(m).toMatchObject({ term: 2, index: 2, logTerm: 1 });
    // Figure 2: the vote for itself is durable before the requests leave.
    const rd = n.readies.find((r) => r.messagesAfterPersist.some((m) => m.type === 'vote'));
    expect(rd?.hardState).toMatchObject({ term: 2, vote: 1 });
    expect(rd?.messages.some((m) => m.type === 'vote')).toBe(false);
  });

  it('§5.2 a node grants at most one vote per term, first come first served, even across a restart', () => {
    const n = new PaperNode(1);
    expect(granted(deliver(n, voteReq(2, 1, 1, 0, 0)), 2)).toBe(true);
    expect(granted(deliver(n, voteReq(3, 1, 1, 0, 0)), 3)).toBe(false);
    expect(n.storage.hardState()).toMatchObject({ term: 1, vote: 2 });
    n.restart();
    expect(granted(deliver(n, voteReq(3, 1, 1, 0, 0)), 3)).toBe(false);
    // A new term frees the vote.
    expect(granted(deliver(n, voteReq(3, 1, 2, 0, 0)), 3)).toBe(true);
  });

  it('§5.2 a grant is persisted before it is sent (Figure 2: respond only after updating stable storage)', () => {
    const n = new PaperNode(1);
    deliver(n, voteReq(2, 1, 1, 0, 0));
    const rd = n.readies.find((r) => r.messagesAfterPersist.some((m) => m.type === 'vote-resp'));
    expect(rd?.hardState).toMatchObject({ term: 1, vote: 2 });
    expect(n.readies.some((r) => r.messages.some((m) => m.type === 'vote-resp'))).toBe(false);
  });

  it('§5.2 a candidate wins with votes from a majority, not fewer', () => {
    const n = new PaperNode(1, { voters: [1, 2, 3, 4, 5] });
    n.raft.campaign();
    n.drain();
    deliver(n, voteResp(2, 1, 1));
    expect(n.status().role).toBe('candidate');
    deliver(n, voteResp(3, 1, 1, true));
    expect(n.status().role).toBe('candidate');
    deliver(n, voteResp(4, 1, 1));
    expect(n.status()).toMatchObject({ role: 'leader', leader: 1, term: 1 });
  });

  it('§5.2 a candidate receiving AppendEntries from a leader of its term becomes follower', () => {
    const n = new PaperNode(1);
    n.raft.campaign();
    n.drain();
    deliver(n, app(2, 1, 1, 0, 0, []));
    expect(n.status()).toMatchObject({ role: 'follower', term: 1, leader: 2 });
  });

  it('§5.2 a candidate without a majority starts a new election after another timeout', () => {
    const n = new PaperNode(1);
    n.raft.campaign();
    n.drain();
    for (let i = 0; i < 20 && n.status().term === 1; i++) {
      n.raft.tick();
      n.drain();
    }
    expect(n.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('§5.2 election timeouts are randomized in [electionTick, 2·electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const n = new PaperNode(1, { seed, electionTick: 10 });
      let ticks = 0;
      while (n.status().role === 'follower' && ticks < 100) {
        n.raft.tick();
        n.drain();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('§5.2 a leader sends heartbeats and keeps its followers from campaigning', () => {
    const net = new PaperNet([new PaperNode(1), new PaperNode(2), new PaperNode(3)]);
    net.act(1, (r) => r.campaign());
    expect(net.node(1).status()).toMatchObject({ role: 'leader', term: 1 });
    net.tickAll(100);
    for (const n of net.nodes.values()) expect(n.status()).toMatchObject({ term: 1, leader: 1 });
  });
});

describe('§5.3 log replication', () => {
  it('§5.3 a follower rejects AppendEntries whose previous entry does not match', () => {
    const n = new PaperNode(1, { log: [1, 1, 2], term: 2 });
    const r1 = deliver(n, app(2, 1, 3, 3, 3, makeEntries([3], 4)));
    expect(r1.find((m) => m.type === 'app-resp')).toMatchObject({ reject: true, term: 3 });
    const r2 = deliver(n, app(2, 1, 3, 5, 2, makeEntries([3], 6)));
    expect(r2.find((m) => m.type === 'app-resp')).toMatchObject({ reject: true });
    expect(n.logTerms()).toEqual([1, 1, 2]);
  });

  it('§5.3 a follower deletes a conflicting suffix and appends the new entries, but keeps a matching one', () => {
    const n = new PaperNode(1, { log: [1, 1, 1, 1], term: 1 });
    const out = deliver(n, app(2, 1, 2, 2, 1, makeEntries([2, 2], 3)));
    expect(n.logTerms()).toEqual([1, 1, 2, 2]);
    expect(out.find((m) => m.type === 'app-resp')).toMatchObject({ reject: false, index: 4 });
    // An older, already-matching append must not truncate what follows it.
    deliver(n, app(2, 1, 2, 1, 1, makeEntries([1], 2)));
    expect(n.logTerms()).toEqual([1, 1, 2, 2]);
  });

  it('§5.5 AppendEntries is idempotent: a repeat leaves the log unchanged and is acknowledged again', () => {
    const n = new PaperNode(1, { log: [1], term: 1 });
    const m = app(2, 1, 1, 1, 1, makeEntries([1, 1], 2));
    const a = deliver(n, m);
    const b = deliver(n, m);
    expect(n.logTerms()).toEqual([1, 1, 1]);
    expect(a.find((x) => x.type === 'app-resp')).toMatchObject({ reject: false, index: 3 });
    expect(b.find((x) => x.type === 'app-resp')).toMatchObject({ reject: false, index: 3 });
  });

  it('§5.3 a follower persists entries before acknowledging them (Figure 2)', () => {
    const n = new PaperNode(1, { term: 1 });
    deliver(n, app(2, 1, 1, 0, 0, makeEntries([1, 1])));
    const rd = n.readies.find((r) => r.messagesAfterPersist.some((m) => m.type === 'app-resp'));
    expect(rd?.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(n.readies.some((r) => r.messages.some((m) => m.type === 'app-resp'))).toBe(false);
  });

  it('§5.3 an entry commits once stored on a majority, and followers learn it from later appends', () => {
    const net = new PaperNet([new PaperNode(1), new PaperNode(2), new PaperNode(3)]);
    net.act(1, (r) => r.campaign());
    net.drop = (m) => m.to === 3 || m.from === 3;
    net.act(1, (r) => void r.propose(new TextEncoder().encode('x')));
    net.tickAll(2);
    const data = (n: PaperNode): string[] => n.applied.filter((e) => e.data.byteLength > 0).map((e) => new TextDecoder().decode(e.data));
    expect(data(net.node(1))).toEqual(['x']);
    expect(data(net.node(2))).toEqual(['x']);
    expect(data(net.node(3))).toEqual([]);
  });

  // Figure 7: the leader of term 8 and six followers' possible logs.
  const LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const FOLLOWERS: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  it.each(Object.entries(FOLLOWERS))('§5.3 the leader forces follower (%s) of Figure 7 to duplicate its log', (_name, log) => {
    const lead = new PaperNode(1, { log: LEADER, term: 7 });
    const fol = new PaperNode(2, { log, term: Math.max(...log) });
    const net = new PaperNet([lead, fol]);
    net.act(1, (r) => r.campaign());
    // Node 3 is a stand-in that grants its vote, as the follower may refuse.
    net.send(voteResp(3, 1, 8));
    expect(lead.status()).toMatchObject({ role: 'leader', term: 8 });
    net.tickAll(3);
    expect(fol.logTerms()).toEqual([...LEADER, 8]);
    expect(fol.entries().map((e) => new TextDecoder().decode(e.data))).toEqual(lead.entries().map((e) => new TextDecoder().decode(e.data)));
  });
});

describe('§5.4 safety', () => {
  const cases: [string, number, number, boolean][] = [
    ['a lower last term', 3, 1, false],
    ['the same last term but a shorter log', 2, 2, false],
    ['the same last term and length', 3, 2, true],
    ['a higher last term though shorter', 1, 3, true],
  ];
  it.each(cases)('§5.4.1 a voter whose log ends at (3, t2) judges a candidate with %s', (_what, index, logTerm, grant) => {
    const n = new PaperNode(1, { log: [1, 2, 2], term: 2 });
    expect(granted(deliver(n, voteReq(2, 1, 4, index, logTerm)), 2)).toBe(grant);
  });

  it('§5.4.2 a leader commits an entry of an earlier term only by committing one of its own (Figure 8)', () => {
    const n = new PaperNode(1, { log: [1, 2], term: 2 });
    electAlone(n);
    expect(n.status().term).toBe(3);
    // §8: the new leader appends a no-op of its term to get there.
    const last = n.entries().at(-1)!;
    expect(last).toMatchObject({ index: 3, term: 3, type: 'normal' });
    expect(last.data.byteLength).toBe(0);
    const ack = (i: number): Message => ({ type: 'app-resp', from: id(2), to: id(1), term: term(3), index: logIndex(i), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    deliver(n, ack(2));
    expect(n.status().commit).toBe(0);
    deliver(n, ack(3));
    expect(n.status().commit).toBe(3);
    expect(n.applied.map((e) => e.index)).toEqual([1, 2, 3]);
  });

  it('§5.4.2 a leader counts its own copy only once it is persisted (thesis §10.2.1)', () => {
    const n = new PaperNode(1);
    electAlone(n);
    const ack = (i: number): Message => ({ type: 'app-resp', from: id(2), to: id(1), term: term(1), index: logIndex(i), reject: false, rejectHint: logIndex(0), logTerm: term(0) });
    deliver(n, ack(1));
    expect(n.status().commit).toBe(1);
    n.raft.propose(new TextEncoder().encode('x'));
    const rd = n.raft.ready();
    // The append may leave before the leader's own fsync...
    expect(rd.messages.some((m) => m.type === 'app' && m.entries.some((e) => e.index === 2))).toBe(true);
    n.raft.step(ack(2));
    // ...but with only node 2's copy durable, entry 2 is on no majority yet.
    expect(n.status().commit).toBe(1);
    n.storage.append(rd.entries);
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    n.raft.advance(rd);
    expect(n.status().commit).toBe(2);
  });
});

describe('§7 log compaction', () => {
  const snap = (index: number, t: number): SnapshotMessage => ({
    type: 'snap',
    from: id(2),
    to: id(1),
    term: term(t),
    snapshot: { metadata: { index: logIndex(index), term: term(t), confState: { voters: [id(1), id(2), id(3)], learners: [] } }, data: new Uint8Array(0) },
  });

  it('§7 a follower lacking the entries installs the leader\'s snapshot and discards its log', () => {
    const n = new PaperNode(1, { log: [1], term: 1 });
    const out = deliver(n, snap(10, 2));
    expect(n.readies.some((r) => r.snapshot?.metadata.index === 10)).toBe(true);
    expect(n.storage.firstIndex()).toBe(11);
    expect(n.status().commit).toBe(10);
    expect(out.find((m) => m.type === 'app-resp')).toMatchObject({ reject: false, index: 10 });
  });

  it('§7 a snapshot of a prefix the follower already holds keeps the entries after it', () => {
    const n = new PaperNode(1, { log: [1, 1, 1, 1, 1], term: 1 });
    deliver(n, snap(3, 1));
    expect(n.readies.some((r) => r.snapshot !== null)).toBe(false);
    expect(n.logTerms()).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('thesis extensions', () => {
  it('thesis §9.6 pre-vote: a pre-candidate does not raise its term, and stays put when refused', () => {
    const n = new PaperNode(1, { preVote: true, term: 2, log: [1] });
    n.raft.campaign();
    const out = n.drain();
    expect(n.status()).toMatchObject({ role: 'pre-candidate', term: 2 });
    expect(n.storage.hardState().term).toBe(2);
    expect(out.filter((m) => m.type === 'pre-vote').map((m) => m.term)).toEqual([3, 3]);
    deliver(n, { type: 'pre-vote-resp', from: id(2), to: id(1), term: term(2), reject: true });
    deliver(n, { type: 'pre-vote-resp', from: id(3), to: id(1), term: term(2), reject: true });
    expect(n.status()).toMatchObject({ role: 'follower', term: 2 });
  });

  it('thesis §9.6 pre-vote: a majority of pre-votes starts the real election', () => {
    const n = new PaperNode(1, { preVote: true, term: 2 });
    n.raft.campaign();
    n.drain();
    deliver(n, { type: 'pre-vote-resp', from: id(2), to: id(1), term: term(3), reject: false });
    expect(n.status()).toMatchObject({ role: 'candidate', term: 3, vote: 1 });
  });

  it('thesis §6.2 check-quorum: a leader that hears from no majority for an election timeout steps down', () => {
    const n = new PaperNode(1, { checkQuorum: true });
    electAlone(n);
    for (let i = 0; i < 25; i++) {
      n.raft.tick();
      n.drain();
    }
    expect(n.status().role).not.toBe('leader');
  });

  it('thesis §4.2.3 a follower that heard from a leader within the election timeout ignores vote requests', () => {
    const n = new PaperNode(1, { checkQuorum: true });
    deliver(n, { type: 'heartbeat', from: id(2), to: id(1), term: term(1), commit: logIndex(0), context: null });
    const out = deliver(n, voteReq(3, 1, 2, 5, 1));
    expect(granted(out, 3)).not.toBe(true);
    expect(n.status()).toMatchObject({ term: 1, leader: 2 });
  });

  it('thesis §6.4 ReadIndex: reads wait for the leader to commit in its term and for a quorum heartbeat', () => {
    const net = new PaperNet([new PaperNode(1), new PaperNode(2), new PaperNode(3)]);
    // Hold back the leader's appends so the new leader cannot commit its no-op yet.
    net.drop = (m) => m.type === 'app' && m.from === 1;
    net.act(1, (r) => r.campaign());
    const leader = net.node(1);
    expect(leader.status()).toMatchObject({ role: 'leader', commit: 0 });
    leader.raft.readIndex(new TextEncoder().encode('r1'));
    net.send(...leader.drain());
    expect(leader.readStates).toEqual([]);
    net.drop = () => false;
    net.tickAll(2);
    expect(leader.status().commit).toBe(1);
    expect(leader.readStates.map((r) => r.index)).toEqual([1]);
  });

  it('thesis §3.10 leader transfer: the target is caught up, told to time out now, and wins', () => {
    const net = new PaperNet([new PaperNode(1), new PaperNode(2), new PaperNode(3)]);
    net.act(1, (r) => r.campaign());
    net.act(1, (r) => void r.propose(new TextEncoder().encode('x')));
    net.act(1, (r) => void r.transferLeader(id(3)));
    expect(net.node(3).status()).toMatchObject({ role: 'leader', term: 2 });
    expect(net.node(1).status()).toMatchObject({ role: 'follower', leader: 3 });
  });
});
