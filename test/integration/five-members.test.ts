/**
 * five-members: the 5-master layout `raftkube up --masters 5` starts — status of every member,
 * writes and linearizable reads through each, failover after `kill -9` of the leader, and the
 * Watch stream's progress requests and fragmenting of responses too large for one message.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, EtcdCallError } from '../../src/kv/client/etcd-client.js';
import { loadProtoDefinitions, responseDecoders, type WatchResponse } from '../../src/kv/proto/index.js';
import { readClusterFile, writeClusterFile } from '../../src/cli/cluster-file.js';
import type { StatusRow } from '../../src/cli/status.js';
import { RAFTKUBE_MAIN, isAlive, runCommand, startCluster, waitFor, type TestCluster } from './harness.js';

describe('a 5-master cluster', () => {
  let c: TestCluster;
  let client: EtcdClient;

  beforeAll(async () => {
    c = await startCluster({ masters: 5, spareMembers: 0 });
    client = new EtcdClient(c.clientURLs);
  }, 200_000);

  afterAll(async () => {
    client?.close();
    await c?.stop();
  }, 60_000);

  const rows = async (): Promise<StatusRow[]> => {
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'status', '--data-dir', c.dataDir, '--json'], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatusRow[];
  };

  it('status shows five members, one leader, all caught up', async () => {
    const rs = await waitFor('every member to know the leader and catch up', async () => {
      const r = await rows();
      return r.every((x) => x.role !== 'unreachable' && x.lag === 0) ? r : null;
    });
    expect(rs).toHaveLength(5);
    expect(rs.filter((r) => r.role === 'leader')).toHaveLength(1);
    expect(new Set(rs.map((r) => r.term)).size).toBe(1);
  });

  it('takes writes through every member and reads them back linearizably from each', async () => {
    for (let i = 0; i < 5; i++) await client.putAt(i, `five/${i}`, `v${i}`);
    for (let i = 0; i < 5; i++) {
      const r = await client.unaryAt(i, 'KV', 'Range', { key: Buffer.from('five/'), range_end: Buffer.from('five0') }, responseDecoders.RangeResponse);
      expect(r.kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    }
  });

  it('elects a new leader after kill -9 of the leader, keeps writing, and the restarted member catches up', async () => {
    const before = await rows();
    const lead = before.findIndex((r) => r.role === 'leader');
    const file = readClusterFile(c.dataDir)!;
    const pid = file.masters[lead]!.pids[0]!;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0).slice(1);
    process.kill(pid, 'SIGKILL');
    await waitFor('the old leader to die', () => !isAlive(pid));
    const others = [0, 1, 2, 3, 4].filter((i) => i !== lead);
    const newLead = await waitFor('a new leader', async () => {
      for (const i of others) {
        const s = await client.statusAt(i).catch(() => null);
        if (s !== null && s.leader !== '0' && s.leader === s.header.member_id) return s;
      }
      return null;
    }, { timeoutMs: 30_000 });
    expect(newLead.raftTerm).toBeGreaterThan(before[lead]!.term ?? 0);
    await waitFor('a write after failover', () => client.putAt(others[0]!, 'five/after', 'failover').then(() => true));

    const log = openSync(join(c.dataDir, `${file.masters[lead]!.name}.log`), 'a');
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    writeClusterFile(c.dataDir, { ...file, masters: file.masters.map((m, i) => (i === lead ? { ...m, pids: [child.pid!] } : m)) });
    await waitFor('the restarted member to hold the write made while it was down', async () => {
      const r = await client.unaryAt(lead, 'KV', 'Range', { key: Buffer.from('five/after'), serializable: true }, responseDecoders.RangeResponse);
      return r.kvs.length === 1;
    }, { timeoutMs: 30_000 });
  });

  it('refuses a txn with more operations than --max-txn-ops', async () => {
    const success = Array.from({ length: 129 }, (_, i) => ({ request_put: { key: Buffer.from(`many/${i}`), value: Buffer.from('x') } }));
    const err = await client.txn({ compare: [], success, failure: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdCallError);
    expect((err as EtcdCallError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as EtcdCallError).details).toBe('etcdserver: too many operations in txn request');
  });

  it('answers progress requests and fragments a watch response larger than a request may be', async () => {
    const big = Buffer.alloc(500 * 1024, 7);
    const first = await client.put('frag/0', big);
    for (let i = 1; i < 4; i++) await client.put(`frag/${i}`, big);
    const def = loadProtoDefinitions().etcd.Watch.Watch;
    const call = client.rawClient(0).makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => unknown);
    const got: WatchResponse[] = [];
    call.on('data', (raw: unknown) => {
      const d = responseDecoders.WatchResponse(raw);
      if (d.ok) got.push(d.value);
    });
    call.on('error', () => undefined);
    try {
      call.write({ create_request: { key: Buffer.from('frag/'), range_end: Buffer.from('frag0'), start_revision: first.header.revision, fragment: true } });
      const events = await waitFor('all four events', () => {
        const n = got.reduce((a, r) => a + r.events.length, 0);
        return n >= 4 ? got.filter((r) => r.events.length > 0) : null;
      });
      // 2 MB of events cannot travel in one 1.5 MiB message: the first parts say more follow.
      expect(events.length).toBeGreaterThan(1);
      expect(events.slice(0, -1).every((r) => r.fragment)).toBe(true);
      expect(events.at(-1)!.fragment).toBe(false);
      expect(events.flatMap((r) => r.events.map((e) => Buffer.from(e.kv!.key).toString()))).toEqual(['frag/0', 'frag/1', 'frag/2', 'frag/3']);

      const seen = got.length;
      const now = (await client.statusAt(0)).header.revision;
      call.write({ progress_request: {} });
      const progress = await waitFor('a progress response', () => got.slice(seen).find((r) => r.events.length === 0 && !r.created && !r.canceled) ?? null);
      expect(progress.header.revision).toBeGreaterThanOrEqual(now);
    } finally {
      call.cancel();
    }
  });
});
