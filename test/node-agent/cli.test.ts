/**
 * `raftkube node-agent`'s flags and its start over a real gRPC wire: simulated nodes register
 * through an ApiClient against in-process apiservers and run a bound pod; bad flags are refused
 * with a message saying what to do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { CliError } from '../../src/cli/cli-error.js';
import type { NodeAgentFlags } from '../../src/cli/node-agent.js';
import { nodeAgentClient, startNodeAgent } from '../../src/cli/node-agent.js';
import type { ApiClient } from '../../src/control-plane/client/index.js';
import type { AgentHandle, NodeObject, PodObject } from '../../src/node-agent/index.js';
import { NODES, PODS } from '../../src/node-agent/index.js';
import { startLogServer } from '../../src/node-agent/log-server.js';
import type { Cluster } from '../control-plane/client/harness.js';
import { startCluster, TOKEN } from '../control-plane/client/harness.js';

const base: NodeAgentFlags = { name: 'sim', apiservers: '', token: TOKEN, runtime: 'simulated', nodes: 3, logPort: 0, serviceProxy: false, startDelay: 0, backoffInitial: 10, backoffMax: 300, leaseRenew: 10, statusReport: 60, logLevel: 'silent' };
const log = pino({ level: 'silent' });

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let cluster: Cluster | null = null;
let client: ApiClient | null = null;
let agent: AgentHandle | null = null;

afterEach(async () => {
  await agent?.stop();
  client?.close();
  cluster?.close();
  agent = null;
  client = null;
  cluster = null;
});

describe('raftkube node-agent', () => {
  it('runs simulated nodes over gRPC: three Nodes register and a bound pod turns Running and Ready', async () => {
    cluster = await startCluster(2);
    const flags = { ...base, apiservers: cluster.servers.map((s) => s.endpoint).join(','), cpu: '2', memory: '1Gi', maxPods: 20, taints: 'sim=yes:NoSchedule' };
    client = nodeAgentClient(flags);
    agent = startNodeAgent(flags, client, log);
    expect(await agent.registered).toEqual(['registered', 'registered', 'registered']);
    const nodes = await client.list<NodeObject>(NODES);
    if (!nodes.ok) throw new Error(nodes.error.message);
    expect(nodes.value.items.map((n) => n.metadata.name).sort()).toEqual(['sim-0', 'sim-1', 'sim-2']);
    expect(nodes.value.items[0]?.status?.capacity).toEqual({ cpu: '2', memory: '1Gi', pods: '20' });
    expect(nodes.value.items[0]?.spec?.taints).toEqual([{ key: 'sim', value: 'yes', effect: 'NoSchedule' }]);
    await agent.informer.waitForSync();
    const c = client;
    expect((await c.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'sim-1', containers: [{ name: 'a', image: 'nginx' }] } })).ok).toBe(true);
    const p = await until('Running', async () => {
      const r = await c.get<PodObject>(PODS, { namespace: 'default', name: 'p' });
      return r.ok && r.value.status?.phase === 'Running' ? r.value : undefined;
    });
    expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect((await c.delete(PODS, { namespace: 'default', name: 'p' })).ok).toBe(true);
    await until('the pod gone', async () => ((await c.get(PODS, { namespace: 'default', name: 'p' })).ok ? undefined : true));
  });

  it('runs a process-runtime node whose log endpoint is published in its status and serves the pod\'s output', async () => {
    cluster = await startCluster(1);
    const dataDir = mkdtempSync(join(tmpdir(), 'raftkube-cli-'));
    try {
      const flags: NodeAgentFlags = { ...base, name: 'n7', runtime: 'process', nodes: 1, dataDir, apiservers: cluster.servers.map((s) => s.endpoint).join(',') };
      client = nodeAgentClient(flags);
      const logs = await startLogServer({ dataDir, token: 'kubelet-secret', port: 0 });
      try {
        agent = startNodeAgent(flags, client, log, logs);
        expect(await agent.registered).toEqual(['registered']);
        const node = await client.get<NodeObject>(NODES, { name: 'n7' });
        expect(node.ok && node.value.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(logs.port);
        expect(node.ok && node.value.metadata.annotations?.['raftkube.io/resource-limits']).toMatch(/^(enforced-cgroup-v[12]|not-enforced)$/);
        const c = client;
        await agent.informer.waitForSync();
        expect((await c.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'talk', namespace: 'default' }, spec: { nodeName: 'n7', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo hello logs; sleep 30'] }] } })).ok).toBe(true);
        const body = await until('the log through the endpoint', async () => {
          const r = await fetch(`http://127.0.0.1:${logs.port}/containerLogs/default/talk/c`, { headers: { authorization: 'Bearer kubelet-secret' } });
          const text = await r.text();
          return r.status === 200 && text.includes('hello logs') ? text : undefined;
        });
        expect(body).toBe('hello logs\n');
        await agent.stop();
        agent = null;
      } finally {
        await logs.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses flags that cannot work, saying what to do', () => {
    expect(() => nodeAgentClient({ ...base, apiservers: '' })).toThrow(CliError);
    expect(() => nodeAgentClient({ ...base, apiservers: '127.0.0.1:1', token: undefined } as unknown as NodeAgentFlags)).toThrow(/--token <token> or --token-file/);
    const c = nodeAgentClient({ ...base, apiservers: '127.0.0.1:1' });
    try {
      expect(() => startNodeAgent({ ...base, apiservers: '127.0.0.1:1', runtime: 'process', nodes: 2 }, c, log)).toThrow(/one node per agent/);
      expect(() => startNodeAgent({ ...base, apiservers: '127.0.0.1:1', runtime: 'process', nodes: 1 }, c, log)).toThrow(/--data-dir/);
      expect(() => startNodeAgent({ ...base, apiservers: '127.0.0.1:1', runtime: 'docker' }, c, log)).toThrow(/--runtime process or --runtime simulated/);
      expect(() => startNodeAgent({ ...base, apiservers: '127.0.0.1:1', taints: 'a=b' }, c, log)).toThrow(/NoSchedule/);
      expect(() => startNodeAgent({ ...base, apiservers: '127.0.0.1:1', memory: 'lots' }, c, log)).toThrow(/not a quantity/);
    } finally {
      c.close();
    }
  });
});
