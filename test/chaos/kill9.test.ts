/**
 * kill9: every acknowledged write survives `kill -9` of any member at any instant. A 3-member
 * cluster (real processes, small snapshot interval so snapshots and log compaction happen under
 * fire) takes concurrent writes while the leader and a follower are killed with SIGKILL and
 * restarted, round after round; at the end every member must hold every acknowledged key with
 * its acknowledged value. Waits are bounded polls for conditions, never fixed sleeps.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { responseDecoders } from '../../src/kv/proto/index.js';
import { readClusterFile, writeClusterFile, isAlive, type ClusterFile } from '../../src/cli/cluster-file.js';
import { startCluster, waitFor, type TestCluster } from '../integration/harness.js';

describe('kill -9 under write load', () => {
  let cluster: TestCluster;
  let dir: string;
  let file: ClusterFile;
  let client: EtcdClient;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, spareMembers: 0, extraArgs: ['--snapshot-count', '300'] });
    dir = cluster.dataDir;
    const f = readClusterFile(dir);
    if (f === null) throw new Error('up wrote no cluster.json');
    file = f;
    client = new EtcdClient(file.masters.map((m) => m.clientURL), { deadlineMs: 3000 });
  }, 200_000);

  afterAll(async () => {
    client?.close();
    // `down` reads cluster.json, which names the restarted processes too.
    await cluster?.stop();
  }, 60_000);

  const leaderIndex = async (): Promise<number | null> => {
    for (let i = 0; i < file.masters.length; i++) {
      try {
        const s = await client.statusAt(i);
        if (s.leader !== '0' && s.leader === s.header.member_id) return i;
      } catch {
        // down or restarting
      }
    }
    return null;
  };

  const restart = (i: number, args: string[]): void => {
    const m = file.masters[i]!;
    const fd = openSync(join(dir, `${m.name}.log`), 'a');
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    const masters = file.masters.map((x, j) => (j === i ? { ...x, pids: [child.pid!] } : x));
    file = { ...file, masters };
    writeClusterFile(dir, file);
  };

  it('keeps every acknowledged write through repeated SIGKILLs of the leader and a follower', async () => {
    const acked = new Map<string, string>();
    let stop = false;
    let attempts = 0;
    const writer = async (w: number): Promise<void> => {
      for (let seq = 0; !stop; seq++) {
        const key = `k-${w}-${seq}`;
        const value = `v-${w}-${seq}-${'x'.repeat(64)}`;
        attempts++;
        try {
          await client.put(key, value);
          acked.set(key, value);
        } catch {
          // Not acknowledged: it may or may not have been applied; either is fine.
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));

    for (let round = 0; round < 6; round++) {
      const before = acked.size;
      await waitFor('writes to progress', () => acked.size >= before + 50, { timeoutMs: 30_000 });
      const lead = await waitFor('a leader', leaderIndex, { timeoutMs: 30_000 });
      // Alternate: the leader on even rounds, a follower on odd ones.
      const victim = round % 2 === 0 ? lead : (lead + 1) % file.masters.length;
      const pid = file.masters[victim]!.pids[0]!;
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0).slice(1);
      process.kill(pid, 'SIGKILL');
      await waitFor(`member ${victim} to die`, () => !isAlive(pid), { timeoutMs: 10_000 });
      await waitFor('a leader among the survivors', async () => {
        const l = await leaderIndex();
        return l !== null && l !== victim ? l : null;
      }, { timeoutMs: 30_000 });
      restart(victim, args);
      await waitFor(`member ${victim} to rejoin`, async () => {
        const s = await client.statusAt(victim);
        return s.leader !== '0';
      }, { timeoutMs: 30_000 });
    }
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThan(300);
    // The snapshot interval is small so that snapshots and log compaction ran under fire too.
    const logs = file.masters.map((m) => readFileSync(join(dir, `${m.name}.log`), 'utf8')).join('\n');
    expect(logs).toContain('took a raft snapshot');
    process.stderr.write(`kill9: ${acked.size} acknowledged of ${attempts} attempted writes\n`);

    // Every member catches up to the same applied index, then holds every acknowledged key.
    const target = await waitFor('a leader', async () => {
      const l = await leaderIndex();
      return l === null ? null : (await client.statusAt(l)).raftIndex;
    }, { timeoutMs: 30_000 });
    for (let i = 0; i < file.masters.length; i++) {
      await waitFor(`member ${i} to apply index ${target}`, async () => (await client.statusAt(i)).raftAppliedIndex >= target, { timeoutMs: 60_000 });
      const got = new Map<string, string>();
      const resp = await client.unaryAt(i, 'KV', 'Range', { key: Buffer.from('k-'), range_end: Buffer.from('k.'), serializable: true }, responseDecoders.RangeResponse);
      for (const kv of resp.kvs) got.set(Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString());
      const missing = [...acked].filter(([k, v]) => got.get(k) !== v);
      expect(missing.slice(0, 5), `member ${file.masters[i]!.name} lost ${missing.length} of ${acked.size} acknowledged writes (${attempts} attempted)`).toEqual([]);
    }
  }, 600_000);
});
