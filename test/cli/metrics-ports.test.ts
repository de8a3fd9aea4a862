/**
 * metrics-ports: the metrics addresses `up` gives the schedulers, controller managers and node
 * agents lie inside the cluster's port span and clash with no other port of the cluster.
 */
import { describe, expect, it } from 'vitest';
import { METRICS_NODES, metricsPortChecks, metricsPorts } from '../../src/cli/components-up.js';
import { planPorts, PORT_SPAN } from '../../src/cli/control-plane-up.js';
import { planMembers } from '../../src/cli/local-cluster.js';

describe('metricsPorts', () => {
  it('fits 5 masters and every metrics node in the span without clashing', () => {
    const base = 20_000;
    const masters = planMembers(5, base);
    const cp = planPorts(masters, base);
    const taken = [
      ...masters.flatMap((m) => [Number(new URL(m.clientURL).port), Number(new URL(m.peerURL).port)]),
      ...cp.apiservers.flatMap((a) => [a.restPort, a.grpcPort]),
      cp.lbPort,
    ];
    const metrics = metricsPortChecks(base, masters, METRICS_NODES, 'process').map((c) => Number(new URL(c.url).port));
    expect(metrics).toHaveLength(2 * 5 + METRICS_NODES);
    const all = [...taken, ...metrics];
    expect(new Set(all).size).toBe(all.length);
    for (const p of all) {
      expect(p).toBeGreaterThanOrEqual(base);
      expect(p).toBeLessThan(base + PORT_SPAN);
    }
  });

  it('gives the simulated nodes one port and nodes past the tenth none', () => {
    const p = metricsPorts(20_000);
    expect(metricsPortChecks(20_000, planMembers(3, 20_000), 1000, 'simulated').filter((c) => c.what.includes('simulated'))).toHaveLength(1);
    expect(p.node(METRICS_NODES)).toBe(20_039);
    expect(p.node(METRICS_NODES + 1)).toBeNull();
  });
});
