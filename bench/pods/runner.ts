/**
 * runner: one run of `raftkube bench pods` — pod startup latency. It checks the cluster has Ready
 * nodes (and which runtime they run), makes a throwaway namespace, opens a watch on it, creates
 * the pods at the target rate for the scheduler to place, and for every pod takes from the
 * watcher the moments it was seen bound, Running and Ready, each timed from its create being
 * sent (Kubernetes' pod startup SLO counts from creation, through scheduling, to the watcher
 * seeing the pod run). Then it deletes the pods and the namespace, also after an error or Ctrl-C.
 */
import { LatencyRecorder } from '../kv/histogram.js';
import type { Progress } from '../kv/progress.js';
import { InterruptedError } from '../kv/runner.js';
import { finishMeta, formatCensus, makeNamespace, openCluster, removeNamespace, startMeta, takeCensus } from './cluster.js';
import { PodTracker } from './tracker.js';
import { STARTUP_P99_GOAL_MS, type BenchPodsOptions, type BenchPodsReport, type PodTiming, type StartupSeries } from './types.js';
import { createPods, podName, type CreateOutcome } from './workload.js';

/** interruptible turns SIGINT/SIGTERM into an abort for the length of `run`. */
export async function interruptible<T>(progress: Progress, what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) return;
    ac.abort();
    progress.log(`Interrupted: ${what} (Ctrl-C again to leave them).`);
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const v = await run(ac.signal);
    if (ac.signal.aborted) throw new InterruptedError('Interrupted');
    return v;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function series(label: string, values: readonly (number | null)[]): StartupSeries {
  const rec = new LatencyRecorder();
  let missing = 0;
  for (const v of values) {
    if (v === null) missing++;
    else rec.recordMs(v);
  }
  return { label, summary: rec.summary(), missing };
}

/** timingsOf joins the creates with what the watcher saw. */
export function timingsOf(creates: readonly CreateOutcome[], tracker: Pick<PodTracker, 'get'>, t0: number): PodTiming[] {
  return creates
    .filter((c) => c.error === null)
    .map((c) => {
      const name = podName(c.index);
      const s = tracker.get(name);
      const since = (at: number | null | undefined): number | null => (at === null || at === undefined ? null : Math.max(0, at - c.sentAt));
      return { name, node: s?.node ?? '', sentAtMs: c.sentAt - t0, createdMs: c.tookMs, scheduledMs: since(s?.scheduledAt), runningMs: since(s?.runningAt), readyMs: since(s?.readyAt) };
    });
}

