/**
 * options: the flags of `raftkube bench pods` and `raftkube bench nodes`, checked and resolved
 * into their options, with the full-size defaults and the --quick sizes.
 */
import type { Validated } from '../kv/options.js';
import { WORKLOADS, type BenchNodesOptions, type BenchPodsOptions, type PodWorkload } from './types.js';

/** RawBenchPodsOptions are `bench pods`' flags as commander hands them over. */
export interface RawBenchPodsOptions {
  readonly dataDir?: string;
  readonly pods?: string;
  readonly rate?: string;
  readonly inFlight?: string;
  readonly workload?: string;
  readonly timeout?: string;
  readonly svg?: string;
  readonly json?: string;
  readonly quick?: boolean;
  readonly progress?: boolean;
}

/** RawBenchNodesOptions are `bench nodes`' flags as commander hands them over. */
export interface RawBenchNodesOptions {
  readonly dataDir?: string;
  readonly nodes?: string;
  readonly pods?: string;
  readonly seconds?: string;
  readonly checkEvery?: string;
  readonly leaseStale?: string;
  readonly rate?: string;
  readonly inFlight?: string;
  readonly timeout?: string;
  readonly json?: string;
  readonly quick?: boolean;
  readonly progress?: boolean;
}

/** PODS_FULL and PODS_QUICK are `bench pods`' sizes. */
export const PODS_FULL = { pods: 2000, rate: 100, inFlight: 200, timeoutS: 120 } as const;
export const PODS_QUICK = { pods: 30, rate: 20, inFlight: 50, timeoutS: 90 } as const;
/** NODES_FULL and NODES_QUICK are `bench nodes`' sizes. */
export const NODES_FULL = { pods: 10_000, seconds: 60, checkEveryS: 5, rate: 200, inFlight: 200, timeoutS: 600 } as const;
export const NODES_QUICK = { pods: 100, seconds: 15, checkEveryS: 3, rate: 50, inFlight: 50, timeoutS: 120 } as const;

function number(v: string | undefined, flag: string, dflt: number, min: number, whole: boolean): Validated<number> {
  if (v === undefined) return { ok: true, value: dflt };
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (whole && !Number.isInteger(n))) return { ok: false, error: `${flag} must be ${whole ? 'a whole number' : 'a number'} of at least ${min}, not ${JSON.stringify(v)}` };
  return { ok: true, value: n };
}

function dataDirOf(raw: { readonly dataDir?: string }): Validated<string> {
  if (raw.dataDir === undefined || raw.dataDir.trim() === '') return { ok: false, error: 'Give --data-dir DIR, the directory raftkube up wrote cluster.json and kubeconfig into' };
  return { ok: true, value: raw.dataDir };
}

/** validateBenchPodsOptions checks `bench pods`' flags; numbers given explicitly override --quick's sizes. */
export function validateBenchPodsOptions(raw: RawBenchPodsOptions): Validated<BenchPodsOptions> {
  const dir = dataDirOf(raw);
  if (!dir.ok) return dir;
  const sizes = raw.quick === true ? PODS_QUICK : PODS_FULL;
  const pods = number(raw.pods, '--pods', sizes.pods, 1, true);
  if (!pods.ok) return pods;
  const rate = number(raw.rate, '--rate', sizes.rate, 0.1, false);
  if (!rate.ok) return rate;
  const inFlight = number(raw.inFlight, '--in-flight', sizes.inFlight, 1, true);
  if (!inFlight.ok) return inFlight;
  const timeout = number(raw.timeout, '--timeout', sizes.timeoutS, 1, false);
  if (!timeout.ok) return timeout;
  const workload = raw.workload ?? 'sleep';
  if (!(WORKLOADS as readonly string[]).includes(workload)) return { ok: false, error: `--workload must be ${WORKLOADS.join(' or ')}, not ${JSON.stringify(workload)}` };
  return {
    ok: true,
    value: {
      dataDir: dir.value,
      pods: pods.value,
      rate: rate.value,
      inFlight: inFlight.value,
      workload: workload as PodWorkload,
      timeoutMs: timeout.value * 1000,
      svgPath: raw.svg ?? null,
      jsonPath: raw.json ?? null,
      progress: raw.progress !== false,
      quick: raw.quick === true,
    },
  };
}

/** validateBenchNodesOptions checks `bench nodes`' flags; --nodes is required (the count the cluster must hold). */
export function validateBenchNodesOptions(raw: RawBenchNodesOptions): Validated<BenchNodesOptions> {
  const dir = dataDirOf(raw);
  if (!dir.ok) return dir;
  if (raw.nodes === undefined) return { ok: false, error: 'Give --nodes N, how many simulated nodes the cluster runs (raftkube up --runtime simulated --nodes N)' };
  const nodes = number(raw.nodes, '--nodes', 0, 1, true);
  if (!nodes.ok) return nodes;
  const sizes = raw.quick === true ? NODES_QUICK : NODES_FULL;
  const pods = number(raw.pods, '--pods', sizes.pods, 0, true);
  if (!pods.ok) return pods;
  const seconds = number(raw.seconds, '--seconds', sizes.seconds, 1, false);
  if (!seconds.ok) return seconds;
  const every = number(raw.checkEvery, '--check-every', sizes.checkEveryS, 0.5, false);
  if (!every.ok) return every;
  const stale = raw.leaseStale === undefined ? null : number(raw.leaseStale, '--lease-stale', 0, 1, false);
  if (stale !== null && !stale.ok) return stale;
  const rate = number(raw.rate, '--rate', sizes.rate, 0.1, false);
  if (!rate.ok) return rate;
  const inFlight = number(raw.inFlight, '--in-flight', sizes.inFlight, 1, true);
  if (!inFlight.ok) return inFlight;
  const timeout = number(raw.timeout, '--timeout', sizes.timeoutS, 1, false);
  if (!timeout.ok) return timeout;
  return {
    ok: true,
    value: {
      dataDir: dir.value,
      nodes: nodes.value,
      pods: pods.value,
      holdMs: seconds.value * 1000,
      checkEveryMs: every.value * 1000,
      leaseStaleMs: stale === null ? null : stale.value * 1000,
      rate: rate.value,
      inFlight: inFlight.value,
      readyTimeoutMs: timeout.value * 1000,
      jsonPath: raw.json ?? null,
      progress: raw.progress !== false,
      quick: raw.quick === true,
    },
  };
}
