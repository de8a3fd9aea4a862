/**
 * settle: the end of every simulated run — heal all faults, restart every crashed node, then
 * require liveness (a leader within a bound, every pending write acknowledged and every member
 * caught up within a further bound) and check the final state: logs converged, state machines
 * identical, and every acknowledged write present on every member.
 */
import type { NodeId, Ready } from '../../src/raft/types.js';
import type { SimCluster } from './cluster.js';
import { InvariantViolation } from './invariants.js';
import { RELIABLE } from './network.js';

/** SettleBounds are the liveness bounds, in ticks. */
export interface SettleBounds {
  /** leaderTicks bounds the time from healing to having a leader. */
  readonly leaderTicks: number;
  /** convergeTicks bounds the further time until every write is acknowledged and members caught up. */
  readonly convergeTicks: number;
}

/** SettleReport says how long settling took. */
export interface SettleReport {
  readonly leaderTicks: number;
  readonly convergeTicks: number;
  readonly leader: NodeId;
}

/** healAll removes every fault: links restored, a reliable network, every crashed node restarted. */
export function healAll(c: SimCluster): void {
  c.heal();
  c.setFaults(RELIABLE);
  for (const id of c.ids()) if (!c.node(id).up) c.restart(id);
}

/**
 * converged tells whether the cluster is quiet: a leader that every member follows in its term,
 * everything it has committed and applied everywhere, and no write pending.
 */
export function converged(c: SimCluster): boolean {
  const l = c.leader();
  if (l === null || c.client.pendingCount > 0) return false;
  const ls = l.raft.status();
  if (ls.commit !== ls.lastIndex) return false;
  for (const id of c.members()) {
    const n = c.node(id);
    if (!n.up || (n.pending !== null && !quiet(n.pending))) return false;
    const s = n.raft.status();
    if (s.leader !== l.id || s.term !== ls.term) return false;
    if (s.commit !== ls.commit || s.applied !== ls.commit || s.lastIndex !== ls.lastIndex) return false;
    if (n.sm.appliedIndex !== ls.commit) return false;
  }
  return true;
}

/** quiet tells whether a pending Ready carries nothing but messages and a commit update. */
function quiet(rd: Ready): boolean {
  return rd.entries.length === 0 && rd.snapshot === null && rd.committedEntries.length === 0;
}

/** healAndSettle heals everything and requires liveness within `bounds`, then checks the final state. */
export function healAndSettle(c: SimCluster, bounds: SettleBounds): SettleReport {
  healAll(c);
  const leaderAt = c.runUntil(() => c.leader() !== null, bounds.leaderTicks);
  if (leaderAt === null) c.fail(new InvariantViolation('liveness', `no leader within ${bounds.leaderTicks} ticks of healing`));
  const doneAt = c.runUntil(() => converged(c), bounds.convergeTicks);
  if (doneAt === null) {
    const pending = c.client.pendingKeys();
    c.fail(
      new InvariantViolation(
        'liveness',
        `not converged within ${bounds.convergeTicks} ticks after a leader appeared; ${pending.length} writes pending (${pending.slice(0, 8).join(',')})`,
      ),
    );
  }
  checkFinal(c);
  return { leaderTicks: leaderAt, convergeTicks: doneAt, leader: c.leaderId() };
}

/** checkFinal checks converged logs, identical state machines and every acknowledged write on every member. */
export function checkFinal(c: SimCluster): void {
  c.guard(() => {
    const members = c.members();
    const first = c.node(members[0]!);
    const lastIndex = first.storage.lastIndex();
    const lastTerm = first.storage.term(lastIndex);
    const records = JSON.stringify(first.sm.records());
    for (const id of members) {
      const n = c.node(id);
      const li = n.storage.lastIndex();
      const lt = n.storage.term(li);
      if (li !== lastIndex || lt !== lastTerm) {
        throw new InvariantViolation('convergence', `node ${id} log ends at ${li}@t${lt} but node ${first.id}'s at ${lastIndex}@t${lastTerm}`);
      }
      if (JSON.stringify(n.sm.records()) !== records) {
        throw new InvariantViolation('convergence', `node ${id}'s state machine differs from node ${first.id}'s`);
      }
      c.checker.checkAcksApplied(id, n.sm.appliedIndex, (i) => n.sm.at(i));
    }
  });
}
