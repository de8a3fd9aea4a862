/**
 * tracker: the quorum questions the core asks its ProgressTracker — the commit index from match
 * indexes, check-quorum's activity, election tallies — answered over voters only, for even and
 * odd voter counts (where an off-by-one in the majority shows), and the member walk's order.
 */
import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../src/raft/tracker.js';
import type { ConfState, NodeId } from '../../src/raft/types.js';
import { NO_NODE, logIndex, nodeId } from '../../src/raft/types.js';

const ids = (...xs: number[]): NodeId[] => xs.map(nodeId);
const conf = (voters: number[], learners: number[] = []): ConfState => ({ voters: ids(...voters), learners: ids(...learners) });
const NEXT = logIndex(1);

/** tracking builds a tracker that tracks progress (as a leader's does) with the given match indexes. */
function tracking(c: ConfState, match: Record<number, number> = {}): ProgressTracker {
  const t = new ProgressTracker(c, 4);
  t.resetProgress(NEXT);
  for (const [id, m] of Object.entries(match)) t.progress(nodeId(Number(id)))!.maybeUpdate(logIndex(m));
  return t;
}

function visited(t: ProgressTracker): NodeId[] {
  const out: NodeId[] = [];
  t.visit((id) => out.push(id));
  return out;
}

describe('ProgressTracker.committed', () => {
  const cases: { voters: number; match: number[]; want: number }[] = [
    { voters: 1, match: [7], want: 7 },
    { voters: 2, match: [7, 3], want: 3 },
    { voters: 3, match: [9, 5, 1], want: 5 },
    { voters: 3, match: [9, 0, 0], want: 0 },
    { voters: 4, match: [9, 7, 5, 3], want: 5 },
    { voters: 4, match: [9, 9, 0, 0], want: 0 },
    { voters: 5, match: [10, 8, 6, 4, 2], want: 6 },
    { voters: 5, match: [10, 10, 0, 0, 0], want: 0 },
    { voters: 6, match: [12, 10, 8, 6, 4, 2], want: 6 },
    { voters: 7, match: [1, 2, 3, 4, 5, 6, 7], want: 4 },
  ];
  it.each(cases)('$voters voters matching $match commit $want', ({ voters, match, want }) => {
    const vs = Array.from({ length: voters }, (_, i) => i + 1);
    const m: Record<number, number> = {};
    // Assign the matches in reverse id order so that the answer cannot come from the id order.
    vs.forEach((id, i) => (m[id] = match[voters - 1 - i]!));
    expect(tracking(conf(vs), m).committed()).toBe(want);
  });

  it('counts no learner, however far ahead', () => {
    const t = tracking(conf([1, 2, 3], [4, 5]), { 1: 8, 4: 20, 5: 20 });
    expect(t.committed()).toBe(0);
    t.progress(nodeId(2))!.maybeUpdate(logIndex(6));
    expect(t.committed()).toBe(6);
  });

  it('counts an untracked voter as holding nothing', () => {
    const t = new ProgressTracker(conf([1, 2, 3]), 4);
    expect(t.committed()).toBe(0);
  });

  it('follows the configuration: a new voter raises the quorum, a removed one lowers it', () => {
    const t = tracking(conf([1, 2, 3]), { 1: 5, 2: 5 });
    expect(t.committed()).toBe(5);
    t.setConf(conf([1, 2, 3, 4]), logIndex(6));
    expect(t.committed()).toBe(0); // 3 of 4 needed; voters 3 and 4 hold nothing yet
    t.setConf(conf([1, 2, 4]), logIndex(6));
    expect(t.committed()).toBe(5);
  });
});

