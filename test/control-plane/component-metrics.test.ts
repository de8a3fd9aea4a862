/**
 * component-metrics: the control plane's Prometheus metrics — the apiserver's request figures
 * under Kubernetes' names, served at /metrics by the REST face, and the plain-HTTP listener the
 * scheduler, controller manager and node agent serve on --metrics-bind-address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServerMetrics, parseBindAddress, processRegistry, registerLeaderStatus, serveMetrics } from '../../src/control-plane/metrics.js';
import { startRig, type Rig } from './rest/harness.js';

function sampleLines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('the apiserver\'s /metrics', () => {
  let rig: Rig;
  const metrics = new ApiServerMetrics();

  beforeAll(async () => {
    rig = await startRig({ onRequest: (r) => metrics.observe(r), metrics: () => metrics.text() });
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('counts requests by verb, resource and code, and times all but watches', async () => {
    expect((await rig.fetch('/api/v1/namespaces')).status).toBe(200);
    expect((await rig.fetch('/api/v1/namespaces')).status).toBe(200);
    expect((await rig.fetch('/api/v1/namespaces/default/configmaps/absent')).status).toBe(404);
    const r = await rig.fetch('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(sampleLines(text, 'apiserver_request_total')).toEqual(expect.arrayContaining([
      'apiserver_request_total{verb="LIST",group="",resource="namespaces",subresource="",code="200"} 2',
      'apiserver_request_total{verb="GET",group="",resource="configmaps",subresource="",code="404"} 1',
    ]));
    expect(text).toContain('apiserver_request_duration_seconds_count{verb="LIST",group="",resource="namespaces",subresource=""} 2');
    expect(text).toContain('# TYPE apiserver_request_duration_seconds histogram');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('leaves watches out of the latency histogram but counts them', async () => {
    const m = new ApiServerMetrics();
    m.observe({ verb: 'WATCH', group: 'apps', resource: 'deployments', subresource: undefined, code: 200, seconds: 300 });
    const text = await m.text();
    expect(text).toContain('apiserver_request_total{verb="WATCH",group="apps",resource="deployments",subresource="",code="200"} 1');
    expect(text).not.toContain('apiserver_request_duration_seconds_count{verb="WATCH"');
  });
});

describe('--metrics-bind-address', () => {
  it('parses host:port and refuses anything else', () => {
    expect(parseBindAddress('127.0.0.1:10251')).toEqual({ ok: true, host: '127.0.0.1', port: 10251 });
    expect(parseBindAddress('[::1]:0')).toEqual({ ok: true, host: '::1', port: 0 });
    for (const bad of ['127.0.0.1', ':80', 'host:99999', 'http://h:1']) expect(parseBindAddress(bad).ok, bad).toBe(false);
  });

  it('reports leader_election_master_status as the lease holder changes', async () => {
    const registry = processRegistry();
    let leading = false;
    registerLeaderStatus(registry, 'kube-scheduler', () => leading);
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 0');
    leading = true;
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 1');
  });

  it('serves the registry at /metrics and ok at /healthz, and closes', async () => {
    const s = await serveMetrics(processRegistry(), '127.0.0.1', 0);
    try {
      const m = await fetch(`http://127.0.0.1:${s.port}/metrics`);
      expect(m.status).toBe(200);
      expect(await m.text()).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
      expect(await (await fetch(`http://127.0.0.1:${s.port}/healthz`)).text()).toBe('ok');
      expect((await fetch(`http://127.0.0.1:${s.port}/other`)).status).toBe(404);
    } finally {
      await s.close();
    }
    await expect(fetch(`http://127.0.0.1:${s.port}/healthz`)).rejects.toThrow();
  });
});
