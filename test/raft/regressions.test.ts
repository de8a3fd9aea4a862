/**
 * Regressions: the smallest reproductions of core bugs the simulator found, each with the seed
 * and schedule that first showed it.
 */
import { describe, expect, it } from 'vitest';
import type { AppendMessage } from '../../src/raft/index.js';
import { logIndex, nodeId, term } from '../../src/raft/index.js';
import { PaperNet, PaperNode } from '../sim/harness.js';

describe('core regressions', () => {
  // Found by properties.test.ts ("snapshots, log compaction and slow fsyncs", RAFT_PROP_SEED=777,
  // sim seed 469225810, 5 nodes): a follower that received a snapshot ticked into an election
  // before its Ready was persisted and advanced. hup() scanned (applied, committed] for conf
  // changes, but the log now starts after the snapshot: CompactedError escaped tick().
  it('a node may campaign (or time out) while a received snapshot is not yet applied', () => {
    const n = new PaperNode(1, { log: [1], term: 1, preVote: true, checkQuorum: true });
    n.raft.step({
      type: 'snap',
      from: nodeId(2),
      to: nodeId(1),
      term: term(1),
      snapshot: { metadata: { index: logIndex(10), term: term(1), confState: { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] } }, data: new Uint8Array(0) },
    });
    const rd = n.raft.ready();
    expect(rd.snapshot?.metadata.index).toBe(10);
    // The driver is still persisting rd (a slow fsync) when the election timer fires.
    expect(() => {
      for (let i = 0; i < 30; i++) n.raft.tick();
    }).not.toThrow();
    expect(n.status().role).not.toBe('follower');
  });

  // Found by properties.test.ts ("membership changes", RAFT_PROP_SEED=11, sim seed 498470915, 3
  // nodes; replay with test/sim/replay.ts). A leader that removes itself steps down as soon as it
  // applies the removal. Membership takes effect when applied, so a remaining voter that holds
  // the removal entry but has not yet learnt it committed still counts the old leader as a voter
  // and needs its vote. The old leader appended more entries after the removal, so its log is
  // longer: it refuses the vote (§5.4.1), and, not being a voter any more, never campaigns. No
  // leader is ever elected. Fixed: a removed leader now hands leadership to the most up-to-date
  // remaining voter (TimeoutNow) before it stops leading.
  it('a leader that removes itself does not leave the rest unable to elect a leader', () => {
    const opts = { voters: [1, 2], preVote: true, checkQuorum: true };
    const net = new PaperNet([new PaperNode(1, opts), new PaperNode(2, opts)]);
    net.act(1, (r) => r.campaign());
    const one = net.node(1);
    const two = net.node(2);
    expect(one.status()).toMatchObject({ role: 'leader', commit: 1 });
    const t = one.status().term;
    // The removal (index 2) and a client write (index 3) are appended; only the removal reaches node 2.
    net.drop = (m) => m.from === 1;
    net.act(1, (r) => void r.proposeConfChange({ type: 'remove', nodeId: nodeId(1) }));
    net.act(1, (r) => void r.propose(new TextEncoder().encode('x')));
    const removal = one.entries().find((e) => e.index === 2)!;
    const m: AppendMessage = { type: 'app', from: nodeId(1), to: nodeId(2), term: term(t), index: logIndex(1), logTerm: term(t), entries: [removal], commit: logIndex(1) };
    two.raft.step(m);
    net.send(...two.drain());
    // Node 2's acknowledgement commits the removal; node 1 applies it and starts handing over
    // (no new proposals), and its next messages (which would carry commit 2) are lost.
    expect(one.raft.propose(new TextEncoder().encode('y'))).toMatchObject({ ok: false, reason: 'transferring' });
    expect(two.status()).toMatchObject({ commit: 1, lastIndex: 2 });
    net.drop = () => false;
    net.undelivered = [];
    net.tickAll(300);
    expect([one.status().role, two.status().role]).toContain('leader');
  });
});

