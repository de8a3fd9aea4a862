/**
 * member-metrics: the pure parts of a member's observability — leader-change counting, peer
 * round trips on a fake clock, registries kept apart per member, and etcd's /health verdicts
 * from a fake member.
 */
import { describe, expect, it } from 'vitest';
import { MemberMetrics, PeerRoundTrips, type MemberGauges } from '../../src/kv/metrics.js';
import { checkHealth, type HealthSource } from '../../src/kv/member/http.js';

const gauges = (over: Partial<MemberGauges> = {}): MemberGauges => ({
  leader: () => 0,
  isLeader: () => false,
  isLearner: () => false,
  committed: () => 0,
  applied: () => 0,
  pending: () => 0,
  dbSize: () => Promise.resolve(0),
  watchers: () => 0,
  slowWatchers: () => 0,
  watchStreams: () => 0,
  currentRevision: () => 0,
  compactedRevision: () => 0,
  keys: () => 0,
  ...over,
});

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`No sample ${name}`);
  return Number(line.slice(name.length + 1));
}

describe('MemberMetrics', () => {
  it('counts a change to a known leader once, as etcd does (losing the leader is no change)', async () => {
    const m = new MemberMetrics(gauges());
    for (const lead of [0, 5, 5, 0, 5, 7, 7]) m.observeLeader(lead);
    expect(sample(await m.text(), 'etcd_server_leader_changes_seen_total')).toBe(3);
  });

  it('reads its gauges when scraped, and keeps each member in its own registry', async () => {
    let leader = 0;
    const a = new MemberMetrics(gauges({ leader: () => leader, committed: () => 42, dbSize: () => Promise.resolve(4096) }));
    const b = new MemberMetrics(gauges({ committed: () => 7 }));
    a.identify('1f');
    a.proposalFailed();
    expect(sample(await a.text(), 'etcd_server_has_leader')).toBe(0);
    leader = 3;
    const text = await a.text();
    expect(sample(text, 'etcd_server_has_leader')).toBe(1);
    expect(sample(text, 'etcd_server_proposals_committed_total')).toBe(42);
    expect(sample(text, 'etcd_mvcc_db_total_size_in_bytes')).toBe(4096);
    expect(sample(text, 'etcd_server_proposals_failed_total')).toBe(1);
    expect(text).toContain('etcd_server_id{server_id="1f"} 1');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    const other = await b.text();
    expect(sample(other, 'etcd_server_proposals_committed_total')).toBe(7);
    expect(sample(other, 'etcd_server_proposals_failed_total')).toBe(0);
  });

  it('puts WAL fsyncs in etcd\'s buckets', async () => {
    const m = new MemberMetrics(gauges());
    m.observeWalFsync(0.0015);
    m.observeWalFsync(0.5);
    const text = await m.text();
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 0');
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 1');
    expect(text).toContain('etcd_disk_wal_fsync_duration_seconds_bucket{le="0.512"} 2');
    expect(sample(text, 'etcd_disk_wal_fsync_duration_seconds_count')).toBe(2);
  });
});

describe('PeerRoundTrips', () => {
  it('times the oldest unanswered heartbeat to each peer, and restarts after one is lost', () => {
    let now = 0;
    const seen: [string, number][] = [];
    const rt = new PeerRoundTrips((to, s) => seen.push([to, s]), () => now);
    rt.sent(10);
    now = 2;
    rt.sent(10); // still waiting for the first: not retimed
    rt.sent(11);
    now = 5;
    rt.received(10);
    rt.received(10); // no heartbeat outstanding: nothing to time
    expect(seen).toEqual([['a', 0.005]]);
    // A heartbeat to 11 went out at 2 and was lost; after STALE_MS a new one is timed instead.
    now = 2 + PeerRoundTrips.STALE_MS + 1;
    rt.sent(11);
    now += 3;
    rt.received(11);
    expect(seen[1]).toEqual(['b', 0.003]);
    rt.sent(12);
    rt.reset();
    rt.received(12);
    expect(seen).toHaveLength(2);
  });
});

describe('checkHealth', () => {
  const source = (over: Partial<HealthSource> = {}): HealthSource => ({
    leader: () => 1,
    alarms: () => [],
    serializableRead: () => undefined,
    linearizableRead: () => Promise.resolve(),
    ...over,
  });
  const plain = { exclude: [], serializable: false };

  it('is true with a leader and a read that succeeds', async () => {
    expect(await checkHealth(source(), plain)).toEqual({ health: 'true', reason: '' });
  });

  it('is false without a leader, with a raised alarm unless excluded, and when the read fails', async () => {
    expect(await checkHealth(source({ leader: () => 0 }), plain)).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
    expect(await checkHealth(source({ alarms: () => ['NOSPACE'] }), plain)).toEqual({ health: 'false', reason: 'ALARM NOSPACE' });
    expect(await checkHealth(source({ alarms: () => ['NOSPACE'] }), { exclude: ['NOSPACE'], serializable: false })).toEqual({ health: 'true', reason: '' });
    expect(await checkHealth(source({ linearizableRead: () => Promise.reject(new Error('timed out')) }), plain)).toEqual({ health: 'false', reason: 'RANGE ERROR:timed out' });
    // A serializable check reads locally only.
    expect(await checkHealth(source({ linearizableRead: () => Promise.reject(new Error('timed out')) }), { exclude: [], serializable: true })).toEqual({ health: 'true', reason: '' });
  });
});
