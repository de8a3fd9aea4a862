/**
 * workloads: the light workloads of `raftkube bench kv` — sequential puts, puts with 16, 64 and
 * 256 in flight, sequential linearizable gets, watch latency with one and with many watchers,
 * and watch fan-out. Each takes a WorkloadContext and returns figures; none knows which system
 * it is measuring.
 */
import { buf } from '../../src/kv/client/etcd-client.js';
import { prefixEnd } from '../../src/kv/client/watch-stream.js';
import { describe, drive, warmUp, type CpuWaitSummary, type DriveResult } from './drive.js';
import type { GcSummary } from './client-gc.js';
import { LatencyRecorder } from './histogram.js';
import { describeMembersCpu, MembersClock, type MembersCpu } from './members-cpu.js';
import { drivePuts, split } from './put-clients.js';
import { errorMessage, pollUntil, type WorkloadContext } from './target.js';
import type { Figure, LatencySeries, WorkloadName, WorkloadResult } from './types.js';
import { nowEpochMs, stampedValue, WatchClients, WatchGroup } from './watch-clients.js';

/** THROUGHPUT_IN_FLIGHT are the concurrency levels of put-throughput. */
export const THROUGHPUT_IN_FLIGHT = [16, 64, 256] as const;
/** FANOUT_IN_FLIGHT is how many puts are in flight during watch-fanout. */
export const FANOUT_IN_FLIGHT = 16;
/** FANOUT_PUTS bounds the fan-out phase's puts (each reaches every watcher). */
const FANOUT_PUTS = 20_000;

/** Acc gathers a workload's figures as its phases finish. */
class Acc {
  readonly figures: Figure[] = [];
  readonly latencies: LatencySeries[] = [];
  readonly notes: string[] = [];
  readonly clientCpu: { group: string; percentOfCore: number; gc?: GcSummary; threads?: number; cpuWait?: CpuWaitSummary }[] = [];
  readonly membersCpu: ({ group: string } & MembersCpu)[] = [];
  errors = 0;

  constructor(readonly ctx: WorkloadContext, readonly workload: WorkloadName) {}

  /** phase adds the usual figures of a request phase: ops/s, p50 and p99. */
  phase(group: string, r: DriveResult, withRate = true, threads = 1): void {
    if (withRate) this.figures.push({ group, name: 'ops/s', value: r.opsPerSec, better: 'higher' });
    this.figures.push({ group, name: 'p50 ms', value: r.latency.p50, better: 'lower' }, { group, name: 'p99 ms', value: r.latency.p99, better: 'lower' });
    this.latencies.push({ label: group, summary: r.latency });
    this.clientCpu.push({ group, percentOfCore: r.clientCpuPct, gc: r.clientGc, ...(threads > 1 ? { threads } : {}), ...(r.clientCpuWait === null ? {} : { cpuWait: r.clientCpuWait }) });
    if (r.members !== null) this.membersCpu.push({ group, ...r.members });
    this.errors += r.errors;
    if (r.errors > 0) this.notes.push(`${group}: ${r.errors} failed requests (last: ${r.lastError ?? '?'})`);
    this.ctx.progress.done(describe(r));
  }

  result(): WorkloadResult {
    return { workload: this.workload, system: this.ctx.target.system, figures: this.figures, latencies: this.latencies, errors: this.errors, notes: this.notes, clientCpu: this.clientCpu, ...(this.membersCpu.length > 0 ? { membersCpu: this.membersCpu } : {}) };
  }
}

function bound(ctx: WorkloadContext, def: number): number {
  return ctx.count ?? def;
}

/** cleanUp deletes a workload's keys; failure only costs disk, so it is a note, not an error. */
async function cleanUp(ctx: WorkloadContext, acc: Acc): Promise<void> {
  try {
    await ctx.client.deleteRange(ctx.prefix, prefixEnd(ctx.prefix));
  } catch (err: unknown) {
    acc.notes.push(`could not delete ${ctx.prefix}*: ${errorMessage(err)}`);
  }
}

/** putLatency: sequential puts of 256-byte values to fresh keys. */
export async function putLatency(ctx: WorkloadContext): Promise<WorkloadResult> {
  const acc = new Acc(ctx, 'put-latency');
  await warmUp(ctx, 1, 200, (i) => ctx.client.put(`${ctx.prefix}warm/${i}`, ctx.value));
  const r = await drive(ctx, { label: 'put, sequential', inFlight: 1, count: bound(ctx, 20_000), durationMs: ctx.durationMs, op: (i) => ctx.client.put(`${ctx.prefix}${i}`, ctx.value) });
  acc.phase('put, sequential', r);
  await cleanUp(ctx, acc);
  return acc.result();
}

