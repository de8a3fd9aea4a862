/**
 * runner: one `raftkube bench kv` invocation — resolve raftkube's endpoints and processes,
 * start the reference etcd when asked, run each workload against each system (alternating
 * which goes first), and always stop etcd, on success, error or Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { readClusterFile, writeClusterFile, type ClusterFile } from '../../src/cli/cluster-file.js';
import { EtcdClient, type EtcdTls } from '../../src/kv/client/etcd-client.js';
import { etcdTlsOf } from '../../src/cli/etcd-pki.js';
import { etcdctlTls } from '../../src/cli/etcd-tls.js';
import { prefixEnd } from '../../src/kv/client/watch-stream.js';
import { etcdVersion, LocalEtcdCluster } from './etcd-cluster.js';
import { memory, recovery } from './heavy.js';
import { parseEndpoints, type BenchKvOptions } from './options.js';
import type { Progress } from './progress.js';
import { buildRows, type Row } from './report.js';
import { errorMessage, type MemberHandle, type Target, type WorkloadContext } from './target.js';
import { LIGHT_WORKLOADS, type LoadSpan, type WorkloadName, type WorkloadResult } from './types.js';
import { drive } from './drive.js';
import { putLatency, putThroughput, rangeLatency, watchFanout, watchLatency } from './workloads.js';

/** VALUE_SIZE is the size of every value written. */
export const VALUE_SIZE = 256;

/** KEY_ROOT is where every benchmark key lives; each run has its own prefix below it. */
export const KEY_ROOT = '/raftkube-bench-kv/';

const WORKLOAD_FNS: Record<WorkloadName, (ctx: WorkloadContext) => Promise<WorkloadResult>> = {
  'put-latency': putLatency,
  'put-throughput': putThroughput,
  'range-latency': rangeLatency,
  'watch-latency': watchLatency,
  'watch-fanout': watchFanout,
  memory,
  recovery,
};

/** BenchKvMeta describes a run for the JSON report and bench/RESULTS.md. */
export interface BenchKvMeta {
  /** date is when the run ended (ISO 8601). */
  readonly date: string;
  readonly command: string;
  readonly members: number;
  readonly workloads: readonly WorkloadName[];
  readonly durationS: number;
  /** warmupS is how long each system was driven, unmeasured, before its first workload. */
  readonly warmupS: number;
  readonly etcdVersion: string | null;
  readonly node: string;
  readonly cpus: number;
  readonly memGiB: number;
  /** load is the 1-minute load average when the run started (before any etcd) and when it ended. */
  readonly load: LoadSpan;
}

/** BenchKvReport is the outcome of a run. */
export interface BenchKvReport {
  readonly meta: BenchKvMeta;
  readonly results: readonly WorkloadResult[];
  readonly rows: readonly Row[];
}

/** InterruptedError ends a run stopped by SIGINT or SIGTERM (after cleaning up). */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** clusterDir accepts either a data directory or the cluster.json inside it. */
export function clusterDir(path: string): string {
  const p = resolve(path);
  return basename(p) === 'cluster.json' ? dirname(p) : p;
}

/** raftkubeTarget builds raftkube's target from --endpoints and/or its cluster file. */
export function raftkubeTarget(o: BenchKvOptions): Target {
  let members: MemberHandle[] | null = null;
  let endpoints = o.endpoints;
  let tls: EtcdTls | undefined;
  if (o.clusterFile !== null) {
    const dir = clusterDir(o.clusterFile);
    const file = readClusterFile(dir);
    if (file === null) throw new Error(`No cluster.json in ${o.clusterFile}; start one with raftkube up --detach --data-dir DIR`);
    let current: ClusterFile = file;
    tls = etcdTlsOf(file);
    members = file.masters.map((m, i) => ({
      name: m.name,
      clientURL: m.clientURL,
      logPath: join(dir, `${m.name}.log`),
      pids: () => current.masters[i]?.pids ?? [],
      replacePid: (oldPid: number, newPid: number) => {
        // Keep cluster.json true, so `raftkube down` stops the restarted member too.
        current = { ...current, masters: current.masters.map((x, j) => (j === i ? { ...x, pids: x.pids.map((p) => (p === oldPid ? newPid : p)) } : x)) };
        writeClusterFile(dir, current);
      },
    }));
    if (endpoints === null) {
      const e = parseEndpoints(file.etcdEndpoints.join(','));
      if (!e.ok) throw new Error(`${o.clusterFile}: ${e.error}`);
      endpoints = e.value;
    }
  }
  if (endpoints === null) throw new Error('No raftkube endpoints; pass --endpoints or --cluster-file');
  // etcdctl's flags, when given, win over the cluster file's certificates.
  if (o.tlsFiles !== null) tls = etcdctlTls(o.tlsFiles);
  return { system: 'raftkube', endpoints, members, restartDetached: true, ...(tls === undefined ? {} : { tls }) };
}