/** runBenchPods runs the benchmark against the cluster in `o.dataDir`; it rejects with InterruptedError after Ctrl-C (once cleaned up). */
export async function runBenchPods(o: BenchPodsOptions, io: { readonly progress: Progress; readonly command: string; readonly onReport?: (r: BenchPodsReport) => void }): Promise<BenchPodsReport> {
  const { progress } = io;
  const cluster = openCluster(o.dataDir);
  const meta = startMeta(io.command, cluster.target.masters.length, o.quick);
  const notes: string[] = [];
  const errors: string[] = [];
  let namespace: string | null = null;
  let tracker: PodTracker | null = null;
  let sent = 0;
  try {
    const report = await interruptible(progress, 'deleting the benchmark pods and namespace', async (signal) => {
      const before = await takeCensus(cluster.admin);
      if (before.census.ready === 0) throw new Error(`The cluster has no Ready node (${formatCensus(before.census)}); start it with nodes, e.g. raftkube up --runtime simulated --nodes 100, or raftkube up --nodes 2`);
      progress.log(`Nodes: ${formatCensus(before.census)}`);
      namespace = await makeNamespace(cluster.admin, 'raftkube-bench-pods');
      tracker = new PodTracker({ client: cluster.admin, namespace });
      await tracker.start();
      progress.log(`Namespace ${namespace}: ${o.pods.toLocaleString('en-US')} pods (${o.workload}) at ${o.rate} pods/s through ${cluster.clients.length} apiservers`);

      progress.phase(`creating ${o.pods.toLocaleString('en-US')} pods`, o.pods, 0);
      const t0 = performance.now();
      const creates = await createPods({
        clients: cluster.clients,
        namespace,
        count: o.pods,
        rate: o.rate,
        inFlight: o.inFlight,
        workload: o.workload,
        signal,
        onDone: (c, done) => {
          if (c.error !== null && errors.length < 20) errors.push(`${podName(c.index)}: ${c.error}`);
          progress.update(done);
        },
      });
      sent = creates.length;
      const created = creates.filter((c) => c.error === null).length;
      const lastAnswer = Math.max(t0, ...creates.map((c) => c.sentAt + c.tookMs));
      const createRate = created / Math.max(0.001, (lastAnswer - t0) / 1000);
      const failed = creates.length - created;
      progress.done(`${created.toLocaleString('en-US')} created at ${createRate.toFixed(0)} pods/s${failed > 0 ? `, ${failed} failed` : ''}`);

      const t = tracker;
      // The namespace holds the benchmark's pods only: the tracker's count is theirs.
      const readyCount = (): number => t.everReady;
      progress.phase(`waiting for ${created.toLocaleString('en-US')} pods to be Ready`, created, o.timeoutMs);
      const deadline = performance.now() + o.timeoutMs;
      const ticker = setInterval(() => progress.update(readyCount()), 250);
      const allReady = await t.until(() => signal.aborted || readyCount() === created, deadline).finally(() => clearInterval(ticker));
      const ready = readyCount();
      progress.done(allReady && !signal.aborted ? `all Ready after ${((performance.now() - t0) / 1000).toFixed(1)} s` : `${ready} of ${created} Ready`);
      if (!signal.aborted && ready < created) notes.push(`${created - ready} of ${created} pods were not seen Ready within ${o.timeoutMs / 1000} s of the last create${t.lastError === null ? '' : ` (last watch error: ${t.lastError})`}`);
      if (t.restarts > 0) notes.push(`the watch was reopened ${t.restarts} time${t.restarts === 1 ? '' : 's'}; ${t.relisted} first sightings came from a relist and are stamped with its time`);

      const pods = timingsOf(creates, t, t0);
      const after = await takeCensus(cluster.admin);
      const podRuntimes: Record<string, number> = {};
      for (const p of pods) {
        if (p.node === '') continue;
        const rt = after.runtimeOfNode.get(p.node) ?? 'unknown';
        podRuntimes[rt] = (podRuntimes[rt] ?? 0) + 1;
      }
      const list = [
        series('create (round trip)', pods.map((p) => p.createdMs)),
        series('created → scheduled', pods.map((p) => p.scheduledMs)),
        series('created → Running', pods.map((p) => p.runningMs)),
        series('created → Ready', pods.map((p) => p.readyMs)),
      ];
      const readySeries = list[3]!;
      const onlySimulated = Object.keys(podRuntimes).length === 1 && podRuntimes['simulated'] !== undefined;
      const goal = onlySimulated && readySeries.summary.count > 0 ? { limitMs: STARTUP_P99_GOAL_MS, p99: readySeries.summary.p99, met: readySeries.missing === 0 && readySeries.summary.p99 < STARTUP_P99_GOAL_MS } : null;
      if (failed > 0) notes.push(`${failed} creates failed and are left out`);
      const behind = creates.length > 0 ? creates[creates.length - 1]!.sentAt - t0 - ((creates.length - 1) * 1000) / o.rate : 0;
      if (behind > 1000) notes.push(`the creates fell ${(behind / 1000).toFixed(1)} s behind the target rate (at most ${o.inFlight} awaiting an answer at once)`);
      return {
        meta: { ...finishMeta(meta), pods: o.pods, targetRate: o.rate, workload: o.workload },
        nodes: before.census,
        podRuntimes,
        createRate,
        series: list,
        goal,
        pods,
        errors,
        notes,
      };
    });
    io.onReport?.(report);
    return report;
  } finally {
    (tracker as PodTracker | null)?.stop();
    if (namespace !== null) await removeNamespace(cluster, namespace, sent, progress);
    cluster.close();
  }
}
