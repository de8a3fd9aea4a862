/**
 * The ReplicaSet controller's reconcile on a preloaded cache: creating from the template with
 * owner references, expectations against a stale cache, deletion order, adoption and release,
 * status with minReadySeconds, and an invalid selector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, ReplicaSet } from '../../../src/control-plane/controllers/objects.js';
import { PODS, REPLICASETS } from '../../../src/control-plane/controllers/objects.js';
import { rankForDeletion, ReplicaSetController } from '../../../src/control-plane/controllers/replicaset.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';
import { pod, replicaSet, setPodStatus } from './workloads.js';

let f: Fixture;
let rc: ReplicaSetController;

async function start(): Promise<void> {
  rc = new ReplicaSetController(f.ctx);
  f.informers.start();
  await f.settle();
  f.clear();
}

afterEach(() => {
  rc.stop();
  f.close();
});

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

describe('ReplicaSetController', () => {
  it('creates the missing pods from the template, owned and labelled, and writes status', async () => {
    f = await newFixture();
    const rs = await f.create(REPLICASETS, replicaSet('web', 3));
    await start();
    expect(await rc.reconcile('default/web')).toBe('done');
    expect(f.client.writes()).toEqual(['create pods default/web-', 'create pods default/web-', 'create pods default/web-', 'update replicasets/status default/web']);
    const pods = await f.list<Pod>(PODS, 'default');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[a-z0-9]{5}$/);
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    expect(f.events.events.map((e) => e.reason)).toEqual(['SuccessfulCreate', 'SuccessfulCreate', 'SuccessfulCreate']);
    expect((await f.get<ReplicaSet>(REPLICASETS, 'default', 'web'))?.status).toEqual({ replicas: 0, observedGeneration: 1 });
  });

  it('does not create again while the cache has not shown its creations (expectations)', async () => {
    f = await newFixture();
    await f.create(REPLICASETS, replicaSet('web', 2));
    await start();
    await f.stale(true);
    await rc.reconcile('default/web');
    expect(rc.expectations.pending('default/web')).toEqual({ adds: 2, deletes: 0 });
    // The informers have not delivered the new pods yet: a second pass must not create more.
    f.clear();
    await rc.reconcile('default/web');
    expect(f.client.writes().filter((w) => w.startsWith('create'))).toEqual([]);
    await f.stale(false);
    expect(rc.expectations.pending('default/web')).toEqual({ adds: 0, deletes: 0 });
    f.clear();
    await rc.reconcile('default/web');
    expect(f.client.writes().filter((w) => w.startsWith('create'))).toEqual([]);
    expect(await f.list(PODS, 'default')).toHaveLength(2);
  });

  it('deletes the surplus, unscheduled and pending pods first', async () => {
    f = await newFixture();
    const rs = await f.create(REPLICASETS, replicaSet('web', 2));
    const t = iso(f.wall - 60_000);
    await f.create(PODS, pod('unscheduled', { app: 'web' }, { owner: rs }));
    await setPodStatus(f, await f.create(PODS, pod('ready', { app: 'web' }, { owner: rs, nodeName: 'n1' })), 'Running', t);
    await setPodStatus(f, await f.create(PODS, pod('notready', { app: 'web' }, { owner: rs, nodeName: 'n1' })), 'Running', null);
    await f.create(PODS, pod('pending', { app: 'web' }, { owner: rs, nodeName: 'n1' }));
    await start();
    await f.stale(true);
    expect(await rc.reconcile('default/web')).toBe('done');
    expect(f.client.writes()).toEqual(['delete pods default/unscheduled', 'delete pods default/pending', 'update replicasets/status default/web']);
    expect(rc.expectations.pending('default/web')).toEqual({ adds: 0, deletes: 2 });
    await f.stale(false);
    expect(rc.expectations.pending('default/web').deletes).toBe(0);
  });

  it('ranks pods for deletion: unscheduled, pending, not ready, newer', () => {
    const mk = (name: string, nodeName: string | undefined, phase: string, ready: boolean, created: string): Pod => ({
      ...pod(name, {}, nodeName === undefined ? {} : { nodeName }),
      metadata: { name, creationTimestamp: created },
      status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: created }] },
    });
    const pods = [mk('old-ready', 'n', 'Running', true, '2026-01-01T00:00:00Z'), mk('new-ready', 'n', 'Running', true, '2026-01-02T00:00:00Z'), mk('notready', 'n', 'Running', false, '2026-01-01T00:00:00Z'), mk('pending', 'n', 'Pending', false, '2026-01-01T00:00:00Z'), mk('unscheduled', undefined, 'Pending', false, '2026-01-01T00:00:00Z')];
    expect(pods.sort(rankForDeletion).map((p) => p.metadata.name)).toEqual(['unscheduled', 'pending', 'notready', 'new-ready', 'old-ready']);
  });

  it('adopts a matching orphan (after a live check of the ReplicaSet) and releases a pod that stopped matching', async () => {
    f = await newFixture();
    const rs = await f.create(REPLICASETS, replicaSet('web', 2));
    await f.create(PODS, pod('orphan', { app: 'web' }));
    await f.create(PODS, pod('owned', { app: 'web' }, { owner: rs }));
    await f.create(PODS, pod('relabelled', { app: 'other' }, { owner: rs }));
    await start();
    expect(await rc.reconcile('default/web')).toBe('done');
    expect(f.client.calls.filter((c) => c.verb !== 'create' || c.resource !== 'pods').map((c) => `${c.verb} ${c.resource} ${c.name ?? ''}`)).toEqual([
      'get replicasets web',
      'patch pods orphan',
      'patch pods relabelled',
      'update replicasets/status web',
    ]);
    expect(f.client.writes().filter((w) => w.startsWith('create'))).toEqual([]);
    expect((await f.get<Pod>(PODS, 'default', 'orphan'))?.metadata.ownerReferences?.[0]?.uid).toBe(rs.metadata.uid);
    expect((await f.get<Pod>(PODS, 'default', 'relabelled'))?.metadata.ownerReferences).toBeUndefined();
    expect((await f.get<ReplicaSet>(REPLICASETS, 'default', 'web'))?.status?.replicas).toBe(2);
  });

  it('counts ready and available pods (minReadySeconds) and looks again when one will become available', async () => {
    f = await newFixture();
    const rs = await f.create(REPLICASETS, replicaSet('web', 3, { minReadySeconds: 10 }));
    await setPodStatus(f, await f.create(PODS, pod('a', { app: 'web' }, { owner: rs })), 'Running', iso(f.wall - 60_000));
    await setPodStatus(f, await f.create(PODS, pod('b', { app: 'web' }, { owner: rs })), 'Running', iso(f.wall - 5_000));
    await setPodStatus(f, await f.create(PODS, pod('c', { app: 'web', extra: 'x' }, { owner: rs })), 'Running', null);
    await start();
    expect(await rc.reconcile('default/web')).toEqual({ requeueAfter: 10_000 });
    expect(f.client.writes()).toEqual(['update replicasets/status default/web']);
    expect((await f.get<ReplicaSet>(REPLICASETS, 'default', 'web'))?.status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 });
  });

  it('reports an empty selector with a Warning event and does not retry', async () => {
    f = await newFixture();
    const bad = replicaSet('bad', 1);
    await f.create(REPLICASETS, { ...bad, spec: { ...bad.spec!, selector: {} } });
    await start();
    expect(await rc.reconcile('default/bad')).toBe('done');
    expect(f.client.writes()).toEqual([]);
    expect(f.events.events).toEqual([{ object: 'ReplicaSet default/bad', type: 'Warning', reason: 'InvalidSelector', message: expect.stringContaining('selector is empty') as string }]);
  });

  it('is done for a ReplicaSet that is gone', async () => {
    f = await newFixture();
    await start();
    expect(await rc.reconcile('default/nope')).toBe('done');
    expect(f.client.calls).toEqual([]);
  });
});
