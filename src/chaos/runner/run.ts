/**
 * run: `raftkube chaos run` from start to verdict. It starts its own cluster in a temporary
 * directory (or uses the given endpoints), runs the kv workload and a watcher while the nemesis
 * follows the seeded schedule, heals everything, lets the cluster recover, reads every key one
 * last time, stops the cluster, runs the checks and writes the report. Whatever happens (an
 * error, Ctrl-C), every fault is healed, every member stopped and every namespace removed.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../../kv/client/etcd-client.js';
import { UNSAFE_LOCAL_READS_ENV } from '../../kv/server/kv-server.js';
import { Nemesis } from '../nemesis/nemesis.js';
import { NetnsNetwork } from '../nemesis/netns.js';
import { formatSchedule, NETWORK_FAULTS, planSchedule, type FaultKind, type ScheduledFault } from '../nemesis/schedule.js';
import type { RunProgress } from '../report/progress.js';
import { exitCodeOf, type CheckVerdict } from '../report/verdicts.js';
import { writeReport } from '../report/write.js';
import { finalReads, KvWorkload, type KvWorkloadOptions } from '../workload/kv.js';
import { Watcher } from '../workload/watcher.js';
import { ChaosCluster } from './cluster.js';
import type { WatchRecord } from '../checker/watch.js';
import { monotonicClock, Recorder, type HistoryOp } from './recorder.js';

/** NetChoice says where members run: namespaces when network faults need them (auto), or as told. */
export type NetChoice = 'auto' | 'netns' | 'loopback';


/** RECOVERY_MS bounds how long the cluster may take to be whole again after the last heal. */
const RECOVERY_MS = 60_000;

/** ChaosRunOptions are the validated flags of `chaos run`. */
export interface ChaosRunOptions {
  readonly masters: number;
  readonly durationMs: number;
  readonly seed: number;
  readonly faults: readonly FaultKind[];
  readonly reportDir: string;
  /** endpoints run the workload against an existing etcd-v3 cluster (no faults). */
  readonly endpoints: readonly string[] | null;
  readonly net: NetChoice;
  readonly basePort: number;
  /** staleReads starts the members in the deliberately broken test-only mode. */
  readonly staleReads: boolean;
  readonly workload: Omit<KvWorkloadOptions, 'prefix' | 'seed'>;
  readonly command: string;
}

/** CheckInput is what the checks get. */
export interface CheckInput {
  readonly historyPath: string;
  readonly ops: readonly HistoryOp[];
  readonly watch: readonly WatchRecord[];
  readonly finalValues: Readonly<Record<string, number | null>>;
}

/** CheckFn runs every check on a recorded run. */
export type CheckFn = (input: CheckInput) => Promise<CheckVerdict[]>;

/** ChaosRunResult is how the run ended. */
export interface ChaosRunResult {
  readonly exitCode: 0 | 1 | 2;
  readonly verdicts: readonly CheckVerdict[];
  readonly reportDir: string;
  readonly summary: string;
}

/** ChaosRunError is a run that could not start (bad environment), with what to do. */
export class ChaosRunError extends Error {
  override readonly name = 'ChaosRunError';
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline || signal.aborted) return false;
    await sleepUnless(200, signal);
  }
}

