/**
 * model: what the dashboard shows, built from what the members said. Pure: `observe` folds one
 * round of Status answers into the view — each member's role, term, commit and applied index,
 * lag behind the leader, db size and health — and keeps the history the page draws: leader
 * changes over the last minutes and the commit rate over time.
 */
import type { StatusResponse } from '../kv/proto/index.js';
import { quantileBetween, type Bucket } from './prom-text.js';

/** MemberRole is how a member stands in the cluster as it says itself. */
export type MemberRole = 'leader' | 'follower' | 'learner' | 'no-leader' | 'down';

/** MemberView is one member's row. */
export interface MemberView {
  readonly name: string;
  readonly endpoint: string;
  readonly role: MemberRole;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  /** lag is how many entries the member has applied fewer than the leader has committed. */
  readonly lag: number | null;
  readonly dbSize: number | null;
  /** healthy: it answers, knows a leader and raised no alarm. */
  readonly healthy: boolean;
  /** problem says why it is not healthy (for people), or null. */
  readonly problem: string | null;
}

/** MemberAnswer is one member's Status answer in a round, or why there was none. */
export interface MemberAnswer {
  readonly name: string;
  readonly endpoint: string;
  readonly status: StatusResponse | null;
  readonly error: string | null;
}

/** LeaderChange is a moment the leader (or the term) changed. */
export interface LeaderChange {
  readonly atMs: number;
  readonly leader: string | null;
  readonly term: number | null;
}

/**
 * RatePoint is the leader's figures over the last round: its Raft commit rate (entries per
 * second, from Status) and, from its /metrics, the writes it committed per second
 * (etcd_server_proposals_committed_total) and the 99th percentile of its WAL fsyncs in ms
 * (etcd_disk_wal_fsync_duration_seconds; null when it had no metrics or did not fsync).
 */
export interface RatePoint {
  readonly atMs: number;
  readonly committedPerSec: number;
  readonly proposalsPerSec: number | null;
  readonly fsyncP99Ms: number | null;
}

/** LeaderMetrics is what the dashboard reads from the leader's /metrics in a round. */
export interface LeaderMetrics {
  readonly member: string;
  readonly proposalsCommitted: number;
  readonly fsync: readonly Bucket[];
}

/** LeaseView is who holds a control-plane leader-election Lease. */
export interface LeaseView {
  readonly lease: string;
  readonly holder: string | null;
  readonly transitions: number;
}

/** ControlPlaneView is the control plane's part of the page, when it runs. */
export interface ControlPlaneView {
  readonly leases: readonly LeaseView[];
  readonly nodesReady: number | null;
  readonly nodesTotal: number | null;
  readonly podsByPhase: Readonly<Record<string, number>> | null;
}

/** ClusterView is everything the page shows at one moment. */
export interface ClusterView {
  readonly atMs: number;
  readonly members: readonly MemberView[];
  readonly leader: string | null;
  readonly term: number | null;
  readonly leaderChanges: readonly LeaderChange[];
  readonly rates: readonly RatePoint[];
  readonly controlPlane: ControlPlaneView | null;
}

/** HISTORY_MS is how far back leader changes and rates are kept. */
export const HISTORY_MS = 10 * 60_000;

function roleOf(s: StatusResponse): MemberRole {
  if (s.isLearner) return 'learner';
  if (s.leader === '0') return 'no-leader';
  return s.leader === s.header.member_id ? 'leader' : 'follower';
}

/** Model accumulates rounds of answers into views. */
export class Model {
  #changes: LeaderChange[] = [];
  #rates: RatePoint[] = [];
  #last: { readonly atMs: number; readonly commit: number; readonly metrics: LeaderMetrics | null } | null = null;
  #current: { leader: string | null; term: number | null } | null = null;
  #controlPlane: ControlPlaneView | null = null;
  #view: ClusterView | null = null;

  /** setControlPlane replaces the control plane's part (it is probed less often than members). */
  setControlPlane(cp: ControlPlaneView | null): void {
    this.#controlPlane = cp;
  }

  get view(): ClusterView | null {
    return this.#view;
  }

  /** observe folds one round of answers taken at atMs (and the leader's metrics, if read) into a new view. */
  observe(atMs: number, answers: readonly MemberAnswer[], metrics: LeaderMetrics | null = null): ClusterView {
    const leaderAnswer = answers.find((a) => a.status !== null && roleOf(a.status) === 'leader');
    const leaderCommit = leaderAnswer?.status?.raftIndex ?? null;
    const members = answers.map((a): MemberView => {
      const s = a.status;
      if (s === null) {
        return { name: a.name, endpoint: a.endpoint, role: 'down', term: null, commitIndex: null, appliedIndex: null, lag: null, dbSize: null, healthy: false, problem: a.error ?? 'no answer' };
      }
      const role = roleOf(s);
      const problem = s.errors.length > 0 ? s.errors.join('; ') : role === 'no-leader' ? 'knows no leader' : null;
      return {
        name: a.name, endpoint: a.endpoint, role, term: s.raftTerm, commitIndex: s.raftIndex, appliedIndex: s.raftAppliedIndex,
        lag: leaderCommit === null ? null : Math.max(0, leaderCommit - s.raftAppliedIndex), dbSize: s.dbSize, healthy: problem === null, problem,
      };
    });
    const leader = leaderAnswer?.name ?? null;
    const term = leaderAnswer?.status?.raftTerm ?? Math.max(0, ...answers.map((a) => a.status?.raftTerm ?? 0));
    if (this.#current === null || this.#current.leader !== leader || (leader !== null && this.#current.term !== term)) {
      this.#changes.push({ atMs, leader, term });
      this.#current = { leader, term };
    }
    if (leaderCommit !== null) {
      const last = this.#last;
      if (last !== null && atMs > last.atMs && leaderCommit >= last.commit) {
        const seconds = (atMs - last.atMs) / 1000;
        // Counters compare only within one process: a new leader (or a restart) starts its own.
        const before = last.metrics;
        const same = before !== null && metrics !== null && before.member === metrics.member && metrics.proposalsCommitted >= before.proposalsCommitted;
        const p99 = same ? quantileBetween(before.fsync, metrics.fsync, 0.99) : null;
        this.#rates.push({
          atMs,
          committedPerSec: (leaderCommit - last.commit) / seconds,
          proposalsPerSec: same ? (metrics.proposalsCommitted - before.proposalsCommitted) / seconds : null,
          fsyncP99Ms: p99 === null || !Number.isFinite(p99) ? null : p99 * 1000,
        });
      }
      this.#last = { atMs, commit: leaderCommit, metrics };
    }
    const since = atMs - HISTORY_MS;
    // The first change stays as long as it says who led at the start of the window.
    while (this.#changes.length > 1 && this.#changes[1]!.atMs < since) this.#changes.shift();
    while (this.#rates.length > 0 && this.#rates[0]!.atMs < since) this.#rates.shift();
    this.#view = { atMs, members, leader, term, leaderChanges: [...this.#changes], rates: [...this.#rates], controlPlane: this.#controlPlane };
    return this.#view;
  }
}
