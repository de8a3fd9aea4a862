/**
 * watch-clients: the watchers of watch-fanout, spread over several client threads.
 *
 * One Node client decoding every event of 100 watchers uses most of a core, so with one client
 * the fan-out phase measures the client as much as the system (the report flags it). Here each
 * client thread has its own connections, Watch streams and event loop, so decoding runs on as
 * many cores as there are threads; the puts stay on the calling thread. A put's value carries
 * the time it was issued (epoch milliseconds at sub-millisecond resolution, in its first 8
 * bytes), so every thread measures an event's lag by itself: performance.timeOrigin + now() is
 * the same clock in every thread of a process.
 *
 * Where no worker can run (the TypeScript sources under the test runner), the watchers run on
 * the calling thread with the same code.
 *
 * This module is both: imported, it exports WatchClients; started as a worker (workerData
 * carries WORKER_MARK), it watches.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buf, EtcdClient, type EtcdTls } from '../../src/kv/client/etcd-client.js';
import { hasMark, startClientThread, workerClient } from './client-thread.js';
import { prefixEnd, WatchStream } from '../../src/kv/client/watch-stream.js';
import type { Event } from '../../src/kv/proto/index.js';
import { LatencyRecorder } from './histogram.js';

const WORKER_MARK = 'raftkube-bench-watch-client';
/** PROGRESS_MS is how often a client thread reports its event count. */
const PROGRESS_MS = 20;

/** nowEpochMs is a high-resolution wall clock shared by every thread of the process. */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** stampedValue copies `value` (at least 8 bytes) with the issue time in its first 8 bytes. */
export function stampedValue(value: Buffer): Buffer {
  if (value.length < 8) throw new Error(`A fan-out value must have at least 8 bytes to carry its issue time, not ${value.length}`);
  const v = Buffer.from(value);
  v.writeDoubleLE(nowEpochMs(), 0);
  return v;
}

/** WatchSpec is one client's share of the watchers. */
interface WatchSpec {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  readonly prefix: string;
  readonly watchers: number;
}

type ToWorker = { readonly type: 'finish' };
type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly delivered: number; readonly lastEventMs: number }
  | { readonly type: 'done'; readonly delivered: number; readonly lastEventMs: number; readonly lags: Float64Array }
  | { readonly type: 'error'; readonly message: string };

/**
 * WatchGroup is `n` watchers on one prefix, spread over one Watch stream per endpoint (watcher i
 * on stream i mod endpoints); `onEvents` hears every response's events. watch-latency uses it on
 * the calling thread, watch-fanout in each client thread.
 */
export class WatchGroup {
  failure: Error | null = null;
  readonly #streams: WatchStream[] = [];

  private constructor() {}

  /** open creates the watchers and resolves once every one is created. */
  static async open(client: EtcdClient, prefix: string, n: number, onEvents: (events: readonly Event[]) => void): Promise<WatchGroup> {
    const g = new WatchGroup();
    const streams = Math.min(n, client.endpoints.length);
    for (let s = 0; s < streams; s++) {
      g.#streams.push(new WatchStream(client, s, {
        onEvents: (_id: number, events: readonly Event[]) => onEvents(events),
        onError: (err) => {
          g.failure = err;
        },
      }));
    }
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => g.#streams[i % streams]!.create(prefix, { rangeEnd: prefixEnd(prefix) })));
    } catch (err: unknown) {
      g.close();
      throw err;
    }
    return g;
  }

  close(): void {
    for (const s of this.#streams) s.close();
  }
}

/** Watchers is one client's share of the fan-out watchers, counting events and their lag. */
class Watchers {
  delivered = 0;
  lastEventMs = 0;
  #lags = new Float64Array(4096);
  #nLags = 0;
  #group: WatchGroup | null = null;

  private constructor() {}

  static async open(client: EtcdClient, prefix: string, n: number): Promise<Watchers> {
    const w = new Watchers();
    w.#group = await WatchGroup.open(client, prefix, n, (events) => w.#onEvents(events));
    return w;
  }

  get failure(): Error | null {
    return this.#group?.failure ?? null;
  }

