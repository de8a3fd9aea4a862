/**
 * phases: the two phases of `raftkube bench scheduler` that go through the cluster. "pods"
 * creates N pods through the apiservers as fast as `concurrency` creates in flight allow and
 * times each from its create being sent to a watch seeing it bound; "deployment" creates one
 * Deployment and times it to status.availableReplicas == replicas, with each pod's binding and
 * readiness. Each runs in its own namespace; the caller empties and deletes it afterwards.
 */
import type { KubeObject } from '../../src/control-plane/api/types.js';
import type { ApiError } from '../../src/control-plane/apiserver/registry-api.js';
import { LatencyRecorder } from '../kv/histogram.js';
import type { Progress } from '../kv/progress.js';
import { benchPod } from './cycle.js';
import { cpuBetween, cpuSnapshot, createNamespace, DEPLOYMENTS, inParallel, isReady, PODS, unwrap, watchNamespace, watchNodeHealth, type NodeHealth, type SchedulerTarget } from './cluster.js';
import type { DeploymentPhaseResult, NodeHealthResult, Point, PodsPhaseResult } from './types.js';

function health(h: NodeHealth): NodeHealthResult {
  return { readyAtStart: h.readyAtStart, notReadyDuring: h.notReady.size };
}

/** PhaseContext is what a phase runs with. */
export interface PhaseContext {
  readonly target: SchedulerTarget;
  readonly progress: Progress;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

function nodeNameOf(o: KubeObject): string {
  const spec = o['spec'];
  const n = typeof spec === 'object' && spec !== null ? (spec as { nodeName?: unknown }).nodeName : undefined;
  return typeof n === 'string' ? n : '';
}

/** cumulative turns event times (ms, any order) into [seconds since t0, count] points, about `points` of them. */
export function cumulative(timesMs: readonly number[], t0: number, points = 200): Point[] {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(sorted.length / points));
  const out: Point[] = [[0, 0]];
  for (let i = step; i <= sorted.length; i += step) out.push([(sorted[i - 1]! - t0) / 1000, i]);
  if (sorted.length % step !== 0) out.push([(sorted[sorted.length - 1]! - t0) / 1000, sorted.length]);
  return out;
}

/**
 * until resolves with 'done' when `done` is called, 'timeout' after `ms`, 'aborted' on the
 * signal, or rejects through `fail` — whichever comes first. It is the bound on each phase's wait.
 */
function until(ms: number, signal: AbortSignal): { readonly wait: Promise<'done' | 'timeout' | 'aborted'>; done(): void; fail(e: Error): void } {
  let settle: (v: 'done' | 'timeout' | 'aborted') => void = () => undefined;
  let reject: (e: Error) => void = () => undefined;
  const wait = new Promise<'done' | 'timeout' | 'aborted'>((res, rej) => {
    settle = res;
    reject = rej;
  });
  const timer = setTimeout(() => settle('timeout'), ms);
  const onAbort = (): void => settle('aborted');
  signal.addEventListener('abort', onAbort, { once: true });
  void wait.finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }).catch(() => undefined);
  return { wait, done: () => settle('done'), fail: (e) => reject(e) };
}

function watchFailed(what: string): (e: ApiError) => Error {
  return (e) => new Error(`The watch on ${what} failed five times in a row (${e.code} ${e.reason}: ${e.message}); is the cluster healthy?`);
}

/** podsPhase creates `pods` pods in `namespace` and waits until all are bound; see the module doc. */
export async function podsPhase(ctx: PhaseContext, o: { readonly namespace: string; readonly pods: number; readonly concurrency: number }): Promise<PodsPhaseResult> {
  const { target, progress } = ctx;
  const n = o.pods;
  await createNamespace(target.clients[0]!, o.namespace);
  const rv = unwrap(await target.clients[0]!.list(PODS, { namespace: o.namespace }), 'Listing the benchmark namespace').metadata.resourceVersion;
  const sentAt = new Float64Array(n).fill(NaN);
  const ackAt = new Float64Array(n).fill(NaN);
  const boundAt = new Float64Array(n).fill(NaN);
  let bound = 0;
  let createErrors = 0;
  let createdTwice = 0;
  let createsDone = false;
  let firstError = '';
  const w = until(ctx.timeoutMs, ctx.signal);
  const check = (): void => {
    if (createsDone && bound >= n - createErrors) w.done();
  };
  const watch = watchNamespace(target.clients[0]!, PODS, { namespace: o.namespace, fromRv: rv }, (p) => {
    const i = Number((p.metadata.name ?? '').slice(4));
    if (!Number.isInteger(i) || i < 0 || i >= n || !Number.isNaN(boundAt[i]!) || nodeNameOf(p) === '') return;
    boundAt[i] = performance.now();
    bound++;
    if (bound % 50 === 0 || bound === n) progress.update(bound);
    check();
  }, (e) => w.fail(watchFailed(`the pods of ${o.namespace}`)(e)));
  const nodes = await watchNodeHealth(target.clients[0]!);
  const cpu0 = cpuSnapshot(target);
  progress.phase(`pods: create ${n.toLocaleString('en-US')}, wait for bound`, n, 0);
  const t0 = performance.now();
  try {
    await inParallel(n, o.concurrency, async (i) => {
      sentAt[i] = performance.now();
      const r = await target.clients[i % target.clients.length]!.create(PODS, benchPod(i, o.namespace));
      ackAt[i] = performance.now();
      // NB: AlreadyExists for a name created once means an earlier attempt of this very create
      // took effect (the loaded apiserver retried it after a timeout): the pod exists, wait for it.
      if (!r.ok && r.error.code === 409 && r.error.reason === 'AlreadyExists') createdTwice++;
      else if (!r.ok) {
        createErrors++;
        if (firstError === '') firstError = `${r.error.code} ${r.error.reason}: ${r.error.message}`;
      }
    }, () => ctx.signal.aborted);
    createsDone = true;
    const createSeconds = (Math.max(...Array.from(ackAt).filter((x) => !Number.isNaN(x))) - t0) / 1000;
    progress.log(`  pods: ${(n - createErrors).toLocaleString('en-US')} created in ${createSeconds.toFixed(1)} s (${Math.round((n - createErrors) / createSeconds)}/s), ${bound.toLocaleString('en-US')} bound so far${createdTwice > 0 ? `; ${createdTwice} creates answered AlreadyExists (an earlier attempt had taken effect)` : ''}${createErrors > 0 ? `; ${createErrors} creates refused, the first: ${firstError}` : ''}`);
    check();
    const how = await w.wait;
    const cpu = cpuBetween(cpu0, cpuSnapshot(target));
    const times = Array.from(boundAt).filter((x) => !Number.isNaN(x));
    const end = how === 'done' && times.length > 0 ? Math.max(...times) : performance.now();
    const seconds = (end - t0) / 1000;
    const lat = new LatencyRecorder();
    for (let i = 0; i < n; i++) if (!Number.isNaN(boundAt[i]!)) lat.recordMs(boundAt[i]! - sentAt[i]!);
    progress.done(how === 'done' ? `${Math.round(bound / seconds).toLocaleString('en-US')} pods/s created→bound` : `${how}: ${bound} of ${n} bound`);
    return {
      pods: n,
      concurrency: o.concurrency,
      createSeconds,
      createsPerSecond: (n - createErrors) / createSeconds,
      createErrors,
      createdTwice,
      bound,
      allBound: how === 'done' && bound === n - createErrors,
      seconds,
      podsPerSecond: bound / seconds,
      createdToBound: lat.summary(),
      cpu,
      nodes: health(nodes),
      created: cumulative(Array.from(ackAt).filter((x) => !Number.isNaN(x)), t0),
      boundOverTime: cumulative(times, t0),
    };
  } finally {
    watch.dispose();
    nodes.dispose();
  }
}

