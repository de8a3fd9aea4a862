/**
 * kill9: every acknowledged write survives `kill -9` of any member at any instant. A 3-member
 * cluster (real processes, small snapshot interval so snapshots and log compaction happen under
 * fire) takes concurrent writes while the leader and a follower are killed with SIGKILL and
 * restarted, round after round; at the end every member must hold every acknowledged key with
 * its acknowledged value. Waits are bounded polls for conditions, never fixed sleeps.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { responseDecoders } from '../../src/kv/proto/index.js';
import { readClusterFile, writeClusterFile, isAlive, type ClusterFile } from '../../src/cli/cluster-file.js';

const MAIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err: unknown) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last === null ? '' : ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})`}`);
}

describe('kill -9 under write load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'raftkube-kill9-'));
  let file: ClusterFile;
  let client: EtcdClient;

  beforeAll(() => {
    // Ports are shared with whatever else runs here: on a clash, try another range.
    for (let attempt = 1; ; attempt++) {
      const basePort = 56000 + Math.floor(Math.random() * 2000) * 2;
      try {
        execFileSync(process.execPath, [MAIN, 'up', '--masters', '3', '--data-dir', dir, '--base-port', String(basePort), '--detach', '--snapshot-count', '300', '--timeout', '60'], { stdio: 'pipe' });
        break;
      } catch (err: unknown) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
        if (attempt >= 3) throw new Error(`raftkube up failed 3 times; last:\n${stderr}`);
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const f = readClusterFile(dir);
    if (f === null) throw new Error('up wrote no cluster.json');
    file = f;
    client = new EtcdClient(file.masters.map((m) => m.clientURL), { deadlineMs: 3000 });
  }, 90_000);

  afterAll(() => {
    client?.close();
    try {
      execFileSync(process.execPath, [MAIN, 'down', '--data-dir', dir], { stdio: 'pipe' });
    } finally {
      const left = readClusterFile(dir)?.masters.flatMap((m) => m.pids).filter(isAlive) ?? [];
      for (const p of left) process.kill(p, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

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
      await waitFor('writes to progress', 30_000, async () => (acked.size >= before + 50 ? true : null));
      const lead = await waitFor('a leader', 30_000, leaderIndex);
      // Alternate: the leader on even rounds, a follower on odd ones.
      const victim = round % 2 === 0 ? lead : (lead + 1) % file.masters.length;
      const pid = file.masters[victim]!.pids[0]!;
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0).slice(1);
      process.kill(pid, 'SIGKILL');
      await waitFor(`member ${victim} to die`, 10_000, async () => (isAlive(pid) ? null : true));
      await waitFor('a leader among the survivors', 30_000, async () => {
        const l = await leaderIndex();
        return l !== null && l !== victim ? l : null;
      });
      restart(victim, args);
      await waitFor(`member ${victim} to rejoin`, 30_000, async () => {
        const s = await client.statusAt(victim);
        return s.leader !== '0' ? true : null;
      });
    }
    stop = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThan(300);
    // The snapshot interval is small so that snapshots and log compaction ran under fire too.
    const logs = file.masters.map((m) => readFileSync(join(dir, `${m.name}.log`), 'utf8')).join('\n');
    expect(logs).toContain('took a raft snapshot');
    process.stderr.write(`kill9: ${acked.size} acknowledged of ${attempts} attempted writes\n`);

    // Every member catches up to the same applied index, then holds every acknowledged key.
    const target = await waitFor('a leader', 30_000, async () => {
      const l = await leaderIndex();
      return l === null ? null : (await client.statusAt(l)).raftIndex;
    });
    for (let i = 0; i < file.masters.length; i++) {
      await waitFor(`member ${i} to apply index ${target}`, 60_000, async () => ((await client.statusAt(i)).raftAppliedIndex >= target ? true : null));
      const got = new Map<string, string>();
      const resp = await client.unaryAt(i, 'KV', 'Range', { key: Buffer.from('k-'), range_end: Buffer.from('k.'), serializable: true }, responseDecoders.RangeResponse);
      for (const kv of resp.kvs) got.set(Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString());
      const missing = [...acked].filter(([k, v]) => got.get(k) !== v);
      expect(missing.slice(0, 5), `member ${file.masters[i]!.name} lost ${missing.length} of ${acked.size} acknowledged writes (${attempts} attempted)`).toEqual([]);
    }
  }, 600_000);
});
