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
 * `raftkube bench scheduler` measures the same against a real cluster (bench/scheduler/cluster-bench.ts).
 *
 *   npx tsx bench/scheduler/run.ts [--nodes 1000] [--pods 10000] [--workload cycle,backlog,streaming] [--json]
 *
 * The creator, the apiserver and the scheduler share this one Node process (and the machine's
 * cores with whatever else runs), so the figures are a floor for the scheduler alone.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { ApiClient } from '../../src/control-plane/client/api-client.js';
import { runScheduler } from '../../src/control-plane/scheduler/run.js';
import { NODES, PODS } from '../../src/control-plane/scheduler/scheduler.js';
import type { Progress } from '../kv/progress.js';
import { BENCH_TOKEN as TOKEN, startApiserver } from './apiserver.js';
import { benchNode, benchPod, runCycles } from './cycle.js';
import type { BoundSeries } from './svg.js';
import { boundSeries, renderBoundOverTime } from './svg.js';
import { TerminalProgress } from '../kv/progress.js';

/** Workload is one of the benchmark's ways to feed the scheduler. */
type Workload = 'cycle' | 'backlog' | 'streaming';

/** ApiserverMode says where the apiserver runs: in the benchmark's process, or in its own. */
type ApiserverMode = 'same' | 'process';

interface RunningApiserver {
  readonly endpoint: string;
  /** cpuSeconds is the apiserver process's CPU time so far (null when it shares this process). */
  cpuSeconds(): number | null;
  close(): Promise<void>;
}

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
  /** cpuSeconds is this process's CPU time (user + system) over the measured span. */
  readonly cpuSeconds: number;
  /** apiserverCpuSeconds is the apiserver process's CPU time over the span (null: it shares this process). */
  readonly apiserverCpuSeconds: number | null;
  readonly apiserver: ApiserverMode | 'none';
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** bound is pods bound over time (for the plot). */
  readonly bound: BoundSeries | null;
}

