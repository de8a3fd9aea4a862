/**
 * Node registration, re-adoption after a restart, and Lease renewals, on a virtual clock over
 * the in-process registry with a recording client.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/control-plane/client/clock.js';
import type { LeaseObject } from '../../src/control-plane/client/index.js';
import { LEASES } from '../../src/control-plane/client/index.js';
import { parseTaints } from '../../src/node-agent/node.js';
import { NodeLifecycle } from '../../src/node-agent/node-lifecycle.js';
import type { NodeObject } from '../../src/node-agent/types.js';
import { NODES } from '../../src/node-agent/types.js';
import { newRegistry } from '../control-plane/client/harness.js';
import { RegistryClient } from '../control-plane/client/registry-client.js';

const settings = { name: 'n1', resources: { cpu: '4', memory: '8Gi', pods: 110 }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }], runtime: 'simulated' };

function wallAt(clock: VirtualClock): () => Date {
  return () => new Date(Date.UTC(2026, 0, 1) + clock.now());
}

describe('parseTaints', () => {
  it('reads key=value:Effect and key:Effect, and refuses a taint without an effect', () => {
    expect(parseTaints('a=b:NoSchedule, c:NoExecute')).toEqual({ ok: true, value: [{ key: 'a', value: 'b', effect: 'NoSchedule' }, { key: 'c', effect: 'NoExecute' }] });
    expect(parseTaints('a=b')).toMatchObject({ ok: false });
    expect(parseTaints('')).toEqual({ ok: true, value: [] });
  });
});

describe('NodeLifecycle', () => {
  it('registers the Node with labels, capacity, taints, addresses, nodeInfo and Ready, then creates and renews its Lease', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    const life = new NodeLifecycle({ client, settings, clock, wallClock: wallAt(clock), leaseRenewMs: 10_000, statusReportMs: 60_000 });
    const started = life.start();
    await clock.advance(0);
    expect(await started).toBe('registered');
    expect(client.writes()).toEqual(['create nodes n1', 'create leases kube-node-lease/n1']);

    const node = await client.get<NodeObject>(NODES, { name: 'n1' });
    if (!node.ok) throw new Error(node.error.message);
    const n = node.value;
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux' });
    expect(n.spec?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(n.status?.capacity).toEqual({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(n.status?.allocatable).toEqual({ cpu: '4', memory: '8Gi', pods: '110' });
    expect(n.status?.addresses).toEqual([{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'n1' }]);
    expect(n.status?.nodeInfo?.kubeletVersion).toBe('v1.32.0-raftkube');
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastHeartbeatTime: '2026-01-01T00:00:00Z',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });

    const lease0 = await client.get<LeaseObject>(LEASES, { namespace: 'kube-node-lease', name: 'n1' });
    if (!lease0.ok) throw new Error(lease0.error.message);
    expect(lease0.value.spec).toEqual({ holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' });
    expect(lease0.value.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: n.metadata.uid }]);

    client.calls.length = 0;
    await clock.advance(30_000);
    expect(client.writes()).toEqual(['update leases kube-node-lease/n1', 'update leases kube-node-lease/n1', 'update leases kube-node-lease/n1']);
    const lease1 = await client.get<LeaseObject>(LEASES, { namespace: 'kube-node-lease', name: 'n1' });
    expect(lease1.ok && lease1.value.spec?.renewTime).toBe('2026-01-01T00:00:30.000000Z');

    client.calls.length = 0;
    await clock.advance(30_000);
    expect(client.writes()).toContain('update nodes/status n1');
    const later = await client.get<NodeObject>(NODES, { name: 'n1' });
    const ready = later.ok ? later.value.status?.conditions?.find((c) => c.type === 'Ready') : undefined;
    expect(ready?.lastHeartbeatTime).toBe('2026-01-01T00:01:00Z');
    expect(ready?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    life.stop();
    expect(clock.pending()).toBe(0);
  });

  it('re-adopts its Node after a restart instead of registering twice, and keeps taints others set', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    const first = new NodeLifecycle({ client, settings, clock, wallClock: wallAt(clock) });
    const r1 = first.start();
    await clock.advance(0);
    expect(await r1).toBe('registered');
    first.stop();
    const before = await client.get<NodeObject>(NODES, { name: 'n1' });
    if (!before.ok) throw new Error(before.error.message);

    // The node lifecycle controller marked it NotReady while the agent was down.
    const stale: NodeObject = { ...structuredClone(before.value), status: { ...before.value.status, conditions: (before.value.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown' } : c)) } };
    expect((await client.updateStatus(NODES, stale)).ok).toBe(true);

    await clock.advance(120_000);
    client.calls.length = 0;
    const second = new NodeLifecycle({ client, settings: { ...settings, taints: [] }, clock, wallClock: wallAt(clock) });
    const r2 = second.start();
    await clock.advance(0);
    expect(await r2).toBe('adopted');
    expect(client.writes()).toEqual(['create nodes n1', 'update nodes/status n1', 'update leases kube-node-lease/n1']);
    const after = await client.get<NodeObject>(NODES, { name: 'n1' });
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.metadata.uid).toBe(before.value.metadata.uid);
    expect(after.value.spec?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(after.value.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady', lastTransitionTime: '2026-01-01T00:02:00Z' });
    second.stop();
    expect(clock.pending()).toBe(0);
  });

  it('registers again when its Node was deleted behind its back', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    const life = new NodeLifecycle({ client, settings, clock, wallClock: wallAt(clock), statusReportMs: 10_000, leaseRenewMs: 10_000 });
    const r = life.start();
    await clock.advance(0);
    await r;
    expect((await client.delete(NODES, { name: 'n1' })).ok).toBe(true);
    client.calls.length = 0;
    await clock.advance(10_000);
    expect(client.writes()).toContain('create nodes n1');
    expect((await client.get(NODES, { name: 'n1' })).ok).toBe(true);
    life.stop();
  });
});
