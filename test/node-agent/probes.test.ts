/**
 * Probes: the timing rules on a virtual clock with an injected probe (readiness thresholds,
 * liveness restarts, startup gating), and real probes against real processes (httpGet
 * readiness on a node HTTP server listening on the pod IP, a failing exec liveness probe
 * restarting its container).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/control-plane/client/clock.js';
import type { AgentHandle } from '../../src/node-agent/agent.js';
import { runNodeAgent } from '../../src/node-agent/agent.js';
import { ProcessRuntime } from '../../src/node-agent/process-runtime.js';
import { ProbeManager } from '../../src/node-agent/probes.js';
import type { PodObject } from '../../src/node-agent/types.js';
import { PODS } from '../../src/node-agent/types.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';

describe('ProbeManager', () => {
  function manager(results: boolean[]) {
    const clock = new VirtualClock();
    const changes: string[] = [];
    const kills: string[] = [];
    const tries: string[] = [];
    const m = new ProbeManager({
      clock,
      run: async (probe, t) => {
        tries.push(`${clock.now()} ${probe === t.container.startupProbe ? 'startup' : probe === t.container.livenessProbe ? 'liveness' : 'readiness'}`);
        return results.shift() ?? true;
      },
      onChange: (uid) => changes.push(uid),
      onLivenessFailure: (uid, name) => kills.push(`${uid}/${name}`),
    });
    return { clock, m, changes, kills, tries };
  }

  it('turns ready after successThreshold successes and unready after failureThreshold failures', async () => {
    const s = manager([true, true, false, false, true]);
    const c: Container = { name: 'app', readinessProbe: { exec: { command: ['x'] }, initialDelaySeconds: 5, periodSeconds: 2, successThreshold: 2, failureThreshold: 2 } };
    s.m.sync('u', [{ container: c, containerID: 'id1' }], '127.64.0.1');
    expect(s.m.ready('u', c)).toBe(false);
    await s.clock.advance(5000);
    expect(s.m.ready('u', c)).toBe(false);
    await s.clock.advance(2000);
    expect(s.m.ready('u', c)).toBe(true);
    expect(s.changes).toEqual(['u']);
    await s.clock.advance(2000);
    expect(s.m.ready('u', c)).toBe(true);
    await s.clock.advance(2000);
    expect(s.m.ready('u', c)).toBe(false);
    expect(s.tries).toEqual(['5000 readiness', '7000 readiness', '9000 readiness', '11000 readiness']);
    s.m.close();
    expect(s.clock.pending()).toBe(0);
  });

  it('keeps the results an earlier agent reported for an adopted run until its probes say otherwise', async () => {
    const s = manager([false, false]);
    const c: Container = { name: 'app', startupProbe: { exec: { command: ['x'] } }, readinessProbe: { exec: { command: ['x'] }, periodSeconds: 2, failureThreshold: 2 } };
    s.m.sync('u', [{ container: c, containerID: 'id1', previously: { started: true, ready: true } }], '127.64.0.1');
    // Started already: no startup probe runs; ready until failureThreshold readiness failures.
    expect(s.m.started('u', c)).toBe(true);
    expect(s.m.ready('u', c)).toBe(true);
    await s.clock.advance(0);
    expect(s.m.ready('u', c)).toBe(true);
    await s.clock.advance(2000);
    expect(s.m.ready('u', c)).toBe(false);
    expect(s.tries).toEqual(['0 readiness', '2000 readiness']);
    expect(s.changes).toEqual(['u']);
    // A new run (another containerID) starts from scratch whatever it is told.
    s.m.sync('u', [{ container: c, containerID: 'id2' }], '127.64.0.1');
    expect(s.m.started('u', c)).toBe(false);
    expect(s.m.ready('u', c)).toBe(false);
    s.m.close();
  });

  it('asks for a restart after failureThreshold liveness failures, and starts over for a new container', async () => {
    const s = manager([false, false, false]);
    const c: Container = { name: 'app', livenessProbe: { exec: { command: ['x'] }, periodSeconds: 10, failureThreshold: 3 } };
    s.m.sync('u', [{ container: c, containerID: 'id1' }], '127.64.0.1');
    await s.clock.advance(20_000);
    expect(s.kills).toEqual(['u/app']);
    s.m.sync('u', [{ container: c, containerID: 'id2' }], '127.64.0.1');
    await s.clock.advance(0);
    expect(s.tries.at(-1)).toBe('20000 liveness');
    s.m.sync('u', [], '127.64.0.1');
    expect(s.clock.pending()).toBe(0);
  });

  it('holds liveness and readiness back until the startup probe succeeds', async () => {
    const s = manager([false, true, true]);
    const c: Container = { name: 'app', startupProbe: { exec: { command: ['x'] }, periodSeconds: 1, failureThreshold: 30 }, readinessProbe: { exec: { command: ['y'] }, periodSeconds: 5 } };
    s.m.sync('u', [{ container: c, containerID: 'id1' }], '127.64.0.1');
    expect(s.m.started('u', c)).toBe(false);
    await s.clock.advance(999);
    expect(s.m.started('u', c)).toBe(false);
    expect(s.m.ready('u', c)).toBe(false);
    await s.clock.advance(1);
    expect(s.m.started('u', c)).toBe(true);
    expect(s.m.ready('u', c)).toBe(true);
    expect(s.tries).toEqual(['0 startup', '1000 startup', '1000 readiness']);
    s.m.close();
  });
});

let dir = '';
let agent: AgentHandle | null = null;

afterEach(async () => {
  await agent?.stop();
  agent = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('probes on the process runtime', () => {
  it('readiness over httpGet on the pod IP makes the pod Ready; a failing exec liveness probe restarts its container', async () => {
    dir = mkdtempSync(join(tmpdir(), 'raftkube-probe-'));
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    agent = runNodeAgent({ client, name: 'n1', runtime: new ProcessRuntime({ dataDir: dir, closeGraceMs: 200 }), backoff: { initialMs: 100, maxMs: 200 } });
    await agent.registered;
    const server = "require('http').createServer((q, s) => s.end(q.url === '/healthz' ? 'ok' : 'no')).listen(8080, process.env.POD_IP)";
    const web = await client.create<PodObject>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: 'node', command: [process.execPath, '-e', server], ports: [{ name: 'http', containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 } }] },
    });
    expect(web.ok).toBe(true);
    const ready = await until('Ready', async () => {
      const r = await client.get<PodObject>(PODS, { namespace: 'default', name: 'web' });
      return r.ok && r.value.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? r.value : undefined;
    });
    expect(ready.status?.containerStatuses?.[0]).toMatchObject({ ready: true, started: true });

    await client.create<PodObject>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sick', namespace: 'default' },
      spec: { nodeName: 'n1', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '30'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    });
    const restarted = await until('a liveness restart', async () => {
      const r = await client.get<PodObject>(PODS, { namespace: 'default', name: 'sick' });
      return r.ok && (r.value.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? r.value : undefined;
    });
    expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 143, reason: 'Error' });
  });
});
