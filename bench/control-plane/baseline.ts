/**
 * baseline: the etcd layer's own latency measured in the same run, so that apiserver figures
 * taken on a shared, noisy machine can be read against what a bare put and a linearizable get
 * cost at that moment. It runs bench/kv's put-latency and range-latency workloads against the
 * cluster's etcd endpoints (keys under bench/kv's own prefix, outside /registry).
 */
import { validateBenchKvOptions } from '../kv/options.js';
import type { Progress } from '../kv/progress.js';
import { runBenchKv } from '../kv/runner.js';
import type { ApiSeries } from './types.js';

/** baselinePhase measures sequential puts and linearizable gets on the etcd layer of the cluster in `dataDir`. */
export async function baselinePhase(dataDir: string, o: { readonly progress: Progress; readonly durationS: number; readonly count: number }): Promise<ApiSeries[]> {
  const v = validateBenchKvOptions({ clusterFile: dataDir, workload: 'put-latency,range-latency', duration: String(o.durationS), count: String(o.count), progress: false });
  if (!v.ok) throw new Error(`The etcd-layer baseline cannot run: ${v.error}`);
  const report = await runBenchKv(v.value, { progress: o.progress, command: 'raftkube bench api (baseline)' });
  return report.results.flatMap((r) =>
    r.latencies.map((l): ApiSeries => {
      const rate = r.figures.find((f) => f.group === l.label && f.name === 'ops/s')?.value ?? 0;
      return { kind: 'baseline', label: `etcd layer: ${l.label}`, via: 'kv', concurrency: 1, summary: l.summary, rate, errors: r.errors, notes: [...r.notes] };
    }),
  );
}
