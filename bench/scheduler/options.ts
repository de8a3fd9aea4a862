/**
 * options: the flags of `raftkube bench scheduler`, checked and resolved into
 * BenchSchedulerOptions, with the full-size defaults (10,000 pods, a 1,000-replica Deployment)
 * and the --quick sizes.
 */
import type { Validated } from '../kv/options.js';
import { PHASES, type BenchSchedulerOptions, type PhaseName } from './types.js';

/** RawBenchSchedulerOptions are the flags as commander hands them over. */
export interface RawBenchSchedulerOptions {
  readonly dataDir?: string;
  readonly svg?: string;
  readonly json?: string;
  readonly quick?: boolean;
  readonly pods?: string;
  readonly replicas?: string;
  readonly concurrency?: string;
  readonly timeout?: string;
  readonly phases?: string;
  readonly progress?: boolean;
}

/** FULL are the sizes of a full run (issue 8's). */
export const FULL = { pods: 10_000, replicas: 1000, concurrency: 64, timeoutS: 600 } as const;
/** QUICK are the sizes of a --quick run (the end-to-end test uses them). */
export const QUICK = { pods: 100, replicas: 30, concurrency: 16, timeoutS: 180 } as const;

function whole(v: string | undefined, flag: string, dflt: number, min: number): Validated<number> {
  if (v === undefined) return { ok: true, value: dflt };
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) return { ok: false, error: `${flag} must be a whole number of at least ${min}, not ${JSON.stringify(v)}` };
  return { ok: true, value: n };
}

/** validateBenchSchedulerOptions checks the flags; numbers given explicitly override --quick's sizes. */
export function validateBenchSchedulerOptions(raw: RawBenchSchedulerOptions): Validated<BenchSchedulerOptions> {
  if (raw.dataDir === undefined || raw.dataDir.trim() === '') {
    return { ok: false, error: 'Give --data-dir DIR, the directory of a running cluster (raftkube up --runtime simulated --nodes 1000 --data-dir DIR --detach)' };
  }
  const sizes = raw.quick === true ? QUICK : FULL;
  const pods = whole(raw.pods, '--pods', sizes.pods, 1);
  if (!pods.ok) return pods;
  const replicas = whole(raw.replicas, '--replicas', sizes.replicas, 1);
  if (!replicas.ok) return replicas;
  const concurrency = whole(raw.concurrency, '--concurrency', sizes.concurrency, 1);
  if (!concurrency.ok) return concurrency;
  const timeout = whole(raw.timeout, '--timeout', sizes.timeoutS, 1);
  if (!timeout.ok) return timeout;
  const names = (raw.phases ?? 'all').split(',').map((x) => x.trim()).filter((x) => x !== '');
  const unknown = names.find((x) => x !== 'all' && !(PHASES as readonly string[]).includes(x));
  if (unknown !== undefined) return { ok: false, error: `Unknown phase ${JSON.stringify(unknown)}; pick from ${PHASES.join(', ')} or all` };
  const phases: PhaseName[] = names.includes('all') ? [...PHASES] : PHASES.filter((x) => names.includes(x));
  if (phases.length === 0) return { ok: false, error: '--phases names no phase' };
  return {
    ok: true,
    value: {
      dataDir: raw.dataDir,
      phases,
      pods: pods.value,
      replicas: replicas.value,
      concurrency: concurrency.value,
      timeoutMs: timeout.value * 1000,
      svgPath: raw.svg ?? null,
      jsonPath: raw.json ?? null,
      progress: raw.progress !== false,
      quick: raw.quick === true,
    },
  };
}
