/**
 * member-replace: replacing a failed kv member by a fresh one with an empty data directory, as
 * an operator replaces a failed etcd member — the protocol shared by `raftkube member replace`
 * (a cluster started by `up`) and the chaos suite's member-replace fault (ChaosCluster). The
 * Cluster API steps live here; how a process is killed, its data wiped and its successor started
 * differs between the two, and comes in as hooks.
 *
 * The steps, each retried until the deadline: stop the old member; remove it (MemberRemove, on
 * the live members); empty its data directory; add its successor as a learner (MemberAdd); start
 * it with `--initial-cluster-state existing` and the current membership; promote it once it has
 * caught up (the leader refuses until then); done when it is a voting member that answers and
 * knows the leader. By hand with etcdctl: `member remove ID`, `member add NAME --learner
 * --peer-urls URL`, start the member, `member promote ID`.
 *
 * The successor keeps the slot's name and URLs. That does not reuse the old member's ID:
 * MemberAdd assigns IDs from the peer URLs salted with the time, not from the URLs alone, and a
 * member refuses messages addressed to another ID, so anything still in flight to the old one is
 * dropped.
 */
import { status as Code } from '@grpc/grpc-js';
import { EtcdCallError, EtcdClient, type EtcdTls } from '../kv/client/etcd-client.js';
import type { Member } from '../kv/proto/index.js';
import type { MemberPlan } from './local-cluster.js';

/** Replacement is what replacing a member did: the removed member's ID and its successor's (decimal). */
export interface Replacement {
  readonly oldId: string;
  readonly newId: string;
}

/** ReplaceStep names the steps of a replacement, in order (for progress lines and errors). */
export type ReplaceStep = 'kill' | 'remove' | 'wipe' | 'add-learner' | 'start' | 'promote' | 'healthy';

/** REPLACE_STEPS lists the steps in the order they run. */
export const REPLACE_STEPS: readonly ReplaceStep[] = ['kill', 'remove', 'wipe', 'add-learner', 'start', 'promote', 'healthy'];

/** ReplaceOptions bound a replacement. */
export interface ReplaceOptions {
  /** deadlineMs bounds the whole replacement (every step retries until then). */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** onStep is told when each step is done. */
  readonly onStep?: (step: ReplaceStep, detail: string) => void;
}