/** runChaos carries out one run; it never leaves a process or a namespace behind. */
export async function runChaos(o: ChaosRunOptions, check: CheckFn, progress: RunProgress): Promise<ChaosRunResult> {
  mkdirSync(o.reportDir, { recursive: true });
  const abort = new AbortController();
  const onSignal = (): void => {
    if (!abort.signal.aborted) progress.log('Interrupted: healing every fault and stopping the cluster (Ctrl-C again does not hurry it)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const notes: string[] = [];
  const loadAtStart = loadavg()[0] ?? 0;
  const own = o.endpoints === null;
  const needsNet = o.faults.some((f) => NETWORK_FAULTS.includes(f));
  const dataDir = mkdtempSync(join(tmpdir(), 'raftkube-chaos-'));
  let net: NetnsNetwork | null = null;
  let cluster: ChaosCluster | null = null;
  let client: EtcdClient | null = null;
  let nemesis: Nemesis | null = null;
  let netMode = own ? 'members as processes on loopback' : `external endpoints ${o.endpoints.join(',')}`;
  let recorder: Recorder | null = null;
  try {
    if (own && (o.net === 'netns' || (o.net === 'auto' && needsNet))) {
      // Another run may hold this tag's names and subnet: try a few.
      let made = await NetnsNetwork.create(o.masters, process.pid % 200);
      for (let k = 1; k < 5 && !made.ok && /exists/i.test(made.error); k++) made = await NetnsNetwork.create(o.masters, (process.pid + 37 * k) % 200);
      if (!made.ok) {
        throw new ChaosRunError(`Network namespaces could not be set up (${made.error}); partition, delay and loss need them (run as root with \`ip\` and \`tc\`), or leave those faults out of --faults`);
      }
      net = made.value;
      netMode = made.value.mode;
    }
    const names = own ? Array.from({ length: o.masters }, (_, i) => `m${i + 1}`) : o.endpoints.map((e) => e);
    const schedule: ScheduledFault[] = own ? planSchedule({ seed: o.seed, durationMs: o.durationMs, kinds: o.faults, members: o.masters }) : [];
    progress.log(`Seed ${o.seed}: ${schedule.length} faults over ${(o.durationMs / 1000).toFixed(0)} s (${netMode})\n${formatSchedule(schedule, names).trimEnd()}`);

    let startRevision = 1;
    if (own) {
      cluster = new ChaosCluster({ dataDir, masters: o.masters, basePort: o.basePort, network: net, memberArgs: [], env: o.staleReads ? { [UNSAFE_LOCAL_READS_ENV]: '1' } : {} });
      progress.status(`starting ${o.masters} members in ${dataDir}`);
      cluster.startAll();
      const healthy = await cluster.waitHealthy(90_000, () => abort.signal.aborted);
      if (healthy === null) throw new ChaosRunError(`The cluster did not become healthy within 90 s; member logs are in ${dataDir}`);
      progress.log(`Cluster up: leader ${healthy.leaderName}, term ${healthy.term}`);
      client = new EtcdClient(cluster.clientURLs, { deadlineMs: o.workload.timeoutMs });
    } else {
      client = new EtcdClient(o.endpoints, { deadlineMs: o.workload.timeoutMs });
    }
    const prefix = `/raftkube-chaos/${o.seed}-${Date.now()}/`;
    if (!own) startRevision = (await client.range(prefix)).header.revision + 1;

    const clock = monotonicClock();
    const rec = new Recorder({ clock, historyPath: join(o.reportDir, 'history.jsonl'), watchPath: join(o.reportDir, 'watch.jsonl') });
    recorder = rec;
    const workload = new KvWorkload(client, rec, { ...o.workload, prefix, seed: o.seed });
    const watcher = new Watcher(client, rec, { prefix, startRevision });
    nemesis = new Nemesis(schedule, cluster ?? { names, kill: async () => {}, restart() {}, pause() {}, resume() {}, leader: async () => null, replaceMember: () => Promise.reject(new Error('BUG: no cluster of our own to replace a member in')) }, net, clock, (l) => progress.log(l));
    watcher.start();
    workload.start();
    const nemesisDone = nemesis.run(abort.signal);
    const ticker = setInterval(() => {
      const s = workload.stats;
      const fault = nemesis?.current;
      progress.status(`[${(clock.nowNs() / 1e9).toFixed(0)}/${(o.durationMs / 1000).toFixed(0)}s] ok ${s.ok} · fail ${s.fail} · info ${s.info} · watch ${watcher.stats.events} events, ${watcher.stats.reconnects} reconnects${fault === null || fault === undefined ? '' : ` · fault #${fault.seq} ${fault.description}`}`);
    }, 500);
    await sleepUnless(o.durationMs, abort.signal);
    await nemesisDone;
    await nemesis.healAll();
    const healedAt = Date.now();
    clearInterval(ticker);
    progress.status('stopping the workload');
    await workload.stop();
    const endNs = clock.nowNs();

    // Recovery: every member healthy again, then one read of every key, then the watcher catches up.
    progress.status('waiting for the cluster to recover');
    let recovery: CheckVerdict | null = null;
    if (cluster !== null) {
      const healthy = await cluster.waitHealthy(RECOVERY_MS, () => abort.signal.aborted);
      recovery = healthy === null
        ? { check: 'recovery', result: 'violation', summary: `the cluster was not healthy again (every member answering, a leader known) within ${RECOVERY_MS / 1000} s of the last heal` }
        : { check: 'recovery', result: 'pass', summary: `every member healthy, leader ${healthy.leaderName}, ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the last heal` };
    }
    progress.status('reading every key');
    const keys = workload.keysUsed();
    const unread = abort.signal.aborted ? keys : await finalReads(client, rec, prefix, keys, { deadlineMs: 30_000 });
    const finalValues: Record<string, number | null> = {};
    for (const op of rec.ops.items) if (op.final === true && op.type === 'ok') finalValues[op.key] = op.value as number | null;
    progress.status('waiting for the watcher to catch up');
    let last = 0;
    try {
      last = (await client.range(prefix)).header.revision;
    } catch (err: unknown) {
      notes.push(`Could not read the final revision for the watcher (${err instanceof Error ? err.message : String(err)}).`);
    }
    const reconnectAt = Date.now() + 5000;
    const caught = await waitUntil(() => {
      if (Date.now() > reconnectAt && watcher.stats.reconnects === 0) watcher.reconnect();
      return watcher.caughtUp(last);
    }, 30_000, abort.signal);
    if (!caught) notes.push(`The watcher had not caught up with revision ${last} within 30 s (it reached ${watcher.stats.nextRevision - 1}).`);
    await watcher.stop();
    rec.close();
    if (abort.signal.aborted) notes.push('The run was interrupted; its history is partial.');

    // The cluster is stopped before the checks: they can take a while and need no members.
    progress.status('stopping the cluster');
    client.close();
    client = null;
    await cluster?.stop();
    if (cluster !== null) for (const n of cluster.names) if (existsSync(join(dataDir, `${n}.log`))) copyFileSync(join(dataDir, `${n}.log`), join(o.reportDir, `${n}.log`));
    cluster = null;
    await net?.destroy();
    net = null;

    progress.status('checking the history');
    const verdicts = abort.signal.aborted
      ? [{ check: 'run', result: 'unknown' as const, summary: 'interrupted before the end; not checked' }]
      : [...(recovery === null ? [] : [recovery]), ...(await check({ historyPath: join(o.reportDir, 'history.jsonl'), ops: rec.ops.items, watch: rec.watch.items, finalValues }))];
    const exitCode = exitCodeOf(verdicts);
    const report = writeReport(o.reportDir, {
      command: o.command, seed: o.seed, durationMs: o.durationMs, members: names, faults: o.faults, netMode, schedule, applied: nemesis.applied, endNs,
      watch: { events: watcher.stats.events, reconnects: watcher.stats.reconnects }, finalValues, unreadKeys: unread, notes,
      load: { start: loadAtStart, end: loadavg()[0] ?? 0, cores: cpus().length },
    }, rec.ops.items, verdicts, exitCode);
    progress.close();
    return { exitCode, verdicts, reportDir: o.reportDir, summary: report.summary };
  } finally {
    progress.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    recorder?.close();
    client?.close();
    if (cluster !== null) {
      try {
        await nemesis?.healAll();
      } catch {
        // Stopping the members below ends every process fault anyway.
      }
      await cluster.stop();
      for (const n of cluster.names) if (existsSync(join(dataDir, `${n}.log`))) copyFileSync(join(dataDir, `${n}.log`), join(o.reportDir, `${n}.log`));
    }
    await net?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
