/**
 * put-clients: put-throughput's puts spread over several client threads.
 *
 * At 256 puts in flight one Node client uses nearly a whole core and stands still for its own
 * scavenges a fifth of the phase, for either system: the phase then measures the client as much
 * as the members. Here each client thread has its own connections, event loop and heap (its own
 * garbage collector) and drives its share of the requests in flight; the calling thread starts
 * them together, shows their progress, and adds up what they measured: operations, errors, the
 * latencies (each thread's HdrHistogram, merged), the process's CPU (every thread's) and every
 * thread's GC pauses.
 *
 * Where no worker can run (the TypeScript sources under the test runner), the puts run on the
 * calling thread with the same loop, and the result says so (`threads` is 1).
 *
 * This module is both: imported, it exports drivePuts; started as a worker (workerData carries
 * WORKER_MARK), it puts.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { EtcdTls } from '../../src/kv/client/etcd-client.js';
import { combineGc, GcWatch, summarise, type GcSummary } from './client-gc.js';
import { drive, warmUp, type DriveResult } from './drive.js';
import { LatencyRecorder } from './histogram.js';
import { MembersClock } from './members-cpu.js';
import { silentProgress } from './progress.js';
import { errorMessage, type WorkloadContext } from './target.js';
import { hasMark, startClientThread, workerClient, type ClientThread } from './client-thread.js';
import { nowEpochMs } from './watch-clients.js';

const WORKER_MARK = 'raftkube-bench-put-client';
/** PROGRESS_MS is how often a client thread reports how many puts it has done. */
const PROGRESS_MS = 100;
/** WARM_UP_PER_REQUEST is how many unmeasured puts each request slot makes before the phase. */
export const WARM_UP_PER_REQUEST = 4;

/** PutPhase is one phase of puts to fresh keys under `prefix`. */
export interface PutPhase {
  readonly label: string;
  readonly prefix: string;
  readonly inFlight: number;
  readonly count: number;
  readonly durationMs: number;
  /** threads is how many client threads share the requests in flight (1: this thread). */
  readonly threads: number;
}

/** PutPhaseResult is a phase's figures, and how many client threads produced them. */
export interface PutPhaseResult extends DriveResult {
  readonly threads: number;
}

/** Share is one client thread's part of a phase. */
interface Share {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  /** prefix is the thread's own key prefix, under the phase's. */
  readonly prefix: string;
  readonly value: Uint8Array;
  readonly inFlight: number;
  readonly count: number;
  readonly durationMs: number;
}

/** ShareResult is what a client thread measured, in a form that crosses threads. */
interface ShareResult {
  readonly done: number;
  readonly errors: number;
  readonly lastError: string | null;
  /** startMs and endMs are epoch milliseconds (one clock for every thread of a process). */
  readonly startMs: number;
  readonly endMs: number;
  readonly stoppedBy: DriveResult['stoppedBy'];
  /** histogram is the thread's latencies, LatencyRecorder.encode()d. */
  readonly histogram: string;
  readonly gc: GcSummary;
}

type ToWorker = { readonly type: 'go' } | { readonly type: 'stop' };
type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly done: number }
  | { readonly type: 'done'; readonly result: ShareResult }
  | { readonly type: 'error'; readonly message: string };

/** split divides `total` into `parts` shares that differ by at most one, larger first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));
}

/**
 * drivePuts warms up and runs one phase of puts, on `threads` client threads when it can (never
 * more threads than requests in flight), else on this thread.
 */
export async function drivePuts(ctx: WorkloadContext, o: PutPhase): Promise<PutPhaseResult> {
  const threads = Math.max(1, Math.min(o.threads, o.inFlight));
  if (threads > 1) {
    const inFlight = split(o.inFlight, threads);
    const count = split(o.count, threads);
    const shares = inFlight.map((n, k): Share => ({
      endpoints: ctx.target.endpoints,
      ...(ctx.target.tls === undefined ? {} : { tls: ctx.target.tls }),
      prefix: `${o.prefix}t${k}/`,
      value: ctx.value,
      inFlight: n,
      count: count[k]!,
      durationMs: o.durationMs,
    }));
    const workers = await startWorkers(shares);
    if (workers !== null) return await runOnWorkers(ctx, o, workers);
  }
  const put = (p: string) => (i: number) => ctx.client.put(`${p}${i}`, ctx.value);
  await warmUp(ctx, o.inFlight, WARM_UP_PER_REQUEST * o.inFlight, put(`${o.prefix}warm/`));
  const r = await drive(ctx, { label: o.label, inFlight: o.inFlight, count: o.count, durationMs: o.durationMs, op: put(o.prefix) });
  return { ...r, threads: 1 };
}

/**
 * startWorkers starts one client thread per share and waits until each is connected and warmed
 * up; null if a worker cannot run here (its module does not load), after stopping any started.
 */
async function startWorkers(shares: readonly Share[]): Promise<ClientThread<FromWorker>[] | null> {
  const started: ClientThread<FromWorker>[] = [];
  try {
    for (const share of shares) {
      const t = await startClientThread<FromWorker>(new URL(import.meta.url), { mark: WORKER_MARK, share });
      if (t === null) {
        for (const s of started) void s.worker.terminate();
        return null;
      }
      started.push(t);
    }
    return started;
  } catch (err: unknown) {
    for (const s of started) void s.worker.terminate();
    throw err;
  }
}

