/**
 * snapshot-restore: disaster recovery end to end. A 3-member cluster's state is saved with
 * `raftkube snapshot save` and with `etcdctl snapshot save` (the same image), inspected with
 * `raftkube snapshot status`, then every data directory is lost; a new 3-member cluster is
 * restored from the one file (`raftkube snapshot restore` per member, then `raftkube kv`) and
 * serves every key at every revision it held, with the same HashKV. A corrupted file is
 * refused; the etcdctl-saved file restores too; a learner added to the restored cluster with
 * etcdctl receives the restored state and is promoted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { responseDecoders, type RangeResponse } from '../../src/kv/proto/index.js';
import {
  BackgroundCommand, describeResult, etcdctl, hostPort, RAFTKUBE_MAIN, runCommand, startCluster, waitFor, type TestCluster,
} from './harness.js';

function raftkube(args: readonly string[]): ReturnType<typeof runCommand> {
  return runCommand(process.execPath, [RAFTKUBE_MAIN, ...args], { timeoutMs: 60_000 });
}

/** dump is every key of a Range as "key=value c<create> m<mod> v<version>", plus the revision. */
function dump(r: RangeResponse): { revision: number; kvs: string[] } {
  return { revision: r.header.revision, kvs: r.kvs.map((kv) => `${Buffer.from(kv.key).toString()}=${Buffer.from(kv.value).toString()} c${kv.create_revision} m${kv.mod_revision} v${kv.version} l${kv.lease}`) };
}

async function rangeAll(client: EtcdClient, i = 0, serializable = false): Promise<RangeResponse> {
  return client.unaryAt(i, 'KV', 'Range', { key: Buffer.of(0), range_end: Buffer.of(0), serializable }, responseDecoders.RangeResponse);
}

async function hashKV(client: EtcdClient, i: number, revision: number): Promise<number> {
  return (await client.unaryAt(i, 'Maintenance', 'HashKV', { revision }, responseDecoders.HashKVResponse)).hash;
}

