/**
 * heavy: the workloads that take minutes — `memory` (resident memory of each member after
 * loading a million 256-byte keys) and `recovery` (kill -9 a follower, start it again with the
 * same command line, time until it serves a serializable Range and until it has caught up).
 */
import { readFileSync } from 'node:fs';
import { EtcdClient, type EtcdTls } from '../../src/kv/client/etcd-client.js';
import type { StatusResponse } from '../../src/kv/proto/index.js';
import { drive } from './drive.js';
import { describeMembersCpu } from './members-cpu.js';
import { argvOrNull, isRunning, listenPorts, memberPid, portFree, readCommandLine, readRssKiB, startCommandLine } from './procs.js';
import { pollUntil, type MemberHandle, type WorkloadContext } from './target.js';
import type { Figure, WorkloadResult } from './types.js';

/** LOAD_BATCH is how many puts go in one txn while loading (etcd's default --max-txn-ops is 128). */
export const LOAD_BATCH = 128;
/** LOAD_IN_FLIGHT is how many load txns are in flight. */
export const LOAD_IN_FLIGHT = 8;

/** loadKey is the key of the i-th loaded key, fixed width so keys sort in load order. */
export function loadKey(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(9, '0')}`;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-12).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}

function members(ctx: WorkloadContext): readonly MemberHandle[] {
  const m = ctx.target.members;
  if (m === null || m.length === 0) throw new Error(`The ${ctx.target.system} member processes are unknown; pass --cluster-file`);
  return m;
}

/** memberRssKiB sums the resident memory of a member's processes (null if none is running). */
function memberRssKiB(m: MemberHandle): number | null {
  let sum = 0;
  let any = false;
  for (const pid of m.pids()) {
    const kib = readRssKiB(pid);
    if (kib !== null) {
      sum += kib;
      any = true;
    }
  }
  return any ? sum : null;
}

function rssAll(ms: readonly MemberHandle[]): number[] {
  return ms.map((m) => {
    const kib = memberRssKiB(m);
    if (kib === null) throw new Error(`Member ${m.name} is not running (pids ${m.pids().join(', ')})`);
    return kib;
  });
}

async function statusOf(url: string, deadlineMs: number, tls: EtcdTls | undefined): Promise<StatusResponse | undefined> {
  const c = new EtcdClient([url], { deadlineMs, ...(tls === undefined ? {} : { tls }) });
  try {
    return await c.statusAt(0);
  } catch {
    return undefined;
  } finally {
    c.close();
  }
}

/** waitApplied waits until every member has applied what the leader had committed. */
async function waitApplied(ctx: WorkloadContext, ms: readonly MemberHandle[]): Promise<void> {
  const statuses = await Promise.all(ms.map((m) => statusOf(m.clientURL, 2_000, ctx.target.tls)));
  const commit = Math.max(...statuses.map((s) => s?.raftIndex ?? 0));
  await pollUntil('every member applied the load', async () => {
    const now = await Promise.all(ms.map((m) => statusOf(m.clientURL, 2_000, ctx.target.tls)));
    return now.every((s) => s !== undefined && s.raftAppliedIndex >= commit) ? true : undefined;
  }, { timeoutMs: 120_000, intervalMs: 200, signal: ctx.signal });
}

const MiB = 1024;

/** memory: load `keys` keys of 256 bytes in txns of 128, then read each member's VmRSS. */
export async function memory(ctx: WorkloadContext): Promise<WorkloadResult> {
  const ms = members(ctx);
  const before = rssAll(ms);
  const batches = Math.ceil(ctx.keys / LOAD_BATCH);
  const r = await drive(ctx, {
    label: `load ${ctx.keys.toLocaleString('en-US')} keys`,
    inFlight: LOAD_IN_FLIGHT,
    count: batches,
    // The figure is only meaningful once every key is in, so time bounds only a runaway load.
    durationMs: Math.max(ctx.durationMs, 3_600_000),
    op: (b) => {
      const ops = [];
      for (let i = b * LOAD_BATCH; i < Math.min(ctx.keys, (b + 1) * LOAD_BATCH); i++) {
        ops.push({ request_put: { key: Buffer.from(loadKey(ctx.prefix, i)), value: ctx.value } });
      }
      return ctx.client.txn({ compare: [], success: ops, failure: [] });
    },
  });
  const loaded = Math.min(ctx.keys, r.done * LOAD_BATCH);
  ctx.progress.done(`${loaded} keys in ${(r.elapsedMs / 1000).toFixed(1)} s (${Math.round((loaded * 1000) / r.elapsedMs)} keys/s)${describeMembersCpu(r.members, `txn of ${LOAD_BATCH}`)}`);
  await waitApplied(ctx, ms);
  const after = rssAll(ms);
  const group = `memory, ${ctx.keys.toLocaleString('en-US')} keys × ${ctx.value.length} B`;
  const figures: Figure[] = [
    { group, name: 'load keys/s', value: (loaded * 1000) / r.elapsedMs, better: 'higher' },
    { group, name: 'RSS before, largest member MiB', value: Math.max(...before) / MiB, better: 'lower' },
    { group, name: 'RSS after, largest member MiB', value: Math.max(...after) / MiB, better: 'lower' },
    { group, name: 'RSS after, all members MiB', value: after.reduce((a, b) => a + b, 0) / MiB, better: 'lower' },
  ];
  const notes = [`RSS after load per member (MiB): ${ms.map((m, i) => `${m.name} ${Math.round((after[i] ?? 0) / MiB)}`).join(', ')}`];
  if (r.errors > 0) notes.push(`${r.errors} load txns failed (last: ${r.lastError ?? '?'}); ${loaded} keys loaded`);
  return { workload: 'memory', system: ctx.target.system, figures, latencies: [{ label: `load txn of ${LOAD_BATCH}`, summary: r.latency }], errors: r.errors, notes, ...(r.members === null ? {} : { membersCpu: [{ group: `load txn of ${LOAD_BATCH}`, ...r.members }] }) };
}

/**
 * recovery: kill -9 one follower, start it again with the command line it had, and time until
 * it answers a serializable Range and until it has applied what the leader had committed when
 * it died. Polls use a fresh connection each time so gRPC reconnect backoff does not add up.
 */
export async function recovery(ctx: WorkloadContext): Promise<WorkloadResult> {
  const ms = members(ctx);
  if (ms.length < 3) throw new Error('The recovery workload needs at least 3 members (a follower can die without losing quorum)');
  const statuses = await Promise.all(ms.map((m) => statusOf(m.clientURL, 2_000, ctx.target.tls)));
  const leaderId = statuses.find((s) => s !== undefined && s.leader !== '0')?.leader;
  if (leaderId === undefined) throw new Error(`No ${ctx.target.system} member reports a leader; is the cluster healthy?`);
  let victim = -1;
  for (let i = ms.length - 1; i >= 0; i--) {
    const s = statuses[i];
    if (s !== undefined && s.header.member_id !== leaderId) {
      victim = i;
      break;
    }
  }
  const m = ms[victim];
  if (m === undefined) throw new Error('No follower answered Status');
  const pid = memberPid(m.pids(), argvOrNull);
  if (pid === null) throw new Error(`Cannot tell which of ${m.name}'s processes (${m.pids().join(', ')}) is the kv member`);
  const cl = readCommandLine(pid);
  const leader = ms[statuses.findIndex((s) => s?.header.member_id === leaderId)];
  const commitAtKill = (await statusOf(leader?.clientURL ?? m.clientURL, 2_000, ctx.target.tls))?.raftIndex ?? 0;
  const revision = statuses.find((s) => s !== undefined)?.header.revision ?? 0;
  ctx.progress.phase(`recovery of ${m.name} (kill -9, restart)`, 1, 0);
  process.kill(pid, 'SIGKILL');
  await pollUntil(`${m.name} (pid ${pid}) exits after kill -9`, async () => (isRunning(pid) ? undefined : true), { timeoutMs: 10_000, intervalMs: 10 });
  const ports = listenPorts(cl.argv);
  await pollUntil(`${m.name}'s ports ${ports.join(', ')} are free again`, async () => ((await Promise.all(ports.map(portFree))).every(Boolean) ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  const t0 = performance.now();
  const newPid = startCommandLine(cl, { logPath: m.logPath, detached: ctx.target.restartDetached });
  m.replacePid(pid, newPid);
  const serve = async (): Promise<true | undefined> => {
    if (!isRunning(newPid)) throw new Error(`${m.name} exited after restart; the end of its log:\n${logTail(m.logPath)}`);
    const c = new EtcdClient([m.clientURL], { deadlineMs: 1_000, ...(ctx.target.tls === undefined ? {} : { tls: ctx.target.tls }) });
    try {
      await c.rangeAt(0, ctx.prefix, true);
      return true;
    } catch {
      return undefined;
    } finally {
      c.close();
    }
  };
  await pollUntil(`${m.name} serves a serializable Range after restart`, serve, { timeoutMs: 600_000, intervalMs: 10, signal: ctx.signal });
  const serveMs = performance.now() - t0;
  await pollUntil(`${m.name} catches up to index ${commitAtKill}`, async () => {
    const s = await statusOf(m.clientURL, 1_000, ctx.target.tls);
    return s !== undefined && s.raftAppliedIndex >= commitAtKill ? true : undefined;
  }, { timeoutMs: 600_000, intervalMs: 10, signal: ctx.signal });
  const caughtUpMs = performance.now() - t0;
  ctx.progress.done(`${m.name} serving after ${(serveMs / 1000).toFixed(2)} s, caught up after ${(caughtUpMs / 1000).toFixed(2)} s`);
  const group = 'recovery of a follower after kill -9';
  return {
    workload: 'recovery',
    system: ctx.target.system,
    figures: [
      { group, name: 'until serving s', value: serveMs / 1000, better: 'lower' },
      { group, name: 'until caught up s', value: caughtUpMs / 1000, better: 'lower' },
    ],
    latencies: [],
    errors: 0,
    notes: [`killed ${m.name} at revision ${revision}, leader commit index ${commitAtKill}; restarted as pid ${newPid}`],
  };
}