function procCpuSeconds(pid: number): number | null {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

async function apiserverIn(mode: ApiserverMode): Promise<RunningApiserver> {
  if (mode === 'same') {
    const api = await startApiserver();
    return { endpoint: api.endpoint, cpuSeconds: () => null, close: () => Promise.resolve(api.close()) };
  }
  const script = fileURLToPath(new URL('./apiserver.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      const m = /READY (\S+)/.exec(buf);
      if (m !== null) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`The apiserver process exited (${code ?? 'signal'}) before it was ready`)));
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    endpoint,
    cpuSeconds: () => (child.pid === undefined ? null : procCpuSeconds(child.pid)),
    close: async () => {
      child.stdin.end();
      await exited;
    },
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

/** cycleWorkload measures the scheduler's own work (see cycle.ts). */
async function cycleWorkload(nodes: number, pods: number, progress: Progress): Promise<WorkloadResult> {
  const loadBefore = loadavg()[0] ?? 0;
  const r = await runCycles(nodes, pods, progress);
  return { workload: 'cycle', nodes, pods, seconds: r.seconds, podsPerSecond: r.podsPerSecond, latencyP50Ms: null, latencyP99Ms: null, unschedulable: r.unschedulable, cpuSeconds: r.cpuSeconds, apiserverCpuSeconds: null, apiserver: 'none', loadBefore, loadAfter: loadavg()[0] ?? 0, bound: null };
}

async function runWorkload(workload: Workload, nodes: number, pods: number, mode: ApiserverMode, progress: Progress): Promise<WorkloadResult> {
  if (workload === 'cycle') return cycleWorkload(nodes, pods, progress);
  const api = await apiserverIn(mode);
  const admin = new ApiClient({ endpoints: [api.endpoint], token: TOKEN, deadlineMs: 60_000 });
  const schedClient = new ApiClient({ endpoints: [api.endpoint], token: TOKEN, deadlineMs: 60_000 });
  try {
    progress.phase(`${workload}: create ${nodes} nodes`, nodes, 0);
    await inParallel(nodes, 32, async (i) => {
      const r = await admin.create(NODES, benchNode(i));
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
        const r = await admin.create(PODS, benchPod(i));
        if (!r.ok) throw new Error(`Creating a pod failed: ${r.error.message}`);
      }, (d) => progress.update(d));
      progress.done('done');
    };

    const loadBefore = loadavg()[0] ?? 0;
    if (workload === 'backlog') await createPods(`backlog: create ${pods} pods`);
    let t0 = 0;
    let cpu0 = process.cpuUsage();
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
    cpu0 = process.cpuUsage();
    const apiCpu0 = api.cpuSeconds();
    if (workload === 'backlog') {
      t0 = performance.now();
      progress.phase(`backlog: schedule ${pods} pods`, pods, 0);
    } else {
      progress.log(`streaming: scheduler synced with ${handle.scheduler.cache.stats().nodes} nodes`);
      t0 = performance.now();
      void createPods(`streaming: create and schedule ${pods} pods`);
    }
    await finished;
    const cpuSeconds = cpuSince(cpu0);
    const apiCpu1 = api.cpuSeconds();
    const apiserverCpuSeconds = apiCpu0 === null || apiCpu1 === null ? null : apiCpu1 - apiCpu0;
    const seconds = (Math.max(...boundAt) - t0) / 1000;
    if (workload === 'backlog') progress.done(`${Math.round(pods / seconds)} pods/s`);
    const latencies = workload === 'streaming' ? Array.from(boundAt, (b, i) => b - created[i]!).sort((a, b) => a - b) : [];
    const unschedulable = handle.scheduler.stats.unschedulable;
    await handle.stop();
    const order = Array.from(boundAt).sort((a, b) => a - b);
    const tenth = Math.max(1, Math.floor(pods / 10));
    const deciles = Array.from({ length: 10 }, (_, d) => {
      const from = d === 0 ? t0 : order[d * tenth - 1]!;
      const to = order[Math.min(pods, (d + 1) * tenth) - 1]!;
      return Math.round(tenth / ((to - from) / 1000));
    });
    progress.log(`${workload}: pods/s per tenth of the pods bound: ${deciles.join(', ')}`);
    progress.log(`${workload}: ${unschedulable} unschedulable attempts, ${handle.scheduler.events.dropped} events dropped (more than 10,000 waiting, or still waiting at the end)`);
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
      cpuSeconds,
      apiserverCpuSeconds,
      apiserver: mode,
      loadBefore,
      loadAfter,
      bound: boundSeries(`${workload} (apiserver: ${mode})`, boundAt, t0),
    };
  } finally {
    admin.close();
    schedClient.close();
    await api.close();
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
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
    .option('--apiserver <where>', "'process' (its own process, as in a cluster) or 'same' (this process)", 'process')
    .option('--svg <file>', 'write a plot of pods bound over time')
    .option('--json', 'print JSON instead of a table', false)
    .parse();
  const o = program.opts<{ nodes: number; pods: number; workload: string; apiserver: string; svg?: string; json: boolean }>();
  if (o.apiserver !== 'process' && o.apiserver !== 'same') throw new InvalidArgumentError(`--apiserver is 'process' or 'same', not ${o.apiserver}`);
  const mode: ApiserverMode = o.apiserver;
  const workloads = o.workload.split(',').map((w) => w.trim());
  for (const w of workloads) if (w !== 'cycle' && w !== 'backlog' && w !== 'streaming') throw new InvalidArgumentError(`Unknown workload ${w}; use cycle, backlog or streaming`);
  const progress = new TerminalProgress({ bar: true });
  const results: WorkloadResult[] = [];
  for (const w of workloads as Workload[]) results.push(await runWorkload(w, o.nodes, o.pods, mode, progress));
  if (o.svg !== undefined) {
    const series = results.flatMap((r) => (r.bound === null ? [] : [r.bound]));
    writeFileSync(o.svg, renderBoundOverTime(series, `Pods bound over time: ${o.nodes.toLocaleString('en-US')} nodes, ${o.pods.toLocaleString('en-US')} pods`, `raftkube scheduler, Node ${process.version}, load average ${(loadavg()[0] ?? 0).toFixed(1)} at the end`));
    process.stderr.write(`wrote ${o.svg}\n`);
  }
  if (o.json) {
    process.stdout.write(`${JSON.stringify(results.map((r) => ({ ...r, bound: undefined })), null, 2)}\n`);
    return;
  }
  process.stdout.write(`Node ${process.version}, load average (1 min) before → after each run; goal ≥ 1,000 pods/s\n\n`);
  process.stdout.write('| workload | apiserver | nodes | pods | seconds | pods/s | CPU s, scheduler process | CPU s, apiserver process | created→bound p50 ms | p99 ms | load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n');
  for (const r of results) {
    process.stdout.write(
      `| ${r.workload} | ${r.apiserver} | ${fmt(r.nodes)} | ${fmt(r.pods)} | ${fmt(r.seconds, 2)} | ${fmt(r.podsPerSecond)} | ${fmt(r.cpuSeconds, 1)} | ${fmt(r.apiserverCpuSeconds, 1)} | ${fmt(r.latencyP50Ms, 1)} | ${fmt(r.latencyP99Ms, 1)} | ${r.loadBefore.toFixed(1)} → ${r.loadAfter.toFixed(1)} |\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
