/**
 * member-replace: `raftkube member replace` on a 3-member `up --etcd-only` cluster with TLS (up's default) — refused
 * while the member is healthy, then, once it is killed, the member is removed, its successor
 * added as a learner with an empty data directory and promoted; the cluster is healthy with 3
 * voters and every key, `up` resumes it after `down`. The same steps by hand with etcdctl
 * (`member remove`, `member add --learner`, `member promote`) replace another member.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { readClusterFile } from '../../src/cli/cluster-file.js';
import { responseDecoders } from '../../src/kv/proto/index.js';
import { describeResult, etcdctl, isAlive, RAFTKUBE_MAIN, runCommand, startCluster, stopPids, waitFor, type TestCluster } from './harness.js';

function raftkube(args: readonly string[], timeoutMs = 60_000): ReturnType<typeof runCommand> {
  return runCommand(process.execPath, [RAFTKUBE_MAIN, ...args], { timeoutMs });
}

describe('member replace', () => {
  let c: TestCluster;
  let client: EtcdClient;
  const started = new Set<number>();

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 0, tls: true });
    client = new EtcdClient(c.clientURLs, { deadlineMs: 5_000, ...c.tlsOption });
  }, 200_000);

  afterAll(async () => {
    client?.close();
    // Processes started by member replace and by the resumed up: `down` (in stop) stops those
    // cluster.json names; anything else is stopped here.
    const f = c === undefined ? null : readClusterFile(c.dataDir);
    for (const m of f?.masters ?? []) for (const p of m.pids) started.add(p);
    await c?.stop();
    await stopPids([...started].filter(isAlive), 2_000);
  }, 90_000);

  async function countAt(i: number): Promise<number> {
    const one = new EtcdClient([c.clientURLs[i]!], { deadlineMs: 3_000, ...c.tlsOption });
    try {
      return (await one.unaryAt(0, 'KV', 'Range', { key: Buffer.from('mr/'), range_end: Buffer.from('mr0'), serializable: true, count_only: true }, responseDecoders.RangeResponse)).count;
    } finally {
      one.close();
    }
  }

  async function voters(via: EtcdClient = client): Promise<{ names: string[]; learners: number; ids: Map<string, string> }> {
    const list = (await via.memberList()).members;
    return { names: list.map((m) => m.name).sort(), learners: list.filter((m) => m.isLearner).length, ids: new Map(list.map((m) => [m.name, m.ID])) };
  }

  it('refuses to replace a healthy member without --force', async () => {
    for (let i = 0; i < 200; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.put(`mr/${String(i + j).padStart(4, '0')}`, `v${i + j}`)));
    const r = await raftkube(['member', 'replace', '--data-dir', c.dataDir, 'm2']);
    expect(r.code, describeResult(r)).toBe(1);
    expect(r.stderr).toMatch(/m2 is alive and healthy .* pass --force/);
    const unknown = await raftkube(['member', 'replace', '--data-dir', c.dataDir, 'm9']);
    expect(unknown.stderr).toContain('No member m9');
    expect(readClusterFile(c.dataDir)?.masters[1]?.pids).toEqual(c.members[1]!.pids);
  }, 60_000);

  it('replaces a killed member: removed, re-added as a learner with an empty directory, promoted', async () => {
    const before = await voters();
    const oldPid = c.members[1]!.pids[0]!;
    process.kill(oldPid, 'SIGKILL');
    await waitFor('m2 to die', () => !isAlive(oldPid), { timeoutMs: 10_000 });
    // NB: m2 may have led; until m1 and m3 elect a leader, status says "No leader" instead.
    const degraded = await waitFor('status to name a leader among m1 and m3', async () => {
      const st = await raftkube(['status', '--data-dir', c.dataDir]);
      return /No leader/.test(st.stdout) ? undefined : st;
    }, { timeoutMs: 15_000 });
    expect(degraded.code).toBe(1);
    expect(degraded.stdout).toMatch(/Degraded: m2 down/);

    const r = await raftkube(['member', 'replace', '--data-dir', c.dataDir, 'm2'], 150_000);
    expect(r.code, describeResult(r)).toBe(0);
    const steps = r.stderr.split('\n').filter((l) => /^\[\d\/7\]/.test(l)).map((l) => l.split(':')[0]);
    expect(steps).toEqual(['[1/7] kill', '[2/7] remove', '[3/7] wipe', '[4/7] add-learner', '[5/7] start', '[6/7] promote', '[7/7] healthy']);
    expect(r.stderr).toContain('m2 is not running');
    expect(r.stdout).toMatch(/^Replaced m2: member [0-9a-f]+ removed, [0-9a-f]+ is a voting member/);

    const f = readClusterFile(c.dataDir);
    const newPid = f?.masters[1]?.pids[0];
    expect(newPid).toBeDefined();
    expect(newPid).not.toBe(oldPid);
    started.add(newPid!);
    expect(isAlive(newPid!)).toBe(true);
    const after = await voters();
    expect(after.names).toEqual(['m1', 'm2', 'm3']);
    expect(after.learners).toBe(0);
    expect(after.ids.get('m2')).not.toBe(before.ids.get('m2'));
    expect(after.ids.get('m1')).toBe(before.ids.get('m1'));
    await waitFor('m2 to hold every key', async () => (await countAt(1).catch(() => -1)) === 200, { timeoutMs: 60_000, intervalMs: 250 });
    const healthy = await waitFor('status to say healthy', async () => {
      const s = await raftkube(['status', '--data-dir', c.dataDir]);
      return s.code === 0 ? s : false;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    expect(healthy.stdout).toMatch(/Healthy: leader m\d, term \d+, 3\/3 members up/);
  }, 200_000);

  it('resumes the replaced member with the rest of the cluster after down and up', async () => {
    const down = await raftkube(['down', '--data-dir', c.dataDir]);
    expect(down.code, describeResult(down)).toBe(0);
    const up = await raftkube(['up', '--masters', '3', '--data-dir', c.dataDir, '--detach', '--timeout', '60'], 90_000);
    for (const m of readClusterFile(c.dataDir)?.masters ?? []) for (const p of m.pids) started.add(p);
    expect(up.code, describeResult(up)).toBe(0);
    await client.put('mr/after-resume', 'x');
    await waitFor('m2 to apply the write after resuming', async () => (await countAt(1).catch(() => -1)) === 201, { timeoutMs: 60_000, intervalMs: 250 });
  }, 150_000);

  it('replaces a member by hand with etcdctl: member remove, member add --learner, member promote', async () => {
    const endpoints = c.endpoints;
    const m3 = readClusterFile(c.dataDir)!.masters[2]!;
    for (const p of m3.pids) process.kill(p, 'SIGKILL');
    await waitFor('m3 to die', () => m3.pids.every((p) => !isAlive(p)), { timeoutMs: 10_000 });
    // NB: ask the live members only: a call to the dead one times out rather than failing over.
    // If m3 led, the other two elect a leader first; on a busy machine that can outlast one deadline.
    const live = new EtcdClient(c.clientURLs.slice(0, 2), { deadlineMs: 5_000, ...c.tlsOption });
    const oldId = await waitFor('the live members to list m3', async () => {
      try {
        const id = (await voters(live)).ids.get('m3');
        return id === undefined ? false : BigInt(id).toString(16);
      } catch {
        return false;
      }
    }, { timeoutMs: 60_000, intervalMs: 500 }).finally(() => live.close());
    const removed = await etcdctl([...c.etcdctlTls(), 'member', 'remove', oldId], { endpoints: endpoints.slice(0, 2) });
    expect(removed.code, describeResult(removed)).toBe(0);
    const dir = join(c.dataDir, 'm3');
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
    const added = await etcdctl([...c.etcdctlTls(), 'member', 'add', 'm3', '--learner', `--peer-urls=${m3.peerURL}`], { endpoints: endpoints.slice(0, 2) });
    expect(added.code, describeResult(added)).toBe(0);
    const newId = /Member\s+([0-9a-f]+)\s+added/.exec(added.stdout)?.[1];
    expect(newId).toBeDefined();
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added.stdout)?.[1];
    expect(initialCluster).toBeDefined();
    const extra = c.startMember('m3', { clientURL: m3.clientURL, peerURL: m3.peerURL, initialCluster: initialCluster! });
    started.add(extra.pid);
    await waitFor('m3 to be promoted', async () => {
      const r = await etcdctl([...c.etcdctlTls(), 'member', 'promote', newId!], { endpoints: endpoints.slice(0, 2) });
      if (r.code === 0) return true;
      if (!r.stderr.includes('in sync with leader')) throw new Error(describeResult(r));
      return false;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('m3 to hold every key', async () => (await countAt(2).catch(() => -1)) === 201, { timeoutMs: 60_000, intervalMs: 250 });
    const list = await etcdctl([...c.etcdctlTls(), 'member', 'list', '-w', 'json'], { endpoints });
    expect(list.code, describeResult(list)).toBe(0);
    expect(list.stdout).not.toContain('"isLearner":true');
    expect(readdirSync(dir)).toContain('member');
  }, 150_000);
});
