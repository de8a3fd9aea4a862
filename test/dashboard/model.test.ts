/**
 * The dashboard's model: roles and lag from Status answers, leader changes recorded once per
 * change (and kept for the window), the leader's commit rate between rounds.
 */
import { describe, expect, it } from 'vitest';
import { HISTORY_MS, Model, type MemberAnswer } from '../../src/dashboard/model.js';
import type { StatusResponse } from '../../src/kv/proto/index.js';

const IDS: Record<string, string> = { m1: '11', m2: '22', m3: '33' };

function status(name: string, o: { leader: string | null; term: number; commit: number; applied: number; learner?: boolean; errors?: string[] }): MemberAnswer {
  const s: StatusResponse = {
    header: { cluster_id: '1', member_id: IDS[name]!, revision: 1, raft_term: o.term },
    version: '3.5.0', dbSize: 4096, leader: o.leader === null ? '0' : IDS[o.leader]!, raftIndex: o.commit, raftTerm: o.term, raftAppliedIndex: o.applied,
    errors: o.errors ?? [], dbSizeInUse: 4096, isLearner: o.learner ?? false,
  };
  return { name, endpoint: `http://${name}`, status: s, error: null };
}

const down = (name: string): MemberAnswer => ({ name, endpoint: `http://${name}`, status: null, error: 'connection refused' });

describe('dashboard model', () => {
  it('gives each member its role, lag behind the leader\'s commit, and health', () => {
    const v = new Model().observe(1000, [
      status('m1', { leader: 'm2', term: 3, commit: 100, applied: 90 }),
      status('m2', { leader: 'm2', term: 3, commit: 120, applied: 120 }),
      status('m3', { leader: null, term: 3, commit: 80, applied: 80, errors: ['NOSPACE'] }),
    ]);
    expect(v.leader).toBe('m2');
    expect(v.term).toBe(3);
    expect(v.members.map((m) => [m.name, m.role, m.lag, m.healthy, m.problem])).toEqual([
      ['m1', 'follower', 30, true, null],
      ['m2', 'leader', 0, true, null],
      ['m3', 'no-leader', 40, false, 'NOSPACE'],
    ]);
  });

  it('records a leader change once, with its term, and a member that is down', () => {
    const m = new Model();
    m.observe(1000, [status('m1', { leader: 'm1', term: 2, commit: 10, applied: 10 }), status('m2', { leader: 'm1', term: 2, commit: 10, applied: 10 })]);
    m.observe(2000, [status('m1', { leader: 'm1', term: 2, commit: 30, applied: 30 }), status('m2', { leader: 'm1', term: 2, commit: 30, applied: 30 })]);
    m.observe(3000, [down('m1'), status('m2', { leader: null, term: 3, commit: 30, applied: 30 })]);
    const v = m.observe(4000, [down('m1'), status('m2', { leader: 'm2', term: 4, commit: 31, applied: 31 })]);
    expect(v.leaderChanges).toEqual([
      { atMs: 1000, leader: 'm1', term: 2 },
      { atMs: 3000, leader: null, term: 3 },
      { atMs: 4000, leader: 'm2', term: 4 },
    ]);
    expect(v.members[0]).toMatchObject({ role: 'down', healthy: false, problem: 'connection refused' });
    // 20 entries in the second between the first two rounds; none measured across the gap without a leader.
    expect(v.rates).toEqual([
      { atMs: 2000, committedPerSec: 20, proposalsPerSec: null, fsyncP99Ms: null },
      { atMs: 4000, committedPerSec: 0.5, proposalsPerSec: null, fsyncP99Ms: null },
    ]);
  });

  it('takes the write rate and fsync p99 from the leader\'s metrics, comparing counters of one process only', () => {
    const m = new Model();
    const leaderIs = (name: string, commit: number): MemberAnswer[] => [status(name, { leader: name, term: 2, commit, applied: commit })];
    const fsync = (fast: number, slow: number) => [{ le: 0.001, count: fast }, { le: 0.008, count: fast + slow }, { le: Infinity, count: fast + slow }];
    m.observe(1000, leaderIs('m1', 10), { member: 'm1', proposalsCommitted: 100, fsync: fsync(50, 0) });
    // In the next second: 40 writes, 100 fsyncs of which 2 slow (over 1 ms): p99 is in the 8 ms bucket.
    let v = m.observe(2000, leaderIs('m1', 60), { member: 'm1', proposalsCommitted: 140, fsync: fsync(148, 2) });
    expect(v.rates.at(-1)).toEqual({ atMs: 2000, committedPerSec: 50, proposalsPerSec: 40, fsyncP99Ms: 8 });
    // All fast: p99 in the 1 ms bucket.
    v = m.observe(3000, leaderIs('m1', 70), { member: 'm1', proposalsCommitted: 150, fsync: fsync(248, 2) });
    expect(v.rates.at(-1)).toMatchObject({ proposalsPerSec: 10, fsyncP99Ms: 1 });
    // Another leader's counters are not compared with m1's.
    v = m.observe(4000, leaderIs('m2', 80), { member: 'm2', proposalsCommitted: 5, fsync: fsync(1, 0) });
    expect(v.rates.at(-1)).toMatchObject({ proposalsPerSec: null, fsyncP99Ms: null });
  });

  it('forgets what is older than the window but keeps who led at its start', () => {
    const m = new Model();
    m.observe(0, [status('m1', { leader: 'm1', term: 2, commit: 1, applied: 1 })]);
    m.observe(1000, [status('m1', { leader: 'm1', term: 2, commit: 2, applied: 2 })]);
    const v = m.observe(HISTORY_MS + 5000, [status('m1', { leader: 'm1', term: 2, commit: 3, applied: 3 })]);
    expect(v.leaderChanges).toEqual([{ atMs: 0, leader: 'm1', term: 2 }]);
    expect(v.rates.map((r) => r.atMs)).toEqual([HISTORY_MS + 5000]);
  });
});
