/**
 * bench-pods: `raftkube bench pods` and `raftkube bench nodes` — their pure parts (flags, /proc
 * parsing, the node census, joining creates with what the watcher saw, the report and the SVG),
 * and end-to-end runs against a 3-master cluster from `raftkube up` with 200 simulated nodes:
 * `bench pods --quick` must report a figure for every pod it created, and `bench nodes` must pass
 * while the nodes are healthy and fail loudly (exit 1) when a check cannot hold.
 * No timing thresholds: the figures are checked for presence, not size.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatNodesReport,
  formatReport,
  parseCpuSeconds,
  podBody,
  renderPodsSvg,
  runtimeOf,
  timingsOf,
  validateBenchNodesOptions,
  validateBenchPodsOptions,
  type BenchNodesReport,
  type BenchPodsReport,
  type PodSeen,
} from '../../bench/pods/index.js';
import type { LatencySummary } from '../../bench/kv/index.js';
import type { NodeObject } from '../../src/node-agent/index.js';
import { describeResult, RAFTKUBE_MAIN, runCommand, startCluster, type TestCluster } from '../integration/harness.js';

function summary(p50: number, p99: number, count = 3): LatencySummary {
  return { count, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 };
}

const META = { date: '2026-11-30T12:00:00.000Z', command: 'raftkube bench pods --data-dir d', masters: 3, cpus: 2, cpuModel: 'cpu', memGiB: 24, node: 'v20.0.0', loadBefore: [0.5, 0.4, 0.3], loadAfter: [1.5, 0.6, 0.4], quick: false };

describe('flags', () => {
  it('bench pods: full sizes by default, small ones with --quick; explicit numbers win', () => {
    const full = validateBenchPodsOptions({ dataDir: '/d' });
    expect(full.ok && [full.value.pods, full.value.rate, full.value.workload, full.value.timeoutMs]).toEqual([2000, 100, 'sleep', 120_000]);
    const quick = validateBenchPodsOptions({ dataDir: '/d', quick: true, rate: '7.5', workload: 'http' });
    expect(quick.ok && [quick.value.pods, quick.value.rate, quick.value.workload, quick.value.quick]).toEqual([30, 7.5, 'http', true]);
  });

  it.each([
    [{}, /--data-dir/],
    [{ dataDir: '/d', pods: '0' }, /--pods must be a whole number of at least 1/],
    [{ dataDir: '/d', rate: 'fast' }, /--rate must be a number/],
    [{ dataDir: '/d', pods: '2.5' }, /--pods must be a whole number/],
    [{ dataDir: '/d', workload: 'nginx' }, /--workload must be sleep or http/],
  ])('bench pods refuses %j', (raw, message) => {
    const v = validateBenchPodsOptions(raw);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.error).toMatch(message);
  });

  it('bench nodes: --nodes is required; --pods 0 holds the nodes alone', () => {
    const v = validateBenchNodesOptions({ dataDir: '/d' });
    expect(!v.ok && v.error).toMatch(/Give --nodes N/);
    const full = validateBenchNodesOptions({ dataDir: '/d', nodes: '1000' });
    expect(full.ok && [full.value.nodes, full.value.pods, full.value.holdMs, full.value.leaseStaleMs]).toEqual([1000, 10_000, 60_000, null]);
    const none = validateBenchNodesOptions({ dataDir: '/d', nodes: '5', pods: '0', leaseStale: '3', quick: true });
    expect(none.ok && [none.value.pods, none.value.holdMs, none.value.leaseStaleMs]).toEqual([0, 15_000, 3000]);
    expect(validateBenchNodesOptions({ dataDir: '/d', nodes: '-1' }).ok).toBe(false);
  });
});

describe('pure parts', () => {
  it('reads utime + stime from /proc/<pid>/stat, whatever the command name holds', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194304', '10', '0', '0', '0', '250', '130', '0', '0'];
    expect(parseCpuSeconds(`123 (node (sim) x) ${fields.join(' ')}`)).toBe(3.8);
    expect(parseCpuSeconds(`123 (node) S 1`)).toBeNull();
  });

  it("names a node's runtime from nodeInfo.containerRuntimeVersion", () => {
    const info = (containerRuntimeVersion: string): NodeObject => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {},
      status: { nodeInfo: { containerRuntimeVersion, architecture: 'amd64', bootID: '', kernelVersion: '', kubeProxyVersion: '', kubeletVersion: '', machineID: '', operatingSystem: 'linux', osImage: '', systemUUID: '' } },
    });
    expect(runtimeOf(info('raftkube-simulated://0.1.0'))).toBe('simulated');
    expect(runtimeOf(info('containerd://1.7'))).toBe('containerd://1.7');
    expect(runtimeOf({ apiVersion: 'v1', kind: 'Node', metadata: {} })).toBe('unknown');
  });

  it('makes pods for the scheduler: no node, a command, a readiness probe for http', () => {
    const sleep = podBody('ns', 3, 'sleep');
    expect(sleep.metadata.name).toBe('pod-00003');
    expect(sleep.spec?.nodeName).toBeUndefined();
    expect(sleep.spec?.containers[0]?.command).toEqual(['sleep', '3600']);
    const http = podBody('ns', 4, 'http');
    expect(http.spec?.containers[0]?.readinessProbe?.httpGet?.port).toBe(8080);
  });

  it('times every created pod from its create being sent, and leaves what the watcher never saw null', () => {
    const seen = new Map<string, PodSeen>([['pod-00000', { node: 'sim-1', scheduledAt: 1030, runningAt: 1200, readyAt: 1250, running: true, ready: true, deleted: false }]]);
    const t = timingsOf(
      [
        { index: 0, sentAt: 1000, tookMs: 20, error: null },
        { index: 1, sentAt: 1010, tookMs: 25, error: null },
        { index: 2, sentAt: 1020, tookMs: 5, error: '422 invalid' },
      ],
      { get: (n: string) => seen.get(n) },
      1000,
    );
    expect(t).toEqual([
      { name: 'pod-00000', node: 'sim-1', sentAtMs: 0, createdMs: 20, scheduledMs: 30, runningMs: 200, readyMs: 250 },
      { name: 'pod-00001', node: '', sentAtMs: 10, createdMs: 25, scheduledMs: null, runningMs: null, readyMs: null },
    ]);
  });

  it('prints a table, the runtime the pods ran on and the verdict, and plots every pod', () => {
    const r: BenchPodsReport = {
      meta: { ...META, pods: 3, targetRate: 100, workload: 'sleep' },
      nodes: { total: 5, ready: 5, runtimes: { simulated: 5 } },
      podRuntimes: { simulated: 3 },
      createRate: 99.5,
      series: [
        { label: 'create (round trip)', summary: summary(10, 20), missing: 0 },
        { label: 'created → scheduled', summary: summary(30, 60), missing: 0 },
        { label: 'created → Running', summary: summary(300, 600), missing: 0 },
        { label: 'created → Ready', summary: summary(310, 1500), missing: 0 },
      ],
      goal: { limitMs: 1000, p99: 1500, met: false },
      pods: [0, 1, 2].map((i) => ({ name: `pod-0000${i}`, node: 'sim-0', sentAtMs: i * 10, createdMs: 10, scheduledMs: 30, runningMs: 300, readyMs: 310 + i })),
      errors: [],
      notes: ['a note'],
    };
    const text = formatReport(r);
    expect(text).toContain('Nodes: 5 nodes, 5 Ready (simulated: 5); the pods ran on: simulated (3 pods)');
    expect(text).toMatch(/\| created → Ready +\| +3 \| +310 \| +1,500 \| +1,500 \| +1,500 \| +0 \|/);
    expect(text).toContain('NOT met (1,500 ms)');
    expect(text).toContain('Load average before: 0.5 0.4 0.3; after: 1.5 0.6 0.4');
    const svg = renderPodsSvg(r);
    expect(svg.match(/<circle /g)?.length).toBe(3 * 2 + 2);
    expect(svg).toContain('Ready p99 1,500 ms');
  });

  it('reports a failed hold with every broken check', () => {
    const r: BenchNodesReport = {
      meta: { ...META, nodes: 2, pods: 0, holdSeconds: 3 },
      census: { total: 2, ready: 2, runtimes: { simulated: 2 } },
      agentPid: 42,
      createSeconds: 0,
      allRunningSeconds: 0,
      checks: [{ atMs: 1000, nodesReady: 1, leasesFresh: 2, maxLeaseLagMs: 9000, podsRunning: 0, podsReady: 0, agentCpuPct: 3.5, agentRssMiB: 100 }],
      leaseRenewGapMs: summary(10_000, 10_400, 2),
      leaseStaleMs: 40_000,
      agentBefore: { pid: 42, rssMiB: 90, cpuSeconds: 1 },
      agentAfter: { pid: 42, rssMiB: 100, cpuSeconds: 2 },
      agentCpuPctHold: 3.3,
      failures: ['at 1.0 s: 1 node is not Ready (sim-1)'],
      notes: [],
    };
    const text = formatNodesReport(r);
    expect(text).toContain('FAILED: 1 broken check');
    expect(text).toContain('  - at 1.0 s: 1 node is not Ready (sim-1)');
    expect(text).toMatch(/\| +1\.0 \| +1 \| +2 \| +9\.0 \| +0 \| +0 \| +3\.5 \| +100 \|/);
  });
});

describe('against a cluster of 200 simulated nodes', () => {
  let cluster: TestCluster | undefined;
  let out = '';

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, controlPlane: true, nodes: 200, runtime: 'simulated' });
    out = mkdtempSync(join(tmpdir(), 'raftkube-bench-pods-'));
  }, 200_000);

  afterAll(async () => {
    await cluster?.stop();
    if (out !== '') rmSync(out, { recursive: true, force: true });
  }, 60_000);

  it('bench pods --quick reports created → scheduled, Running and Ready for every pod it created, on simulated nodes', async () => {
    const json = join(out, 'pods.json');
    const svg = join(out, 'pods.svg');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'pods', '--data-dir', cluster!.dataDir, '--quick', '--timeout', '120', '--json', json, '--svg', svg, '--no-progress'], { timeoutMs: 180_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchPodsReport;
    expect(report.pods).toHaveLength(30);
    for (const p of report.pods) {
      expect(p.node, p.name).toMatch(/^sim-\d+$/);
      for (const v of [p.createdMs, p.scheduledMs, p.runningMs, p.readyMs]) expect(v, p.name).toBeTypeOf('number');
      expect(p.readyMs!, p.name).toBeGreaterThanOrEqual(p.scheduledMs!);
    }
    expect(report.series.map((s) => [s.label, s.summary.count, s.missing])).toEqual([
      ['create (round trip)', 30, 0],
      ['created → scheduled', 30, 0],
      ['created → Running', 30, 0],
      ['created → Ready', 30, 0],
    ]);
    expect(report.nodes.runtimes).toEqual({ simulated: 200 });
    expect(report.podRuntimes).toEqual({ simulated: 30 });
    expect(report.goal).not.toBeNull();
    expect(r.stdout).toContain('the pods ran on: simulated (30 pods)');
    expect(readFileSync(svg, 'utf8').match(/<circle /g)?.length).toBe(30 * 2 + 2);
  }, 200_000);

  it('bench nodes holds the 200 nodes and their pods, every check passing, and deletes its pods', async () => {
    const json = join(out, 'nodes.json');
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'nodes', '--data-dir', cluster!.dataDir, '--nodes', '200', '--quick', '--pods', '50', '--seconds', '15', '--json', json, '--no-progress'], { timeoutMs: 180_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchNodesReport;
    expect(report.failures).toEqual([]);
    expect(report.checks.length).toBeGreaterThanOrEqual(4);
    for (const c of report.checks) expect([c.nodesReady, c.leasesFresh, c.podsRunning, c.podsReady]).toEqual([200, 200, 50, 50]);
    expect(report.leaseRenewGapMs.count).toBeGreaterThan(0);
    expect(report.agentAfter?.rssMiB).toBeGreaterThan(0);
    expect(r.stdout).toContain('PASSED: 200 nodes Ready');
  }, 200_000);

  it('bench nodes fails loudly when a check cannot hold: Leases older than --lease-stale, or fewer nodes than asked for', async () => {
    const stale = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'nodes', '--data-dir', cluster!.dataDir, '--nodes', '200', '--pods', '0', '--seconds', '3', '--check-every', '1', '--lease-stale', '1', '--no-progress'], { timeoutMs: 60_000 });
    expect(stale.code, describeResult(stale)).toBe(1);
    expect(stale.stdout).toMatch(/FAILED: \d+ broken checks?/);
    expect(stale.stderr).toMatch(/raftkube bench nodes: FAILED .*Leases? (is|are) stale/);
    const more = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'bench', 'nodes', '--data-dir', cluster!.dataDir, '--nodes', '201', '--timeout', '1', '--no-progress'], { timeoutMs: 60_000 });
    expect(more.code, describeResult(more)).toBe(1);
    expect(more.stderr).toContain('Only 200 of 201 simulated nodes are Ready');
  }, 120_000);
});