/** putThroughput: puts with 16, 64 and 256 requests in flight. */
export async function putThroughput(ctx: WorkloadContext): Promise<WorkloadResult> {
  const acc = new Acc(ctx, 'put-throughput');
  const shares: string[] = [];
  for (const n of THROUGHPUT_IN_FLIGHT) {
    if (ctx.signal.aborted) break;
    const label = `put, ${n} in flight`;
    const r = await drivePuts(ctx, { label, prefix: `${ctx.prefix}c${n}/`, inFlight: n, count: bound(ctx, 100_000), durationMs: ctx.durationMs, threads: ctx.putClients });
    acc.phase(label, r, true, r.threads);
    if (r.threads > 1) shares.push(split(n, r.threads).join(' + '));
  }
  if (shares.length > 0) acc.notes.push(`puts from ${ctx.putClients} client threads (${shares.join(', ')} in flight); client CPU and GC pauses are all threads' together`);
  await cleanUp(ctx, acc);
  return acc.result();
}

/** rangeLatency: sequential linearizable gets of one existing key. */
export async function rangeLatency(ctx: WorkloadContext): Promise<WorkloadResult> {
  const acc = new Acc(ctx, 'range-latency');
  const key = `${ctx.prefix}k`;
  await ctx.client.put(key, ctx.value);
  const get = async (): Promise<void> => {
    const r = await ctx.client.range(key);
    if (r.kvs.length !== 1 || r.kvs[0]?.value.length !== ctx.value.length) throw new Error(`Range of ${key} returned ${r.kvs.length} keys`);
  };
  await warmUp(ctx, 1, 200, get);
  const label = 'get, sequential linearizable';
  acc.phase(label, await drive(ctx, { label, inFlight: 1, count: bound(ctx, 20_000), durationMs: ctx.durationMs, op: get }));
  await cleanUp(ctx, acc);
  return acc.result();
}

/**
 * watchLatencyPhase: sequential puts under a prefix that `n` watchers watch; each put waits
 * until every watcher has its event (at most 5 s). Latency is from issuing the put to one
 * watcher receiving the event, one sample per watcher per put.
 */
async function watchLatencyPhase(ctx: WorkloadContext, acc: Acc, n: number): Promise<void> {
  const prefix = `${ctx.prefix}w${n}/`;
  const rec = new LatencyRecorder();
  const pending = new Map<string, { t0: number; left: number; resolve: () => void }>();
  const set = await WatchGroup.open(ctx.client, prefix, n, (events) => {
    const now = performance.now();
    for (const e of events) {
      if (e.type !== 'PUT' || e.kv === undefined) continue;
      const key = buf(e.kv.key).toString();
      const p = pending.get(key);
      if (p === undefined) continue;
      rec.recordMs(now - p.t0);
      if (--p.left === 0) {
        pending.delete(key);
        p.resolve();
      }
    }
  });
  let lost = 0;
  const putAndWait = async (key: string, record: boolean): Promise<void> => {
    let resolve = (): void => {};
    const all = new Promise<void>((r) => (resolve = r));
    const t0 = performance.now();
    if (record) pending.set(key, { t0, left: n, resolve });
    await ctx.client.put(key, ctx.value);
    if (!record) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5_000)));
    const outcome = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      lost += pending.get(key)?.left ?? 0;
      pending.delete(key);
    }
  };
  try {
    await warmUp(ctx, 1, 100, (i) => putAndWait(`${prefix}warm/${i}`, false));
    const label = `watch, ${n} watcher${n === 1 ? '' : 's'}`;
    const r = await drive(ctx, { label, inFlight: 1, count: bound(ctx, n === 1 ? 10_000 : 3_000), durationMs: ctx.durationMs, op: (i) => putAndWait(`${prefix}${i}`, true) });
    // The put's own latency is not the figure here: the event's is.
    acc.phase(label, { ...r, latency: rec.summary() }, false);
    if (lost > 0) acc.notes.push(`${label}: ${lost} events not received within 5 s`);
    if (set.failure !== null) acc.notes.push(`${label}: a watch stream failed: ${set.failure.message}`);
  } finally {
    set.close();
  }
}

/** watchLatency: event latency with 1 watcher, then with `watchers` watchers on the prefix. */
export async function watchLatency(ctx: WorkloadContext): Promise<WorkloadResult> {
  const acc = new Acc(ctx, 'watch-latency');
  for (const n of new Set([1, ctx.watchers])) {
    if (ctx.signal.aborted) break;
    await watchLatencyPhase(ctx, acc, n);
  }
  await cleanUp(ctx, acc);
  return acc.result();
}

