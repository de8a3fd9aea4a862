/**
 * driver-schedule: fault schedules for the simulator of real drivers. The actions are the core
 * simulator's (membership changes aside: the driver simulator runs a fixed configuration) plus
 * a clean `stop`, which must settle every waiter of the member; node references are positions
 * taken modulo the cluster size. healAndSettleDrivers ends a run as healAndSettle does: heal
 * everything, restart every member, require a leader and then full convergence within bounds
 * (which includes every write acknowledged and every promise settled), and check the final state.
 */
import type { DriverCluster } from './driver-cluster.js';
import { InvariantViolation } from './invariants.js';
import { RELIABLE } from './network.js';
import type { FaultAction } from './schedule.js';
import type { SettleBounds, SettleReport } from './settle.js';

/** DriverAction is one step of a driver simulator schedule. */
export type DriverAction =
  | Exclude<
      FaultAction,
      { readonly kind: 'add-learner' | 'add-voter' | 'promote' | 'remove' | 'partial-replicate' | 'flash-leader' | 'isolate-on-commit' | 'restart-all' | 'restart-oldest' | 'stale-read' }
    >
  /** stop stops a member cleanly (driver.stop()); a later restart or the final heal brings it back. */
  | { readonly kind: 'stop'; readonly node: number }
  /**
   * depose isolates the leader right after handing it `writes` new writes, runs `ticks` while
   * the others elect a new leader, and heals: the old leader's uncommitted proposals are lost in
   * the leader change, and their promises must say so.
   */
  | { readonly kind: 'depose'; readonly writes: number; readonly ticks: number };

const pick = <T>(xs: readonly T[], pos: number): T => xs[((pos % xs.length) + xs.length) % xs.length]!;

/** runDriverSchedule plays `actions` against the cluster; it never heals at the end. */
export async function runDriverSchedule(c: DriverCluster, actions: readonly DriverAction[]): Promise<void> {
  const at = (pos: number): number => pick(c.ids(), pos);
  for (const a of actions) {
    c.trace.record(`@${c.now} action ${JSON.stringify(a)}`);
    switch (a.kind) {
      case 'run':
        for (let t = 0; t < a.ticks; t += 5) {
          if ((a.load ?? 0) > 0) c.client.submitWrites(a.load ?? 0);
          await c.run(Math.min(5, a.ticks - t));
        }
        break;
      case 'submit':
        c.client.submitWrites(a.count);
        c.client.pump();
        await c.quiesce();
        break;
      case 'depose': {
        const l = c.leader();
        if (l === null) break;
        c.client.submitWrites(a.writes);
        c.client.pump();
        await c.quiesce();
        c.isolate(l.id);
        await c.run(a.ticks);
        c.heal();
        break;
      }
      case 'partition': {
        const groups = new Map<number, number[]>();
        c.ids().forEach((id, i) => {
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
        // Clients read everywhere as the partition heals, while members catch up.
        c.heal();
        for (const id of c.ids()) c.read(id);
        break;
      case 'crash':
        c.crash(at(a.node), a.point);
        break;
      case 'crash-leader': {
        const l = c.leader();
        if (l !== null) c.crash(l.id, a.point);
        break;
      }
      case 'stop':
        await c.stop(at(a.node));
        break;
      case 'restart':
        // A client reads from the restarted member as soon as it is back (it has everything to catch up on).
        c.restart(at(a.node));
        c.read(at(a.node));
        break;
      case 'net':
        c.setFaults({ dropPct: a.dropPct, dupPct: a.dupPct, minDelay: 1, maxDelay: Math.max(1, a.maxDelay) });
        break;
      case 'snapshot':
        c.snapshotNow(at(a.node), a.keep);
        break;
      case 'campaign':
        await c.with(at(a.node), (d) => d.node.campaign());
        break;
      case 'transfer': {
        const l = c.leader();
        const to = at(a.to);
        if (l !== null) await c.with(l.id, (d) => d.node.transferLeader(c.node(to).id));
        break;
      }
      case 'read':
        c.read(at(a.node));
        break;
    }
  }
}

/** healAllDrivers removes every fault: links restored, a reliable network, every member restarted. */
export function healAllDrivers(c: DriverCluster): void {
  c.heal();
  c.setFaults(RELIABLE);
  for (const id of c.ids()) c.restart(id);
}

/** healAndSettleDrivers heals everything, requires liveness within `bounds` and checks the final state. */
export async function healAndSettleDrivers(c: DriverCluster, bounds: SettleBounds): Promise<SettleReport> {
  healAllDrivers(c);
  const leaderAt = await c.runUntil(() => c.leader() !== null, bounds.leaderTicks);
  if (leaderAt === null) await c.guard(() => fail(`no leader within ${bounds.leaderTicks} ticks of healing`));
  const doneAt = await c.runUntil(() => driversConverged(c), bounds.convergeTicks);
  if (doneAt === null) {
    const ops = c.client.openOps();
    await c.guard(() =>
      fail(`not converged within ${bounds.convergeTicks} ticks after a leader appeared; ${c.client.pendingWrites} writes pending, ${ops.length} promises unsettled (${ops.slice(0, 6).join('; ')})`),
    );
  }
  await checkFinalDrivers(c);
  return { leaderTicks: leaderAt ?? -1, convergeTicks: doneAt ?? -1, leader: c.leader()!.id };
}

/**
 * driversConverged tells whether the cluster is quiet: one leader every member follows,
 * everything committed, durable and applied everywhere, every write acknowledged and every
 * promise settled.
 */
export function driversConverged(c: DriverCluster): boolean {
  const l = c.leader();
  if (l === null || c.client.pendingWrites > 0 || c.client.openOps().length > 0) return false;
  const ls = l.live().node.status();
  if (ls.commit !== ls.lastIndex) return false;
  for (const n of c.nodes.values()) {
    if (!n.up || n.store.pendingCount > 0) return false;
    const s = n.live().node.status();
    if (s.leader !== l.id || s.term !== ls.term || s.commit !== ls.commit || s.lastIndex !== ls.lastIndex) return false;
    if (n.sm.appliedIndex !== ls.commit || n.store.disk.lastIndex() !== ls.lastIndex) return false;
  }
  return true;
}

/** checkFinalDrivers checks converged disks, identical state machines and every acknowledged write everywhere. */
export async function checkFinalDrivers(c: DriverCluster): Promise<void> {
  await c.guard(() => {
    const ids = c.ids();
    const first = c.node(ids[0]!);
    const li = first.store.disk.lastIndex();
    const lt = first.store.disk.term(li);
    const records = JSON.stringify(first.sm.records());
    for (const id of ids) {
      const n = c.node(id);
      const d = n.store.disk;
      if (d.lastIndex() !== li || d.term(d.lastIndex()) !== lt) {
        throw new InvariantViolation('convergence', `member ${id}'s disk ends at ${d.lastIndex()}@t${d.term(d.lastIndex())} but member ${first.id}'s at ${li}@t${lt}`);
      }
      if (JSON.stringify(n.sm.records()) !== records) throw new InvariantViolation('convergence', `member ${id}'s state machine differs from member ${first.id}'s`);
      c.checker.checkAcksApplied(n.id, n.sm.appliedIndex, (i) => n.sm.at(i));
    }
  });
}

function fail(detail: string): never {
  throw new InvariantViolation('liveness', detail);
}
