/**
 * bench-scheduler: `raftkube bench scheduler` — its pure parts (flags, goals, the cumulative
 * series, the text report and the SVG), and one end-to-end run of the built CLI with --quick
 * against a real 3-master cluster with 10 simulated nodes started by the test harness: every pod
 * of the pods phase gets bound, the Deployment becomes available, and nothing is left behind.
 * No timing thresholds: the figures are checked for presence and consistency, not size.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cumulative, formatReport, judgeGoals, renderSchedulerSvg, validateBenchSchedulerOptions, type BenchSchedulerReport, type DeploymentPhaseResult, type PodsPhaseResult } from '../../bench/scheduler/index.js';
import { NAMESPACES, openTarget, PODS } from '../../bench/scheduler/cluster.js';
import { describeResult, RAFTKUBE_MAIN, runCommand, startCluster, waitFor, type TestCluster } from '../integration/harness.js';

const summary = { count: 10, mean: 5, p50: 4, p90: 8, p99: 9, p999: 9, max: 9 };

function podsResult(podsPerSecond: number, allBound = true): PodsPhaseResult {
  return {
    pods: 10_000, concurrency: 64, createSeconds: 5, createsPerSecond: 2000, createErrors: 0, createdTwice: 0, bound: allBound ? 10_000 : 9_000, allBound,
    seconds: 10_000 / podsPerSecond, podsPerSecond, createdToBound: summary, cpu: { scheduler: 3, apiserver: 6 },
    nodes: { readyAtStart: 1000, notReadyDuring: 0 }, created: [[0, 0], [5, 10_000]], boundOverTime: [[0, 0], [10, 10_000]],
  };
}

function deploymentResult(seconds: number, available = true): DeploymentPhaseResult {
  return {
    replicas: 1000, available, seconds, availableReplicas: available ? 1000 : 400, bound: 1000, ready: 1000, boundAtMs: [100, 200], readyAtMs: [300, 400],
    cpu: { scheduler: 1 }, nodes: { readyAtStart: 1000, notReadyDuring: 3 }, boundOverTime: [[0, 0], [2, 1000]], readyOverTime: [[0, 0], [3, 1000]], availableOverTime: [[0, 0], [4, 1000]],
  };
}

describe('flags', () => {
  it('uses the issue\'s sizes by default and small ones with --quick; explicit numbers win', () => {
    const full = validateBenchSchedulerOptions({ dataDir: '/d' });
    expect(full.ok && [full.value.pods, full.value.replicas, full.value.concurrency, full.value.timeoutMs, full.value.phases]).toEqual([10_000, 1000, 64, 600_000, ['cycle', 'pods', 'deployment']]);
    const quick = validateBenchSchedulerOptions({ dataDir: '/d', quick: true, replicas: '7', phases: 'deployment, pods' });
    expect(quick.ok && [quick.value.pods, quick.value.replicas, quick.value.quick, quick.value.phases]).toEqual([100, 7, true, ['pods', 'deployment']]);
  });

  it.each([
    [{}, /--data-dir/],
    [{ dataDir: '/d', pods: '0' }, /--pods must be a whole number of at least 1/],
    [{ dataDir: '/d', replicas: 'lots' }, /--replicas/],
    [{ dataDir: '/d', concurrency: '1.5' }, /--concurrency/],
    [{ dataDir: '/d', phases: 'pods,binding' }, /Unknown phase "binding"/],
    [{ dataDir: '/d', phases: ',' }, /names no phase/],
  ])('refuses %j', (raw, message) => {
    const v = validateBenchSchedulerOptions(raw);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatch(message);
  });
});

describe('report', () => {
  it('judges throughput against 1,000 pods/s and the Deployment against 10 s, and only phases that ran', () => {
    expect(judgeGoals(podsResult(1200), deploymentResult(8)).map((g) => g.met)).toEqual([true, true]);
    expect(judgeGoals(podsResult(999), deploymentResult(10)).map((g) => g.met)).toEqual([false, false]);
    expect(judgeGoals(podsResult(5000, false), deploymentResult(1, false)).map((g) => g.met)).toEqual([false, false]);
    expect(judgeGoals(null, null)).toEqual([]);
  });

  it('turns event times into a cumulative count from the phase start', () => {
    expect(cumulative([3000, 1000, 2000], 0, 200)).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
    const many = cumulative(Array.from({ length: 1000 }, (_, i) => i), 0, 10);
    expect(many).toHaveLength(11);
    expect(many.at(-1)).toEqual([0.999, 1000]);
  });

  it('prints the figures, the goals and the node health, and draws both phases', () => {
    const report: BenchSchedulerReport = {
      meta: { date: '2026-11-30T14:00:00.000Z', command: 'raftkube bench scheduler', masters: 3, readyNodes: 1000, cpus: 2, cpuModel: 'x', memGiB: 24, node: 'v20', loadBefore: [1, 1, 1], loadAfter: [2, 2, 2], quick: false },
      cycle: { nodes: 1000, pods: 10_000, seconds: 2, podsPerSecond: 5000, unschedulable: 0, cpuSeconds: 1.9 },
      pods: podsResult(500),
      deployment: deploymentResult(12),
      goals: judgeGoals(podsResult(500), deploymentResult(12)),
      notes: ['a note'],
    };
    const text = formatReport(report);
    expect(text).toContain('| pods: throughput, first create sent → last pod bound | 500 pods/s |');
    expect(text).toContain('| deployment: 1,000 replicas, create → available | 12.00 s |');
    expect(text).toContain('- NOT MET: ≥ 1,000 pods/s created→bound (10,000 pods) — measured 500.00');
    expect(text).toContain('Nodes during deployment: 1,000 Ready at the start, 3 seen not Ready');
    const svg = renderSchedulerSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const label of ['created', 'bound', 'pods Ready', 'availableReplicas']) expect(svg).toContain(`>${label}</text>`);
  });
});

describe('raftkube bench scheduler --quick, end to end', () => {
  let cluster: TestCluster;
  const dir = mkdtempSync(join(tmpdir(), 'bench-scheduler-'));

  beforeAll(async () => {
    cluster = await startCluster({ controlPlane: true, nodes: 10, runtime: 'simulated' });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('binds every pod, makes the Deployment available, writes JSON and SVG, and deletes what it made', async () => {
    const json = join(dir, 'report.json');
    const svg = join(dir, 'plot.svg');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'scheduler', '--data-dir', cluster.dataDir, '--quick', '--no-progress', '--json', json, '--svg', svg], { timeoutMs: 500_000 });
    expect(r.code, describeResult(r)).toBe(0);
    expect(r.stdout).toMatch(/^\| pods: bound \| 100 of 100 in [\d.]+ s \|$/m);
    expect(r.stdout).toContain('Goals:');
    expect(r.stderr).toMatch(/3 apiservers, 10 Ready nodes/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchSchedulerReport;
    expect(report.meta).toMatchObject({ masters: 3, readyNodes: 10, quick: true });
    expect(report.cycle).toMatchObject({ nodes: 10, pods: 100, unschedulable: 0 });
    const pods = report.pods!;
    expect(pods).toMatchObject({ pods: 100, bound: 100, allBound: true, createErrors: 0 });
    expect(pods.createdToBound.count).toBe(100);
    expect(pods.createdToBound.p50).toBeLessThanOrEqual(pods.createdToBound.p99);
    expect(pods.podsPerSecond).toBeCloseTo(100 / pods.seconds, 6);
    expect(pods.boundOverTime.at(-1)?.[1]).toBe(100);
    expect(pods.cpu['scheduler']).toBeGreaterThanOrEqual(0);
    const d = report.deployment!;
    expect(d).toMatchObject({ replicas: 30, available: true, availableReplicas: 30 });
    expect(d.boundAtMs).toHaveLength(30);
    expect(d.readyAtMs).toHaveLength(30);
    // A pod is Ready after it is bound, and the last one Ready no later than the Deployment is available.
    expect(d.readyAtMs[0]!).toBeGreaterThanOrEqual(d.boundAtMs[0]!);
    expect(d.readyAtMs.at(-1)!).toBeLessThanOrEqual(d.seconds * 1000 + 1);
    expect(d.availableOverTime.at(-1)?.[1]).toBe(30);
    expect(report.goals.map((g) => g.goal)).toEqual(['≥ 1,000 pods/s created→bound (100 pods)', '30-replica Deployment available in < 10 s']);
    const plot = readFileSync(svg, 'utf8');
    expect(plot).toContain('>availableReplicas</text>');
    expect(plot).toContain('Deployment of 30: available in');

    const t = openTarget(cluster.dataDir, 30_000);
    try {
      const left = await t.clients[0]!.list(PODS, {});
      expect(left.ok && left.value.items.filter((p) => p.metadata.namespace?.startsWith('raftkube-bench-sched-'))).toEqual([]);
      await waitFor('the benchmark namespaces to be gone', async () => {
        const ns = await t.clients[0]!.list(NAMESPACES, {});
        return ns.ok && ns.value.items.every((n) => !(n.metadata.name ?? '').startsWith('raftkube-bench-sched-'));
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } finally {
      t.close();
    }
  }, 600_000);
});
