/**
 * Simulated nodes at scale: 200 fake nodes in one agent register, spread their Lease renewals
 * over the interval, carry 1,000 pods to Running and Ready, and honour deletion — on a virtual
 * clock over the in-process registry.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/control-plane/client/clock.js';
import type { LeaseObject } from '../../src/control-plane/client/index.js';
import { LEASES } from '../../src/control-plane/client/index.js';
import { runSimulatedNodes, simulatedNodeNames } from '../../src/node-agent/agent.js';
import type { NodeObject, PodObject } from '../../src/node-agent/types.js';
import { NODES, PODS } from '../../src/node-agent/types.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';

const NODE_COUNT = 200;
const POD_COUNT = 1000;

describe('runSimulatedNodes', () => {
  it('names nodes <name>-<i>, or just <name> for one', () => {
    expect(simulatedNodeNames('sim', 3)).toEqual(['sim-0', 'sim-1', 'sim-2']);
    expect(simulatedNodeNames('n1', 1)).toEqual(['n1']);
  });

  it(`carries ${NODE_COUNT} nodes and ${POD_COUNT} pods: registered, leases spread, pods Running and Ready, deletions completed`, async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    const wallClock = (): Date => new Date(Date.UTC(2026, 0, 1) + clock.now());
    const agent = runSimulatedNodes({ client, name: 'sim', count: NODE_COUNT, clock, wallClock, startDelayMs: 500, leaseRenewMs: 10_000, resources: { cpu: '8', memory: '32Gi', pods: 110 } });
    await clock.advance(0);
    const registered = await agent.registered;
    expect(registered.filter((r) => r === 'registered')).toHaveLength(NODE_COUNT);
    const nodes = await client.list<NodeObject>(NODES);
    expect(nodes.ok && nodes.value.items.length).toBe(NODE_COUNT);

    // Over one renewal interval every node renews once, at its own offset: no burst.
    client.calls.length = 0;
    const perSecond = new Map<number, number>();
    for (let s = 0; s < 10; s++) {
      const before = client.writes().length;
      await clock.advance(1000);
      perSecond.set(s, client.writes().length - before);
    }
    const leaseWrites = client.writes().filter((w) => w.includes('leases'));
    expect(leaseWrites).toHaveLength(NODE_COUNT);
    expect(new Set(leaseWrites).size).toBe(NODE_COUNT);
    for (const n of perSecond.values()) expect(n).toBe(NODE_COUNT / 10);

    const names = simulatedNodeNames('sim', NODE_COUNT);
    for (let i = 0; i < POD_COUNT; i++) {
      const r = await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'default' }, spec: { nodeName: names[i % NODE_COUNT] ?? '', containers: [{ name: 'app', image: 'nginx' }] } });
      expect(r.ok).toBe(true);
    }
    // An unbound pod is nobody's business.
    await client.create<PodObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unbound', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
    await clock.advance(100);
    let pods = await client.list<PodObject>(PODS, { namespace: 'default' });
    if (!pods.ok) throw new Error(pods.error.message);
    const creating = pods.value.items.filter((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating');
    expect(creating).toHaveLength(POD_COUNT);
    expect(creating.every((p) => p.status?.phase === 'Pending')).toBe(true);

    await clock.advance(1000);
    pods = await client.list<PodObject>(PODS, { namespace: 'default' });
    if (!pods.ok) throw new Error(pods.error.message);
    const bound = pods.value.items.filter((p) => p.spec?.nodeName !== undefined);
    expect(bound).toHaveLength(POD_COUNT);
    expect(bound.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toHaveLength(POD_COUNT);
    expect(new Set(bound.map((p) => p.status?.podIP)).size).toBe(POD_COUNT);
    expect(pods.value.items.find((p) => p.metadata.name === 'unbound')?.status?.phase).toBe('Pending');
    expect(agent.runtime.pods()).toHaveLength(POD_COUNT);

    for (let i = 0; i < 100; i++) expect((await client.delete(PODS, { namespace: 'default', name: `p${i}` })).ok).toBe(true);
    await clock.advance(1000);
    pods = await client.list<PodObject>(PODS, { namespace: 'default' });
    expect(pods.ok && pods.value.items.length).toBe(POD_COUNT - 100 + 1);
    expect(agent.runtime.pods()).toHaveLength(POD_COUNT - 100);

    await clock.advance(20_000);
    const lease = await client.get<LeaseObject>(LEASES, { namespace: 'kube-node-lease', name: 'sim-199' });
    expect(lease.ok && lease.value.spec?.holderIdentity).toBe('sim-199');
    await agent.stop();
    expect(clock.pending()).toBe(0);
  });
});