describe('ProgressTracker.quorumActive', () => {
  /** withActive builds a leader's tracker (node 1) where `active` were heard from this period. */
  function withActive(c: ConfState, active: number[]): ProgressTracker {
    const t = tracking(c);
    t.progress(nodeId(1))!.markActive();
    for (const id of active) t.progress(nodeId(id))!.markActive();
    return t;
  }

  it('3 voters: the leader alone is not a quorum, with one follower it is', () => {
    expect(withActive(conf([1, 2, 3]), []).quorumActive()).toBe(false);
    expect(withActive(conf([1, 2, 3]), [3]).quorumActive()).toBe(true);
  });

  it('4 voters: the leader and one follower are not a quorum, with two they are', () => {
    expect(withActive(conf([1, 2, 3, 4]), [2]).quorumActive()).toBe(false);
    expect(withActive(conf([1, 2, 3, 4]), [2, 4]).quorumActive()).toBe(true);
  });

  it('5 voters: three active are a quorum, two are not', () => {
    expect(withActive(conf([1, 2, 3, 4, 5]), [5]).quorumActive()).toBe(false);
    expect(withActive(conf([1, 2, 3, 4, 5]), [4, 5]).quorumActive()).toBe(true);
  });

  it('active learners do not make a quorum', () => {
    expect(withActive(conf([1, 2, 3], [4, 5]), [4, 5]).quorumActive()).toBe(false);
  });

  it('resetRecentActive starts a new period for everyone but the leader', () => {
    const t = withActive(conf([1, 2, 3], [4]), [2, 3, 4]);
    expect(t.quorumActive()).toBe(true);
    t.resetRecentActive(nodeId(1));
    expect(t.quorumActive()).toBe(false);
    const active: NodeId[] = [];
    t.visit((id, pr) => {
      if (pr.recentActive) active.push(id);
    });
    expect(active).toEqual(ids(1));
  });

  it('members that join while tracking count as active for their first period', () => {
    const t = withActive(conf([1, 2, 3]), []);
    t.setConf(conf([1, 2, 3, 4, 5]), logIndex(3));
    expect(t.progress(nodeId(4))!.recentActive).toBe(true);
    expect(t.progress(nodeId(4))!.next).toBe(3);
    expect(t.quorumActive()).toBe(true); // 1, 4 and 5 of 5
  });
});

describe('ProgressTracker votes', () => {
  function tally(c: ConfState, votes: [number, boolean][]): ReturnType<ProgressTracker['tallyVotes']> {
    const t = new ProgressTracker(c, 4);
    for (const [id, granted] of votes) t.recordVote(nodeId(id), granted);
    return t.tallyVotes();
  }

  it('1 voter: its own vote wins', () => {
    expect(tally(conf([1]), [[1, true]])).toEqual({ granted: 1, rejected: 0, result: 'won' });
  });

  it('3 voters: two grants win, two refusals lose, one of each is pending', () => {
    expect(tally(conf([1, 2, 3]), [[1, true]])).toEqual({ granted: 1, rejected: 0, result: 'pending' });
    expect(tally(conf([1, 2, 3]), [[1, true], [3, true]])).toEqual({ granted: 2, rejected: 0, result: 'won' });
    expect(tally(conf([1, 2, 3]), [[1, true], [2, false]])).toEqual({ granted: 1, rejected: 1, result: 'pending' });
    expect(tally(conf([1, 2, 3]), [[1, true], [2, false], [3, false]])).toEqual({ granted: 1, rejected: 2, result: 'lost' });
  });

  it('4 voters: two grants are not enough, two refusals already lose', () => {
    expect(tally(conf([1, 2, 3, 4]), [[1, true], [2, true]]).result).toBe('pending');
    expect(tally(conf([1, 2, 3, 4]), [[1, true], [2, true], [4, true]]).result).toBe('won');
    expect(tally(conf([1, 2, 3, 4]), [[1, true], [2, false]]).result).toBe('pending');
    expect(tally(conf([1, 2, 3, 4]), [[1, true], [2, false], [3, false]]).result).toBe('lost');
  });

  it('5 voters: three grants win, three refusals lose', () => {
    expect(tally(conf([1, 2, 3, 4, 5]), [[1, true], [2, true], [3, false], [4, false]]).result).toBe('pending');
    expect(tally(conf([1, 2, 3, 4, 5]), [[1, true], [2, true], [5, true]]).result).toBe('won');
    expect(tally(conf([1, 2, 3, 4, 5]), [[1, true], [2, false], [3, false], [4, false]]).result).toBe('lost');
  });

  it('learners and strangers do not vote', () => {
    const r = tally(conf([1, 2, 3], [4, 5]), [[1, true], [4, true], [5, true], [9, true]]);
    expect(r).toEqual({ granted: 1, rejected: 0, result: 'pending' });
    expect(tally(conf([1, 2, 3], [4]), [[1, true], [2, false], [4, false]]).result).toBe('pending');
  });

  it('a later answer from a voter replaces its earlier one; resetVotes forgets them all', () => {
    const t = new ProgressTracker(conf([1, 2, 3]), 4);
    t.recordVote(nodeId(1), true);
    t.recordVote(nodeId(2), false);
    t.recordVote(nodeId(2), true);
    expect(t.tallyVotes()).toEqual({ granted: 2, rejected: 0, result: 'won' });
    t.resetVotes();
    expect(t.tallyVotes()).toEqual({ granted: 0, rejected: 0, result: 'pending' });
  });
});

