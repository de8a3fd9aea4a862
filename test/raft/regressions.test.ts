/**
 * Regressions: the smallest reproductions of core bugs the simulator found, each with the seed
 * and schedule that first showed it.
 */
import { describe, expect, it } from 'vitest';
import { logIndex, nodeId, term } from '../../src/raft/index.js';
import { PaperNode } from '../sim/harness.js';

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
});
