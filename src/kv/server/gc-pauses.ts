/**
 * gc-pauses: the stretches a process stood still for its own garbage collector, on
 * process.hrtime's clock (CLOCK_MONOTONIC, which every process on a machine shares), so they
 * line up with the points `raftkube bench kv --trace` records in the members and the client.
 *
 * perf_hooks reports each collection as a 'gc' entry whose times count from performance's own
 * origin; performance.now() runs on the same monotonic clock, so one reading of both at the start
 * fixes the offset between them.
 */
import { PerformanceObserver, performance, type PerformanceEntry } from 'node:perf_hooks';

/** GcPause is one collection's pause, in process.hrtime.bigint() nanoseconds. */
export interface GcPause {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

/** GC_PAUSES_KEPT bounds the pauses a watch holds between two take()s (later ones are counted, not kept). */
export const GC_PAUSES_KEPT = 16_384;

/** GcPauseWatch records this process's GC pauses from its construction until stop(). */
export class GcPauseWatch {
  #taken: GcPause[] = [];
  #dropped = 0;
  readonly #originNs = process.hrtime.bigint() - BigInt(Math.round(performance.now() * 1e6));
  readonly #observer = new PerformanceObserver((list) => this.#add(list.getEntries()));

  constructor(readonly capacity = GC_PAUSES_KEPT) {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  #add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) {
      if (this.#taken.length >= this.capacity) {
        this.#dropped++;
        continue;
      }
      const startNs = this.#originNs + BigInt(Math.round(e.startTime * 1e6));
      this.#taken.push({ startNs, endNs: startNs + BigInt(Math.round(e.duration * 1e6)) });
    }
  }

  /** take returns the pauses recorded since the last take, and how many did not fit; the watch goes on. */
  take(): { readonly pauses: readonly GcPause[]; readonly dropped: number } {
    this.#add(this.#observer.takeRecords());
    const out = { pauses: this.#taken, dropped: this.#dropped };
    this.#taken = [];
    this.#dropped = 0;
    return out;
  }

  /** stop ends the recording and returns every pause not yet taken. */
  stop(): readonly GcPause[] {
    const { pauses } = this.take();
    this.#observer.disconnect();
    return pauses;
  }
}
