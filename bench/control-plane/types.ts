/**
 * types: the vocabulary of `raftkube bench api` — its options, the latency series and memory
 * readings it measures, and the report it prints, plots and writes as JSON.
 */
import type { LatencySummary } from '../kv/types.js';

/** ApiVia says which face of the apiserver a phase goes through. */
export type ApiVia = 'rest' | 'grpc';

/**
 * PHASES are the benchmark's parts, in the order a run takes them: "baseline" is the etcd layer's
 * own put and get latency at that moment; "list" includes filling the namespace and memory.
 */
export const PHASES = ['baseline', 'create', 'watch', 'list'] as const;
/** PhaseName names one part of the run. */
export type PhaseName = (typeof PHASES)[number];

/** BenchApiOptions are the validated options of one run. */
export interface BenchApiOptions {
  readonly dataDir: string;
  /** phases are the parts to run (all by default). */
  readonly phases: readonly PhaseName[];
  /** clients is the concurrency of the many-clients create phases (50). */
  readonly clients: number;
  /** watchers is the number of watchers of the many-watchers phase (1,000). */
  readonly watchers: number;
  /** pods is how many pods the namespace holds for the list and memory phases (10,000). */
  readonly pods: number;
  /** creates bounds the create phases: [1 client, many clients]. */
  readonly creates: readonly [number, number];
  /** watchCreates is how many pods each watch phase creates: [1 watcher, many watchers]. */
  readonly watchCreates: readonly [number, number];
  /** listRepeats is how many lists each list phase times. */
  readonly listRepeats: number;
  /** baseline bounds the etcd-layer baseline: seconds and operations per workload. */
  readonly baseline: { readonly durationS: number; readonly count: number };
  /** durationMs bounds each create phase. */
  readonly durationMs: number;
  readonly watchVia: ApiVia;
  readonly svgPath: string | null;
  readonly jsonPath: string | null;
  readonly progress: boolean;
  readonly quick: boolean;
}

/**
 * SeriesKind groups the latency series: the etcd-layer baseline, creates, watch deliveries timed from the create's
 * acknowledgement (the goal's measure) and from the create being sent, lists.
 */
export type SeriesKind = 'baseline' | 'create' | 'watch' | 'watch-sent' | 'list';

/** ApiSeries is one measured latency distribution. */
export interface ApiSeries {
  readonly kind: SeriesKind;
  /** label names it in the table and the plot, e.g. "create, REST, 50 clients". */
  readonly label: string;
  /** via is the face measured; 'kv' for the etcd-layer baseline. */
  readonly via: ApiVia | 'kv';
  /** concurrency is clients (create), watchers (watch) or 1 (list). */
  readonly concurrency: number;
  readonly summary: LatencySummary;
  /** rate is operations per second over the phase (creates/s; lists/s), 0 for watches. */
  readonly rate: number;
  readonly errors: number;
  readonly notes: readonly string[];
}

/** RssReading is one apiserver process's resident memory. */
export interface RssReading {
  readonly master: string;
  readonly pid: number;
  readonly kib: number;
}

/** MemoryResult is the apiservers' resident memory before pods and while holding them. */
export interface MemoryResult {
  readonly pods: number;
  readonly before: readonly RssReading[];
  readonly holding: readonly RssReading[];
  readonly afterLists: readonly RssReading[];
  readonly notes: readonly string[];
}

/** Goal is a target figure and whether the run met it. */
export interface GoalResult {
  readonly goal: string;
  readonly series: string;
  readonly value: number;
  readonly limitMs: number;
  readonly met: boolean;
}

/** BenchApiMeta says when, where and how a run happened. */
export interface BenchApiMeta {
  readonly date: string;
  readonly command: string;
  readonly masters: number;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memGiB: number;
  readonly node: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly watchVia: ApiVia;
  readonly quick: boolean;
}

/** BenchApiReport is everything one run measured. */
export interface BenchApiReport {
  readonly meta: BenchApiMeta;
  readonly series: readonly ApiSeries[];
  readonly memory: MemoryResult | null;
  readonly goals: readonly GoalResult[];
  readonly notes: readonly string[];
}

/** MUTATING_P99_GOAL_MS is the goal for create p99 (Kubernetes' own SLO is 1 s). */
export const MUTATING_P99_GOAL_MS = 50;
/** WATCH_P99_GOAL_MS is the goal for watch latency p99 at the many-watchers count. */
export const WATCH_P99_GOAL_MS = 20;