describe('ProgressTracker configuration and visit', () => {
  it('visits every tracked member in ascending id order, whatever the configuration order', () => {
    const t = tracking(conf([5, 1, 3], [4, 2]));
    expect(visited(t)).toEqual(ids(1, 2, 3, 4, 5));
    expect(t.voters).toEqual(ids(1, 3, 5));
    expect(t.learners).toEqual(ids(2, 4));
    // The configuration itself is kept as given (it is persisted in snapshots).
    expect(t.conf).toEqual(conf([5, 1, 3], [4, 2]));
  });

  it('visits the members of the new configuration after a change', () => {
    const t = tracking(conf([3, 1, 2]));
    t.setConf(conf([3, 1, 2, 7], [6]), logIndex(4));
    expect(visited(t)).toEqual(ids(1, 2, 3, 6, 7));
    t.setConf(conf([1, 2, 7], [6]), logIndex(4));
    expect(visited(t)).toEqual(ids(1, 2, 6, 7));
    expect(t.progress(nodeId(3))).toBeUndefined();
  });

  it('keeps a member\'s progress across a promotion and updates its learner flag', () => {
    const t = tracking(conf([1, 2], [3]), { 3: 9 });
    expect(t.progress(nodeId(3))!.isLearner).toBe(true);
    t.setConf(conf([1, 2, 3]), logIndex(20));
    const pr = t.progress(nodeId(3))!;
    expect(pr.isLearner).toBe(false);
    expect(pr.match).toBe(9);
  });

  it('tracks nothing until resetProgress and after clearProgress, but follows the configuration', () => {
    const t = new ProgressTracker(conf([1, 2, 3]), 4);
    expect(visited(t)).toEqual([]);
    t.setConf(conf([1, 2, 3, 4]), logIndex(5));
    expect(t.progress(nodeId(4))).toBeUndefined();
    expect(t.isVoter(nodeId(4))).toBe(true);
    t.resetProgress(logIndex(8));
    expect(visited(t)).toEqual(ids(1, 2, 3, 4));
    expect(t.progress(nodeId(2))!.next).toBe(8);
    expect(t.progress(nodeId(2))!.state).toBe('probe');
    t.clearProgress();
    expect(visited(t)).toEqual([]);
    expect(t.committed()).toBe(0);
  });

  it('answers membership questions from the configuration', () => {
    const t = new ProgressTracker(conf([1, 2], [3]), 4);
    expect(t.isVoter(nodeId(1))).toBe(true);
    expect(t.isVoter(nodeId(3))).toBe(false);
    expect(t.isLearner(nodeId(3))).toBe(true);
    expect(t.isSoleVoter(nodeId(1))).toBe(false);
    expect(new ProgressTracker(conf([2], [1]), 4).isSoleVoter(nodeId(2))).toBe(true);
    expect(new ProgressTracker(conf([2], [1]), 4).isSoleVoter(nodeId(1))).toBe(false);
  });

  it('hasQuorum counts only voters among the given ids', () => {
    const t = new ProgressTracker(conf([1, 2, 3, 4], [5, 6]), 4);
    expect(t.hasQuorum(new Set(ids(1, 2, 5, 6)))).toBe(false);
    expect(t.hasQuorum(new Set(ids(1, 2, 4)))).toBe(true);
  });

  it('mostUpToDateVoter picks the highest match among voters, the lowest id on a tie', () => {
    const t = tracking(conf([4, 2, 3], [1]), { 1: 50, 2: 7, 3: 9, 4: 9 });
    expect(t.mostUpToDateVoter()).toBe(3);
    t.progress(nodeId(2))!.maybeUpdate(logIndex(12));
    expect(t.mostUpToDateVoter()).toBe(2);
    expect(new ProgressTracker(conf([1, 2]), 4).mostUpToDateVoter()).toBe(NO_NODE);
  });
});