/**
 * watchFanout: `watchers` watchers on a prefix, spread over `watchClients` client threads, while
 * puts run 16 in flight from this thread; the figure is events delivered per second, from the
 * first put to the last event received, after every watcher got every event (or 30 s passed).
 * The phase runs for the phase duration or 20,000 puts: at 5,000 it lasted 2–5 s once the
 * client kept up, and its rate moved by half between runs.
 * Delivery lag runs from issuing the put (its value carries the time) to each watcher receiving
 * it.
 */
export async function watchFanout(ctx: WorkloadContext): Promise<WorkloadResult> {
  const acc = new Acc(ctx, 'watch-fanout');
  const n = ctx.watchers;
  const prefix = `${ctx.prefix}f/`;
  const set = await WatchClients.open({ endpoints: ctx.target.endpoints, ...(ctx.target.tls === undefined ? {} : { tls: ctx.target.tls }), prefix, watchers: n, clients: ctx.watchClients });
  try {
    const group = `watch fan-out, ${n} watchers, ${FANOUT_IN_FLIGHT} puts in flight`;
    const cpu0 = process.cpuUsage();
    const membersClock = MembersClock.open(ctx.target);
    const t0 = performance.now();
    const t0Epoch = nowEpochMs();
    // NB: the members are read over the whole span below, so drive is not handed them.
    const r = await drive({ progress: ctx.progress, signal: ctx.signal }, {
      label: `fan-out to ${n} watchers`,
      inFlight: FANOUT_IN_FLIGHT,
      count: bound(ctx, FANOUT_PUTS),
      durationMs: ctx.durationMs,
      op: (i) => ctx.client.put(`${prefix}${i}`, stampedValue(ctx.value)),
    });
    const expected = r.done * n;
    let waited = true;
    try {
      await pollUntil('every watcher has every event', async () => (set.total >= expected || set.failure !== null ? true : undefined), { timeoutMs: 30_000, intervalMs: 20, signal: ctx.signal });
    } catch {
      waited = false;
    }
    const delivered = set.total;
    const lastEvent = set.lastEventMs;
    const spanMs = Math.max(1, (lastEvent === 0 ? nowEpochMs() : lastEvent) - t0Epoch);
    // NB: process.cpuUsage covers every thread of the process: the client threads too.
    const cpu = process.cpuUsage(cpu0);
    const cpuPct = (cpu.user + cpu.system) / 10 / (performance.now() - t0);
    const failure = set.failure;
    const lag = (await set.finish()).summary();
    // The members' work runs from the first put until the last event is delivered.
    const members = membersClock?.stop(r.done, performance.now() - t0) ?? null;
    acc.clientCpu.push({ group, percentOfCore: cpuPct });
    if (members !== null) acc.membersCpu.push({ group, ...members });
    acc.figures.push(
      { group, name: 'events/s delivered', value: (delivered * 1000) / spanMs, better: 'higher' },
      { group, name: 'puts/s', value: r.opsPerSec, better: 'higher' },
      { group, name: 'lag p50 ms', value: lag.p50, better: 'lower' },
      { group, name: 'lag p99 ms', value: lag.p99, better: 'lower' },
    );
    acc.latencies.push({ label: `fan-out lag, ${n} watchers`, summary: lag });
    acc.notes.push(`${group}: watchers on ${set.threads} client thread${set.threads === 1 ? '' : 's'}, puts on another; client CPU ${Math.round(cpuPct)} % of a core in all`);
    acc.errors += r.errors;
    if (r.errors > 0) acc.notes.push(`${group}: ${r.errors} failed puts (last: ${r.lastError ?? '?'})`);
    if (delivered < expected) acc.notes.push(`${group}: ${expected - delivered} of ${expected} events not delivered${waited ? '' : ' within 30 s'}`);
    if (failure !== null) acc.notes.push(`${group}: a watch stream failed: ${failure.message}`);
    ctx.progress.done(`${r.done} puts, ${delivered} events in ${(spanMs / 1000).toFixed(1)} s = ${Math.round((delivered * 1000) / spanMs)} events/s, lag p99 ${lag.p99.toFixed(1)} ms, ${set.threads} watch client${set.threads === 1 ? '' : 's'}, client CPU ${Math.round(cpuPct)}% of a core${describeMembersCpu(members, 'put')}`);
  } finally {
    set.close();
  }
  await cleanUp(ctx, acc);
  return acc.result();
}