/** checkReachable fails with the endpoints that do not answer Status. */
export async function checkReachable(t: Target): Promise<void> {
  const c = new EtcdClient(t.endpoints, { deadlineMs: 3_000, ...(t.tls === undefined ? {} : { tls: t.tls }) });
  try {
    const failures = (await Promise.all(t.endpoints.map((e, i) => c.statusAt(i).then(() => null, (err: unknown) => `${e}: ${errorMessage(err)}`)))).filter((x) => x !== null);
    if (failures.length > 0) throw new Error(`${t.system} does not answer Status on every endpoint; is the cluster up?\n  ${failures.join('\n  ')}`);
  } finally {
    c.close();
  }
}

/** runBenchKv runs the whole benchmark; it rejects with InterruptedError after Ctrl-C. */
export async function runBenchKv(o: BenchKvOptions, io: { readonly progress: Progress; readonly command: string }): Promise<BenchKvReport> {
  const { progress } = io;
  const runLoadStart = oneMinuteLoad();
  const targets: Target[] = [];
  if (o.raftkube) {
    const t = raftkubeTarget(o);
    await checkReachable(t);
    targets.push(t);
  }
  const members = o.etcd?.members ?? targets[0]?.endpoints.length ?? 3;
  if (o.raftkube && o.etcd !== null && targets[0] !== undefined) {
    const rk = targets[0].members?.length ?? targets[0].endpoints.length;
    if (rk !== members) progress.log(`Note: raftkube has ${rk} members, the etcd started for comparison ${members}; the comparison is not like for like.`);
  }
  const ac = new AbortController();
  let etcd: LocalEtcdCluster | null = null;
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts === 1) {
      progress.log('Interrupted: stopping the workloads and etcd (Ctrl-C again to kill at once)');
      ac.abort();
      return;
    }
    etcd?.killNow();
    process.exit(130);
  };
  const onExit = (): void => etcd?.killNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  const clients: EtcdClient[] = [];
  const results: WorkloadResult[] = [];
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  let version: string | null = null;
  try {
    if (o.etcd !== null) {
      version = etcdVersion(o.etcd.bin);
      progress.log(`Starting etcd ${version ?? '(unknown version)'} with ${members} member${members === 1 ? '' : 's'} on loopback ...`);
      etcd = await LocalEtcdCluster.start({ members, bin: o.etcd.bin, basePort: o.etcd.basePort, signal: ac.signal });
      progress.log(`etcd is up: ${etcd.endpoints.join(',')}`);
      targets.push(etcd.target());
    }
    const value = randomBytes(VALUE_SIZE);
    const byTarget = targets.map((t) => {
      const c = new EtcdClient(t.endpoints, { spread: 'round-robin', deadlineMs: 30_000, ...(t.tls === undefined ? {} : { tls: t.tls }) });
      clients.push(c);
      return c;
    });
    if (o.warmupMs > 0 && o.workloads.some((w) => (LIGHT_WORKLOADS as readonly WorkloadName[]).includes(w))) {
      const order = targets.map((_, i) => i);
      if (o.etcdFirst) order.reverse();
      for (const i of order) {
        if (ac.signal.aborted) throw new InterruptedError('Interrupted');
        await warmUpSystem({ target: targets[i]!, client: byTarget[i]!, prefix: `${KEY_ROOT}${runId}/warm-up/`, value, progress, signal: ac.signal, durationMs: o.warmupMs });
      }
    }
    for (const [k, workload] of o.workloads.entries()) {
      // Alternate which system goes first, so neither always runs on a warmer (or busier) machine;
      // --etcd-first swaps the whole alternation, for a second run in the other order.
      const order = targets.map((_, i) => i);
      if ((k % 2 === 1) !== o.etcdFirst) order.reverse();
      for (const i of order) {
        if (ac.signal.aborted) throw new InterruptedError('Interrupted');
        const target = targets[i]!;
        const loadStart = oneMinuteLoad();
        progress.log(`${target.system}: ${workload} (load average ${loadStart.toFixed(2)})`);
        const ctx: WorkloadContext = {
          target,
          client: byTarget[i]!,
          prefix: `${KEY_ROOT}${runId}/${workload}/`,
          durationMs: o.durationMs,
          count: o.count,
          keys: o.keys,
          watchers: o.watchers,
          watchClients: o.watchClients,
          putClients: o.putClients,
          value,
          progress,
          signal: ac.signal,
        };
        try {
          const r = await WORKLOAD_FNS[workload](ctx);
          results.push({ ...r, load: { start: loadStart, end: oneMinuteLoad() } });
        } catch (err: unknown) {
          if (ac.signal.aborted) throw new InterruptedError('Interrupted');
          progress.done(`FAILED: ${errorMessage(err)}`);
          results.push({ workload, system: target.system, figures: [], latencies: [], errors: 1, notes: [`failed: ${errorMessage(err)}`], load: { start: loadStart, end: oneMinuteLoad() } });
        }
      }
    }
    if (ac.signal.aborted) throw new InterruptedError('Interrupted');
    // The memory workload leaves a million keys behind; take them out of raftkube (etcd's data goes with it).
    const rk = targets.findIndex((t) => t.system === 'raftkube');
    if (rk >= 0 && o.workloads.includes('memory')) {
      const root = `${KEY_ROOT}${runId}/`;
      await byTarget[rk]!.deleteRange(root, prefixEnd(root)).catch((err: unknown) => progress.log(`Could not delete ${root}* from raftkube: ${errorMessage(err)}`));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const c of clients) c.close();
    if (etcd !== null) {
      progress.log('Stopping etcd ...');
      await etcd.stop();
    }
    process.off('exit', onExit);
  }
  return {
    meta: {
      date: new Date().toISOString(),
      command: io.command,
      members,
      workloads: o.workloads,
      durationS: o.durationMs / 1000,
      warmupS: o.warmupMs / 1000,
      etcdVersion: version,
      node: process.version,
      cpus: cpus().length,
      memGiB: Math.round(totalmem() / 2 ** 30),
      load: { start: runLoadStart, end: oneMinuteLoad() },
    },
    results,
    rows: buildRows(results),
  };
}

