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
import { ProxyNetwork } from '../nemesis/proxy.js';
import { DISK_FAULTS, formatSchedule, NETWORK_FAULTS, planSchedule, type FaultKind, type ScheduledFault } from '../nemesis/schedule.js';
import type { RunProgress } from '../report/progress.js';
import { exitCodeOf, type CheckVerdict } from '../report/verdicts.js';
import { writeReport } from '../report/write.js';
import { finalReads, KvWorkload, type KvWorkloadOptions } from '../workload/kv.js';
import { Watcher } from '../workload/watcher.js';
import { DEFAULT_K8S_WORKLOAD, K8sWorkload, type K8sOp } from '../workload/k8s.js';
import { KubeRest } from '../../cli/kube-rest.js';
import { ChaosCluster } from './cluster.js';
import { startControlPlane } from './control-plane.js';
import { runK8sChecks } from './k8s-checks.js';
import type { WatchRecord } from '../checker/watch.js';
import { JsonlSink, monotonicClock, Recorder, type HistoryOp } from './recorder.js';

/**
 * NetChoice says how network faults are injected: in namespaces, through a TCP proxy on every
 * link between members, or not at all (loopback). auto: namespaces when a network fault is asked
 * for and they can be made, else the proxy; plain loopback when no network fault is asked for.
 */
export type NetChoice = 'auto' | 'netns' | 'proxy' | 'loopback';

/** WorkloadKind says what the clients do: etcd operations, Kubernetes objects, or both at once. */
export type WorkloadKind = 'kv' | 'k8s' | 'both';

/** SIMULATED_NODES is how many simulated nodes run the k8s workload's pods. */
const SIMULATED_NODES = 3;

/** K8S_REQUEST_TIMEOUT_MS is the k8s workload's deadline per request (an apiserver write is an etcd write and more). */
const K8S_REQUEST_TIMEOUT_MS = 5000;

/** CONVERGE_MS bounds how long the Deployments may take to settle after recovery. */
const CONVERGE_MS = 120_000;


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
  readonly kind: WorkloadKind;
  readonly command: string;
}

