/**
 * up-metrics: `raftkube up` gives every component a metrics address, records it in cluster.json
 * and prints it; each one serves Prometheus text that parses (a 1-master cluster with one node).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterFile } from '../../src/cli/cluster-file.js';
import { parsePromText } from '../../src/dashboard/prom-text.js';
import { describeResult, RAFTKUBE_MAIN, runCommand, startCluster, waitFor, type TestCluster } from './harness.js';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ masters: 1, controlPlane: true, nodes: 1 });
}, 200_000);

afterAll(async () => {
  await c?.stop();
}, 90_000);

/** scrape reads and parses a metrics URL, waiting for a component that is still starting to bind it. */
function scrape(url: string): Promise<ReturnType<typeof parsePromText>> {
  return waitFor(`${url} to answer`, async () => {
    const r = await fetch(url);
    return r.status === 200 ? parsePromText(await r.text()) : false;
  }, { timeoutMs: 30_000, intervalMs: 250 });
}

describe('up with the control plane', () => {
  it('records a metrics URL for every component, each serving Prometheus text', async () => {
    const f = readClusterFile(c.dataDir);
    const m1 = f?.masters[0];
    expect(m1?.metricsURLs?.kv).toBe(`${m1?.clientURL}/metrics`);
    expect(m1?.metricsURLs?.apiserver).toBe(`${m1?.apiserverURL}/metrics`);
    const urls = [m1?.metricsURLs?.kv, m1?.metricsURLs?.scheduler, m1?.metricsURLs?.['controller-manager'], f?.nodes?.[0]?.metricsURL];
    for (const url of urls) {
      expect(url).toBeDefined();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const s = await scrape(url!);
      expect(s.samples.some((x) => x.name === 'process_cpu_user_seconds_total'), url).toBe(true);
      expect(s.types.get('nodejs_heap_size_total_bytes'), url).toBe('gauge');
    }
    const sched = await scrape(m1!.metricsURLs!.scheduler!);
    // The one scheduler holds its lease.
    expect(sched.samples.find((x) => x.name === 'leader_election_master_status')?.value).toBe(1);
    const kv = await scrape(m1!.metricsURLs!.kv!);
    expect(kv.samples.find((x) => x.name === 'etcd_server_has_leader')?.value).toBe(1);
  });

  it('lists them in raftkube status', async () => {
    const r = await runCommand(process.execPath, [RAFTKUBE_MAIN, 'status', '--data-dir', c.dataDir], { timeoutMs: 30_000 });
    expect(r.code, describeResult(r)).toBe(0);
    const f = readClusterFile(c.dataDir)!;
    expect(r.stdout).toContain('Control-plane metrics:');
    expect(r.stdout).toContain(`scheduler ${f.masters[0]!.metricsURLs!.scheduler!}`);
    expect(r.stdout).toContain(`n1 ${f.nodes![0]!.metricsURL!}`);
  });
});
