/**
 * runner: one run of `raftkube bench scheduler` — read the cluster, count its Ready nodes, run
 * the phases in order (the scheduler alone in this process, pods through the cluster, a
 * Deployment), and after each cluster phase delete what it made, also after an error or Ctrl-C.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import type { Progress } from '../kv/progress.js';
import { InterruptedError } from '../kv/runner.js';
import { emptyNamespace, openTarget, readyNodes } from './cluster.js';
import { runCycles, type CycleResult } from './cycle.js';
import { deploymentPhase, podsPhase, type PhaseContext } from './phases.js';
import { judgeGoals } from './report.js';
import type { BenchSchedulerOptions, BenchSchedulerReport, DeploymentPhaseResult, PodsPhaseResult } from './types.js';

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function flapping(phase: string, n: number): string {
  return `${phase}: ${n} nodes were not Ready at some point of the phase (a node whose Lease renewal comes later than the controller manager's grace period turns Unknown and the scheduler skips it), so the figures include waiting for nodes, not only scheduling`;
}

/** CLEANUP_MS bounds deleting one phase's pods and namespace. */
const CLEANUP_MS = 900_000;

/** runBenchScheduler runs the phases against the cluster in `o.dataDir`; it rejects with InterruptedError after Ctrl-C (once cleaned up). */
export async function runBenchScheduler(o: BenchSchedulerOptions, io: { readonly progress: Progress; readonly command: string }): Promise<BenchSchedulerReport> {
  const { progress } = io;
  const target = openTarget(o.dataDir, 60_000);
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) return;
    ac.abort();
    progress.log('Interrupted: deleting the benchmark\'s pods and namespace (Ctrl-C again to leave them).');
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const loadBefore = loadavg().map(round2);
  const date = new Date().toISOString();
  const id = Date.now().toString(36);
  const notes: string[] = [];
  let cycle: CycleResult | null = null;
  let pods: PodsPhaseResult | null = null;
  let deployment: DeploymentPhaseResult | null = null;
  let nodes = 0;
  const ctx: PhaseContext = { target, progress, signal: ac.signal, timeoutMs: o.timeoutMs };
  // Each cluster phase runs in its own namespace and leaves nothing behind.
  const inNamespace = async <T>(suffix: string, run: (ns: string) => Promise<T>): Promise<T> => {
    const ns = `raftkube-bench-sched-${id}-${suffix}`;
    try {
      return await run(ns);
    } finally {
      progress.log(`  cleanup: deleting the pods and namespace ${ns}`);
      const left = await emptyNamespace(target, ns, CLEANUP_MS).catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
      if (left !== null) {
        notes.push(`cleanup: ${left}`);
        progress.log(`Cleanup failed: ${left}; delete it by hand (kubectl delete ns ${ns})`);
      }
    }
  };
  try {
    try {
      nodes = await readyNodes(target.clients[0]!);
    } catch (e: unknown) {
      throw new Error(`The apiservers of ${o.dataDir} do not answer (${e instanceof Error ? e.message : String(e)}); is the cluster up?`);
    }
    progress.log(`${target.masters} apiservers, ${nodes.toLocaleString('en-US')} Ready nodes`);
    const clusterPhases = o.phases.some((p) => p !== 'cycle');
    if (clusterPhases && nodes === 0) throw new Error(`The cluster in ${o.dataDir} has no Ready node; start it with raftkube up --runtime simulated --nodes 1000`);
    if (o.phases.includes('cycle') && !ac.signal.aborted) cycle = await runCycles(Math.max(1, nodes), o.pods, progress);
    if (o.phases.includes('pods') && !ac.signal.aborted) {
      pods = await inNamespace('pods', (namespace) => podsPhase(ctx, { namespace, pods: o.pods, concurrency: o.concurrency }));
      if (pods.nodes.notReadyDuring > 0) notes.push(flapping('pods', pods.nodes.notReadyDuring));
      if (!pods.allBound) notes.push(`pods: ${pods.bound} of the ${pods.pods - pods.createErrors} pods created were bound before the wait ended (timeout ${o.timeoutMs / 1000} s)`);
      if (pods.createdTwice > 0) notes.push(`pods: ${pods.createdTwice} creates were answered 409 AlreadyExists — an earlier attempt of the same create had taken effect (the apiserver retried it after a timeout); those pods count as created`);
      if (pods.createErrors > 0) notes.push(`pods: ${pods.createErrors} creates failed; those pods are not waited for`);
    }
    if (o.phases.includes('deployment') && !ac.signal.aborted) {
      deployment = await inNamespace('deploy', (namespace) => deploymentPhase(ctx, { namespace, replicas: o.replicas }));
      if (deployment.nodes.notReadyDuring > 0) notes.push(flapping('deployment', deployment.nodes.notReadyDuring));
      if (!deployment.available) notes.push(`deployment: ${deployment.availableReplicas} of ${deployment.replicas} replicas were available after ${o.timeoutMs / 1000} s`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    target.close();
  }
  if (ac.signal.aborted) throw new InterruptedError('Interrupted');
  if (cycle !== null) notes.push(`cycle: the scheduler's own work in this process (no apiserver; ${cycle.nodes.toLocaleString('en-US')} synthetic nodes of 32 cpu), ${cycle.cpuSeconds.toFixed(2)} CPU s for ${cycle.pods.toLocaleString('en-US')} cycles`);
  const cpu = cpus();
  return {
    meta: {
      date,
      command: io.command,
      masters: target.masters,
      readyNodes: nodes,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadBefore,
      loadAfter: loadavg().map(round2),
      quick: o.quick,
    },
    cycle,
    pods,
    deployment,
    goals: judgeGoals(pods, deployment),
    notes,
  };
}