/** CheckInput is what the checks get. */
export interface CheckInput {
  readonly historyPath: string;
  readonly ops: readonly HistoryOp[];
  readonly watch: readonly WatchRecord[];
  readonly finalValues: Readonly<Record<string, number | null>>;
  /** watchCaughtUp says the watcher saw the whole run (up to the revision read after recovery). */
  readonly watchCaughtUp: boolean;
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

/** copyLogs keeps every process's log with the report. */
function copyLogs(cluster: ChaosCluster, dataDir: string, reportDir: string): void {
  for (const n of [...cluster.names, ...cluster.companionNames]) if (existsSync(join(dataDir, `${n}.log`))) copyFileSync(join(dataDir, `${n}.log`), join(reportDir, `${n}.log`));
}

/** K8S_PROCESS_BASE keeps the k8s workload's process ids apart from the kv workload's in the timeline. */
const K8S_PROCESS_BASE = 1_000_000;

/** asTimelineOps shows the k8s requests in the report's timeline and availability figures, as writes. */
function asTimelineOps(ops: readonly K8sOp[]): HistoryOp[] {
  return ops.filter((op) => op.time >= 0).map((op) => ({ process: K8S_PROCESS_BASE + op.process, type: op.type, f: 'write', key: `k8s:${op.key}`, value: op.value, time: op.time, ...(op.error === undefined ? {} : { error: op.error }) }));
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
  let proxy: ProxyNetwork | null = null;
  let cluster: ChaosCluster | null = null;
  let client: EtcdClient | null = null;
  let nemesis: Nemesis | null = null;
  let netMode = own ? 'members as processes on loopback (no network faults)' : `external endpoints ${o.endpoints.join(',')}`;
  let recorder: Recorder | null = null;
  try {
    if (own && (o.net === 'netns' || (o.net === 'auto' && needsNet))) {
      // Another run may hold this tag's names and subnet: try a few.
      let made = await NetnsNetwork.create(o.masters, process.pid % 200);
      for (let k = 1; k < 5 && !made.ok && /exists/i.test(made.error); k++) made = await NetnsNetwork.create(o.masters, (process.pid + 37 * k) % 200);
      if (made.ok) {
        net = made.value;
        netMode = made.value.mode;
      } else if (o.net === 'netns') {
        throw new ChaosRunError(`Network namespaces could not be set up (${made.error}); --net netns needs root with \`ip\` and \`tc\` (or use --net proxy, which needs neither)`);
      } else {
        progress.log(`Network namespaces could not be set up (${made.error}); injecting network faults through a TCP proxy instead`);
        notes.push(`Network namespaces could not be set up (${made.error}); network faults went through the TCP proxy.`);
      }
    }
    if (own) {
      cluster = new ChaosCluster({
        dataDir, masters: o.masters, basePort: o.basePort, network: net, memberArgs: [],
        env: o.staleReads ? { [UNSAFE_LOCAL_READS_ENV]: '1' } : {},
        memberEnv: (i) => proxy?.memberEnv(i) ?? {},
        failpoints: o.faults.some((f) => DISK_FAULTS.includes(f)),
      });
      if (net === null && (o.net === 'proxy' || (o.net === 'auto' && needsNet))) {
        // NB: proxy listeners take ephemeral ports; keep them off the ports the run binds itself
        // later (members, apiservers and balancer, all within 64 of --base-port).
        proxy = await ProxyNetwork.create(cluster.plans, { seed: o.seed, avoidPorts: Array.from({ length: 64 }, (_, k) => o.basePort + k) });
        netMode = proxy.mode;
      }
    }
    const names = own ? Array.from({ length: o.masters }, (_, i) => `m${i + 1}`) : o.endpoints.map((e) => e);
    const schedule: ScheduledFault[] = own ? planSchedule({ seed: o.seed, durationMs: o.durationMs, kinds: o.faults, members: o.masters }) : [];
    progress.log(`Seed ${o.seed}: ${schedule.length} faults over ${(o.durationMs / 1000).toFixed(0)} s (${netMode})\n${formatSchedule(schedule, names).trimEnd()}`);

    let startRevision = 1;
    if (cluster !== null) {
      progress.status(`starting ${o.masters} members in ${dataDir}`);
      cluster.startAll();
      const healthy = await cluster.waitHealthy(90_000, () => abort.signal.aborted);
      if (healthy === null) throw new ChaosRunError(`The cluster did not become healthy within 90 s; member logs are in ${dataDir}`);
      progress.log(`Cluster up: leader ${healthy.leaderName}, term ${healthy.term}`);
      client = new EtcdClient(cluster.clientURLs, { deadlineMs: o.workload.timeoutMs });
    } else if (o.endpoints !== null) {
      client = new EtcdClient(o.endpoints, { deadlineMs: o.workload.timeoutMs });
    } else {
      throw new Error('BUG: a run with neither its own cluster nor endpoints');
    }
    const prefix = `/raftkube-chaos/${o.seed}-${Date.now()}/`;
    if (!own) startRevision = (await client.range(prefix)).header.revision + 1;

    let k8s: { readonly workload: K8sWorkload; readonly api: KubeRest; readonly sink: JsonlSink<K8sOp> } | null = null;
    if (o.kind !== 'kv' && cluster !== null) {
      const cp = await startControlPlane(cluster, { dataDir, basePort: o.basePort, nodes: SIMULATED_NODES, timeoutMs: 120_000, isStopping: () => abort.signal.aborted, status: (l) => progress.status(l) });
      if (typeof cp === 'string') throw new ChaosRunError(`The control plane did not come up: ${cp}`);
      const api = new KubeRest({ url: cp.url, caPem: cp.caPem, token: cp.token, timeoutMs: K8S_REQUEST_TIMEOUT_MS });
      const sink = new JsonlSink<K8sOp>(join(o.reportDir, 'k8s-history.jsonl'), (op) => ({ process: op.process, type: op.type, f: op.f, key: op.key, value: op.value, time: op.time }));
      const workload = new K8sWorkload(api, sink, { ...DEFAULT_K8S_WORKLOAD, seed: o.seed });
      k8s = { workload, api, sink };
      progress.status('creating the Deployments');
      if (!(await workload.setup(60_000))) throw new ChaosRunError('The workload\'s Deployments could not be created within 60 s; see the apiserver logs in the report');
      progress.log(`Control plane up: ${cluster.names.length} apiservers behind ${cp.url}, ${SIMULATED_NODES} simulated nodes, ${workload.deploymentNames.length} Deployments`);
    }
    // Time 0 of the history and the fault schedule is here, when the workload starts.
    const clock = monotonicClock();
    const rec = new Recorder({ clock, historyPath: o.kind === 'k8s' ? null : join(o.reportDir, 'history.jsonl'), watchPath: o.kind === 'k8s' ? null : join(o.reportDir, 'watch.jsonl') });
    recorder = rec;
    const workload = o.kind === 'k8s' ? null : new KvWorkload(client, rec, { ...o.workload, prefix, seed: o.seed });
    const watcher = o.kind === 'k8s' ? null : new Watcher(client, rec, { prefix, startRevision });
    nemesis = new Nemesis(schedule, cluster ?? { names, kill: async () => {}, restart() {}, pause() {}, resume() {}, leader: async () => null, replaceMember: () => Promise.reject(new Error('BUG: no cluster of our own to replace a member in')), setFailpoint: () => Promise.reject(new Error('BUG: no cluster of our own to arm failpoints in')), clearFailpoints: async () => {}, waitExit: async () => null }, net ?? proxy, clock, (l) => progress.log(l));
    watcher?.start();
    workload?.start();
    k8s?.workload.start(clock);
    const nemesisDone = nemesis.run(abort.signal);
    const ticker = setInterval(() => {
      const s = workload?.stats;
      const ks = k8s?.workload.stats;
      const fault = nemesis?.current;
      progress.status(`[${(clock.nowNs() / 1e9).toFixed(0)}/${(o.durationMs / 1000).toFixed(0)}s]${s === undefined ? '' : ` kv ok ${s.ok} · fail ${s.fail} · info ${s.info}`}${watcher === null ? '' : ` · watch ${watcher.stats.events} events, ${watcher.stats.reconnects} reconnects`}${ks === undefined ? '' : ` · k8s ok ${ks.ok} · fail ${ks.fail} · info ${ks.info}`}${fault === null || fault === undefined ? '' : ` · fault #${fault.seq} ${fault.description}`}`);
    }, 500);
    await sleepUnless(o.durationMs, abort.signal);
    await nemesisDone;
    await nemesis.healAll();
    const healedAt = Date.now();
    clearInterval(ticker);
    progress.status('stopping the workload');
    await Promise.all([workload?.stop(), k8s?.workload.stop()]);
    k8s?.sink.close();
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
    const keys = workload?.keysUsed() ?? [];
    const unread = abort.signal.aborted ? keys : await finalReads(client, rec, prefix, keys, { deadlineMs: 30_000 });
    const finalValues: Record<string, number | null> = {};
    for (const op of rec.ops.items) if (op.final === true && op.type === 'ok') finalValues[op.key] = op.value as number | null;
    let last = 0;
    let watchCaughtUp = false;
    try {
      last = (await client.range(prefix)).header.revision;
    } catch (err: unknown) {
      notes.push(`Could not read the final revision (${err instanceof Error ? err.message : String(err)}).`);
    }
    if (watcher !== null && last > 0) {
      progress.status('waiting for the watcher to catch up');
      const reconnectAt = Date.now() + 5000;
      const caught = await waitUntil(() => {
        if (Date.now() > reconnectAt && watcher.stats.reconnects === 0) watcher.reconnect();
        return watcher.caughtUp(last);
      }, 30_000, abort.signal);
      if (!caught) notes.push(`The watcher had not caught up with revision ${last} within 30 s (it reached ${watcher.stats.nextRevision - 1}).`);
      watchCaughtUp = caught;
    }
    await watcher?.stop();
    rec.close();
    // The control plane is judged while it still runs: Deployments must settle after healing.
    const k8sVerdicts: CheckVerdict[] = k8s === null || abort.signal.aborted
      ? []
      : await runK8sChecks({ api: k8s.api, client, ops: k8s.sink.items, namespace: DEFAULT_K8S_WORKLOAD.namespace, convergeMs: CONVERGE_MS, isStopping: () => abort.signal.aborted, status: (l) => progress.status(l) });
    if (abort.signal.aborted) notes.push('The run was interrupted; its history is partial.');

    // The cluster is stopped before the checks: they can take a while and need no members.
    progress.status('stopping the cluster');
    client.close();
    client = null;
    await cluster?.stop();
    if (cluster !== null) copyLogs(cluster, dataDir, o.reportDir);
    cluster = null;
    await net?.destroy();
    net = null;
    await proxy?.destroy();
    proxy = null;

    progress.status('checking the history');
    const verdicts = abort.signal.aborted
      ? [{ check: 'run', result: 'unknown' as const, summary: 'interrupted before the end; not checked' }]
      : [
          ...(recovery === null ? [] : [recovery]),
          ...(o.kind === 'k8s' ? [] : await check({ historyPath: join(o.reportDir, 'history.jsonl'), ops: rec.ops.items, watch: rec.watch.items, finalValues, watchCaughtUp })),
          ...k8sVerdicts,
        ];
    const exitCode = exitCodeOf(verdicts);
    const report = writeReport(o.reportDir, {
      command: o.command, seed: o.seed, durationMs: o.durationMs, members: names, faults: o.faults, netMode, schedule, applied: nemesis.applied, endNs,
      watch: { events: watcher?.stats.events ?? 0, reconnects: watcher?.stats.reconnects ?? 0 }, finalValues, unreadKeys: unread, notes,
      load: { start: loadAtStart, end: loadavg()[0] ?? 0, cores: cpus().length },
      workload: o.kind,
      ...(k8s === null ? {} : { k8s: { ...k8s.workload.stats, deployments: k8s.workload.deploymentNames.length } }),
    }, [...rec.ops.items, ...(k8s === null ? [] : asTimelineOps(k8s.sink.items))], verdicts, exitCode);
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
      copyLogs(cluster, dataDir, o.reportDir);
    }
    await net?.destroy();
    await proxy?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
