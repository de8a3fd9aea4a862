/**
 * drive: runs one operation over and over with a fixed number in flight, bounded by count and
 * by time, recording each one's latency. Every workload's request loop is this one loop, so
 * raftkube and etcd are driven identically.
 */
import { describeGc, GcWatch, summarise, type GcSummary } from './client-gc.js';
import { CpuWaitClock } from '../../src/kv/server/cpu-wait.js';
import { LatencyRecorder } from './histogram.js';
import { describeMembersCpu, MembersClock, type MembersCpu } from './members-cpu.js';
import { errorMessage, type Target, type WorkloadContext } from './target.js';
import type { LatencySummary } from './types.js';

/** DriveOptions describe one phase. */
export interface DriveOptions {
  /** label names the phase on the progress bar. */
  readonly label: string;
  readonly inFlight: number;
  /** count bounds the operations started. */
  readonly count: number;
  /** durationMs bounds the phase in time (no operation starts after it). */
  readonly durationMs: number;
  /** op runs operation number i (0-based, unique within the phase). */
  readonly op: (i: number) => Promise<unknown>;
  /** quiet leaves the progress bar alone (warm-ups). */
  readonly quiet?: boolean;
  /** recorder receives each latency (a fresh one when absent): a client thread hands its histogram back. */
  readonly recorder?: LatencyRecorder;
}

/**
 * DriveHost is what a phase needs of its surroundings: somewhere to report progress, a way to
 * stop and, when known, the members' processes (whose CPU the phase then reports).
 */
export type DriveHost = Pick<WorkloadContext, 'progress' | 'signal'> & { readonly target?: Pick<Target, 'members'> };

/** DriveResult is what a phase measured. */
export interface DriveResult {
  /** done counts operations that succeeded. */
  readonly done: number;
  readonly errors: number;
  readonly lastError: string | null;
  /** elapsedMs runs from the first start to the last completion. */
  readonly elapsedMs: number;
  readonly latency: LatencySummary;
  /** opsPerSec is done / elapsed. */
  readonly opsPerSec: number;
  /** stoppedBy says which bound ended the phase. */
  readonly stoppedBy: 'count' | 'time' | 'abort';
  /** clientCpuPct is the CPU this process used during the phase, in per cent of one core. */
  readonly clientCpuPct: number;
  /** clientGc is how often and how long this process stood still for its own GC during the phase. */
  readonly clientGc: GcSummary;
  /**
   * clientCpuWait is how long the client's thread waited for a CPU while ready to run, during its
   * requests: measured only one request at a time (with more in flight a wait belongs to none of
   * them) and where the kernel says (Linux schedstat); null otherwise.
   */
  readonly clientCpuWait: CpuWaitSummary | null;
  /** members is the members' CPU and run-queue wait per request during the phase (null: the processes are unknown, or not Linux). */
  readonly members: MembersCpu | null;
}

/** CpuWaitSummary sums the client's run-queue waits over a phase's requests. */
export interface CpuWaitSummary {
  readonly totalMs: number;
  /** slowestMeanMs is the mean wait within the slowest 1 % of the requests (by latency, at least one). */
  readonly slowestMeanMs: number;
  /** slowestOverHalfMs counts the slowest 1 % that waited more than half a millisecond. */
  readonly slowestOverHalfMs: number;
  readonly slowest: number;
}

/** cpuWaitSummary sums per-request waits, and their mean over the slowest 1 % by latency. */
export function cpuWaitSummary(latencyMs: readonly number[], waitMs: readonly number[]): CpuWaitSummary {
  const n = Math.min(latencyMs.length, waitMs.length);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => latencyMs[b]! - latencyMs[a]!);
  const slowest = order.slice(0, Math.max(1, Math.ceil(n / 100))).filter((i) => i < n);
  const total = waitMs.slice(0, n).reduce((a, v) => a + v, 0);
  const slowWaits = slowest.map((i) => waitMs[i]!);
  return {
    totalMs: total,
    slowestMeanMs: slowWaits.length === 0 ? 0 : slowWaits.reduce((a, v) => a + v, 0) / slowWaits.length,
    slowestOverHalfMs: slowWaits.filter((w) => w > 0.5).length,
    slowest: slowWaits.length,
  };
}

