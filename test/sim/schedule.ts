/**
 * schedule: fault schedules as plain data, so fast-check can generate and shrink them, and an
 * executor that plays one against a SimCluster. Node references are positions (taken modulo the
 * cluster size), so any schedule is valid for any cluster.
 */
import type { CrashPoint } from './node.js';
import type { SimCluster } from './cluster.js';

/** FaultAction is one step of a schedule. */
export type FaultAction =
  /** run runs `ticks` ticks, submitting `load` writes every 5 ticks. */
  | { readonly kind: 'run'; readonly ticks: number; readonly load?: number }
  | { readonly kind: 'submit'; readonly count: number }
  | { readonly kind: 'partition'; readonly groups: readonly number[] }
  | { readonly kind: 'cut'; readonly from: number; readonly to: number }
  | { readonly kind: 'isolate'; readonly node: number }
  | { readonly kind: 'isolate-leader' }
  | { readonly kind: 'heal' }
  | { readonly kind: 'crash'; readonly node: number; readonly point: CrashPoint }
  | { readonly kind: 'crash-leader'; readonly point: CrashPoint }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'net'; readonly dropPct: number; readonly dupPct: number; readonly maxDelay: number }
  | { readonly kind: 'snapshot'; readonly node: number; readonly keep: number }
  | { readonly kind: 'campaign'; readonly node: number }
  | { readonly kind: 'transfer'; readonly to: number }
  | { readonly kind: 'read'; readonly node: number }
  | { readonly kind: 'add-learner' }
  | { readonly kind: 'add-voter' }
  | { readonly kind: 'promote'; readonly node: number }
  | { readonly kind: 'remove'; readonly node: number };

/** describeAction renders an action for traces. */
export function describeAction(a: FaultAction): string {
  return JSON.stringify(a);
}

const pick = <T>(xs: readonly T[], pos: number): T | undefined => (xs.length === 0 ? undefined : xs[((pos % xs.length) + xs.length) % xs.length]);

/**
 * runSchedule plays `actions` against the cluster; it never heals at the end (see
 * healAndSettle). Membership changes are proposed once at the current leader (a refusal is fine:
 * the schedule goes on); a node added is started empty just before its change is proposed.
 */
export function runSchedule(c: SimCluster, actions: readonly FaultAction[]): void {
  const at = (pos: number): number => pick(c.ids(), pos)!;
  for (const a of actions) {
    const ids = c.ids();
    c.trace.record(`@${c.now} action ${describeAction(a)}`);
    switch (a.kind) {
      case 'run':
        for (let t = 0; t < a.ticks; t += 5) {
          if ((a.load ?? 0) > 0) c.client.submit(a.load ?? 0, c.ticks);
          c.run(Math.min(5, a.ticks - t));
        }
        break;
      case 'submit':
        c.client.submit(a.count, c.ticks);
        break;
      case 'partition': {
        const groups = new Map<number, number[]>();
        ids.forEach((id, i) => {
          const g = a.groups[i % Math.max(1, a.groups.length)] ?? 0;
          const list = groups.get(g);
          if (list === undefined) groups.set(g, [id]);
          else list.push(id);
        });
        c.partition([...groups.values()]);
        break;
      }
      case 'cut':
        if (at(a.from) !== at(a.to)) c.cutLink(at(a.from), at(a.to));
        break;
      case 'isolate':
        c.isolate(at(a.node));
        break;
      case 'isolate-leader': {
        const l = c.leader();
        if (l !== null) c.isolate(l.id);
        break;
      }
      case 'heal':
        c.heal();
        break;
      case 'crash':
        c.crash(at(a.node), a.point);
        break;
      case 'crash-leader': {
        const l = c.leader();
        if (l !== null) c.crash(l.id, a.point);
        break;
      }
      case 'restart':
        c.restart(at(a.node));
        break;
      case 'net':
        c.setFaults({ dropPct: a.dropPct, dupPct: a.dupPct, minDelay: 1, maxDelay: Math.max(1, a.maxDelay) });
        break;
      case 'snapshot':
        c.snapshotNow(at(a.node), a.keep);
        break;
      case 'campaign': {
        const id = at(a.node);
        if (c.node(id).up) c.with(id, (r) => r.campaign());
        break;
      }
      case 'transfer': {
        const l = c.leader();
        const to = at(a.to);
        if (l !== null) c.with(l.id, (r) => r.transferLeader(c.node(to).id));
        break;
      }
      case 'read':
        c.read(at(a.node));
        break;
      case 'add-learner':
      case 'add-voter': {
        const l = c.leader();
        if (l === null) break;
        const id = c.nextId();
        c.addNode(id);
        c.proposeConfChange(l.id, { type: a.kind, nodeId: id });
        break;
      }
      case 'promote': {
        const l = c.leader();
        const id = l === null ? undefined : pick(l.raft.confState().learners, a.node);
        if (l !== null && id !== undefined) c.proposeConfChange(l.id, { type: 'promote', nodeId: id });
        break;
      }
      case 'remove': {
        // NB: the leader may remove itself (it hands leadership over first; see the regression
        // test "a leader that removes itself ...").
        const l = c.leader();
        const id = l === null ? undefined : pick(c.members(), a.node);
        if (l !== null && id !== undefined) c.proposeConfChange(l.id, { type: 'remove', nodeId: id });
        break;
      }
    }
  }
}