describe('snapshot save, status and restore rebuild a lost cluster', () => {
  let c: TestCluster;
  let work: string;
  let original: { revision: number; kvs: string[] };
  let originalHash: number;
  let originalIds: string[];
  let clusterStopped = false;
  const members: BackgroundCommand[] = [];
  const clients: EtcdClient[] = [];

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 5 });
    work = mkdtempSync(join(tmpdir(), 'raftkube-restore-'));
  }, 200_000);

  afterAll(async () => {
    for (const cl of clients) cl.close();
    await Promise.all(members.map((m) => m.stop()));
    if (!clusterStopped) await c?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  /** startMember runs `raftkube kv` for a restored (or joining) member in spare slot `slot`. */
  function startMember(name: string, slot: number, dataDir: string, initialCluster: string, state: 'new' | 'existing' = 'new', token?: string): { clientURL: string; peerURL: string } {
    const { clientURL, peerURL } = c.spareURLs(slot);
    members.push(new BackgroundCommand(process.execPath, [
      RAFTKUBE_MAIN, 'kv', '--name', name, '--data-dir', dataDir,
      '--listen-client-urls', clientURL, '--listen-peer-urls', peerURL,
      '--initial-cluster', initialCluster, '--initial-cluster-state', state,
      ...(token === undefined ? [] : ['--initial-cluster-token', token]),
    ]));
    return { clientURL, peerURL };
  }

  function client(urls: readonly string[]): EtcdClient {
    const cl = new EtcdClient(urls, { deadlineMs: 5_000 });
    clients.push(cl);
    return cl;
  }

  async function waitLeader(cl: EtcdClient, n: number): Promise<void> {
    await waitFor('the restored cluster to elect a leader', async () => {
      const st = await Promise.all(Array.from({ length: n }, (_, i) => cl.statusAt(i)));
      return st.every((s) => s.leader !== '0' && s.leader === st[0]!.leader);
    }, { timeoutMs: 45_000, intervalMs: 200 });
  }

  it('saves the same image with raftkube and etcdctl, and status reports its revision, keys and HashKV', async () => {
    const cl = client(c.clientURLs);
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => cl.put(`dr/${String(i + j).padStart(4, '0')}`, `v${i + j}`)));
    for (let i = 0; i < 50; i++) await cl.put(`dr/${String(i * 3).padStart(4, '0')}`, `second-${i}`);
    for (let i = 0; i < 20; i++) await cl.deleteRange(`dr/${String(100 + i).padStart(4, '0')}`);
    const lease = await cl.unary('Lease', 'LeaseGrant', { TTL: 3600, ID: '0' }, responseDecoders.LeaseGrantResponse);
    await cl.put('dr/leased', 'kept', { lease: lease.ID });
    original = dump(await rangeAll(cl));
    expect(original.kvs).toHaveLength(281);
    originalHash = await hashKV(cl, 0, original.revision);
    originalIds = (await cl.memberList()).members.map((m) => m.ID);

    const ours = join(work, 'raftkube.db');
    const saved = await raftkube(['snapshot', 'save', ours, '--endpoints', c.endpoints.join(',')]);
    expect(saved.code, describeResult(saved)).toBe(0);
    expect(saved.stdout).toContain(`Snapshot saved at ${ours} (revision ${original.revision}, 281 keys`);
    const theirs = join(work, 'etcdctl.db');
    const viaEtcdctl = await etcdctl(['snapshot', 'save', theirs], { endpoints: [c.endpoints[1]!] });
    expect(viaEtcdctl.code, describeResult(viaEtcdctl)).toBe(0);

    for (const f of [ours, theirs]) {
      const st = await raftkube(['snapshot', 'status', f, '-w', 'json']);
      expect(st.code, describeResult(st)).toBe(0);
      expect(JSON.parse(st.stdout)).toEqual({ hash: originalHash, revision: original.revision, totalKey: 281, totalSize: readFileSync(f).length });
    }
    const table = await raftkube(['snapshot', 'status', ours, '-w', 'table']);
    expect(table.stdout).toMatch(new RegExp(`\\| ${originalHash.toString(16)} \\|\\s+${original.revision} \\|\\s+281 \\|`));
  }, 120_000);

  it('refuses a corrupted or truncated file and writes nothing', async () => {
    const file = readFileSync(join(work, 'raftkube.db'));
    const corrupt = Buffer.from(file);
    const mid = Math.floor(corrupt.length / 2);
    corrupt[mid] = (corrupt[mid] ?? 0) ^ 0x01;
    writeFileSync(join(work, 'corrupt.db'), corrupt);
    writeFileSync(join(work, 'truncated.db'), file.subarray(0, file.length - 700));
    for (const [name, why] of [['corrupt.db', /fails its integrity hash \(SHA-256 mismatch\): it is corrupt/], ['truncated.db', /truncated|unexpected bytes/]] as const) {
      const dataDir = join(work, `bad-${name}`);
      const r = await raftkube(['snapshot', 'restore', join(work, name), '--name', 'r1', '--initial-cluster', `r1=${c.spareURLs(0).peerURL}`, '--data-dir', dataDir]);
      expect(r.code, describeResult(r)).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(existsSync(dataDir)).toBe(false);
      const st = await raftkube(['snapshot', 'status', join(work, name)]);
      expect(st.code).toBe(1);
    }
  }, 60_000);

  it('rebuilds a 3-member cluster from one snapshot after every data directory is lost', async () => {
    // The disaster: every member and every data directory gone.
    await c.stop();
    clusterStopped = true;
    expect(existsSync(c.dataDir)).toBe(process.env['RAFTKUBE_KEEP_TEST_DATA'] !== undefined);

    const names = ['r1', 'r2', 'r3'];
    const initialCluster = names.map((n, i) => `${n}=${c.spareURLs(i).peerURL}`).join(',');
    for (const n of names) {
      const r = await raftkube(['snapshot', 'restore', join(work, 'raftkube.db'), '--name', n, '--initial-cluster', initialCluster, '--initial-cluster-token', 'restored-1', '--data-dir', join(work, n)]);
      expect(r.code, describeResult(r)).toBe(0);
      expect(r.stdout).toContain(`Restored ${join(work, 'raftkube.db')} (revision ${original.revision}, 281 keys)`);
    }
    // The members start with the flags they were restored with (a member checks its WAL against them).
    const urls = names.map((n, i) => startMember(n, i, join(work, n), initialCluster, 'new', 'restored-1').clientURL);
    const cl = client(urls);
    await waitLeader(cl, 3);

    for (let i = 0; i < 3; i++) {
      expect(dump(await rangeAll(cl, i, true))).toEqual(original);
      expect(await hashKV(cl, i, original.revision)).toBe(originalHash);
    }
    const got = await etcdctl(['get', 'dr/', '--prefix', '--keys-only', '-w', 'json'], { endpoints: urls.map(hostPort) });
    expect(got.code, describeResult(got)).toBe(0);
    expect((JSON.parse(got.stdout) as { count: number; header: { revision: number } }).count).toBe(281);
    const list = (await cl.memberList()).members;
    expect(list.map((m) => m.name).sort()).toEqual(names);
    expect(list.some((m) => originalIds.includes(m.ID))).toBe(false);
    expect(list.every((m) => !m.isLearner)).toBe(true);
    // It is a working cluster: the next write takes the next revision.
    const put = await cl.put('dr/after-restore', 'yes');
    expect(put.header.revision).toBe(original.revision + 1);
  }, 180_000);

  it('adds a learner to the restored cluster with etcdctl, which receives the restored state and is promoted', async () => {
    const urls = [0, 1, 2].map((i) => c.spareURLs(i).clientURL);
    const endpoints = urls.map(hostPort);
    const { peerURL } = c.spareURLs(4);
    const added = await etcdctl(['member', 'add', 'j1', '--learner', `--peer-urls=${peerURL}`], { endpoints });
    expect(added.code, describeResult(added)).toBe(0);
    const id = /Member\s+([0-9a-f]+)\s+added/.exec(added.stdout)?.[1];
    expect(id).toBeDefined();
    const initialCluster = [...['r1', 'r2', 'r3'].map((n, i) => `${n}=${c.spareURLs(i).peerURL}`), `j1=${peerURL}`].join(',');
    const { clientURL } = startMember('j1', 4, join(work, 'j1'), initialCluster, 'existing');
    await waitFor('j1 to be promoted', async () => {
      const r = await etcdctl(['member', 'promote', id!], { endpoints });
      if (r.code === 0) return true;
      if (!r.stderr.includes('in sync with leader')) throw new Error(describeResult(r));
      return false;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    const j1 = client([clientURL]);
    const want = dump(await rangeAll(client(urls)));
    await waitFor('j1 to hold every restored key', async () => JSON.stringify(dump(await rangeAll(j1, 0, true))) === JSON.stringify(want), { timeoutMs: 30_000, intervalMs: 250 });
    const status = await j1.statusAt(0);
    expect(status.isLearner).toBe(false);
  }, 120_000);

  it('restores the file etcdctl saved as well', async () => {
    const { peerURL } = c.spareURLs(3);
    const r = await raftkube(['snapshot', 'restore', join(work, 'etcdctl.db'), '--name', 's1', '--initial-cluster', `s1=${peerURL}`, '--initial-advertise-peer-urls', peerURL, '--data-dir', join(work, 's1')]);
    expect(r.code, describeResult(r)).toBe(0);
    const { clientURL } = startMember('s1', 3, join(work, 's1'), `s1=${peerURL}`);
    const cl = client([clientURL]);
    await waitLeader(cl, 1);
    expect(dump(await rangeAll(cl))).toEqual(original);
    expect((await cl.put('dr/solo', 'x')).header.revision).toBe(original.revision + 1);
  }, 120_000);
});
