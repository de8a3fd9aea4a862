/**
 * fsync failpoints in real members: a 3-member cluster (separate processes, each started with
 * its own failpoints file) under concurrent writes.
 *
 * - `fsync=fail` on the leader: the leader exits non-zero with a clear log line (it never
 *   acknowledges what it could not make durable), the others elect a leader and go on taking
 *   writes, and no acknowledged write is lost — on the survivors and on the failed member once
 *   it is restarted.
 * - `fsync=stall` on the leader: a write sent to it is not acknowledged while it stalls (its
 *   own copy is not durable and it applies nothing; the request times out), and the member
 *   lives on; the others elect a leader and go on; once the stall is lifted the member serves
 *   again, including what was written meanwhile.
 *
 * NB on the stall and quorum: the leader sends its appends before its own fsync (Raft thesis
 * §10.2.1) but counts its own copy toward commitment only after it is persisted, so an entry
 * committed while the leader stalls is durable on a majority of followers. Nothing is
 * acknowledged by the stalled member, since it acknowledges only entries it has applied, after
 * its own persist.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { FAILPOINTS_FILE_ENV, failpointsArmed, writeFailpoints } from '../../src/kv/member/failpoints.js';
import { freePortBlock, RAFTKUBE_MAIN, REPO_ROOT, waitFor } from '../integration/harness.js';

interface Proc {
  readonly child: ChildProcess;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

describe('fsync failpoints in a real cluster', () => {
  let dir: string;
  let base: number;
  const names = ['m1', 'm2', 'm3'];
  const procs: (Proc | null)[] = [null, null, null];
  let client: EtcdClient;
  const clientURL = (i: number): string => `http://127.0.0.1:${base + 2 * i}`;
  const peerURL = (i: number): string => `http://127.0.0.1:${base + 2 * i + 1}`;
  const fpFile = (i: number): string => join(dir, `${names[i]}.failpoints`);
  const logOf = (i: number): string => readFileSync(join(dir, `${names[i]}.log`), 'utf8');

  const start = (i: number): void => {
    const fd = openSync(join(dir, `${names[i]}.log`), 'a');
    const child = spawn(process.execPath, [
      RAFTKUBE_MAIN, 'kv', '--name', names[i]!, '--data-dir', join(dir, names[i]!),
      '--listen-client-urls', clientURL(i), '--listen-peer-urls', peerURL(i),
      '--initial-cluster', names.map((n, j) => `${n}=${peerURL(j)}`).join(','), '--initial-cluster-state', 'new',
    ], { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, [FAILPOINTS_FILE_ENV]: fpFile(i) } });
    closeSync(fd);
    const p: Proc = { child, exit: null };
    child.on('exit', (code, signal) => (p.exit = { code, signal }));
    procs[i] = p;
  };

  /** arm writes member i's failpoints file, tells it to read it (once it answers: its handler is installed by then) and waits for its receipt. */
  const arm = async (i: number, failpoint: string | null): Promise<void> => {
    const text = writeFailpoints(fpFile(i), failpoint);
    const one = new EtcdClient([clientURL(i)], { deadlineMs: 1000 });
    try {
      await waitFor(`${names[i]} to answer`, async () => (await one.statusAt(0)) !== null);
    } finally {
      one.close();
    }
    procs[i]!.child.kill('SIGUSR2');
    expect(await failpointsArmed(fpFile(i), text, { timeoutMs: 20_000, alive: () => procs[i]!.exit === null, member: names[i]! })).toBe('armed');
  };

  const leader = async (among: readonly number[]): Promise<number> => waitFor('a leader', async () => {
    for (const i of among) {
      try {
        const s = await client.statusAt(i);
        if (s.leader !== '0' && s.leader === s.header.member_id) return i;
      } catch {
        // down or stalled
      }
    }
    return null;
  }, { timeoutMs: 30_000, intervalMs: 100 });

  /**
   * writers put distinct keys until stopped, recording every acknowledged one. Each call starts
   * at the next member in turn (a stalled member times calls out rather than refusing them, so
   * a client that stuck to one member would stay stuck on it).
   */
  const writers = (prefix: string): { acked: Map<string, string>; stop: () => Promise<void> } => {
    const acked = new Map<string, string>();
    const wc = new EtcdClient([0, 1, 2].map(clientURL), { deadlineMs: 2000, spread: 'round-robin' });
    let stopped = false;
    let n = 0;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopped) {
        const key = `${prefix}/${n++}`;
        try {
          await wc.put(key, `v-${key}`);
          acked.set(key, `v-${key}`);
        } catch {
          // unknown outcome: not acknowledged, so not checked
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    return {
      acked,
      stop: async () => {
        stopped = true;
        await Promise.all(loops);
        wc.close();
      },
    };
  };

  /** expectHolds checks that member i (serializable) or the cluster holds every acknowledged key. */
  const expectHolds = async (acked: ReadonlyMap<string, string>, prefix: string, at: number | null): Promise<void> => {
    const c = at === null ? client : new EtcdClient([clientURL(at)]);
    try {
      const r = at === null ? await c.range(`${prefix}/`, { rangeEnd: `${prefix}0` }) : await c.range(`${prefix}/`, { rangeEnd: `${prefix}0`, serializable: true });
      const got = new Map(r.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString()]));
      const missing = [...acked].filter(([k, v]) => got.get(k) !== v).map(([k]) => k);
      expect(missing, `acknowledged writes missing${at === null ? '' : ` on ${names[at]}`}`).toEqual([]);
    } finally {
      if (c !== client) c.close();
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftkube-fsync-'));
    base = await freePortBlock(6);
    for (let i = 0; i < 3; i++) start(i);
    client = new EtcdClient([0, 1, 2].map(clientURL), { deadlineMs: 2000 });
    await leader([0, 1, 2]);
  }, 120_000);

  afterAll(async () => {
    client?.close();
    for (const p of procs) {
      if (p === null || p.exit !== null) continue;
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
      await waitFor('the member to exit', () => p.exit !== null, { timeoutMs: 10_000 });
    }
    if (process.env['RAFTKUBE_KEEP_TEST_DATA'] === undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('fsync=fail: the leader exits with a clear error; nothing acknowledged is lost', async () => {
    const l = await leader([0, 1, 2]);
    const w = writers('fail');
    onTestFinished(() => w.stop());
    await waitFor('writes before the fault', () => w.acked.size >= 30, { timeoutMs: 30_000 });
    await arm(l, 'fsync=fail');
    await waitFor(`${names[l]} to exit`, () => procs[l]!.exit !== null, { timeoutMs: 20_000 });
    const atExit = w.acked.size;
    expect(procs[l]!.exit).toEqual({ code: 2, signal: null });
    const fatal = logOf(l).split('\n').filter((line) => line.includes('"level":60'));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toContain('"msg":"storage failed; stopping the member"');
    expect(fatal[0]).toMatch(/WAL fdatasync failed on .*EIO: i\/o error, fsync of .*injected by the test-only fsync failpoint/);
    // The others elect a leader and go on taking writes.
    const others = [0, 1, 2].filter((i) => i !== l);
    await leader(others);
    await waitFor('writes after the exit', () => w.acked.size >= atExit + 30, { timeoutMs: 30_000 });
    await w.stop();
    await expectHolds(w.acked, 'fail', null);
    for (const i of others) await expectHolds(w.acked, 'fail', i);
    // Restarted with the failpoint cleared, it recovers from what it made durable and catches up.
    writeFileSync(fpFile(l), '');
    start(l);
    const target = (await client.range('fail/', { rangeEnd: 'fail0' })).header.revision;
    const one = new EtcdClient([clientURL(l)]);
    try {
      await waitFor(`${names[l]} to catch up`, async () => (await one.range('fail/', { rangeEnd: 'fail0', serializable: true })).header.revision >= target, { timeoutMs: 60_000, intervalMs: 200 })
        .catch((err: unknown) => {
          throw new Error(`${err instanceof Error ? err.message : String(err)}\n${names[l]}'s log ends:\n${logOf(l).trimEnd().split('\n').slice(-15).join('\n')}`);
        });
    } finally {
      one.close();
    }
    await expectHolds(w.acked, 'fail', l);
  }, 180_000);

  it('fsync=stall: the stalled leader acknowledges nothing, the others go on, and it serves again after the stall', async () => {
    // Whatever the case before left behind, start with three running members and no failpoint.
    for (let i = 0; i < 3; i++) {
      if (procs[i]!.exit === null) continue;
      writeFileSync(fpFile(i), '');
      start(i);
    }
    const l = await leader([0, 1, 2]);
    const w = writers('stall');
    onTestFinished(() => w.stop());
    await waitFor('writes before the fault', () => w.acked.size >= 30, { timeoutMs: 30_000 });
    await arm(l, 'fsync=stall');
    await waitFor(`${names[l]} to hold a sync`, () => logOf(l).includes('is held until the failpoint is cleared'), { timeoutMs: 20_000 });
    // A write sent to the stalled member itself.
    const direct = new EtcdClient([clientURL(l)], { deadlineMs: 120_000 });
    onTestFinished(() => direct.close());
    const state: { outcome: 'pending' | 'ok' | 'error'; error?: string } = { outcome: 'pending' };
    const put = direct.put('stall/direct', 'through-the-stalled-member').then(() => (state.outcome = 'ok'), (err: unknown) => {
      state.outcome = 'error';
      state.error = err instanceof Error ? err.message : String(err);
    });
    const others = [0, 1, 2].filter((i) => i !== l);
    const newLeader = await leader(others);
    const before = w.acked.size;
    await waitFor('writes through the others', () => w.acked.size >= before + 30, { timeoutMs: 30_000 });
    const viaOthers = new EtcdClient(others.map(clientURL), { deadlineMs: 5000 });
    onTestFinished(() => viaOthers.close());
    await viaOthers.put('stall/during', 'written-while-stalled');
    expect(others).toContain(newLeader);
    // Still stalled, it does not acknowledge the write sent to it: the request times out on the
    // member (its deadline runs while the stalled driver takes no input), and the member lives on.
    await waitFor('the write sent to the stalled member to settle', () => state.outcome !== 'pending', { timeoutMs: 30_000 });
    expect(state.outcome).toBe('error');
    expect(state.error).toContain('request timed out');
    expect(procs[l]!.exit).toBeNull();
    expect(logOf(l)).not.toContain('fsync=off');

    await arm(l, null);
    await put;
    await w.stop();
    const served = new EtcdClient([clientURL(l)], { deadlineMs: 5000 });
    try {
      // Served after the heal: a linearizable read through it sees what was written meanwhile.
      const r = await waitFor(`${names[l]} to serve a linearizable read`, async () => served.range('stall/during'), { timeoutMs: 30_000, intervalMs: 200 });
      expect(r.kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['written-while-stalled']);
    } finally {
      served.close();
      direct.close();
    }
    await expectHolds(w.acked, 'stall', null);
    await expectHolds(w.acked, 'stall', l);
    expect(procs[l]!.exit).toBeNull();
  }, 180_000);
});
