/**
 * types: the vocabulary of `raftkube bench pods` (pod startup latency) and `raftkube bench
 * nodes` (many simulated nodes held Ready) — their options, the per-pod timings and the reports
 * they print, plot and write as JSON.
 */
import type { LatencySummary } from '../kv/types.js';

/** WORKLOADS are what a benchmark pod runs: `sleep 3600`, or a node HTTP server with a readiness probe. */
export const WORKLOADS = ['sleep', 'http'] as const;
/** PodWorkload names one of WORKLOADS. */
export type PodWorkload = (typeof WORKLOADS)[number];

/** STARTUP_P99_GOAL_MS is the goal for created→Ready p99 on simulated nodes (Kubernetes' SLO is 5 s). */
export const STARTUP_P99_GOAL_MS = 1000;

/** BenchPodsOptions are the validated options of one `bench pods` run. */
export interface BenchPodsOptions {
  readonly dataDir: string;
  /** pods is how many pods the run creates. */
  readonly pods: number;
  /** rate is the target create rate, pods per second. */
  readonly rate: number;
  /** inFlight bounds the creates awaiting their answer; when reached, creates fall behind the rate. */
  readonly inFlight: number;
  readonly workload: PodWorkload;
  /** timeoutMs is how long to wait, after the last create, for every pod to be Ready. */
  readonly timeoutMs: number;
  readonly svgPath: string | null;
  readonly jsonPath: string | null;
  readonly progress: boolean;
  readonly quick: boolean;
}

/** PodTiming is one pod's course, each time in ms from its create being sent (null: never seen). */
export interface PodTiming {
  readonly name: string;
  /** node is where the scheduler put it ('' when it was never bound). */
  readonly node: string;
  /** sentAtMs is when its create was sent, in ms from the first create. */
  readonly sentAtMs: number;
  /** createdMs is the create's round trip. */
  readonly createdMs: number;
  readonly scheduledMs: number | null;
  readonly runningMs: number | null;
  readonly readyMs: number | null;
}

/** StartupSeries is one latency distribution over the pods that reached that point. */
export interface StartupSeries {
  /** label names it: "create (round trip)", "created → scheduled", "created → Running", "created → Ready". */
  readonly label: string;
  readonly summary: LatencySummary;
  /** missing is how many created pods never reached that point. */
  readonly missing: number;
}

/** NodeCensus is what the run saw of the cluster's nodes. */
export interface NodeCensus {
  readonly total: number;
  readonly ready: number;
  /** runtimes counts Ready nodes by container runtime ("simulated", "process"), from nodeInfo.containerRuntimeVersion. */
  readonly runtimes: Readonly<Record<string, number>>;
}

/** RunMeta says when, where and how a run happened. */
export interface RunMeta {
  readonly date: string;
  readonly command: string;
  readonly masters: number;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly quick: boolean;
}

/** BenchPodsReport is everything one `bench pods` run measured. */
export interface BenchPodsReport {
  readonly meta: RunMeta & { readonly pods: number; readonly targetRate: number; readonly workload: PodWorkload };
  readonly nodes: NodeCensus;
  /** podRuntimes counts the measured pods by the runtime of the node they ran on. */
  readonly podRuntimes: Readonly<Record<string, number>>;
  /** createRate is the achieved create rate (pods per second from the first create sent to the last answered). */
  readonly createRate: number;
  readonly series: readonly StartupSeries[];
  /** goal is the created→Ready p99 against STARTUP_P99_GOAL_MS (null unless every pod ran on simulated nodes). */
  readonly goal: { readonly limitMs: number; readonly p99: number; readonly met: boolean } | null;
  readonly pods: readonly PodTiming[];
  readonly errors: readonly string[];
  readonly notes: readonly string[];
}

/** BenchNodesOptions are the validated options of one `bench nodes` run. */
export interface BenchNodesOptions {
  readonly dataDir: string;
  /** nodes is how many Ready simulated nodes the cluster must have. */
  readonly nodes: number;
  /** pods is how many pods must run on them throughout the hold. */
  readonly pods: number;
  readonly holdMs: number;
  /** checkEveryMs is the period of the checks during the hold. */
  readonly checkEveryMs: number;
  /** leaseStaleMs: a Lease not renewed for longer than this counts as stale (the node's leaseDurationSeconds by default). */
  readonly leaseStaleMs: number | null;
  readonly rate: number;
  readonly inFlight: number;
  /** readyTimeoutMs bounds the wait for the nodes to be Ready and for the pods to run. */
  readonly readyTimeoutMs: number;
  readonly jsonPath: string | null;
  readonly progress: boolean;
  readonly quick: boolean;
}

/** HoldCheck is one check during the hold. */
export interface HoldCheck {
  /** atMs is the time of the check from the start of the hold. */
  readonly atMs: number;
  readonly nodesReady: number;
  readonly leasesFresh: number;
  /** maxLeaseLagMs is the oldest Lease renewal at that moment (now − renewTime). */
  readonly maxLeaseLagMs: number;
  readonly podsRunning: number;
  readonly podsReady: number;
  /** agentCpuPct is the simulated-nodes process's CPU use since the previous check (% of one core), null when unknown. */
  readonly agentCpuPct: number | null;
  readonly agentRssMiB: number | null;
}

/** ProcessUse is a process's resident memory and CPU time. */
export interface ProcessUse {
  readonly pid: number;
  readonly rssMiB: number;
  readonly cpuSeconds: number;
}

/** BenchNodesReport is everything one `bench nodes` run measured, and its verdict. */
export interface BenchNodesReport {
  readonly meta: RunMeta & { readonly nodes: number; readonly pods: number; readonly holdSeconds: number };
  readonly census: NodeCensus;
  /** agentPid is the simulated-nodes process (cluster.json's `sim` node entry), null if none. */
  readonly agentPid: number | null;
  readonly createSeconds: number;
  /** allRunningSeconds is when every pod had been seen Running and Ready, from the first create (null: not within the timeout). */
  readonly allRunningSeconds: number | null;
  readonly checks: readonly HoldCheck[];
  /** leaseRenewGapMs summarises, over the hold, the time between two renewals of a node's Lease as the watcher saw them. */
  readonly leaseRenewGapMs: LatencySummary;
  readonly leaseStaleMs: number;
  readonly agentBefore: ProcessUse | null;
  readonly agentAfter: ProcessUse | null;
  /** agentCpuPctHold is the simulated-nodes process's mean CPU over the hold, % of one core. */
  readonly agentCpuPctHold: number | null;
  /** failures are the broken checks; empty means the run passed. */
  readonly failures: readonly string[];
  readonly notes: readonly string[];
}
