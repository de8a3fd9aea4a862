/**
 * cycle: the scheduler's own cost per pod, with no apiserver — scheduling cycles (filters,
 * scores, assume, a binder that answers at once) back to back over a cache fed by hand. Used by
 * the tsx script (run.ts, workload "cycle") and by `raftkube bench scheduler` (phase "cycle").
 */
import type { Result } from '../../src/control-plane/api/types.js';
import type { ApiError } from '../../src/control-plane/apiserver/registry-api.js';
import { systemClock } from '../../src/control-plane/client/clock.js';
import type { SchedulerClient } from '../../src/control-plane/scheduler/scheduler.js';
import { Scheduler } from '../../src/control-plane/scheduler/scheduler.js';
import type { NodeObject, PodObject } from '../../src/control-plane/scheduler/types.js';
import type { Progress } from '../kv/progress.js';

/** CycleResult is the figure of one run of back-to-back cycles. */
export interface CycleResult {
  readonly nodes: number;
  readonly pods: number;
  readonly seconds: number;
  readonly podsPerSecond: number;
  /** unschedulable counts cycles that found no node (0 when the nodes have room). */
  readonly unschedulable: number;
  /** cpuSeconds is this process's CPU time (user + system) over the cycles. */
  readonly cpuSeconds: number;
}

/** benchNode is the i-th synthetic node: 32 cpu, 64Gi, 110 pods, Ready, in one of 10 zones. */
export function benchNode(i: number): NodeObject {
  const name = `node-${String(i).padStart(5, '0')}`;
  const allocatable = { cpu: '32', memory: '64Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 10}` } },
    spec: {},
    status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] },
  };
}

/** benchPod is the i-th synthetic pod: one container requesting 100m and 128Mi, one of 50 apps. */
export function benchPod(i: number, namespace = 'default'): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${String(i).padStart(6, '0')}`, namespace, labels: { app: `app-${i % 50}` } },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  };
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** runCycles schedules `pods` synthetic pods over `nodes` synthetic nodes in this process. */
export async function runCycles(nodes: number, pods: number, progress: Progress): Promise<CycleResult> {
  const answer = <T>(v: T): Promise<Result<T, ApiError>> => Promise.resolve({ ok: true, value: v });
  const client: SchedulerClient = {
    get: () => Promise.resolve({ ok: false, error: { code: 404, reason: 'NotFound', message: 'not here' } }),
    create: <T>(_res: unknown, obj: T) => answer(obj),
    update: <T>(_res: unknown, obj: T) => answer(obj),
    updateStatus: <T>(_res: unknown, obj: T) => answer(obj),
    patch: () => answer({} as never),
    bind: () => answer(undefined),
    list: () => answer({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items: [] }),
    watch: () => ({ dispose: () => undefined }),
  };
  const s = new Scheduler({ client, clock: systemClock });
  for (let i = 0; i < nodes; i++) s.nodeHandlers().onAdd?.(benchNode(i));
  for (let i = 0; i < pods; i++) s.podHandlers().onAdd?.(benchPod(i));
  progress.phase(`cycle: schedule ${pods.toLocaleString('en-US')} pods in-process`, pods, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  let unschedulable = 0;
  for (let o = s.scheduleNext(); o !== undefined; o = s.scheduleNext()) {
    if (!o.ok) unschedulable++;
    if (++done % 500 === 0) {
      progress.update(done);
      // Let the binder's answers settle, as the real loop does between pods.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuSince(cpu0);
  progress.done(`${Math.round(pods / seconds).toLocaleString('en-US')} pods/s`);
  await s.idle();
  s.close();
  return { nodes, pods, seconds, podsPerSecond: pods / seconds, unschedulable, cpuSeconds };
}
