/**
 * schedule: fault schedules as plain data, so fast-check can generate and shrink them, and an
 * executor that plays one against a SimCluster. Node references are positions (taken modulo the
 * cluster size), so any schedule is valid for any cluster.
 */
import type { NodeId } from '../../src/raft/types.js';
import type { CrashPoint } from './node.js';
import type { SimCluster } from './cluster.js';
import { payload } from './state-machine.js';

/** FaultAction is one step of a schedule. */
export type FaultAction =
  /** run runs `ticks` ticks; with `load`, it submits `load` writes and starts one read every 5 ticks. */
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
  | { readonly kind: 'remove'; readonly node: number }
  /**
   * partial-replicate: the leader's messages reach only `keep` of its followers and nothing
   * reaches it; it takes `count` writes, runs `ticks` ticks and crashes at `point` (the links
   * are restored after). Its entries end up on a minority, uncommitted (Figure 8 (a)).
   */
  | { readonly kind: 'partial-replicate'; readonly keep: number; readonly count: number; readonly ticks: number; readonly point: CrashPoint }
  /**
   * flash-leader: the next leader elected (of a term above every leader seen so far) is cut off
   * the moment it wins, so even its first appends are lost; it takes `count` writes and crashes
   * at `point` (Figure 8 (b): a leader whose entries no one else holds).
   */
  | { readonly kind: 'flash-leader'; readonly count: number; readonly point: CrashPoint }
  /**
   * isolate-on-commit: runs until there is a leader and it advances its commit index (within
   * `ticks`), then cuts it off at once: the appends and heartbeats carrying the news are lost.
   */
  | { readonly kind: 'isolate-on-commit'; readonly ticks: number }
  /** restart-all: restarts every crashed node. */
  | { readonly kind: 'restart-all' }
  /** restart-oldest: restarts the node that has been down longest (nodes come back in the order they failed). */
  | { readonly kind: 'restart-oldest' }
  /**
   * stale-read: cuts the leader off and runs (at most `ticks` ticks, `load` writes every 5) until
   * a newer leader commits past it or it steps down, then reads at the old leader, which may
   * still believe it leads (without check-quorum it always does; with it, until it notices).
   */
  | { readonly kind: 'stale-read'; readonly ticks: number; readonly load: number };

/** describeAction renders an action for traces. */
export function describeAction(a: FaultAction): string {
  return JSON.stringify(a);
}

const pick = <T>(xs: readonly T[], pos: number): T | undefined => (xs.length === 0 ? undefined : xs[((pos % xs.length) + xs.length) % xs.length]);

/** cutAround cuts the links of `id` (out to all but `keepOut`, and every link in); returns the links it newly cut. */
function cutAround(c: SimCluster, id: NodeId, keepOut: readonly NodeId[]): [NodeId, NodeId][] {
  const cut: [NodeId, NodeId][] = [];
  const add = (from: NodeId, to: NodeId): void => {
    if (c.network.isCut(from, to)) return;
    c.cutLink(from, to);
    cut.push([from, to]);
  };
  for (const o of c.ids()) {
    if (o === id) continue;
    if (!keepOut.includes(o)) add(id, o);
    add(o, id);
  }
  return cut;
}

function restoreLinks(c: SimCluster, links: readonly [NodeId, NodeId][]): void {
  for (const [from, to] of links) c.network.restoreLink(from, to);
  if (links.length > 0) c.trace.record(`@${c.now} restore ${links.map(([f, t]) => `${f}>${t}`).join(',')}`);
}

function maxLeaderTerm(c: SimCluster): number {
  let t = 0;
  for (const lt of c.checker.leaders().keys()) t = Math.max(t, lt);
  return t;
}

/** proposeAt proposes `count` fresh writes straight at node `id` (outside the client: never acknowledged). */
function proposeAt(c: SimCluster, id: NodeId, count: number): void {
  for (let i = 0; i < count; i++) c.propose(id, payload(`${FAULT_KEY_PREFIX}${c.now}.${id}.${i}`));
}

/** FAULT_KEY_PREFIX marks the writes fault actions propose directly at a leader. */
export const FAULT_KEY_PREFIX = 'f';

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
          if ((a.load ?? 0) > 0) {
            c.client.submit(a.load ?? 0, c.ticks);
            // A loaded run also reads, at a node that changes from one slice to the next.
            const reader = at(c.now + t);
            if (c.node(reader).up) c.read(reader);
          }
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
      case 'partial-replicate': {
        const l = c.leader();
        if (l === null) break;
        const followers = ids.filter((id) => id !== l.id);
        const keep = followers.slice(0, Math.min(a.keep, followers.length));
        const cut = cutAround(c, l.id, keep);
        proposeAt(c, l.id, a.count);
        c.run(a.ticks);
        c.crash(l.id, a.point);
        restoreLinks(c, cut);
        break;
      }
      case 'flash-leader': {
        const above = maxLeaderTerm(c);
        const found = c.runUntil(() => maxLeaderTerm(c) > above && c.leader() !== null, 4 * c.electionTick);
        const l = c.leader();
        if (found === null || l === null) break;
        const cut = cutAround(c, l.id, []);
        proposeAt(c, l.id, a.count);
        c.run(1);
        c.crash(l.id, a.point);
        restoreLinks(c, cut);
        break;
      }
      case 'isolate-on-commit': {
        // Wait (within `ticks` in all) for a leader, then for it to advance its commit index.
        const start = c.ticks;
        if (c.runUntil(() => c.leader() !== null, a.ticks) === null) break;
        const l = c.leader()!;
        const from = l.raft.status().commit;
        const leads = (): boolean => l.up && l.raft.status().role === 'leader';
        const moved = c.runUntil(() => !leads() || l.raft.status().commit > from, Math.max(0, a.ticks - (c.ticks - start)));
        if (moved !== null && leads()) c.isolate(l.id);
        break;
      }
      case 'restart-oldest': {
        const id = c.downLongest();
        if (id !== null) c.restart(id);
        break;
      }
      case 'restart-all':
        for (const id of ids) if (!c.node(id).up) c.restart(id);
        break;
      case 'stale-read': {
        const l = c.leader();
        if (l === null) break;
        const t = l.raft.status().term;
        c.isolate(l.id);
        // Run until a newer leader commits past what the old one knows, or the old one steps down.
        const newerCommitted = (): boolean => {
          const n = c.leader();
          return n !== null && n.raft.status().term > t && n.raft.status().commit > (l.up ? l.raft.status().commit : 0);
        };
        const stillLeads = (): boolean => l.up && l.raft.status().role === 'leader';
        for (let done = 0; done < a.ticks && stillLeads() && !newerCommitted(); done += 5) {
          if (a.load > 0) c.client.submit(a.load, c.ticks);
          c.runUntil(() => !stillLeads() || newerCommitted(), Math.min(5, a.ticks - done));
        }
        c.read(l.id);
        break;
      }
    }
  }
}
