/**
 * A partition through the proxy (chaos run --net proxy) really partitions a real cluster: three
 * member processes on loopback dial each other only through the proxy's links (told by the
 * test-only RAFTKUBE_TEST_PEER_DIAL). When the leader is cut off from both peers, the other two
 * elect a new leader and keep committing, the isolated member loses its leadership (checkQuorum)
 * and commits nothing more — a write sent to it fails, since forwarding to the new leader is cut
 * too — and after the heal it catches up and follows the new leader.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyNetwork } from '../../src/chaos/nemesis/proxy.js';
import { memberArgs, planMembers, stopPids, type MemberPlan } from '../../src/cli/local-cluster.js';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import type { StatusResponse } from '../../src/kv/proto/index.js';
import { freePortBlock, RAFTKUBE_MAIN, REPO_ROOT, waitFor } from '../integration/harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'raftkube-proxy-cluster-'));
const pids: number[] = [];
let plans: MemberPlan[] = [];
let proxy: ProxyNetwork | null = null;
let client: EtcdClient | null = null;

beforeAll(async () => {
  plans = planMembers(3, await freePortBlock(6));
  proxy = await ProxyNetwork.create(plans, { seed: 1 });
  for (const [i, p] of plans.entries()) {
    const fd = openSync(join(dataDir, `${p.name}.log`), 'a');
    const child = spawn(process.execPath, [RAFTKUBE_MAIN, ...memberArgs(plans, p, { dataDir })], {
      cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...proxy.memberEnv(i) },
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`Could not start ${p.name}`);
    child.unref();
    pids.push(child.pid);
  }
  client = new EtcdClient(plans.map((p) => p.clientURL), { deadlineMs: 3000 });
}, 60_000);

afterAll(async () => {
  client?.close();
  await stopPids(pids, 5_000);
  await proxy?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

function logs(): string {
  return plans.map((p) => `--- ${p.name}\n${readFileSync(join(dataDir, `${p.name}.log`), 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
}

async function status(i: number): Promise<StatusResponse | null> {
  try {
    return await client!.statusAt(i);
  } catch {
    return null;
  }
}

const leads = (s: StatusResponse | null): boolean => s !== null && s.leader !== '0' && s.leader === s.header.member_id;

describe('a partition through the proxy', () => {
  it('isolates the leader: the majority elects another and commits, the old leader steps down and commits nothing, the heal rejoins it', async () => {
    const c = client!;
    const net = proxy!;
    const first = await waitFor('a leader that every member follows', async () => {
      const all = await Promise.all([0, 1, 2].map(status));
      const l = all.findIndex(leads);
      return l >= 0 && all.every((s) => s !== null && s.leader === all[l]!.leader) ? { index: l, term: all[l]!.header.raft_term } : null;
    }, { timeoutMs: 60_000, intervalMs: 200 }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs()}`);
    });
    await waitFor('a first write', () => c.putAt(first.index, 'k', 'v1'), { timeoutMs: 20_000, intervalMs: 200 });
    const old = first.index;
    const others = [0, 1, 2].filter((i) => i !== old);
    // The leader and its followers reach each other through the proxy, not the real listeners.
    for (const j of others) {
      expect(net.acceptedBytes(old, j), `leader → ${j}`).toBeGreaterThan(0);
      expect(net.acceptedBytes(j, old), `${j} → leader`).toBeGreaterThan(0);
    }

    await net.cut(others.map((j) => [old, j] as const));
    const next = await waitFor('one of the others to lead in a later term', async () => {
      for (const j of others) {
        const s = await status(j);
        if (leads(s) && s!.header.raft_term > first.term) return j;
      }
      return null;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    await waitFor('the isolated member to give up its leadership', async () => {
      const s = await status(old);
      return s !== null && !leads(s);
    }, { timeoutMs: 30_000, intervalMs: 200 });

    const frozen = (await status(old))!.raftIndex;
    await waitFor('a write on the majority side', () => c.putAt(next, 'k', 'v2'), { timeoutMs: 20_000, intervalMs: 200 });
    const majority = (await status(next))!.raftIndex;
    expect(majority).toBeGreaterThan(frozen);
    expect((await status(old))!.raftIndex).toBe(frozen);
    expect((await c.rangeAt(old, 'k', true)).kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['v1']);
    await expect(c.putAt(old, 'elsewhere', 'x')).rejects.toThrow();
    expect((await status(old))!.raftIndex).toBe(frozen);

    await net.heal();
    await waitFor('the old leader to follow the new one and see the majority\'s write', async () => {
      const s = await status(old);
      if (s === null || s.leader !== (await status(next))?.header.member_id) return false;
      const r = await c.rangeAt(old, 'k', true);
      return r.kvs.length === 1 && Buffer.from(r.kvs[0]!.value).toString() === 'v2';
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect((await c.rangeAt(next, 'k')).kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['v2']);
  }, 180_000);
});