  #onEvents(events: readonly Event[]): void {
    const now = nowEpochMs();
    this.delivered += events.length;
    this.lastEventMs = now;
    for (const e of events) {
      if (e.type !== 'PUT' || e.kv?.value === undefined) continue;
      const v = buf(e.kv.value);
      if (v.length < 8) continue;
      if (this.#nLags === this.#lags.length) {
        const bigger = new Float64Array(this.#lags.length * 2);
        bigger.set(this.#lags);
        this.#lags = bigger;
      }
      this.#lags[this.#nLags++] = now - v.readDoubleLE(0);
    }
  }

  /** lags returns the lag of every event received, in milliseconds. */
  lags(): Float64Array {
    return this.#lags.slice(0, this.#nLags);
  }

  close(): void {
    this.#group?.close();
  }
}

/** ClientHandle is one client's share as the calling thread sees it. */
interface ClientHandle {
  delivered(): number;
  lastEventMs(): number;
  failure(): Error | null;
  finish(): Promise<{ lags: Float64Array }>;
  close(): void;
}

function inThisThread(w: Watchers, client: EtcdClient): ClientHandle {
  return {
    delivered: () => w.delivered,
    lastEventMs: () => w.lastEventMs,
    failure: () => w.failure,
    finish: () => Promise.resolve({ lags: w.lags() }),
    close: () => {
      w.close();
      client.close();
    },
  };
}

/** inWorker starts a client thread; resolves once its watchers are created, or null if no worker can run. */
async function inWorker(spec: WatchSpec): Promise<ClientHandle | null> {
  const t = await startClientThread<FromWorker>(new URL(import.meta.url), { mark: WORKER_MARK, spec });
  if (t === null) return null;
  let delivered = 0;
  let lastEventMs = 0;
  let failure: Error | null = null;
  let onDone: ((lags: Float64Array) => void) | null = null;
  t.on((e) => {
    if (e.kind === 'exit') onDone?.(new Float64Array(0));
    else if (e.kind === 'failed') failure = e.error;
    else if (e.m.type === 'progress' || e.m.type === 'done') {
      delivered = e.m.delivered;
      lastEventMs = e.m.lastEventMs;
      if (e.m.type === 'done') onDone?.(e.m.lags);
    } else if (e.m.type === 'error') failure = new Error(e.m.message);
  });
  return {
    delivered: () => delivered,
    lastEventMs: () => lastEventMs,
    failure: () => failure,
    finish: () =>
      new Promise((res) => {
        onDone = (lags) => res({ lags });
        t.worker.postMessage({ type: 'finish' } satisfies ToWorker);
      }),
    close: () => void t.worker.terminate(),
  };
}

/** WatchClients is `n` watchers on one prefix spread over `clients` client threads. */
export class WatchClients {
  readonly #handles: ClientHandle[];
  /** threads is how many client threads run the watchers (1: this thread). */
  readonly threads: number;

  private constructor(handles: ClientHandle[], threads: number) {
    this.#handles = handles;
    this.threads = threads;
  }

  /** open starts the watchers and resolves once every one is created. */
  static async open(o: { readonly endpoints: readonly string[]; readonly tls?: EtcdTls; readonly prefix: string; readonly watchers: number; readonly clients: number }): Promise<WatchClients> {
    const clients = Math.max(1, Math.min(o.clients, o.watchers));
    const handles: ClientHandle[] = [];
    const spec = (k: number): WatchSpec => ({
      endpoints: o.endpoints,
      ...(o.tls === undefined ? {} : { tls: o.tls }),
      prefix: o.prefix,
      watchers: Math.floor(o.watchers / clients) + (k < o.watchers % clients ? 1 : 0),
    });
    try {
      if (clients > 1) {
        for (let k = 0; k < clients; k++) {
          const h = await inWorker(spec(k));
          if (h === null) break;
          handles.push(h);
        }
        if (handles.length === clients) return new WatchClients(handles, clients);
        for (const h of handles.splice(0)) h.close();
      }
      const client = new EtcdClient(o.endpoints, o.tls === undefined ? {} : { tls: o.tls });
      const w = await Watchers.open(client, o.prefix, o.watchers).catch((err: unknown) => {
        client.close();
        throw err;
      });
      return new WatchClients([inThisThread(w, client)], 1);
    } catch (err: unknown) {
      for (const h of handles) h.close();
      throw err;
    }
  }

  /** total is how many events all watchers received (as last reported by each thread). */
  get total(): number {
    return this.#handles.reduce((a, h) => a + h.delivered(), 0);
  }

  /** lastEventMs is when the last event arrived (epoch ms, 0 if none yet). */
  get lastEventMs(): number {
    return Math.max(0, ...this.#handles.map((h) => h.lastEventMs()));
  }

  /** failure is the first watch failure any thread reported. */
  get failure(): Error | null {
    for (const h of this.#handles) if (h.failure() !== null) return h.failure();
    return null;
  }

  /** finish stops every thread's watchers and returns the lags of all events received. */
  async finish(): Promise<LatencyRecorder> {
    const rec = new LatencyRecorder();
    for (const { lags } of await Promise.all(this.#handles.map((h) => h.finish()))) for (const l of lags) rec.recordMs(Math.max(0, l));
    this.close();
    return rec;
  }

  close(): void {
    for (const h of this.#handles) h.close();
  }
}

function isWorkerRequest(d: unknown): d is { mark: string; spec: WatchSpec } {
  return hasMark(d, WORKER_MARK);
}

async function runWorker(spec: WatchSpec): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const client = workerClient(spec.endpoints, spec.tls);
  let w: Watchers;
  try {
    w = await Watchers.open(client, spec.prefix, spec.watchers);
  } catch (err: unknown) {
    client.close();
    port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
    return;
  }
  let reported = -1;
  let failed = false;
  const timer = setInterval(() => {
    if (w.failure !== null && !failed) {
      failed = true;
      port.postMessage({ type: 'error', message: w.failure.message } satisfies FromWorker);
    }
    if (w.delivered === reported) return;
    reported = w.delivered;
    port.postMessage({ type: 'progress', delivered: w.delivered, lastEventMs: w.lastEventMs } satisfies FromWorker);
  }, PROGRESS_MS);
  port.on('message', (m: ToWorker) => {
    if (m.type !== 'finish') return;
    clearInterval(timer);
    const lags = w.lags();
    port.postMessage({ type: 'done', delivered: w.delivered, lastEventMs: w.lastEventMs, lags } satisfies FromWorker, [lags.buffer as ArrayBuffer]);
    w.close();
    client.close();
    port.close();
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

// A thread that loaded but cannot start (a bad certificate, say) says why instead of falling back.
if (!isMainThread && isWorkerRequest(workerData)) runWorker(workerData.spec).catch((err: unknown) => parentPort?.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker));
