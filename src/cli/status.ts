/**
 * status: `raftkube status` — each member's role, term, commit and applied index, and how far
 * it lags behind the leader, as a table or JSON.
 */
import type { MemberState } from './local-cluster.js';

/** StatusRow is one member in `status --json`. */
export interface StatusRow {
  readonly name: string;
  readonly endpoint: string;
  readonly pid: number | null;
  readonly alive: boolean;
  readonly id: string | null;
  readonly role: 'leader' | 'follower' | 'learner' | 'unreachable';
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly lag: number | null;
  readonly error: string | null;
}

/** statusRows turns probes into rows; lag is the leader's commit minus the member's applied index. */
export function statusRows(states: readonly MemberState[]): StatusRow[] {
  const leader = states.find((s) => s.status !== null && s.status.leader === s.status.header.member_id);
  const leaderCommit = leader?.status?.raftIndex ?? null;
  return states.map((s): StatusRow => {
    const st = s.status;
    const role = st === null ? 'unreachable' : st.isLearner ? 'learner' : st.leader === st.header.member_id ? 'leader' : 'follower';
    return {
      name: s.name,
      endpoint: s.endpoint,
      pid: s.pids[0] ?? null,
      alive: s.alive,
      id: st === null ? null : BigInt(st.header.member_id).toString(16),
      role,
      term: st?.raftTerm ?? null,
      commitIndex: st?.raftIndex ?? null,
      appliedIndex: st?.raftAppliedIndex ?? null,
      lag: st === null || leaderCommit === null ? null : Math.max(0, leaderCommit - st.raftAppliedIndex),
      error: s.error,
    };
  });
}

/** printStatus prints the rows. */
export function printStatus(states: readonly MemberState[], json: boolean): void {
  const rows = statusRows(states);
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const header = ['NAME', 'ENDPOINT', 'PID', 'ID', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'LAG'];
  const cells = rows.map((r) => [r.name, r.endpoint, String(r.pid ?? '-'), r.id ?? '-', r.role, String(r.term ?? '-'), String(r.commitIndex ?? '-'), String(r.appliedIndex ?? '-'), String(r.lag ?? '-')]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: readonly string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  process.stdout.write(`${[fmt(header), ...cells.map(fmt)].join('\n')}\n`);
  for (const r of rows) if (r.error !== null) process.stdout.write(`${r.name}: ${r.error}\n`);
}