/** MAX_FAILURE_SHARE: a phase where more operations fail than this share is abandoned. */
const MAX_FAILURE_SHARE = 0.5;

/** drive runs a phase; it throws only if most operations fail (the system is down). */
export async function drive(ctx: DriveHost, o: DriveOptions): Promise<DriveResult> {
  const rec = o.recorder ?? new LatencyRecorder();
  let next = 0;
  let done = 0;
  let errors = 0;
  let lastError: string | null = null;
  let lastUpdate = 0;
  let failed = false;
  const cpu0 = process.cpuUsage();
  const gc = new GcWatch();
  const clock = o.inFlight === 1 ? CpuWaitClock.open() : null;
  const membersClock = o.quiet === true ? null : MembersClock.open(ctx.target);
  const latencies: number[] = [];
  const waits: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  let stoppedBy: DriveResult['stoppedBy'] = 'count';
  if (o.quiet !== true) ctx.progress.phase(o.label, o.count, o.durationMs);

  const worker = async (): Promise<void> => {
    for (;;) {
      if (failed) return;
      if (ctx.signal.aborted) {
        stoppedBy = 'abort';
        return;
      }
      if (next >= o.count) return;
      const start = performance.now();
      if (start >= deadline) {
        stoppedBy = 'time';
        return;
      }
      const i = next++;
      const waited0 = clock?.waitedNs() ?? null;
      try {
        await o.op(i);
        const ms = performance.now() - start;
        rec.recordMs(ms);
        done++;
        const waited1 = waited0 === null ? null : (clock?.waitedNs() ?? null);
        if (waited0 !== null && waited1 !== null) {
          latencies.push(ms);
          waits.push((waited1 - waited0) / 1e6);
        }
      } catch (err: unknown) {
        errors++;
        lastError = errorMessage(err);
        if (errors > 100 && errors > MAX_FAILURE_SHARE * (done + errors)) {
          failed = true; // the other workers stop at their next turn
          throw new Error(`${o.label}: ${errors} of ${done + errors} requests failed; last: ${lastError}`);
        }
      }
      if (o.quiet !== true && performance.now() - lastUpdate > 100) {
        lastUpdate = performance.now();
        ctx.progress.update(done);
      }
    }
  };
  let clientGc: GcSummary;
  try {
    await Promise.all(Array.from({ length: o.inFlight }, () => worker()));
  } finally {
    clientGc = summarise(gc.stop());
    clock?.close();
  }
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const clientCpuPct = elapsedMs > 0 ? (cpu.user + cpu.system) / 10 / elapsedMs : 0;
  const clientCpuWait = clock !== null && latencies.length > 0 ? cpuWaitSummary(latencies, waits) : null;
  const members = membersClock?.stop(done, elapsedMs) ?? null;
  return { done, errors, lastError, elapsedMs, latency: rec.summary(), opsPerSec: elapsedMs > 0 ? (done * 1000) / elapsedMs : 0, stoppedBy, clientCpuPct, clientGc, clientCpuWait, members };
}

/** warmUp runs a few untimed operations so connections and the JIT are warm before measuring. */
export async function warmUp(ctx: DriveHost, inFlight: number, count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  await drive(ctx, { label: 'warm-up', inFlight, count, durationMs: 5_000, op, quiet: true });
}

/** describe is the one-line summary of a phase for the progress log. */
export function describe(r: DriveResult): string {
  const err = r.errors > 0 ? `, ${r.errors} errors (last: ${r.lastError ?? '?'})` : '';
  return `${r.done} ops in ${(r.elapsedMs / 1000).toFixed(1)} s, ${Math.round(r.opsPerSec)} ops/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, client CPU ${Math.round(r.clientCpuPct)}% of a core, ${describeGc(r.clientGc)}${describeCpuWait(r.clientCpuWait)}${describeMembersCpu(r.members)}${err}`;
}

/** describeCpuWait says how long the client waited for a CPU during its requests (a phase line's part). */
export function describeCpuWait(w: CpuWaitSummary | null): string {
  if (w === null) return '';
  return `, client waited for a CPU ${w.totalMs.toFixed(0)} ms in all, ${w.slowestMeanMs.toFixed(2)} ms per request in the slowest 1 % (${w.slowestOverHalfMs} of ${w.slowest} over 0.5 ms)`;
}
