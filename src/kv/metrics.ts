/**
 * metrics: one kv member's Prometheus metrics, under etcd's own names where the meaning is the
 * same, so the dashboards and alerts etcd operators already have work unchanged. Each member
 * owns its own prom-client Registry (never the global one: tests run several members in one
 * process), with the Node.js runtime and process metrics registered on it.
 *
 * Hot-path cost: gauges that mirror state the member already keeps (leader, commit and applied
 * index, pending proposals, watchers, db size) are read only when scraped, through `collect`;
 * the write path pays one histogram observe per WAL fsync and per backend commit, and nothing
 * per request.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';

/** MemberGauges reads the state the scrape-time gauges report. */
export interface MemberGauges {
  /** leader is the current leader's ID, 0 when none is known. */
  leader(): number;
  isLeader(): boolean;
  isLearner(): boolean;
  /** committed is the Raft commit index (etcd reports it as proposals_committed_total). */
  committed(): number;
  /** applied is the index applied to the store (etcd's proposals_applied_total). */
  applied(): number;
  /** pending is the number of proposals this member submitted that have not applied yet. */
  pending(): number;
  /** dbSize is the size of the backend's files in bytes. */
  dbSize(): Promise<number>;
  /** watchers is the number of watchers; slowWatchers those still catching up. */
  watchers(): number;
  slowWatchers(): number;
  /** watchStreams is the number of open gRPC Watch streams. */
  watchStreams(): number;
  currentRevision(): number;
  compactedRevision(): number;
  keys(): number;
}

/**
 * MemberMetrics is the instrument panel of one member. The member calls the `observe*` and
 * `*Inc` methods at the points etcd measures; everything else is read when scraped.
 */
export class MemberMetrics {
  /** registry holds every metric of this member; `text()` renders it. */
  readonly registry = new Registry();
  readonly #leaderChanges: Counter;
  readonly #proposalsFailed: Counter;
  readonly #walFsync: Histogram;
  readonly #backendCommit: Histogram;
  readonly #peerRtt: Histogram<'To'>;
  readonly #serverId: Gauge<'server_id'>;
  readonly #quota: Gauge;
  /** #lastLeader is the last leader seen (for leader_changes_seen_total); 0 = none. */
  #lastLeader = 0;

  constructor(gauges: MemberGauges) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (gauges.leader() === 0 ? 0 : 1));
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (gauges.isLeader() ? 1 : 0));
    gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', () => (gauges.isLearner() ? 1 : 0));
    // NB: etcd reports these two as gauges set to the commit and applied index, despite the names.
    gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => gauges.committed());
    gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', () => gauges.applied());
    gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', () => gauges.pending());
    gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => gauges.watchers());
    gauge('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', () => gauges.slowWatchers());
    gauge('etcd_debugging_mvcc_watch_stream_total', 'Total number of watch streams.', () => gauges.watchStreams());
    gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => gauges.currentRevision());
    gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => gauges.compactedRevision());
    gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', () => gauges.keys());
    const dbSize = async (g: Gauge): Promise<void> => g.set(await gauges.dbSize());
    new Gauge({ name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', registers, async collect() { await dbSize(this); } });
    // NB: the store does not tell free pages from used ones; in use is reported as the whole size.
    new Gauge({ name: 'etcd_mvcc_db_total_size_in_use_in_bytes', help: 'Total size of the underlying database logically in use in bytes.', registers, async collect() { await dbSize(this); } });
    this.#quota = new Gauge({ name: 'etcd_server_quota_backend_bytes', help: 'Current backend storage quota size in bytes.', registers });
    this.#serverId = new Gauge({ name: 'etcd_server_id', help: 'Server or member ID in hexadecimal format. 1 for \'server_id\' label with current ID.', labelNames: ['server_id'], registers });

    this.#leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers });
    this.#proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers });
    // Buckets as etcd's: 1 ms doubling to 8.192 s.
    this.#walFsync = new Histogram({ name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets: exponentialBuckets(0.001, 2, 14), registers });
    this.#backendCommit = new Histogram({ name: 'etcd_disk_backend_commit_duration_seconds', help: 'The latency distributions of commit called by backend.', buckets: exponentialBuckets(0.001, 2, 14), registers });
    // Buckets as etcd's: 0.1 ms doubling to 3.2768 s.
    this.#peerRtt = new Histogram({ name: 'etcd_network_peer_round_trip_time_seconds', help: 'Round-Trip-Time histogram between peers (raftkube: a leader\'s heartbeat to its response).', labelNames: ['To'], buckets: exponentialBuckets(0.0001, 2, 16), registers });
  }

  /** setQuota reports --quota-backend-bytes as etcd_server_quota_backend_bytes. */
  setQuota(bytes: number): void {
    this.#quota.set(bytes);
  }

  /** identify sets the member ID (hex) reported by etcd_server_id, once the WAL has told it. */
  identify(memberId: string): void {
    this.#serverId.reset();
    this.#serverId.set({ server_id: memberId }, 1);
  }

  /** observeLeader notes the leader named by a Ready; a change to a known leader counts once. */
  observeLeader(leader: number): void {
    if (leader === this.#lastLeader) return;
    this.#lastLeader = leader;
    if (leader !== 0) this.#leaderChanges.inc();
  }

  /** proposalFailed counts a proposal that failed or timed out (etcd_server_proposals_failed_total). */
  proposalFailed(): void {
    this.#proposalsFailed.inc();
  }

  /** observeWalFsync records one WAL fsync's duration in seconds. */
  observeWalFsync(seconds: number): void {
    this.#walFsync.observe(seconds);
  }

  /** observeBackendCommit records one backend commit's duration in seconds. */
  observeBackendCommit(seconds: number): void {
    this.#backendCommit.observe(seconds);
  }

  /** observePeerRoundTrip records a round trip to peer `to` (hex ID) in seconds. */
  observePeerRoundTrip(to: string, seconds: number): void {
    this.#peerRtt.observe({ To: to }, seconds);
  }

  /** text renders every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** contentType is the Content-Type `text()` is served with. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * PeerRoundTrips times a leader's heartbeats to their responses, per peer: the cheapest round
 * trip the member already makes (etcd probes its peers with extra requests instead). Only the
 * oldest unanswered heartbeat to a peer is timed; one unanswered for longer than STALE_MS is
 * taken as lost and timing restarts with the next, so a lost heartbeat inflates no sample by
 * more than that. NB: the time includes the follower's handling of the heartbeat (no fsync).
 */
export class PeerRoundTrips {
  /** STALE_MS is how long a heartbeat may go unanswered before it counts as lost. */
  static readonly STALE_MS = 1000;
  readonly #sent = new Map<number, number>();
  readonly #observe: (to: string, seconds: number) => void;
  readonly #now: () => number;

  constructor(observe: (to: string, seconds: number) => void, now: () => number = () => performance.now()) {
    this.#observe = observe;
    this.#now = now;
  }

  /** sent notes a heartbeat going to `to`. */
  sent(to: number): void {
    const at = this.#sent.get(to);
    const now = this.#now();
    if (at === undefined || now - at > PeerRoundTrips.STALE_MS) this.#sent.set(to, now);
  }

  /** received notes a heartbeat response from `from` and records the round trip. */
  received(from: number): void {
    const at = this.#sent.get(from);
    if (at === undefined) return;
    this.#sent.delete(from);
    this.#observe(from.toString(16), (this.#now() - at) / 1000);
  }

  /** reset forgets heartbeats in flight (on losing leadership: their answers mean nothing). */
  reset(): void {
    this.#sent.clear();
  }
}
