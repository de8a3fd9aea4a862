/**
 * snapshot-catchup: a member that joins after the leader compacted its log cannot be sent the
 * missing entries; it must install the leader's state, streamed as a snapshot over the peer
 * link, and then serve every key. The cluster snapshots every 200 entries to force that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { responseDecoders } from '../../src/kv/proto/index.js';
import { describeResult, etcdctl, startCluster, waitFor, type TestCluster } from './harness.js';

describe('a member joining after log compaction catches up by snapshot', () => {
  let c: TestCluster;
  let client: EtcdClient;

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 1, extraArgs: ['--snapshot-count', '200'] });
    client = new EtcdClient(c.clientURLs);
  }, 200_000);

  afterAll(async () => {
    client?.close();
    await c?.stop();
  }, 60_000);

  it('streams the state to the new member, which then holds every key', async () => {
    const keys = 1200;
    for (let i = 0; i < keys; i += 40) {
      await Promise.all(Array.from({ length: 40 }, (_, j) => client.put(`snap/${String(i + j).padStart(5, '0')}`, `v${i + j}`)));
    }
    const logs = c.members.map((m) => readFileSync(c.logPath(m.name), 'utf8')).join('\n');
    expect(logs).toContain('took a raft snapshot and compacted the log');

    const { clientURL, peerURL } = c.spareURLs(0);
    const added = await etcdctl(['member', 'add', 'm4', '--learner', `--peer-urls=${peerURL}`], { endpoints: c.endpoints });
    expect(added.code, describeResult(added)).toBe(0);
    const initialCluster = [...c.members.map((m) => `${m.name}=${m.peerURL}`), `m4=${peerURL}`].join(',');
    c.startMember('m4', { clientURL, peerURL, initialCluster });

    const m4 = new EtcdClient([clientURL]);
    try {
      const target = (await client.statusAt(0)).raftIndex;
      await waitFor('m4 to apply the leader\'s log', async () => (await m4.statusAt(0)).raftAppliedIndex >= target, { timeoutMs: 60_000, intervalMs: 250 });
      const got = await m4.unaryAt(0, 'KV', 'Range', { key: Buffer.from('snap/'), range_end: Buffer.from('snap0'), serializable: true, count_only: true }, responseDecoders.RangeResponse);
      expect(got.count).toBe(keys);
      expect(readFileSync(c.logPath('m4'), 'utf8')).toContain('installed a snapshot from the leader');
    } finally {
      m4.close();
      await c.stopMember('m4');
    }
  }, 240_000);
});
