/**
 * member-join: a member joining a cluster whose leader itself joined later (so the leader's ID
 * was assigned by MemberAdd, not derived from its peer URL as --initial-cluster would give it)
 * must still reach the leader, catch up and be promoted. This is what replacing members one
 * after another (the chaos suite's member-replace) comes to — also when the log is long enough
 * that the newcomer applies the earlier membership before it reaches the leader's own addition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as Code } from '@grpc/grpc-js';
import { EtcdCallError, EtcdClient } from '../../src/kv/client/etcd-client.js';
import { responseDecoders } from '../../src/kv/proto/index.js';
import { startCluster, waitFor, type TestCluster } from './harness.js';

describe('a member joins a cluster led by a member that joined later', () => {
  let c: TestCluster;
  let client: EtcdClient;

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 2 });
    client = new EtcdClient(c.clientURLs);
  }, 200_000);

  afterAll(async () => {
    client?.close();
    await c?.stop();
  }, 60_000);

  /** join adds a learner at spare slot i, starts it with the given membership and promotes it; returns its ID. */
  async function join(name: string, i: number, before: readonly string[]): Promise<{ id: string; clientURL: string }> {
    const { clientURL, peerURL } = c.spareURLs(i);
    const added = await client.memberAdd([peerURL], { isLearner: true });
    const id = added.member?.ID;
    expect(id).toBeDefined();
    c.startMember(name, { clientURL, peerURL, initialCluster: [...before, `${name}=${peerURL}`].join(',') });
    await waitFor(`${name} to be promoted`, async () => {
      try {
        await client.memberPromote(id!);
        return true;
      } catch (err: unknown) {
        if (err instanceof EtcdCallError && err.code === Code.FAILED_PRECONDITION && err.details.includes('in sync with leader')) return false;
        throw err;
      }
    }, { timeoutMs: 30_000, intervalMs: 250 });
    return { id: id!, clientURL };
  }

  async function leaderId(): Promise<string> {
    return waitFor('a leader', async () => {
      const s = await client.statusAt(0);
      return s.leader === '0' ? false : s.leader;
    }, { timeoutMs: 20_000, intervalMs: 100 });
  }

  it('reaches the leader by the ID the member list gives, not the one its peer URL would', async () => {
    // 3 MiB before m4 joins, so a later member's first appends (1 MiB each at most) hold the
    // initial membership's entries but not m4's: applying them must not cut it off from m4.
    const filler = 'x'.repeat(10 * 1024);
    for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, (_, j) => client.put(`join/filler/${i + j}`, filler)));
    await client.put('join/before', 'v0');
    const initial = c.members.map((m) => `${m.name}=${m.peerURL}`);
    const m4 = await join('m4', 0, initial);

    // Make m4 the leader: its ID came from MemberAdd, so m5 cannot derive it from m4's peer URL.
    const leader = await leaderId();
    const statuses = await Promise.all(c.clientURLs.map((_, i) => client.statusAt(i)));
    const at = statuses.findIndex((s) => s.header.member_id === leader);
    if (leader !== m4.id) {
      expect(at).toBeGreaterThanOrEqual(0);
      await client.unaryAt(at, 'Maintenance', 'MoveLeader', { targetID: m4.id }, responseDecoders.HeaderOnlyResponse);
    }
    await waitFor('m4 to lead', async () => (await leaderId()) === m4.id, { timeoutMs: 20_000, intervalMs: 100 });

    const { peerURL: m4Peer } = c.spareURLs(0);
    const m5 = await join('m5', 1, [...initial, `m4=${m4Peer}`]);
    expect(await leaderId()).toBe(m4.id);
    await client.put('join/after', 'v1');
    const m5Client = new EtcdClient([m5.clientURL]);
    try {
      const got = await waitFor('m5 to apply the write', async () => {
        const r = await m5Client.rangeAt(0, 'join/after', true);
        return r.kvs.length === 1 ? r : false;
      }, { timeoutMs: 20_000, intervalMs: 100 });
      expect(Buffer.from(got.kvs[0]!.value).toString()).toBe('v1');
      const members = (await client.memberList()).members;
      expect(members.map((m) => [m.ID, m.isLearner]).sort()).toEqual(expect.arrayContaining([[m4.id, false], [m5.id, false]]));
      expect(members).toHaveLength(5);
    } finally {
      m5Client.close();
    }
  }, 200_000);
});
