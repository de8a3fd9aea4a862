/**
 * bench/scheduler: scheduling throughput — pods/s from created to bound — with N nodes and M
 * pods, against one in-process apiserver (registry over in-memory storage, served over
 * loopback gRPC; no etcd) with the scheduler talking to it through ApiClient, as it does in a
 * cluster. Two workloads, each on a fresh apiserver:
 *
 *   backlog:   M pods are created first, then the scheduler starts leading; time from its
 *              start to the last binding (kube-scheduler's scheduler_perf measures this way);
 *   streaming: the scheduler leads while M pods are created (64 creates in flight); time from
 *              the first create to the last binding, and per-pod created→bound latency;
 *   cycle:     the scheduler alone, no apiserver: M scheduling cycles (filters, scores, assume,
 *              a binder that answers at once) back to back over N nodes — its own cost per pod.
 *
 *   npx tsx bench/scheduler/run.ts [--nodes 1000] [--pods 10000] [--workload cycle,backlog,streaming] [--json]
 *
 * The creator, the apiserver and the scheduler share this one Node process (and the machine's
 * cores with whatever else runs), so the figures are a floor for the scheduler alone.
 */
import { loadavg } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { RESOURCES } from '../../src/control-plane/api/resources.js';
import { GrpcFace, serveGrpc } from '../../src/control-plane/apiserver/grpc/server.js';
import { bootstrapCluster } from '../../src/control-plane/apiserver/registry/bootstrap.js';
import type { Authorizer } from '../../src/control-plane/apiserver/registry/ports.js';
import { ApiRegistry } from '../../src/control-plane/apiserver/registry/registry.js';
import type { Result } from '../../src/control-plane/api/types.js';
import type { ApiError, UserInfo } from '../../src/control-plane/apiserver/registry-api.js';
import { productionSchema } from '../../src/control-plane/apiserver/schema-functions.js';
import { ApiClient } from '../../src/control-plane/client/api-client.js';
import { systemClock } from '../../src/control-plane/client/clock.js';
import { runScheduler } from '../../src/control-plane/scheduler/run.js';
import type { SchedulerClient } from '../../src/control-plane/scheduler/scheduler.js';
import { NODES, PODS, Scheduler } from '../../src/control-plane/scheduler/scheduler.js';
import type { NodeObject, PodObject } from '../../src/control-plane/scheduler/types.js';
import { memoryStorage } from '../../test/control-plane/registry/memory-storage.js';
import type { Progress } from '../kv/progress.js';
import { TerminalProgress } from '../kv/progress.js';

const TOKEN = 'bench-scheduler-token';
const ADMIN: UserInfo = { username: 'admin', uid: 'admin', groups: ['system:masters'] };
const allowAll: Authorizer = { authorize: () => ({ allowed: true }), review: () => ({ ok: false, error: 'not in the benchmark' }) };

/** Workload is one of the benchmark's ways to feed the scheduler. */
type Workload = 'cycle' | 'backlog' | 'streaming';

/** WorkloadResult is one workload's figures. */
interface WorkloadResult {
  readonly workload: Workload;
  readonly nodes: number;
  readonly pods: number;
  readonly seconds: number;
  readonly podsPerSecond: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly unschedulable: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

async function startApiserver(): Promise<{ readonly endpoint: string; close(): void }> {
  const registry = new ApiRegistry({ storage: memoryStorage(), schema: productionSchema(), authorizer: allowAll, resources: RESOURCES, clock: { now: () => new Date() } });
  const b = await bootstrapCluster(registry, { rbacPolicy: [], apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] });
  if (!b.ok) throw new Error(`Bootstrapping the in-process registry failed: ${b.error.message}`);
  const face = new GrpcFace({ registry, authenticate: (h) => (h === `Bearer ${TOKEN}` ? ADMIN : 'invalid') });
  const s = await serveGrpc(face, { host: '127.0.0.1', port: 0 });
  return { endpoint: `127.0.0.1:${s.port}`, close: () => s.server.forceShutdown() };
}

