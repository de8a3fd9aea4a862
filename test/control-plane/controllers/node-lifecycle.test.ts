/**
 * The node lifecycle controller's reconcile on a preloaded cache and a virtual clock: a node
 * whose Lease stops moving becomes Ready=Unknown and tainted unreachable; its pods are evicted
 * per their tolerations (0 s at once, none after the eviction timeout, unlimited never); a
 * renewed Lease lifts the taint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LEASES } from '../../../src/control-plane/client/leader-election.js';
import type { LeaseObject } from '../../../src/control-plane/client/leader-election.js';
import type { Node } from '../../../src/control-plane/controllers/node-lifecycle.js';
import { NodeLifecycleController } from '../../../src/control-plane/controllers/node-lifecycle.js';
import type { Pod } from '../../../src/control-plane/controllers/objects.js';
import { NODES, PODS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';

let f: Fixture;
let nc: NodeLifecycleController;

afterEach(() => {
  nc.stop();
  f.close();
});

function podOn(name: string, tolerations: NonNullable<Pod['spec']>['tolerations'] = []): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], tolerations } };
}

async function setup(): Promise<void> {
  f = await newFixture();
  const t = new Date(f.wall).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await f.create<Node>(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: t, lastTransitionTime: t }] } });
  await f.create<LeaseObject>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-03-01T10:00:00.000000Z' } });
  await f.create(PODS, podOn('plain'));
  await f.create(PODS, podOn('quick', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 }]));
  const forever = await f.create(PODS, podOn('forever', [{ operator: 'Exists' }]));
  await f.client.updateStatus(PODS, { ...forever, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
  nc = new NodeLifecycleController(f.ctx, { gracePeriodMs: 10_000, podEvictionTimeoutMs: 60_000 });
  f.informers.start();
  await f.settle();
  f.clear();
}

describe('NodeLifecycleController', () => {
  it('leaves a node that renews within the grace period, and looks again when it would expire', async () => {
    await setup();
    expect(await nc.reconcile('n1')).toEqual({ requeueAfter: 10_001 });
    expect(f.client.writes()).toEqual([]);
  });

  it('marks a silent node Unknown, taints it unreachable, evicts per toleration, and untaints it when it renews', async () => {
    await setup();
    await nc.reconcile('n1');
    await f.clock.advance(10_001);
    f.clear();
    expect(await nc.reconcile('n1')).toEqual({ requeueAfter: 60_000 });
    expect(f.client.writes()).toEqual(['update nodes/status n1', 'update pods/status default/forever', 'update nodes n1', 'delete pods default/quick']);
    expect((await f.get<Pod>(PODS, 'default', 'forever'))?.status?.conditions).toEqual([{ type: 'Ready', status: 'False', reason: 'NodeNotReady', lastTransitionTime: '2026-03-01T10:00:00Z' }]);
    const node = await f.get<Node>(NODES, undefined, 'n1');
    expect(node?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(node?.spec?.taints).toEqual([{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-03-01T10:00:00Z' }]);
    expect(f.events.events.map((e) => e.reason)).toEqual(['NodeNotReady', 'TaintAdded', 'TaintManagerEviction']);

    await f.settle();
    f.clear();
    f.wall += 60_000;
    expect(await nc.reconcile('n1')).toBe('done');
    expect(f.client.writes()).toEqual(['delete pods default/plain']);

    const lease = await f.get<LeaseObject>(LEASES, 'kube-node-lease', 'n1');
    await f.client.update(LEASES, { ...lease!, spec: { ...lease!.spec, renewTime: '2026-03-01T10:01:10.000000Z' } });
    await f.settle();
    f.clear();
    expect(await nc.reconcile('n1')).toEqual({ requeueAfter: 10_001 });
    expect(f.client.writes()).toEqual(['update nodes n1']);
    expect((await f.get<Node>(NODES, undefined, 'n1'))?.spec?.taints).toBeUndefined();
  });

  it('taints a node that reports Ready=False not-ready', async () => {
    await setup();
    const n = await f.get<Node>(NODES, undefined, 'n1');
    await f.client.updateStatus(NODES, { ...n!, status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', lastHeartbeatTime: '2026-03-01T10:00:05Z' }] } });
    await f.settle();
    f.clear();
    // 'quick' tolerates only unreachable: not-ready gives it the default 60 s; the heartbeat
    // check comes sooner.
    expect(await nc.reconcile('n1')).toEqual({ requeueAfter: 10_001 });
    expect(f.client.writes()).toEqual(['update nodes n1']);
    expect((await f.get<Node>(NODES, undefined, 'n1'))?.spec?.taints?.map((t) => t.key)).toEqual(['node.kubernetes.io/not-ready']);
  });
});