/** ReplaceHooks do the process-side steps of a replacement for one kind of cluster. */
export interface ReplaceHooks {
  /** endpoints are the client URLs of the live members (not the one replaced). */
  readonly endpoints: readonly string[];
  /** plans name the cluster's members by URL, to name the membership the successor joins. */
  readonly plans: readonly MemberPlan[];
  /** tls is how to reach members that run TLS (the cluster's CA and a client certificate). */
  readonly tls?: EtcdTls;
  /** kill stops the old member's process (if it runs) and resolves, with a progress detail, once it is gone. */
  kill(): Promise<string>;
  /** wipe empties the slot's data directory; from then on the slot must only ever join. */
  wipe(): void;
  /** start starts the successor with `--initial-cluster-state existing` and `membership`; returns a progress detail. */
  start(membership: readonly MemberPlan[], ids: Replacement): string;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** catchUp describes a joining member's progress: its applied index beside the leader's commit. */
async function catchUp(others: EtcdClient, url: string, tls: EtcdTls | undefined): Promise<string> {
  const me = new EtcdClient([url], { deadlineMs: 1000, ...(tls === undefined ? {} : { tls }) });
  try {
    const [mine, theirs] = await Promise.all([me.statusAt(0).catch(() => null), Promise.all(others.endpoints.map((_, k) => others.statusAt(k).catch(() => null)))]);
    const leader = theirs.find((t) => t !== null && t.leader === t.header.member_id) ?? null;
    return `the learner has applied ${mine === null ? '? (no answer)' : mine.raftAppliedIndex} of the leader's ${leader === null ? '? (no leader answered)' : leader.raftIndex} entries`;
  } finally {
    me.close();
  }
}

/**
 * replaceMember replaces the member in `slot` by a fresh one (see the module comment). Throws
 * "Replacing NAME failed at STEP: why" when a step cannot be done before the deadline.
 */
export async function replaceMember(slot: MemberPlan, hooks: ReplaceHooks, o: ReplaceOptions): Promise<Replacement> {
  const deadline = Date.now() + o.deadlineMs;
  const tlsOpt = hooks.tls === undefined ? {} : { tls: hooks.tls };
  const client = new EtcdClient(hooks.endpoints, { deadlineMs: 3000, ...tlsOpt });
  let step: ReplaceStep = 'kill';
  const done = (s: ReplaceStep, detail: string): void => o.onStep?.(s, detail);
  // retry runs one step until it returns a value (undefined: not yet) or the deadline passes.
  const retry = async <T>(s: ReplaceStep, attempt: () => Promise<T | undefined>): Promise<T> => {
    step = s;
    let last = 'no attempt finished';
    for (;;) {
      if (o.signal?.aborted === true) throw new Error('interrupted');
      try {
        const v = await attempt();
        if (v !== undefined) return v;
        last = 'not yet';
      } catch (err: unknown) {
        last = message(err);
      }
      if (Date.now() > deadline) throw new Error(`gave up after ${(o.deadlineMs / 1000).toFixed(0)} s (${last})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const isCode = (err: unknown, code: Code, text: string): boolean => err instanceof EtcdCallError && err.code === code && err.details.includes(text);
  const byPeerURL = (members: readonly Member[]): Member | undefined => members.find((m) => m.peerURLs.includes(slot.peerURL));
  try {
    done('kill', await hooks.kill());
    const oldId = await retry('remove', async () => byPeerURL((await client.memberList()).members)?.ID ?? null);
    if (oldId === null) throw new Error(`no member has peer URL ${slot.peerURL}`);
    await retry('remove', async () => {
      try {
        await client.memberRemove(oldId);
      } catch (err: unknown) {
        // A retried removal whose first try went through: the member is gone already.
        if (!isCode(err, Code.NOT_FOUND, 'member not found')) throw err;
      }
      return true;
    });
    done('remove', `member ${oldId} removed`);
    step = 'wipe';
    hooks.wipe();
    done('wipe', `data directory of ${slot.name} emptied`);
    const added = await retry('add-learner', async () => {
      try {
        return (await client.memberAdd([slot.peerURL], { isLearner: true })).members;
      } catch (err: unknown) {
        // A retried add whose first try went through: the list names the learner.
        if (isCode(err, Code.FAILED_PRECONDITION, 'Peer URLs already exists')) return (await client.memberList()).members;
        throw err;
      }
    });
    const newId = byPeerURL(added)?.ID;
    if (newId === undefined) throw new Error(`the member list after MemberAdd has no member with peer URL ${slot.peerURL}`);
    done('add-learner', `learner ${newId} added`);
    step = 'start';
    // The membership it joins: the live members (by their URLs, named as the cluster names them) and itself.
    const membership = added.map((m) => hooks.plans.find((p) => m.peerURLs.includes(p.peerURL)) ?? { name: m.name || `member-${m.ID}`, clientURL: m.clientURLs[0] ?? '', peerURL: m.peerURLs[0] ?? '' });
    done('start', hooks.start(membership, { oldId, newId }));
    await retry('promote', async () => {
      try {
        await client.memberPromote(newId);
      } catch (err: unknown) {
        // Not caught up yet: the leader says so until the learner holds most of its log. Say
        // how far it has come, so a replacement that never catches up explains itself.
        if (isCode(err, Code.FAILED_PRECONDITION, 'in sync with leader')) throw new Error(`not in sync yet: ${await catchUp(client, slot.clientURL, hooks.tls)}`);
        // A retried promotion whose first try went through.
        if (!isCode(err, Code.FAILED_PRECONDITION, 'can only promote a learner member')) throw err;
      }
      return true;
    });
    done('promote', `${newId} promoted`);
    const me = new EtcdClient([slot.clientURL], { deadlineMs: 2000, ...tlsOpt });
    try {
      await retry('healthy', async () => {
        const s = await me.statusAt(0);
        if (s.header.member_id !== newId || s.isLearner || s.leader === '0') return undefined;
        // Started, as etcd means it: the member has published its name and client URLs through
        // the log, so `member list` names it (it publishes every 300 ms until that applies).
        const listed = (await me.memberList()).members.find((m) => m.ID === newId);
        return listed !== undefined && listed.name !== '' ? true : undefined;
      });
    } finally {
      me.close();
    }
    done('healthy', `${slot.name} (${newId}) is a healthy voting member`);
    return { oldId, newId };
  } catch (err: unknown) {
    throw new Error(`Replacing ${slot.name} failed at ${step}: ${message(err)}`);
  } finally {
    client.close();
  }
}