function node(i: number): NodeObject {
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

function pod(i: number): PodObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${String(i).padStart(6, '0')}`, namespace: 'default', labels: { app: `app-${i % 50}` } },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
  };
}

/** inParallel runs `n` tasks with at most `width` in flight, reporting progress. */
async function inParallel(n: number, width: number, task: (i: number) => Promise<void>, onDone: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await task(i);
      onDone(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, () => worker()));
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

/** runCycles measures the scheduler's own work: cycles over a cache fed by hand, a binder that answers at once. */
async function runCycles(nodes: number, pods: number, progress: Progress): Promise<WorkloadResult> {
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
  const loadBefore = loadavg()[0] ?? 0;
  const s = new Scheduler({ client, clock: systemClock });
  for (let i = 0; i < nodes; i++) s.nodeHandlers().onAdd?.(node(i));
  for (let i = 0; i < pods; i++) s.podHandlers().onAdd?.(pod(i));
  progress.phase(`cycle: schedule ${pods} pods`, pods, 0);
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
  progress.done(`${Math.round(pods / seconds)} pods/s`);
  await s.idle();
  s.close();
  return { workload: 'cycle', nodes, pods, seconds, podsPerSecond: pods / seconds, latencyP50Ms: null, latencyP99Ms: null, unschedulable, loadBefore, loadAfter: loadavg()[0] ?? 0 };
}

async function runWorkload(workload: Workload, nodes: number, pods: number, progress: Progress): Promise<WorkloadResult> {
  if (workload === 'cycle') return runCycles(nodes, pods, progress);
  const api = await startApiserver();
  const admin = new ApiClient({ endpoints: [api.endpoint], token: TOKEN, deadlineMs: 60_000 });
  const schedClient = new ApiClient({ endpoints: [api.endpoint], token: TOKEN, deadlineMs: 60_000 });
  try {
    progress.phase(`${workload}: create ${nodes} nodes`, nodes, 0);
    await inParallel(nodes, 32, async (i) => {
      const r = await admin.create(NODES, node(i));
      if (!r.ok) throw new Error(`Creating a node failed: ${r.error.message}`);
    }, (d) => progress.update(d));
    progress.done('done');

    const created = new Float64Array(pods);
    const boundAt = new Float64Array(pods);
    let bound = 0;
    let allBound: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (allBound = resolve));
    const indexOf = (key: string): number => Number(key.slice(key.lastIndexOf('-') + 1));
    const createPods = async (label: string): Promise<void> => {
      progress.phase(label, pods, 0);
      await inParallel(pods, 64, async (i) => {
        created[i] = performance.now();
        const r = await admin.create(PODS, pod(i));
        if (!r.ok) throw new Error(`Creating a pod failed: ${r.error.message}`);
      }, (d) => progress.update(d));
      progress.done('done');
    };

    const loadBefore = loadavg()[0] ?? 0;
    if (workload === 'backlog') await createPods(`backlog: create ${pods} pods`);
    let t0 = 0;
    const handle = runScheduler({
      client: schedClient,
      master: 'bench',
      leaderElection: false,
      onBound: (key) => {
        boundAt[indexOf(key)] = performance.now();
        bound++;
        if (bound % 100 === 0) progress.update(bound);
        if (bound === pods) allBound();
      },
      onLeaderChange: () => undefined,
    });
    await handle.synced();
    if (workload === 'backlog') {
      t0 = performance.now();
      progress.phase(`backlog: schedule ${pods} pods`, pods, 0);
    } else {
      progress.log(`streaming: scheduler synced with ${handle.scheduler.cache.stats().nodes} nodes`);
      t0 = performance.now();
      void createPods(`streaming: create and schedule ${pods} pods`);
    }
    await finished;
    const seconds = (Math.max(...boundAt) - t0) / 1000;
    if (workload === 'backlog') progress.done(`${Math.round(pods / seconds)} pods/s`);
    const latencies = workload === 'streaming' ? Array.from(boundAt, (b, i) => b - created[i]!).sort((a, b) => a - b) : [];
    const unschedulable = handle.scheduler.stats.unschedulable;
    await handle.stop();
    const loadAfter = loadavg()[0] ?? 0;
    return {
      workload,
      nodes,
      pods,
      seconds,
      podsPerSecond: pods / seconds,
      latencyP50Ms: percentile(latencies, 50),
      latencyP99Ms: percentile(latencies, 99),
      unschedulable,
      loadBefore,
      loadAfter,
    };
  } finally {
    admin.close();
    schedClient.close();
    api.close();
  }
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function fmt(n: number | null, digits = 0): string {
  return n === null ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench-scheduler')
    .option('--nodes <n>', 'nodes', positiveInt, 1000)
    .option('--pods <n>', 'pods', positiveInt, 10_000)
    .option('--workload <list>', 'cycle, backlog and/or streaming, comma-separated', 'cycle,backlog,streaming')
    .option('--json', 'print JSON instead of a table', false)
    .parse();
  const o = program.opts<{ nodes: number; pods: number; workload: string; json: boolean }>();
  const workloads = o.workload.split(',').map((w) => w.trim());
  for (const w of workloads) if (w !== 'cycle' && w !== 'backlog' && w !== 'streaming') throw new InvalidArgumentError(`Unknown workload ${w}; use cycle, backlog or streaming`);
  const progress = new TerminalProgress({ bar: true });
  const results: WorkloadResult[] = [];
  for (const w of workloads as Workload[]) results.push(await runWorkload(w, o.nodes, o.pods, progress));
  if (o.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  process.stdout.write(`Node ${process.version}, load average (1 min) before → after each run; goal ≥ 1,000 pods/s\n\n`);
  process.stdout.write('| workload | nodes | pods | seconds | pods/s | created→bound p50 ms | p99 ms | load |\n|---|---:|---:|---:|---:|---:|---:|---|\n');
  for (const r of results) {
    process.stdout.write(`| ${r.workload} | ${fmt(r.nodes)} | ${fmt(r.pods)} | ${fmt(r.seconds, 2)} | ${fmt(r.podsPerSecond)} | ${fmt(r.latencyP50Ms, 1)} | ${fmt(r.latencyP99Ms, 1)} | ${r.loadBefore.toFixed(1)} → ${r.loadAfter.toFixed(1)} |\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
