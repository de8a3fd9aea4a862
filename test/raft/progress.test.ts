/**
 * progress: the per-follower flow-control rules (etcd-io/raft's tracker.Progress) — probe,
 * replicate and snapshot states, the in-flight window, and the snapshot retry after
 * SNAPSHOT_RETRY_TIMEOUTS election timeouts — each driven through the events the core reports.
 */
import { describe, expect, it } from 'vitest';
import { Progress, SNAPSHOT_RETRY_TIMEOUTS } from '../../src/raft/progress.js';
import { logIndex } from '../../src/raft/types.js';

const i = logIndex;

/** replicating is a follower known to hold `match`, streaming with a window of `window` appends. */
function replicating(match: number, window = 3): Progress {
  const pr = new Progress(i(match + 1), window, false);
  pr.acknowledge(i(match), i(1));
  expect(pr.state).toBe('replicate');
  return pr;
}

describe('Progress in probe', () => {
  it('sends one append at a time until it is answered', () => {
    const pr = new Progress(i(11), 3, false);
    expect(pr.isPaused()).toBe(false);
    pr.sentAppend(i(4), i(12));
    expect(pr.isPaused()).toBe(true);
    expect(pr.sentCommit).toBe(4);
    expect(pr.next).toBe(11); // a probe does not advance next
    pr.heartbeatAnswered();
    expect(pr.isPaused()).toBe(false);
    pr.sentAppend(i(4), null); // an empty probe pauses too
    expect(pr.isPaused()).toBe(true);
  });

  it('starts replicating after the match once an append is accepted; a stale one changes nothing', () => {
    const pr = new Progress(i(11), 3, false);
    pr.sentAppend(i(0), i(12));
    expect(pr.acknowledge(i(12), i(1))).toBe(true);
    expect(pr.state).toBe('replicate');
    expect(pr.match).toBe(12);
    expect(pr.next).toBe(13);
    expect(pr.acknowledge(i(5), i(1))).toBe(false);
    expect(pr.match).toBe(12);
  });

  it('steps back on the rejection of its own probe only, using the hint', () => {
    const pr = new Progress(i(11), 3, false);
    pr.sentAppend(i(0), null);
    expect(pr.reject(i(7), i(3))).toBe(false); // not the probe at next-1 = 10
    expect(pr.reject(i(10), i(3))).toBe(true);
    expect(pr.next).toBe(4);
    expect(pr.isPaused()).toBe(false);
    expect(pr.state).toBe('probe');
  });
});

describe('Progress in replicate', () => {
  it('streams until the window is full, and an acknowledgement frees what it covers', () => {
    const pr = replicating(10, 3);
    for (const last of [12, 14, 16]) {
      expect(pr.isPaused()).toBe(false);
      pr.sentAppend(i(10), i(last));
    }
    expect(pr.next).toBe(17);
    expect(pr.inflightCount).toBe(3);
    expect(pr.isPaused()).toBe(true);
    expect(pr.acknowledge(i(14), i(1))).toBe(true);
    expect(pr.inflightCount).toBe(1);
    expect(pr.isPaused()).toBe(false);
  });

  it('a heartbeat answer frees one slot of a full window (an append may have been lost)', () => {
    const pr = replicating(10, 2);
    pr.sentAppend(i(10), i(11));
    pr.sentAppend(i(10), i(12));
    expect(pr.isPaused()).toBe(true);
    pr.heartbeatAnswered();
    expect(pr.inflightCount).toBe(1);
    expect(pr.recentActive).toBe(true);
    pr.heartbeatAnswered(); // not full: nothing more is freed
    expect(pr.inflightCount).toBe(1);
  });

  it('falls back to probing from the match on a rejection above the match; ignores one at or below it', () => {
    const pr = replicating(10);
    pr.sentAppend(i(10), i(15));
    expect(pr.reject(i(10), i(8))).toBe(false);
    expect(pr.state).toBe('replicate');
    expect(pr.reject(i(12), i(8))).toBe(true);
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(11);
    expect(pr.inflightCount).toBe(0);
  });

  it('falls back to probing when the follower is unreachable', () => {
    const pr = replicating(10);
    pr.sentAppend(i(10), i(15));
    pr.unreachable();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(11);
    const probing = new Progress(i(4), 3, false);
    probing.unreachable();
    expect(probing.next).toBe(4);
  });
});

describe('Progress in snapshot', () => {
  it('sends nothing while the snapshot is pending', () => {
    const pr = replicating(3);
    pr.becomeSnapshot(i(20));
    expect(pr.isPaused()).toBe(true);
    expect(pr.pendingSnapshot).toBe(20);
    expect(() => pr.sentAppend(i(0), i(21))).toThrow(/snapshot is pending/);
  });

  it('replicates once an acknowledgement shows the follower reaches the leader\'s log', () => {
    const pr = replicating(3);
    pr.becomeSnapshot(i(20));
    expect(pr.acknowledge(i(9), i(15))).toBe(true);
    expect(pr.state).toBe('snapshot'); // 9 + 1 < 15: still needs the snapshot
    expect(pr.acknowledge(i(20), i(15))).toBe(true);
    expect(pr.state).toBe('replicate');
    expect(pr.next).toBe(21);
  });

  it(`is presumed lost after ${SNAPSHOT_RETRY_TIMEOUTS} election timeouts unreported, and probed again after it`, () => {
    expect(SNAPSHOT_RETRY_TIMEOUTS).toBeGreaterThanOrEqual(1);
    const pr = replicating(3);
    pr.becomeSnapshot(i(20));
    for (let t = 1; t < SNAPSHOT_RETRY_TIMEOUTS; t++) {
      pr.electionTimeoutElapsed();
      expect(pr.state).toBe('snapshot');
    }
    pr.electionTimeoutElapsed();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(21);
    expect(pr.isPaused()).toBe(false);
  });

  it('restarts the timeout count when a new snapshot is sent', () => {
    const pr = replicating(3);
    pr.becomeSnapshot(i(20));
    for (let t = 1; t < SNAPSHOT_RETRY_TIMEOUTS; t++) pr.electionTimeoutElapsed();
    pr.becomeSnapshot(i(30));
    for (let t = 1; t < SNAPSHOT_RETRY_TIMEOUTS; t++) pr.electionTimeoutElapsed();
    expect(pr.state).toBe('snapshot');
  });

  it('election timeouts do not touch a follower in another state', () => {
    const pr = replicating(3);
    for (let t = 0; t < SNAPSHOT_RETRY_TIMEOUTS + 1; t++) pr.electionTimeoutElapsed();
    expect(pr.state).toBe('replicate');
  });

  it('a reported snapshot waits for the follower\'s answer: after the snapshot if it arrived, else after the match', () => {
    const ok = replicating(3);
    ok.becomeSnapshot(i(20));
    ok.snapshotReported(true);
    expect(ok.state).toBe('probe');
    expect(ok.next).toBe(21);
    expect(ok.isPaused()).toBe(true);
    const failed = replicating(3);
    failed.becomeSnapshot(i(20));
    failed.snapshotReported(false);
    expect(failed.state).toBe('probe');
    expect(failed.next).toBe(4);
    expect(failed.isPaused()).toBe(true);
    const notPending = replicating(3);
    notPending.snapshotReported(false);
    expect(notPending.state).toBe('replicate');
  });
});
