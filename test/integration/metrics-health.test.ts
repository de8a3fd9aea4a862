/**
 * metrics-health: a real 3-member cluster's /metrics, /health, /livez and /readyz, served over
 * HTTP/1 on each member's client URL beside gRPC, as etcd serves them. The scrapes are parsed
 * and checked under etcd's metric names and types; health turns false (503) on a member left
 * without quorum.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { describeResult, etcdctl, startCluster, startEtcdctl, stopPids, waitFor, type TestCluster } from './harness.js';
import { parsePromText, sum, value, type Scrape } from '../../src/dashboard/prom-text.js';

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

async function scrape(clientURL: string): Promise<Scrape> {
  const r = await get(`${clientURL}/metrics`);
  expect(r.status).toBe(200);
  expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePromText(r.body);
}

describe('metrics and health endpoints of a 3-member cluster', () => {
  let c: TestCluster;
  let client: EtcdClient;

  beforeAll(async () => {
    c = await startCluster({ masters: 3 });
    client = new EtcdClient(c.clientURLs);
  }, 200_000);

  afterAll(async () => {
    client?.close();
    await c?.stop();
  }, 60_000);

  it('serves etcd\'s metrics, with etcd\'s types, and the process and Node.js runtime metrics', async () => {
    // Members learn the leader within a heartbeat or so of `up` returning.
    const scrapes = await waitFor('every member to report a leader', async () => {
      const ss = await Promise.all(c.clientURLs.map(scrape));
      return ss.every((s) => value(s, 'etcd_server_has_leader') === 1) ? ss : null;
    });
    const types: Record<string, string> = {
      etcd_server_has_leader: 'gauge',
      etcd_server_is_leader: 'gauge',
      etcd_server_leader_changes_seen_total: 'counter',
      etcd_server_proposals_committed_total: 'gauge',
      etcd_server_proposals_applied_total: 'gauge',
      etcd_server_proposals_pending: 'gauge',
      etcd_server_proposals_failed_total: 'counter',
      etcd_disk_wal_fsync_duration_seconds: 'histogram',
      etcd_disk_backend_commit_duration_seconds: 'histogram',
      etcd_network_peer_round_trip_time_seconds: 'histogram',
      etcd_mvcc_db_total_size_in_bytes: 'gauge',
      etcd_debugging_mvcc_watcher_total: 'gauge',
      etcd_debugging_mvcc_watch_stream_total: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    };
    for (const s of scrapes) {
      for (const [name, type] of Object.entries(types)) expect(s.types.get(name), name).toBe(type);
      expect(value(s, 'etcd_mvcc_db_total_size_in_bytes')).toBeGreaterThan(0);
      expect(value(s, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      // etcd's WAL fsync buckets: 1 ms doubling, 14 of them (and +Inf).
      const les = s.samples.filter((x) => x.name === 'etcd_disk_wal_fsync_duration_seconds_bucket').map((x) => x.labels['le']);
      expect(les[0]).toBe('0.001');
      expect(les).toContain('8.192');
      expect(les).toHaveLength(15);
      // Bootstrapping and the election wrote to the WAL.
      expect(value(s, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(0);
    }
    expect(scrapes.map((s) => value(s, 'etcd_server_is_leader')).sort()).toEqual([0, 0, 1]);
    expect(Math.max(...scrapes.map((s) => value(s, 'etcd_server_leader_changes_seen_total')))).toBeGreaterThanOrEqual(1);
    expect(new Set(scrapes.map((s) => s.samples.find((x) => x.name === 'etcd_server_id')?.labels['server_id'])).size).toBe(3);
  });

  it('counts proposals committed and applied on every member, and times WAL fsyncs, backend commits and peer round trips', async () => {
    const before = await Promise.all(c.clientURLs.map(scrape));
    for (let i = 0; i < 20; i++) await client.putAt(i % 3, `metrics/${i}`, `v${i}`);
    const after = await waitFor('every member to apply the 20 puts', async () => {
      const ss = await Promise.all(c.clientURLs.map(scrape));
      return ss.every((s, i) => value(s, 'etcd_server_proposals_applied_total') >= value(before[i]!, 'etcd_server_proposals_applied_total') + 20) ? ss : null;
    });
    for (const [i, s] of after.entries()) {
      const b = before[i]!;
      expect(value(s, 'etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(value(b, 'etcd_server_proposals_committed_total') + 20);
      expect(value(s, 'etcd_server_proposals_committed_total')).toBeGreaterThanOrEqual(value(s, 'etcd_server_proposals_applied_total'));
      expect(value(s, 'etcd_disk_wal_fsync_duration_seconds_count')).toBeGreaterThan(value(b, 'etcd_disk_wal_fsync_duration_seconds_count'));
      expect(value(s, 'etcd_disk_wal_fsync_duration_seconds_sum')).toBeGreaterThan(0);
      expect(value(s, 'etcd_debugging_mvcc_current_revision')).toBeGreaterThanOrEqual(21);
    }
    // The backend commits applied writes on a short timer, not per write.
    await waitFor('a backend commit on every member', async () => {
      const ss = await Promise.all(c.clientURLs.map(scrape));
      return ss.every((s) => value(s, 'etcd_disk_backend_commit_duration_seconds_count') > 0);
    });
    // Round trips are timed by the leader, per follower.
    const lead = await waitFor('the leader to time heartbeats to both followers', async () => {
      const ss = await Promise.all(c.clientURLs.map(scrape));
      const l = ss.find((s) => value(s, 'etcd_server_is_leader') === 1);
      const counts = l?.samples.filter((x) => x.name === 'etcd_network_peer_round_trip_time_seconds_count') ?? [];
      return counts.length === 2 && counts.every((x) => x.value > 0) ? l : null;
    });
    expect(sum(lead, 'etcd_network_peer_round_trip_time_seconds_sum')).toBeGreaterThan(0);
    await waitFor('no proposal to be left pending', async () => {
      const ss = await Promise.all(c.clientURLs.map(scrape));
      return ss.every((s) => value(s, 'etcd_server_proposals_pending') === 0);
    });
  });

  it('counts watchers and watch streams while a watch is open', async () => {
    const member = c.members[1]!;
    const w = startEtcdctl(['watch', '--prefix', 'watched/'], { endpoints: [c.endpoints[1]!] });
    try {
      const s = await waitFor('the watch to be counted', async () => {
        const x = await scrape(member.clientURL);
        return value(x, 'etcd_debugging_mvcc_watcher_total') >= 1 && value(x, 'etcd_debugging_mvcc_watch_stream_total') >= 1 ? x : null;
      });
      expect(value(s, 'etcd_debugging_mvcc_slow_watcher_total')).toBeGreaterThanOrEqual(0);
    } finally {
      await w.stop();
    }
    await waitFor('the closed watch to be uncounted', async () => {
      const x = await scrape(member.clientURL);
      return value(x, 'etcd_debugging_mvcc_watcher_total') === 0 && value(x, 'etcd_debugging_mvcc_watch_stream_total') === 0;
    });
  });

  it('answers /health, /livez and /readyz as etcd does, and gRPC on the same port', async () => {
    for (const url of c.clientURLs) {
      const h = await get(`${url}/health`);
      expect(h.status).toBe(200);
      expect(h.type).toBe('application/json');
      expect(JSON.parse(h.body)).toEqual({ health: 'true', reason: '' });
      expect(JSON.parse((await get(`${url}/health?serializable=true`)).body)).toEqual({ health: 'true', reason: '' });
      expect(await get(`${url}/livez`)).toMatchObject({ status: 200, body: 'ok' });
      expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: 'ok' });
      const verbose = await get(`${url}/readyz?verbose`);
      expect(verbose.body).toBe('[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\nreadyz check passed\n');
      expect((await get(`${url}/readyz/linearizable_read`)).body).toBe('ok');
      expect((await get(`${url}/nothing-here`)).status).toBe(404);
      expect((await fetch(`${url}/health`, { method: 'POST' })).status).toBe(405);
    }
    // etcdctl's own health check goes over gRPC to the same ports.
    const r = await etcdctl(['endpoint', 'health'], { endpoints: c.endpoints });
    expect(r.code, describeResult(r)).toBe(0);
  });

  it('reports no leader and unhealthy (503) on a member left without quorum, while it stays live', async () => {
    const [survivor, ...others] = c.members;
    await stopPids(others.flatMap((m) => m.pids), 10_000);
    const h = await waitFor('the survivor to report itself unhealthy', async () => {
      const r = await get(`${survivor!.clientURL}/health`);
      return r.status === 503 ? r : null;
    }, { timeoutMs: 30_000 });
    const verdict = JSON.parse(h.body) as { health: string; reason: string };
    expect(verdict.health).toBe('false');
    expect(verdict.reason).toMatch(/^(RAFT NO LEADER|RANGE ERROR:)/);
    await waitFor('the survivor to lose its leader', async () => {
      const s = await scrape(survivor!.clientURL);
      return value(s, 'etcd_server_has_leader') === 0;
    }, { timeoutMs: 30_000 });
    expect(JSON.parse((await get(`${survivor!.clientURL}/health`)).body)).toEqual({ health: 'false', reason: 'RAFT NO LEADER' });
    const ready = await get(`${survivor!.clientURL}/readyz?verbose`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/^\[-\]linearizable_read failed: .+$/m);
    expect(ready.body.endsWith('readyz check failed\n')).toBe(true);
    // Its store still answers: live, not ready (as etcd's livez and readyz).
    expect(await get(`${survivor!.clientURL}/livez`)).toMatchObject({ status: 200, body: 'ok' });
  });
});
