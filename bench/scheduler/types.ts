/**
 * types: the vocabulary of `raftkube bench scheduler` — its options, the figures of each phase
 * and the report it prints, plots and writes as JSON.
 */
import type { LatencySummary } from '../kv/types.js';
import type { CycleResult } from './cycle.js';

/** PHASES are the benchmark's parts in the order a run takes them. */
export const PHASES = ['cycle', 'pods', 'deployment'] as const;
/** PhaseName names one part: the in-process scheduler alone, pods through the cluster, a Deployment. */
export type PhaseName = (typeof PHASES)[number];

/** PODS_PER_SECOND_GOAL is issue 8's throughput goal. */
export const PODS_PER_SECOND_GOAL = 1000;
/** DEPLOYMENT_SECONDS_GOAL is issue 8's goal for a 1,000-replica Deployment to become available. */
export const DEPLOYMENT_SECONDS_GOAL = 10;

/** BenchSchedulerOptions are the validated options of one run. */
export interface BenchSchedulerOptions {
  readonly dataDir: string;
  readonly phases: readonly PhaseName[];
  /** pods is how many pods the pods phase creates (10,000). */
  readonly pods: number;
  /** replicas is the Deployment's size (1,000). */
  readonly replicas: number;
  /** concurrency is how many creates the pods phase keeps in flight (64). */
  readonly concurrency: number;
  /** timeoutMs bounds the wait for every pod bound (pods phase) or every replica available (deployment phase). */
  readonly timeoutMs: number;
  readonly svgPath: string | null;
  readonly jsonPath: string | null;
  readonly progress: boolean;
  readonly quick: boolean;
}

/** Point is [seconds since the phase's start, count]. */
export type Point = readonly [seconds: number, count: number];

/** CpuSeconds is CPU time (user + system) per kind of cluster process over a phase, summed over masters. */
export type CpuSeconds = Readonly<Record<string, number>>;

/** NodeHealthResult is how the nodes fared during a phase: Ready at its start, and how many were seen not Ready (at its start or during it). */
export interface NodeHealthResult {
  readonly readyAtStart: number;
  readonly notReadyDuring: number;
}

/** PodsPhaseResult is the pods phase: pods created through the apiservers, bound by the cluster's scheduler. */
export interface PodsPhaseResult {
  readonly pods: number;
  readonly concurrency: number;
  /** createSeconds is from the first create sent to the last create acknowledged. */
  readonly createSeconds: number;
  readonly createsPerSecond: number;
  /** createErrors counts creates the apiservers refused (those pods are not waited for). */
  readonly createErrors: number;
  /** createdTwice counts creates answered 409 AlreadyExists: an earlier attempt had taken effect, so the pod is waited for. */
  readonly createdTwice: number;
  /** bound is how many pods the watch saw bound (spec.nodeName set) before the wait ended. */
  readonly bound: number;
  readonly allBound: boolean;
  /** seconds is from the first create sent to the last pod bound (to the timeout when not all were). */
  readonly seconds: number;
  /** podsPerSecond is bound / seconds: pods from created to bound per second. */
  readonly podsPerSecond: number;
  /** createdToBound is per pod: from its create being sent to the watch seeing it bound. */
  readonly createdToBound: LatencySummary;
  /** cpu is the cluster processes' CPU time over the phase. */
  readonly cpu: CpuSeconds;
  readonly nodes: NodeHealthResult;
  readonly created: readonly Point[];
  readonly boundOverTime: readonly Point[];
}

/** DeploymentPhaseResult is the deployment phase: one Deployment of `replicas` pods. */
export interface DeploymentPhaseResult {
  readonly replicas: number;
  readonly available: boolean;
  /** seconds is from the create sent to status.availableReplicas == replicas (to the timeout when never). */
  readonly seconds: number;
  /** availableReplicas is the last value the watch saw. */
  readonly availableReplicas: number;
  readonly bound: number;
  readonly ready: number;
  /** boundAtMs and readyAtMs are per pod, ms after the create was sent, sorted (when each pod was bound and Ready). */
  readonly boundAtMs: readonly number[];
  readonly readyAtMs: readonly number[];
  readonly cpu: CpuSeconds;
  readonly nodes: NodeHealthResult;
  readonly boundOverTime: readonly Point[];
  readonly readyOverTime: readonly Point[];
  readonly availableOverTime: readonly Point[];
}

/** GoalResult is a goal of issue 8 and whether the run met it. */
export interface GoalResult {
  readonly goal: string;
  readonly value: number;
  readonly met: boolean;
}

/** BenchSchedulerMeta says when, where and how a run happened. */
export interface BenchSchedulerMeta {
  readonly date: string;
  readonly command: string;
  readonly masters: number;
  /** readyNodes is how many Nodes were Ready when the run started. */
  readonly readyNodes: number;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly quick: boolean;
}

/** BenchSchedulerReport is everything one run measured. */
export interface BenchSchedulerReport {
  readonly meta: BenchSchedulerMeta;
  readonly cycle: CycleResult | null;
  readonly pods: PodsPhaseResult | null;
  readonly deployment: DeploymentPhaseResult | null;
  readonly goals: readonly GoalResult[];
  readonly notes: readonly string[];
}
