/**
 * schedule: fault schedules as plain data, so fast-check can generate and shrink them, and an
 * executor that plays one against a SimCluster. Node references are positions (taken modulo the
 * cluster size), so any schedule is valid for any cluster.
 */
import type { CrashPoint } from './node.js';
import type { SimCluster } from './cluster.js';

/** FaultAction is one step of a schedule. */
export type FaultAction =
  | { readonly kind: 'run'; readonly ticks: number }
  | { readonly kind: 'submit'; readonly count: number }
  | { readonly kind: 'partition'; readonly groups: readonly number[] }
  | { readonly kind: 'cut'; readonly from: number; readonly to: number }
  | { readonly kind: 'isolate'; readonly node: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'crash'; readonly node: number; readonly point: CrashPoint }
  | { readonly kind: 'crash-leader'; readonly point: CrashPoint }
  | { readonly kind: 'restart'; readonly node: number }
  | { readonly kind: 'net'; readonly dropPct: number; readonly dupPct: number; readonly maxDelay: number }
  | { readonly kind: 'snapshot'; readonly node: number; readonly keep: number }
  | { readonly kind: 'campaign'; readonly node: number }
  | { readonly kind: 'transfer'; readonly to: number };

/** describeAction renders an action for traces. */
export function describeAction(a: FaultAction): string {
  return JSON.stringify(a);
}

/** runSchedule plays `actions` against the cluster; it never heals at the end (see healAndSettle). */
export function runSchedule(c: SimCluster, actions: readonly FaultAction[]): void {
  const ids = c.ids();
  const at = (pos: number): number => ids[((pos % ids.length) + ids.length) % ids.length]!;
  for (const a of actions) {
    c.trace.record(`@${c.now} action ${describeAction(a)}`);
    switch (a.kind) {
      case 'run':
        c.run(a.ticks);
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
    }
  }
}
