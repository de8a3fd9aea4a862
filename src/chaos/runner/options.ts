/**
 * options: `chaos run`'s flags as given (strings) narrowed to ChaosRunOptions, with an error a
 * person can act on for anything wrong. Pure.
 */
import { resolve } from 'node:path';
import { DEFAULT_KV_WORKLOAD } from '../workload/kv.js';
import { FAULT_KINDS, NETWORK_FAULTS, UNSUPPORTED_FAULTS, type FaultKind } from '../nemesis/schedule.js';
import type { ChaosRunOptions, NetChoice, WorkloadKind } from './run.js';

/** RawChaosRunOptions are the flags as commander hands them over. */
export interface RawChaosRunOptions {
  readonly masters: string;
  readonly duration: string;
  readonly seed?: string;
  readonly faults?: string;
  readonly workload: string;
  readonly report?: string;
  readonly endpoints?: string;
  readonly net: string;
  readonly basePort: string;
  readonly rate: string;
  readonly workers: string;
  readonly keys: string;
  readonly timeout: string;
  readonly unsafeStaleReadsForTesting?: boolean;
}

/** DEFAULT_FAULTS are injected when --faults is not given. */
export const DEFAULT_FAULTS: readonly FaultKind[] = ['kill', 'pause', 'leader-kill', 'partition'];

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** parseDuration reads "60s", "2m", "1500ms" or a bare number of seconds into milliseconds. */
export function parseDuration(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

/** parseFaults reads a comma list of fault kinds ("none" for none). */
export function parseFaults(v: string): Parsed<FaultKind[]> {
  const items = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 1 && items[0] === 'none') return { ok: true, value: [] };
  if (items.length === 0) return { ok: false, error: `--faults is empty; give a comma list of ${FAULT_KINDS.join(', ')}, or none` };
  const out: FaultKind[] = [];
  for (const s of items) {
    const k = FAULT_KINDS.find((f) => f === s);
    if (k === undefined) return { ok: false, error: `Unknown fault "${s}"; --faults takes a comma list of ${FAULT_KINDS.join(', ')}, or none` };
    if (UNSUPPORTED_FAULTS.includes(k)) return { ok: false, error: `The ${k} fault is not implemented yet; leave it out of --faults` };
    if (!out.includes(k)) out.push(k);
  }
  return { ok: true, value: out };
}

function int(v: string, what: string, lo: number, hi: number): Parsed<number> {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < lo || n > hi) return { ok: false, error: `${what} must be a whole number from ${lo} to ${hi} (got ${JSON.stringify(v)})` };
  return { ok: true, value: n };
}

/** validateChaosRunOptions checks every flag; `randomSeed` is used when --seed is not given. */
export function validateChaosRunOptions(raw: RawChaosRunOptions, o: { readonly randomSeed: number; readonly command: string; readonly cwd: string }): Parsed<ChaosRunOptions> {
  const masters = int(raw.masters, '--masters', 1, 7);
  if (!masters.ok) return masters;
  if (masters.value !== 3 && masters.value !== 5) return { ok: false, error: `--masters must be 3 or 5 (got ${raw.masters})` };
  const durationMs = parseDuration(raw.duration);
  if (durationMs === null) return { ok: false, error: `--duration must be a time such as 60s, 2m or 1500ms (got ${JSON.stringify(raw.duration)})` };
  if (durationMs < 5000) return { ok: false, error: '--duration must be at least 5s (a fault is held for a few seconds)' };
  const seed = raw.seed === undefined ? { ok: true as const, value: o.randomSeed } : int(raw.seed, '--seed', 0, 2 ** 32 - 1);
  if (!seed.ok) return seed;
  if (raw.workload !== 'kv' && raw.workload !== 'k8s' && raw.workload !== 'both') return { ok: false, error: `--workload must be kv, k8s or both (got ${JSON.stringify(raw.workload)})` };
  const kind: WorkloadKind = raw.workload;
  const endpoints = raw.endpoints === undefined ? null : raw.endpoints.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (endpoints !== null && endpoints.length === 0) return { ok: false, error: '--endpoints is empty; give a comma list of client URLs' };
  if (endpoints !== null && kind !== 'kv') return { ok: false, error: `The ${kind} workload needs raftkube's own control plane, which runs only on the run's own cluster; with --endpoints use --workload kv` };
  if (endpoints !== null && raw.faults !== undefined && raw.faults !== 'none') {
    return { ok: false, error: 'Faults need the members as local processes; with --endpoints leave out --faults (or give --faults none)' };
  }
  let faults: FaultKind[] = [];
  if (endpoints === null) {
    const f = parseFaults(raw.faults ?? DEFAULT_FAULTS.join(','));
    if (!f.ok) return f;
    faults = f.value;
  }
  if (raw.net !== 'auto' && raw.net !== 'netns' && raw.net !== 'proxy' && raw.net !== 'loopback') return { ok: false, error: `--net must be auto, netns, proxy or loopback (got ${JSON.stringify(raw.net)})` };
  const net: NetChoice = raw.net;
  if (net === 'loopback' && faults.some((f) => NETWORK_FAULTS.includes(f))) {
    return { ok: false, error: `${NETWORK_FAULTS.join(', ')} need --net auto, netns or proxy; --net loopback injects no network faults (only kill, pause, leader-kill and restart-all)` };
  }
  if (endpoints !== null && raw.net !== 'auto') return { ok: false, error: '--net applies to the run\'s own cluster; leave it out with --endpoints' };
  const basePort = int(raw.basePort, '--base-port', 1024, 65_000);
  if (!basePort.ok) return basePort;
  const rate = int(raw.rate, '--rate', 1, 100_000);
  if (!rate.ok) return rate;
  const workers = int(raw.workers, '--workers', 1, 256);
  if (!workers.ok) return workers;
  const keys = int(raw.keys, '--keys', 1, 10_000);
  if (!keys.ok) return keys;
  const timeoutMs = parseDuration(raw.timeout);
  if (timeoutMs === null) return { ok: false, error: `--timeout must be a time such as 1500ms or 2s (got ${JSON.stringify(raw.timeout)})` };
  const reportDir = resolve(o.cwd, raw.report ?? `chaos-report-seed-${seed.value}`);
  return {
    ok: true,
    value: {
      masters: masters.value, durationMs, seed: seed.value, faults, reportDir, endpoints, net, basePort: basePort.value,
      staleReads: raw.unsafeStaleReadsForTesting === true,
      workload: { ...DEFAULT_KV_WORKLOAD, rate: rate.value, workers: workers.value, keys: keys.value, timeoutMs },
      kind,
      command: o.command,
    },
  };
}
