/**
 * runner: one run of `raftkube bench api` — read the cluster, make a throwaway namespace, run
 * the phases in order (creates, watches, fill, memory, lists), and always delete the pods and
 * the namespace again, also after an error or Ctrl-C.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { ApiClient } from '../../src/control-plane/client/api-client.js';
import { readRssKiB } from '../kv/procs.js';
import type { Progress } from '../kv/progress.js';
import { InterruptedError } from '../kv/runner.js';
import { baselinePhase } from './baseline.js';
import { judgeGoals } from './report.js';
import { expectStatus, RestClient } from './rest.js';
import { apiServerPids, readApiTarget, type ApiTarget } from './target.js';
import type { ApiSeries, BenchApiOptions, BenchApiReport, MemoryResult, PhaseName, RssReading } from './types.js';
import { createPhase, deletePods, fillPods, listPhase, watchPhase, type ApiBenchContext } from './workloads.js';

function grpcClients(t: ApiTarget): ApiClient[] | null {
  const addrs = t.masters.map((m) => m.grpcAddress);
  if (addrs.some((a) => a === null)) return null;
  const list = addrs as string[];
  // Client k tries apiserver k first, the others after it: the load spreads like the REST phases'.
  return list.map((_, k) => new ApiClient({ endpoints: [...list.slice(k), ...list.slice(0, k)], token: t.token, ...(t.caPem === null ? {} : { caPem: t.caPem }), deadlineMs: 30_000 }));
}

async function checkReachable(rest: RestClient, t: ApiTarget): Promise<void> {
  await Promise.all(
    t.masters.map(async (m) => {
      let r;
      try {
        r = await rest.request(m.apiserverURL, 'GET', '/readyz', undefined, 10_000);
      } catch (e: unknown) {
        throw new Error(`The apiserver of ${m.name} at ${m.apiserverURL} does not answer (${e instanceof Error ? e.message : String(e)}); is the cluster up?`);
      }
      expectStatus(r, [200], `The readiness check of ${m.name}'s apiserver (${m.apiserverURL}/readyz)`);
    }),
  );
}

function readRss(pids: readonly { readonly master: string; readonly pid: number }[]): RssReading[] {
  return pids.flatMap(({ master, pid }) => {
    const kib = readRssKiB(pid);
    return kib === null ? [] : [{ master, pid, kib }];
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/** runBenchApi runs every phase against the cluster in `o.dataDir`; it rejects with InterruptedError after Ctrl-C (once cleaned up). */
export async function runBenchApi(o: BenchApiOptions, io: { readonly progress: Progress; readonly command: string }): Promise<BenchApiReport> {
  const { progress } = io;
  const target = readApiTarget(o.dataDir);
  const rest = new RestClient({ caPem: target.caPem, token: target.token });
  const grpc = grpcClients(target);
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) return;
    ac.abort();
    progress.log('Interrupted: finishing the current request, then deleting the benchmark namespace (Ctrl-C again to leave it).');
    process.once('SIGINT', () => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const loadBefore = loadavg().map(round2);
  const date = new Date().toISOString();
  const namespace = `raftkube-bench-${Date.now().toString(36)}`;
  const notes: string[] = [];
  const series: ApiSeries[] = [];
  let memory: MemoryResult | null = null;
  let namespaceMade = false;
  const watchVia = o.watchVia === 'grpc' && grpc === null ? 'rest' : o.watchVia;
  const ctx: ApiBenchContext = { target, rest, grpc, namespace, progress, signal: ac.signal, created: 0 };
  try {
    await checkReachable(rest, target);
    if (grpc === null) notes.push('cluster.json gives no grpcAddress for some master: the gRPC phases were skipped');
    const apis = apiServerPids(target.masters);
    if (apis.missing.length > 0) notes.push(`no apiserver process among the pids of ${apis.missing.join(', ')} in cluster.json: memory is not measured there`);
    const ns = await rest.request(target.masters[0]!.apiserverURL, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace }, spec: { finalizers: [] } });
    expectStatus(ns, [201], `Creating the namespace ${namespace}`);
    namespaceMade = true;
    progress.log(`Namespace ${namespace} on ${target.masters.length} apiservers (${target.masters.map((m) => m.apiserverURL).join(', ')})`);
    const before = readRss(apis.pids);
    const stop = (): boolean => ac.signal.aborted;

    const faces = grpc === null ? (['rest'] as const) : (['rest', 'grpc'] as const);
    const run = (p: PhaseName): boolean => o.phases.includes(p) && !ac.signal.aborted;
    if (run('baseline')) {
      try {
        series.push(...(await baselinePhase(o.dataDir, { progress, durationS: o.baseline.durationS, count: o.baseline.count })));
      } catch (e: unknown) {
        if (e instanceof InterruptedError) ac.abort();
        else notes.push(`the etcd-layer baseline failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const [i, clients] of (run('create') ? [1, o.clients] : []).entries()) {
      for (const via of faces) {
        if (stop()) break;
        series.push(await createPhase(ctx, { via, clients, count: o.creates[i]!, durationMs: o.durationMs }));
      }
    }
    for (const [i, watchers] of (run('watch') ? [1, o.watchers] : []).entries()) {
      if (stop()) break;
      series.push(...(await watchPhase(ctx, { via: watchVia, watchers, creates: o.watchCreates[i]! })));
    }
    if (run('list')) await fillPods(ctx, o.pods);
    if (run('list')) {
      const holding = readRss(apis.pids);
      const lists: ApiSeries[] = [];
      for (const cache of [true, false]) if (!stop()) lists.push(await listPhase(ctx, { cache, repeats: o.listRepeats, expected: ctx.created }));
      series.push(...lists);
      const afterLists = readRss(apis.pids);
      memory = apis.pids.length === 0 ? null : {
        pods: ctx.created,
        before,
        holding,
        afterLists,
        notes: [`VmRSS of ${apis.pids.length} apiserver process${apis.pids.length === 1 ? '' : 'es'}; "holding" is read right after the namespace was filled, before any list`],
      };
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      if (namespaceMade) {
        await deletePods(ctx);
        const r = await rest.request(target.masters[0]!.apiserverURL, 'DELETE', `/api/v1/namespaces/${namespace}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
        expectStatus(r, [200, 202, 404], `Deleting the namespace ${namespace}`);
      }
    } catch (e: unknown) {
      progress.log(`Cleanup failed: ${e instanceof Error ? e.message : String(e)}; delete the namespace ${namespace} by hand (kubectl delete pods --all -n ${namespace} --grace-period 0; kubectl delete ns ${namespace})`);
    } finally {
      for (const c of grpc ?? []) c.close();
      rest.close();
    }
  }
  if (ac.signal.aborted) throw new InterruptedError('Interrupted');
  const cpu = cpus();
  return {
    meta: {
      date,
      command: io.command,
      masters: target.masters.length,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadBefore,
      loadAfter: loadavg().map(round2),
      watchVia,
      quick: o.quick,
    },
    series,
    memory,
    goals: judgeGoals(series, o.watchers),
    notes,
  };
}
