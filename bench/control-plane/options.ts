/**
 * options: the flags of `raftkube bench api`, checked and resolved into BenchApiOptions, with
 * the full-size defaults (50 clients, 1,000 watchers, 10,000 pods) and the --quick sizes.
 */
import type { Validated } from '../kv/options.js';
import { PHASES, type BenchApiOptions, type PhaseName } from './types.js';

/** RawBenchApiOptions are the flags as commander hands them over. */
export interface RawBenchApiOptions {
  readonly dataDir?: string;
  readonly svg?: string;
  readonly json?: string;
  readonly quick?: boolean;
  readonly clients?: string;
  readonly watchers?: string;
  readonly pods?: string;
  readonly duration?: string;
  readonly watchVia?: string;
  readonly phases?: string;
  readonly progress?: boolean;
}

/** FULL are the sizes of a full run. */
export const FULL = { baseline: { durationS: 5, count: 1000 }, clients: 50, watchers: 1000, pods: 10_000, creates: [1000, 3000], watchCreates: [200, 30], listRepeats: 10, durationS: 15 } as const;
/** QUICK are the sizes of a --quick run (the end-to-end test uses them). */
export const QUICK = { baseline: { durationS: 2, count: 30 }, clients: 50, watchers: 50, pods: 200, creates: [20, 100], watchCreates: [10, 5], listRepeats: 3, durationS: 5 } as const;

function whole(v: string | undefined, flag: string, dflt: number, min: number): Validated<number> {
  if (v === undefined) return { ok: true, value: dflt };
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) return { ok: false, error: `${flag} must be a whole number of at least ${min}, not ${JSON.stringify(v)}` };
  return { ok: true, value: n };
}

/** validateBenchApiOptions checks the flags; numbers given explicitly override --quick's sizes. */
export function validateBenchApiOptions(raw: RawBenchApiOptions): Validated<BenchApiOptions> {
  if (raw.dataDir === undefined || raw.dataDir.trim() === '') return { ok: false, error: 'Give --data-dir DIR, the directory raftkube up wrote cluster.json and kubeconfig into' };
  const sizes = raw.quick === true ? QUICK : FULL;
  const clients = whole(raw.clients, '--clients', sizes.clients, 1);
  if (!clients.ok) return clients;
  const watchers = whole(raw.watchers, '--watchers', sizes.watchers, 1);
  if (!watchers.ok) return watchers;
  const pods = whole(raw.pods, '--pods', sizes.pods, 1);
  if (!pods.ok) return pods;
  const duration = whole(raw.duration, '--duration', sizes.durationS, 1);
  if (!duration.ok) return duration;
  const via = raw.watchVia ?? 'rest';
  if (via !== 'rest' && via !== 'grpc') return { ok: false, error: `--watch-via must be rest or grpc, not ${JSON.stringify(via)}` };
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
      clients: clients.value,
      watchers: watchers.value,
      pods: pods.value,
      creates: [sizes.creates[0], sizes.creates[1]],
      watchCreates: [sizes.watchCreates[0], sizes.watchCreates[1]],
      listRepeats: sizes.listRepeats,
      baseline: sizes.baseline,
      durationMs: duration.value * 1000,
      watchVia: via,
      svgPath: raw.svg ?? null,
      jsonPath: raw.json ?? null,
      progress: raw.progress !== false,
      quick: raw.quick === true,
    },
  };
}
