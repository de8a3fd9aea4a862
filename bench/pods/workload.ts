/**
 * workload: the pods the benchmarks create and how they create them — one-container pods left
 * to the scheduler, running `sleep 3600` or a small node HTTP server whose readiness probe asks it
 * for `/` — sent at a steady rate (open loop: pod i is due i/rate seconds after the first, with a
 * bound on the creates awaiting their answer), spread over the apiservers, retrying a create that
 * timed out or met an unavailable apiserver.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { ApiClient } from '../../src/control-plane/client/index.js';
import type { PodObject } from '../../src/node-agent/index.js';
import { PODS } from '../../src/node-agent/index.js';
import type { PodWorkload } from './types.js';

/** HTTP_PORT is the port the http workload's server listens on, at the pod's IP. */
export const HTTP_PORT = 8080;

const HTTP_SERVER = `require('http').createServer((q, s) => s.end('ok')).listen(${HTTP_PORT}, process.env.POD_IP)`;

/** podName is the i-th benchmark pod's name. */
export function podName(i: number): string {
  return `pod-${String(i).padStart(5, '0')}`;
}

/** podBody is the i-th pod of a workload, in `namespace`, with no node: the scheduler places it. */
export function podBody(namespace: string, i: number, workload: PodWorkload): PodObject {
  const container: NonNullable<Pod['spec']>['containers'][number] =
    workload === 'sleep'
      ? { name: 'app', image: 'busybox', command: ['sleep', '3600'] }
      : { name: 'app', image: 'node', command: ['node', '-e', HTTP_SERVER], readinessProbe: { httpGet: { path: '/', port: HTTP_PORT }, periodSeconds: 1, timeoutSeconds: 1 } };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podName(i), namespace, labels: { app: 'raftkube-bench-pods' } },
    spec: { containers: [container], terminationGracePeriodSeconds: 1 },
  };
}

/** CreateOutcome is one pod's create: when it was sent (performance.now()) and how long its answer took. */
export interface CreateOutcome {
  readonly index: number;
  readonly sentAt: number;
  readonly tookMs: number;
  /** error is why the pod could not be created (null: created). */
  readonly error: string | null;
}

/** CreateOptions pace a series of creates. */
export interface CreateOptions {
  readonly clients: readonly ApiClient[];
  readonly namespace: string;
  readonly count: number;
  readonly rate: number;
  readonly inFlight: number;
  readonly workload: PodWorkload;
  readonly signal: AbortSignal;
  /** onDone hears about every finished create (for progress). */
  readonly onDone: (o: CreateOutcome, done: number) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createOne(client: ApiClient, body: PodObject): Promise<string | null> {
  for (let attempt = 0; ; attempt++) {
    const r = await client.create<PodObject>(PODS, body);
    if (r.ok) return null;
    // A create cut off by its deadline may have happened: a conflict on a retry means it did.
    if (attempt > 0 && r.error.code === 409) return null;
    const transient = r.error.code === 503 || r.error.code === 504 || r.error.code === 429 || r.error.code === 500;
    if (!transient || attempt >= 5) return `${r.error.code} ${r.error.message}`;
    await sleep(200 * (attempt + 1));
  }
}

/**
 * createPods sends `count` creates, pod i due at i/rate seconds after the first; at most
 * `inFlight` wait for their answer at once (a slower apiserver makes the run fall behind its
 * rate rather than pile up requests). It resolves with every outcome, in pod order, once all
 * are answered; after an abort, the pods not yet sent are left out.
 */
export async function createPods(o: CreateOptions): Promise<CreateOutcome[]> {
  const out: CreateOutcome[] = [];
  const intervalMs = 1000 / o.rate;
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  let done = 0;
  for (let i = 0; i < o.count && !o.signal.aborted; i++) {
    const due = t0 + i * intervalMs;
    const wait = due - performance.now();
    // NB: pacing, not synchronisation: the rate is the benchmark's input.
    if (wait > 1) await sleep(wait);
    while (pending.size >= o.inFlight) await Promise.race(pending);
    if (o.signal.aborted) break;
    const client = o.clients[i % o.clients.length]!;
    const sentAt = performance.now();
    const p = createOne(client, podBody(o.namespace, i, o.workload)).then(
      (error) => {
        const r = { index: i, sentAt, tookMs: performance.now() - sentAt, error };
        out.push(r);
        o.onDone(r, ++done);
      },
      (e: unknown) => {
        const r = { index: i, sentAt, tookMs: performance.now() - sentAt, error: e instanceof Error ? e.message : String(e) };
        out.push(r);
        o.onDone(r, ++done);
      },
    );
    const tracked = p.finally(() => pending.delete(tracked));
    pending.add(tracked);
  }
  await Promise.all(pending);
  return out.sort((a, b) => a.index - b.index);
}

/**
 * deletePods removes the benchmark's pods `pod-00000` … `pod-<count−1>` with no grace (the node
 * agents then stop what still runs): one delete per pod, `inFlight` at a time, spread over the
 * clients (the apiserver's deletecollection deletes one object after another), then a
 * deletecollection of whatever else is left in the namespace.
 */
export async function deletePods(clients: readonly ApiClient[], namespace: string, count: number, o: { readonly inFlight?: number; readonly onDone?: (done: number) => void } = {}): Promise<void> {
  let next = 0;
  let done = 0;
  const failures: string[] = [];
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const r = await clients[i % clients.length]!.delete(PODS, { namespace, name: podName(i) }, { gracePeriodSeconds: 0 });
      if (!r.ok && r.error.code !== 404) failures.push(`${podName(i)}: ${r.error.message}`);
      o.onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.inFlight ?? 64, count)) }, () => lane()));
  const r = await clients[0]!.deleteCollection(PODS, { namespace }, { gracePeriodSeconds: 0 });
  if (!r.ok) failures.push(`the rest: ${r.error.message}`);
  if (failures.length > 0) throw new Error(`Deleting ${failures.length} of the benchmark's pods failed (${failures[0] ?? ''})`);
}