function deployment(namespace: string, replicas: number): KubeObject {
  const labels = { app: 'raftkube-bench-scheduler' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bench', namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
      },
    },
  };
}

function availableOf(d: KubeObject): number {
  const s = d['status'];
  const v = typeof s === 'object' && s !== null ? (s as { availableReplicas?: unknown }).availableReplicas : undefined;
  return typeof v === 'number' ? v : 0;
}

/** deploymentPhase creates one Deployment and waits until every replica is available; see the module doc. */
export async function deploymentPhase(ctx: PhaseContext, o: { readonly namespace: string; readonly replicas: number }): Promise<DeploymentPhaseResult> {
  const { target, progress } = ctx;
  const client = target.clients[0]!;
  await createNamespace(client, o.namespace);
  const podsRv = unwrap(await client.list(PODS, { namespace: o.namespace }), 'Listing the benchmark namespace').metadata.resourceVersion;
  const depRv = unwrap(await client.list(DEPLOYMENTS, { namespace: o.namespace }), 'Listing the benchmark namespace\'s Deployments').metadata.resourceVersion;
  const boundAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const available: Point[] = [[0, 0]];
  let last = 0;
  let t0 = 0;
  const w = until(ctx.timeoutMs, ctx.signal);
  const pods = watchNamespace(target.clients[1 % target.clients.length]!, PODS, { namespace: o.namespace, fromRv: podsRv }, (p) => {
    const name = p.metadata.name ?? '';
    const now = performance.now();
    if (!boundAt.has(name) && nodeNameOf(p) !== '') boundAt.set(name, now);
    if (!readyAt.has(name) && isReady(p)) readyAt.set(name, now);
  }, (e) => w.fail(watchFailed(`the pods of ${o.namespace}`)(e)));
  const deps = watchNamespace(client, DEPLOYMENTS, { namespace: o.namespace, fromRv: depRv }, (d) => {
    const a = availableOf(d);
    if (a === last) return;
    last = a;
    available.push([(performance.now() - t0) / 1000, a]);
    progress.update(a);
    if (a >= o.replicas) w.done();
  }, (e) => w.fail(watchFailed(`the Deployments of ${o.namespace}`)(e)));
  const nodes = await watchNodeHealth(target.clients[0]!);
  try {
    const cpu0 = cpuSnapshot(target);
    progress.phase(`deployment: ${o.replicas.toLocaleString('en-US')} replicas to available`, o.replicas, 0);
    t0 = performance.now();
    unwrap(await client.create(DEPLOYMENTS, deployment(o.namespace, o.replicas)), 'Creating the Deployment');
    const how = await w.wait;
    const end = performance.now();
    const cpu = cpuBetween(cpu0, cpuSnapshot(target));
    const seconds = (end - t0) / 1000;
    progress.done(how === 'done' ? `available in ${seconds.toFixed(2)} s` : `${how}: ${last} of ${o.replicas} available`);
    const rel = (m: Map<string, number>): number[] => [...m.values()].map((v) => Math.round((v - t0) * 10) / 10).sort((a, b) => a - b);
    return {
      replicas: o.replicas,
      available: how === 'done',
      seconds,
      availableReplicas: last,
      bound: boundAt.size,
      ready: readyAt.size,
      boundAtMs: rel(boundAt),
      readyAtMs: rel(readyAt),
      cpu,
      nodes: health(nodes),
      boundOverTime: cumulative([...boundAt.values()], t0),
      readyOverTime: cumulative([...readyAt.values()], t0),
      availableOverTime: available,
    };
  } finally {
    pods.dispose();
    deps.dispose();
    nodes.dispose();
  }
}
