/**
 * types: the vocabulary of `raftkube bench kv` — workloads, the systems measured, the figures a
 * workload reports, and the latency summaries behind them.
 */
import type { GcSummary } from './client-gc.js';
import type { CpuWaitSummary } from './drive.js';
import type { MembersCpu } from './members-cpu.js';

/** LIGHT_WORKLOADS run in seconds each and make up `--workload all`. */
export const LIGHT_WORKLOADS = ['put-latency', 'put-throughput', 'range-latency', 'watch-latency', 'watch-fanout'] as const;
/** HEAVY_WORKLOADS take minutes (a million keys, a member restart); `all` includes them only with --heavy. */
export const HEAVY_WORKLOADS = ['memory', 'recovery'] as const;
/** WORKLOADS are every workload name, in the order `all` runs them. */
export const WORKLOADS = [...LIGHT_WORKLOADS, ...HEAVY_WORKLOADS] as const;
/** WorkloadName names one workload. */
export type WorkloadName = (typeof WORKLOADS)[number];

/** SYSTEMS are the systems a run can measure, in table column order. */
export const SYSTEMS = ['raftkube', 'etcd'] as const;
/** SystemName names a measured system. */
export type SystemName = (typeof SYSTEMS)[number];

/** Better says which direction of a figure is good. */
export type Better = 'lower' | 'higher';

/** LatencySummary is what a latency histogram boils down to, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Figure is one number a workload reports, e.g. "p99 ms" of "put ×64 in flight". */
export interface Figure {
  /** group is the row group in the table, e.g. "put, 64 in flight". */
  readonly group: string;
  /** name is the figure within the group, e.g. "p99 ms". */
  readonly name: string;
  readonly value: number;
  readonly better: Better;
}

/** LatencySeries is one latency distribution, kept for the SVG plot and the JSON report. */
export interface LatencySeries {
  /** label names the distribution, e.g. "put ×64". */
  readonly label: string;
  readonly summary: LatencySummary;
}

/** LoadSpan is the 1-minute load average at the start and at the end of a stretch of the run. */
export interface LoadSpan {
  readonly start: number;
  readonly end: number;
}

/** WorkloadResult is what one workload measured on one system. */
export interface WorkloadResult {
  readonly workload: WorkloadName;
  readonly system: SystemName;
  readonly figures: readonly Figure[];
  readonly latencies: readonly LatencySeries[];
  /** errors counts failed requests (they are left out of the latency figures). */
  readonly errors: number;
  /** notes says anything a reader of the figures should know (bounds hit, lost events). */
  readonly notes: readonly string[];
  /**
   * clientCpu is the benchmark process's own CPU per phase, in per cent of one core (every client
   * thread's together), its GC pauses when measured, how many client threads drove the requests
   * when more than one, and its waits for a CPU during one-at-a-time requests when measured.
   */
  readonly clientCpu?: readonly { readonly group: string; readonly percentOfCore: number; readonly gc?: GcSummary; readonly threads?: number; readonly cpuWait?: CpuWaitSummary }[];
  /**
   * membersCpu is, per phase, what the members' processes did per request (per put in the
   * fan-out): CPU time, run-queue wait and times given a CPU, from Linux schedstat; absent where
   * the benchmark does not know the processes.
   */
  readonly membersCpu?: readonly ({ readonly group: string } & MembersCpu)[];
  /**
   * load is the machine's 1-minute load average when this system's workload started and when it
   * ended: what else wanted the cores (the benchmark's own processes included while it runs).
   */
  readonly load?: LoadSpan;
}