/** oneMinuteLoad is the machine's 1-minute load average, rounded to hundredths as `uptime` shows it. */
export function oneMinuteLoad(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/**
 * warmUpSystem drives one system unmeasured before its first workload: puts of fresh keys and
 * linearizable gets, alternating, 4 in flight, for `durationMs`; then deletes the keys. Both
 * systems get the same; without it raftkube's first workload would be measured while V8 still
 * compiles its hot paths (its sequential put p50 falls by about half over the first 5,000 puts).
 */
async function warmUpSystem(w: Pick<WorkloadContext, 'target' | 'client' | 'prefix' | 'value' | 'progress' | 'signal' | 'durationMs'>): Promise<void> {
  const ctx: WorkloadContext = { ...w, count: null, keys: 0, watchers: 0, watchClients: 1, putClients: 1 };
  const r = await drive(ctx, {
    label: 'warm-up',
    inFlight: 4,
    count: Number.MAX_SAFE_INTEGER,
    durationMs: w.durationMs,
    op: (i) => (i % 2 === 0 ? ctx.client.put(`${ctx.prefix}${i}`, ctx.value) : ctx.client.range(`${ctx.prefix}${i - 1}`)),
    quiet: true,
  });
  w.progress.log(`${w.target.system}: warm-up, ${r.done} requests in ${(r.elapsedMs / 1000).toFixed(1)} s (not measured)`);
  // Failing to delete only leaves keys behind; say so, as the workloads' clean-up does.
  await ctx.client.deleteRange(ctx.prefix, prefixEnd(ctx.prefix)).catch((err: unknown) => w.progress.log(`Could not delete ${ctx.prefix}* from ${w.target.system}: ${errorMessage(err)}`));
}
