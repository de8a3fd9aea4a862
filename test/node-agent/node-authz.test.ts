/**
 * A node agent acting as system:node:n1 against a registry with the apiserver's real
 * authorization — RBAC's system:node role and the node restriction — so every write the agent
 * makes (its Node, its Lease, its pods' status, the final delete, reads of ConfigMaps its pods
 * use) is one a real apiserver lets a node make.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../src/control-plane/api/resources.js';
import type { KubeObject } from '../../src/control-plane/api/types.js';
import { bootstrapObjects } from '../../src/control-plane/auth/bootstrap.js';
import { nodeRestriction } from '../../src/control-plane/auth/node-restriction.js';
import { ApiAuthorizer, RbacMirror } from '../../src/control-plane/apiserver/authz.js';
import { bootstrapCluster } from '../../src/control-plane/apiserver/registry/bootstrap.js';
import { ApiRegistry } from '../../src/control-plane/apiserver/registry/registry.js';
import { productionSchema } from '../../src/control-plane/apiserver/schema-functions.js';
import type { AgentHandle } from '../../src/node-agent/agent.js';
import { runNodeAgent } from '../../src/node-agent/agent.js';
import { EVENTS } from '../../src/node-agent/events.js';
import { ProcessRuntime } from '../../src/node-agent/process-runtime.js';
import type { NodeObject, PodObject } from '../../src/node-agent/types.js';
import { CONFIG_MAPS, NODES, PODS } from '../../src/node-agent/types.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';
import { memoryStorage } from '../control-plane/registry/memory-storage.js';

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const agents: AgentHandle[] = [];
let dir = '';
let mirror: RbacMirror | null = null;

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  mirror?.stop();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('a node agent under RBAC and the node restriction', () => {
  it('registers, heartbeats, runs a pod using a ConfigMap, finishes its deletion, and re-adopts its Node', async () => {
    const storage = memoryStorage();
    mirror = new RbacMirror();
    mirror.start(storage, RESOURCES);
    const authorizer = new ApiAuthorizer(mirror, { nodeRestriction });
    const registry = new ApiRegistry({ storage, schema: productionSchema(), authorizer, resources: RESOURCES, clock: { now: () => new Date() } });
    expect((await bootstrapCluster(registry, { rbacPolicy: bootstrapObjects(), apiserverEndpoints: [{ ip: '127.0.0.1', port: 6443 }] })).ok).toBe(true);
    const admin = new RegistryClient(registry);
    await until('RBAC loaded', async () => (mirror !== null && mirror.size > 0 ? true : undefined));
    const node = new RegistryClient(registry, { user: { username: 'system:node:n1', uid: 'n1', groups: ['system:nodes', 'system:authenticated'] } });
    dir = mkdtempSync(join(tmpdir(), 'raftkube-authz-'));
    const errors: string[] = [];
    const start = (): AgentHandle => {
      const a = runNodeAgent({ client: node, name: 'n1', runtime: new ProcessRuntime({ dataDir: dir, closeGraceMs: 200 }), taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }], onError: (what, e) => errors.push(`${what}: ${JSON.stringify(e)}`) });
      agents.push(a);
      return a;
    };
    const a = start();
    expect(await a.registered).toEqual(['registered']);
    await until('the Lease', async () => (a.nodes[0]?.lease !== null ? true : undefined));

    expect((await admin.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' }, data: { k: 'v' } })).ok).toBe(true);
    expect(
      (
        await admin.create<PodObject>(PODS, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'default' },
          spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', command: ['sleep', '30'], env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }] },
        })
      ).ok,
    ).toBe(true);
    await until('Running', async () => {
      const r = await admin.get<PodObject>(PODS, { namespace: 'default', name: 'p' });
      return r.ok && r.value.status?.phase === 'Running' ? true : undefined;
    });
    expect((await admin.delete(PODS, { namespace: 'default', name: 'p' })).ok).toBe(true);
    await until('the pod gone', async () => ((await admin.get(PODS, { namespace: 'default', name: 'p' })).ok ? undefined : true));

    // The node may record events: the kubelet's Started and Killing are there.
    const events = await until('the events', async () => {
      const l = await admin.list<KubeObject>(EVENTS, { namespace: 'default' });
      const reasons = l.ok ? l.value.items.map((e) => e['reason']) : [];
      return reasons.includes('Started') && reasons.includes('Killing') ? reasons : undefined;
    });
    expect(events).toContain('Started');

    await a.stop();
    const b = start();
    expect(await b.registered).toEqual(['adopted']);
    const n = await admin.get<NodeObject>(NODES, { name: 'n1' });
    expect(n.ok && n.value.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(errors).toEqual([]);
    // The restriction is live: the same user may not register another node.
    const other = await node.create<NodeObject>(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } });
    expect(other.ok ? 200 : other.error.code).toBe(403);
  });
});
