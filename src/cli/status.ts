/**
 * status: `raftkube status` — each member's role, term, commit and applied index, and how far
 * it lags behind the leader, as a table or JSON, then a verdict. The command fails (exit 1) when
 * the cluster has no leader or a member is down, so scripts can wait on it.
 */
import type { MemberState } from './local-cluster.js';
import type { LeaseHolder } from './control-plane-up.js';

/** StatusRow is one member in `status --json`. */
export interface StatusRow {
  readonly name: string;
  readonly endpoint: string;
  readonly pid: number | null;
  readonly alive: boolean;
  readonly id: string | null;
  /** role: down = its process is gone; unreachable = its process runs but gave no status. */
  readonly role: 'leader' | 'follower' | 'learner' | 'unreachable' | 'down';
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly appliedIndex: number | null;
  readonly lag: number | null;
  readonly error: string | null;
  /** apiserver is the master's apiserver: ready, up but not ready, down; null without one. */
  readonly apiserver: 'ready' | 'not-ready' | 'down' | null;
}

/** statusRows turns probes into rows; lag is the leader's commit minus the member's applied index. */
export function statusRows(states: readonly MemberState[], apiservers: ReadonlyMap<string, StatusRow['apiserver']> = new Map()): StatusRow[] {
  const leader = states.find((s) => s.status !== null && s.status.leader === s.status.header.member_id);
  const leaderCommit = leader?.status?.raftIndex ?? null;
  return states.map((s): StatusRow => {
    const st = s.status;
    const role = st === null ? (s.alive ? 'unreachable' : 'down') : st.isLearner ? 'learner' : st.leader === st.header.member_id ? 'leader' : 'follower';
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
      apiserver: apiservers.get(s.name) ?? null,
    };
  });
}

/** Verdict is whether the cluster is whole: a leader and every member answering. */
export interface Verdict {
  readonly ok: boolean;
  readonly line: string;
}

/** statusVerdict sums the rows up in one line; ok only with a leader, no member down and none still a learner. */
export function statusVerdict(rows: readonly StatusRow[]): Verdict {
  const leader = rows.find((r) => r.role === 'leader');
  const out = rows.filter((r) => r.role === 'down' || r.role === 'unreachable');
  const apiOut = rows.filter((r) => r.apiserver === 'down' || r.apiserver === 'not-ready');
  const apiNote = apiOut.length === 0 ? '' : `; apiserver ${apiOut.map((r) => `${r.name} ${r.apiserver === 'down' ? 'down' : 'not ready'}`).join(', ')}`;
  if (leader === undefined) return { ok: false, line: `No leader${out.length > 0 ? `; down: ${out.map((r) => r.name).join(', ')}` : ''}${apiNote}` };
  if (out.length > 0) return { ok: false, line: `Degraded: ${out.map((r) => r.name).join(', ')} down; leader ${leader.name}, term ${leader.term ?? '?'}${apiNote}` };
  if (apiOut.length > 0) return { ok: false, line: `Degraded${apiNote}; leader ${leader.name}, term ${leader.term ?? '?'}` };
  // A learner is a member still joining (member replace, member add --learner): not yet a voter.
  const learners = rows.filter((r) => r.role === 'learner');
  if (learners.length > 0) return { ok: false, line: `Joining: ${learners.map((r) => `${r.name} is a learner catching up (lag ${r.lag ?? '?'})`).join(', ')}; leader ${leader.name}, term ${leader.term ?? '?'}` };
  const apis = rows.filter((r) => r.apiserver === 'ready').length;
  return { ok: true, line: `Healthy: leader ${leader.name}, term ${leader.term ?? '?'}, ${rows.length}/${rows.length} members up${apis > 0 ? `, ${apis}/${rows.length} apiservers ready` : ''}` };
}

/** formatStatus renders the rows as a table, one line per problem, and the verdict. */
export function formatStatus(rows: readonly StatusRow[]): string {
  const withApi = rows.some((r) => r.apiserver !== null);
  const header = ['NAME', 'ENDPOINT', 'PID', 'ID', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'LAG', ...(withApi ? ['APISERVER'] : [])];
  const cells = rows.map((r) => [r.name, r.endpoint, String(r.pid ?? '-'), r.id ?? '-', r.role, String(r.term ?? '-'), String(r.commitIndex ?? '-'), String(r.appliedIndex ?? '-'), String(r.lag ?? '-'), ...(withApi ? [r.apiserver ?? '-'] : [])]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: readonly string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  const problems = rows.filter((r) => r.error !== null).map((r) => `${r.name}: ${r.role} (${r.error})`);
  return `${[fmt(header), ...cells.map(fmt), ...problems, statusVerdict(rows).line].join('\n')}\n`;
}

/** printStatus prints the rows and tells whether the cluster is whole (the exit status). */
export function printStatus(states: readonly MemberState[], json: boolean, apiservers: ReadonlyMap<string, StatusRow['apiserver']> = new Map(), leases: readonly LeaseHolder[] = []): boolean {
  const rows = statusRows(states, apiservers);
  // NB: the JSON form stays the list of member rows that scripts already read.
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else {
    process.stdout.write(formatStatus(rows));
    for (const l of leases) process.stdout.write(`${l.lease}: ${l.holder === null || l.holder === '' ? 'no holder' : `held by ${l.holder}${l.since === null ? '' : ` since ${l.since}`} (${l.transitions} transitions)`}\n`);
  }
  return statusVerdict(rows).ok;
}
