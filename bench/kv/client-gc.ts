/**
 * client-gc: the bench process's own GC pauses, from perf_hooks 'gc' entries. The client shares
 * the machine with the members and stands still while it collects; what it stood still for is
 * reported beside its CPU share, for both systems alike.
 */
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

/** Pause is a stretch of time the client's process stood still (a GC pause), on hrtime's clock. */
export interface Pause {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** GcSummary sums a phase's pauses. */
export interface GcSummary {
  readonly pauses: number;
  readonly totalMs: number;
  readonly longestMs: number;
}

/**
 * GcWatch records this process's GC pauses from its construction until stop(), on hrtime's
 * clock: performance.now() counts from a fixed hrtime origin, read once here.
 */
export class GcWatch {
  readonly #taken: Pause[] = [];
  readonly #originNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  readonly #observer = new PerformanceObserver((list) => this.#add(list.getEntries()));

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  #add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      const startNs = this.#originNs + BigInt(Math.round(e.startTime * 1e6));
      this.#taken.push({ startNs, endNs: startNs + BigInt(Math.round(e.duration * 1e6)) });
    }
  }

  /** stop ends the recording and returns every pause seen. */
  stop(): readonly Pause[] {
    this.#add(this.#observer.takeRecords());
    this.#observer.disconnect();
    return this.#taken;
  }
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
