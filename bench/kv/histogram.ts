/**
 * histogram: latencies recorded in an HdrHistogram at microsecond resolution (3 significant
 * digits), summarised in milliseconds.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './types.js';

/** LatencyRecorder collects latencies of one series. */
export class LatencyRecorder {
  readonly #h: Histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });

  /** recordMs records one latency given in milliseconds (sub-microsecond values count as 1 µs). */
  recordMs(ms: number): void {
    this.#h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** encode packs every latency recorded (compressed, base64) for another thread to add. */
  encode(): string {
    return encodeIntoCompressedBase64(this.#h);
  }

  /** addEncoded adds the latencies of another recorder's encode(); a malformed string throws. */
  addEncoded(packed: string): void {
    this.#h.add(decodeFromCompressedBase64(packed));
  }

  /** count is how many latencies were recorded. */
  get count(): number {
    return this.#h.totalCount;
  }

  /** summary returns count, mean, percentiles and max in milliseconds. */
  summary(): LatencySummary {
    const h = this.#h;
    if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      count: h.totalCount,
      mean: h.mean / 1000,
      p50: h.getValueAtPercentile(50) / 1000,
      p90: h.getValueAtPercentile(90) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
      max: h.maxValue / 1000,
    };
  }
}
