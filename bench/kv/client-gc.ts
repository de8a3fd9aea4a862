/**
 * client-gc: the bench process's own GC pauses, from perf_hooks 'gc' entries. The client shares
 * the machine with the members and stands still while it collects; what it stood still for is
 * reported beside its CPU share, for both systems alike.
 */
import { GcPauseWatch, type GcPause } from '../../src/kv/server/gc-pauses.js';

/** Pause is a stretch of time the client's process stood still (a GC pause), on hrtime's clock. */
export type Pause = GcPause;

/**
 * GcWatch records this process's GC pauses from its construction until stop(), on hrtime's
 * clock, as the members record theirs for --trace.
 */
export const GcWatch = GcPauseWatch;

/** GcSummary sums a phase's pauses. */
export interface GcSummary {
  readonly pauses: number;
  readonly totalMs: number;
  readonly longestMs: number;
}

/** summarise counts and sums pauses. */
export function summarise(pauses: readonly Pause[]): GcSummary {
  let totalNs = 0n;
  let longestNs = 0n;
  for (const p of pauses) {
    const d = p.endNs - p.startNs;
    totalNs += d;
    if (d > longestNs) longestNs = d;
  }
  return { pauses: pauses.length, totalMs: Number(totalNs) / 1e6, longestMs: Number(longestNs) / 1e6 };
}

/** describeGc says how long the client stood still for its own GC (a phase line's part). */
export function describeGc(g: GcSummary): string {
  return g.pauses === 0 ? 'no client GC pause' : `client GC ${g.pauses} pause${g.pauses === 1 ? '' : 's'}, ${g.totalMs.toFixed(0)} ms in all, longest ${g.longestMs.toFixed(1)} ms`;
}

/** pausedMs is how much of [fromNs, toNs] the pauses cover, in ms. */
export function pausedMs(pauses: readonly Pause[], fromNs: bigint, toNs: bigint): number {
  let ns = 0n;
  for (const p of pauses) {
    const a = p.startNs > fromNs ? p.startNs : fromNs;
    const b = p.endNs < toNs ? p.endNs : toNs;
    if (b > a) ns += b - a;
  }
  return Number(ns) / 1e6;
}

/** combineGc adds up the pauses of several threads (each thread stands still on its own). */
export function combineGc(all: readonly GcSummary[]): GcSummary {
  return {
    pauses: all.reduce((a, g) => a + g.pauses, 0),
    totalMs: all.reduce((a, g) => a + g.totalMs, 0),
    longestMs: all.reduce((a, g) => Math.max(a, g.longestMs), 0),
  };
}

/**
 * coveredMs is how much of [fromNs, toNs] at least one of the pauses covers, in ms: pauses of
 * several processes may overlap, and a stretch in which two stood still counts once.
 */
export function coveredMs(pauses: readonly Pause[], fromNs: bigint, toNs: bigint): number {
  const inside: Pause[] = [];
  for (const p of pauses) {
    const a = p.startNs > fromNs ? p.startNs : fromNs;
    const b = p.endNs < toNs ? p.endNs : toNs;
    if (b > a) inside.push({ startNs: a, endNs: b });
  }
  inside.sort((x, y) => (x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : 0));
  let ns = 0n;
  let reach = fromNs;
  for (const p of inside) {
    const a = p.startNs > reach ? p.startNs : reach;
    if (p.endNs > a) {
      ns += p.endNs - a;
      reach = p.endNs;
    }
  }
  return Number(ns) / 1e6;
}