/** runOnWorkers lets every warmed-up client thread go at once and adds up what they measured. */
async function runOnWorkers(ctx: WorkloadContext, o: PutPhase, threads: readonly ClientThread<FromWorker>[]): Promise<PutPhaseResult> {
  const doneSoFar = new Array<number>(threads.length).fill(0);
  const onAbort = (): void => {
    for (const t of threads) t.worker.postMessage({ type: 'stop' } satisfies ToWorker);
  };
  ctx.progress.phase(o.label, o.count, o.durationMs);
  const gc = new GcWatch();
  const cpu0 = process.cpuUsage();
  const membersClock = MembersClock.open(ctx.target);
  const wall0 = nowEpochMs();
  let results: ShareResult[];
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    results = await Promise.all(
      threads.map(
        (t, k) =>
          new Promise<ShareResult>((resolve, reject) => {
            t.on((e) => {
              if (e.kind === 'exit') reject(new Error(`${o.label}: client thread ${k + 1} exited before it finished`));
              else if (e.kind === 'failed') reject(e.error);
              else if (e.m.type === 'progress') {
                doneSoFar[k] = e.m.done;
                ctx.progress.update(doneSoFar.reduce((a, b) => a + b, 0));
              } else if (e.m.type === 'done') resolve(e.m.result);
              else if (e.m.type === 'error') reject(new Error(e.m.message));
            });
            t.worker.postMessage({ type: 'go' } satisfies ToWorker);
          }),
      ),
    );
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    for (const t of threads) void t.worker.terminate();
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = nowEpochMs() - wall0;
  const ownGc = summarise(gc.stop());
  const combined = combine(results, { cpuMicros: cpu.user + cpu.system, wallMs, ownGc });
  return { ...combined, members: membersClock?.stop(combined.done, wallMs) ?? null };
}

/** combine adds up the client threads' results; the CPU is the whole process's over the phase. */
function combine(results: readonly ShareResult[], o: { readonly cpuMicros: number; readonly wallMs: number; readonly ownGc: GcSummary }): PutPhaseResult {
  const rec = new LatencyRecorder();
  for (const r of results) rec.addEncoded(r.histogram);
  const done = results.reduce((a, r) => a + r.done, 0);
  const errors = results.reduce((a, r) => a + r.errors, 0);
  const elapsedMs = Math.max(...results.map((r) => r.endMs)) - Math.min(...results.map((r) => r.startMs));
  const stoppedBy = results.some((r) => r.stoppedBy === 'abort') ? 'abort' : results.some((r) => r.stoppedBy === 'time') ? 'time' : 'count';
  return {
    done,
    errors,
    lastError: results.find((r) => r.lastError !== null)?.lastError ?? null,
    elapsedMs,
    latency: rec.summary(),
    opsPerSec: elapsedMs > 0 ? (done * 1000) / elapsedMs : 0,
    stoppedBy,
    clientCpuPct: o.wallMs > 0 ? o.cpuMicros / 10 / o.wallMs : 0,
    clientGc: combineGc([o.ownGc, ...results.map((r) => r.gc)]),
    clientCpuWait: null, // with requests in flight a wait belongs to none of them
    members: null, // the caller, which reads the members, fills it in
    threads: results.length,
  };
}

function isWorkerRequest(d: unknown): d is { mark: string; share: Share } {
  return hasMark(d, WORKER_MARK);
}

/** runWorker is a client thread: connect, warm up, say ready, then drive its share on 'go'. */
async function runWorker(share: Share): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const client = workerClient(share.endpoints, share.tls);
  const value = Buffer.from(share.value);
  const stop = new AbortController();
  const host = { progress: silentProgress, signal: stop.signal };
  const put = (p: string) => (i: number) => client.put(`${p}${i}`, value);
  const fail = (err: unknown): void => {
    port.postMessage({ type: 'error', message: errorMessage(err) } satisfies FromWorker);
  };
  try {
    await warmUp(host, share.inFlight, WARM_UP_PER_REQUEST * share.inFlight, put(`${share.prefix}warm/`));
  } catch (err: unknown) {
    fail(err);
    client.close();
    port.close();
    return;
  }
  port.on('message', (m: ToWorker) => {
    if (m.type === 'stop') {
      stop.abort();
      return;
    }
    const recorder = new LatencyRecorder();
    let done = 0;
    const progress = { ...silentProgress, update: (n: number) => (done = n) };
    const timer = setInterval(() => port.postMessage({ type: 'progress', done } satisfies FromWorker), PROGRESS_MS);
    const startMs = nowEpochMs();
    drive({ progress, signal: stop.signal }, { label: share.prefix, inFlight: share.inFlight, count: share.count, durationMs: share.durationMs, op: put(share.prefix), recorder })
      .then((r) => {
        const result: ShareResult = { done: r.done, errors: r.errors, lastError: r.lastError, startMs, endMs: startMs + r.elapsedMs, stoppedBy: r.stoppedBy, histogram: recorder.encode(), gc: r.clientGc };
        port.postMessage({ type: 'done', result } satisfies FromWorker);
      }, fail)
      .finally(() => {
        clearInterval(timer);
        client.close();
        port.close();
      });
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

// A thread that loaded but cannot start (a bad certificate, say) says why instead of falling back.
if (!isMainThread && isWorkerRequest(workerData)) runWorker(workerData.share).catch((err: unknown) => parentPort?.postMessage({ type: 'error', message: errorMessage(err) } satisfies FromWorker));
