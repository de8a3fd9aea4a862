/**
 * The garbage collector's reconcile on a preloaded cache: background deletion of orphans (owner
 * absence checked by uid, live), dropping references to dead owners, orphan and foreground
 * propagation, each with the exact writes asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { GarbageCollector, gcKey, gcResources } from '../../../src/control-plane/controllers/garbage-collector.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';

const NODES = RESOURCES.find((r) => r.plural === 'nodes')!;

function ref(owner: KubeObject, blockOwnerDeletion = true): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion };
}

function pod(name: string, owners: KubeObject['metadata']['ownerReferences'] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ownerReferences: owners }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

function rs(name: string, owners: KubeObject['metadata']['ownerReferences'] = []): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', ownerReferences: owners },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  };
}

function deploy(name: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  };
}

let f: Fixture;
let gc: GarbageCollector;

async function start(): Promise<void> {
  gc = new GarbageCollector(f.ctx, gcResources(RESOURCES));
  f.informers.start();
  await f.settle();
  f.clear();
}

afterEach(() => {
  gc.stop();
  f.close();
});

describe('GarbageCollector', () => {
  it('deletes an object whose only owner is gone (checked live by uid), with a uid precondition', async () => {
    f = await newFixture();
    const owner = await f.create(REPLICASETS, rs('old'));
    await f.client.delete(REPLICASETS, { namespace: 'default', name: 'old' });
    // A new ReplicaSet of the same name is not the owner: the uid differs.
    await f.create(REPLICASETS, rs('old'));
    await f.create(PODS, pod('p', [ref(owner)]));
    await start();
    expect(await gc.reconcile('/pods:default/p')).toBe('done');
    expect(f.client.writes()).toEqual(['delete pods default/p']);
    expect(await f.get(PODS, 'default', 'p')).toBeNull();
  });

  it('leaves an object whose owner the cache shows, without a read', async () => {
    f = await newFixture();
    const owner = await f.create(REPLICASETS, rs('web'));
    await f.create(PODS, pod('p', [ref(owner)]));
    await start();
    expect(await gc.reconcile('/pods:default/p')).toBe('done');
    expect(f.client.calls).toEqual([]);
  });

  it('asks the apiserver about an owner the cache does not hold, and keeps the dependent when it lives', async () => {
    f = await newFixture();
    const node = await f.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await f.create(PODS, pod('p', [ref(node, false)]));
    await start();
    expect(await gc.reconcile('/pods:default/p')).toBe('done');
    expect(f.client.calls).toEqual([{ verb: 'get', resource: 'nodes', name: 'n1' }]);
  });

  it('drops the reference to a dead owner while another owner lives', async () => {
    f = await newFixture();
    const live = await f.create(REPLICASETS, rs('live'));
    const dead = await f.create(REPLICASETS, rs('dead'));
    await f.client.delete(REPLICASETS, { namespace: 'default', name: 'dead' });
    await f.create(PODS, pod('p', [ref(live), { ...ref(dead), controller: false }]));
    await start();
    expect(await gc.reconcile('/pods:default/p')).toBe('done');
    expect(f.client.writes()).toEqual(['patch pods default/p']);
    const p = await f.get(PODS, 'default', 'p');
    expect(p?.metadata.ownerReferences?.map((r) => r.name)).toEqual(['live']);
  });

  it('orphans: removes the owner reference from every dependent, then the finalizer, and the owner goes', async () => {
    f = await newFixture();
    const owner = await f.create(REPLICASETS, rs('web'));
    await f.create(PODS, pod('a', [ref(owner)]));
    await f.create(PODS, pod('b', [ref(owner)]));
    await start();
    await f.client.delete(REPLICASETS, { namespace: 'default', name: 'web' }, { propagationPolicy: 'Orphan' });
    await f.settle();
    f.clear();
    expect(await gc.reconcile(gcKey(REPLICASETS, owner))).toBe('done');
    expect(f.client.writes().sort()).toEqual(['patch pods default/a', 'patch pods default/b', 'patch replicasets default/web']);
    expect(await f.get(REPLICASETS, 'default', 'web')).toBeNull();
    const pods = await f.list(PODS, 'default');
    expect(pods.map((p) => [p.metadata.name, p.metadata.ownerReferences ?? []])).toEqual([
      ['a', []],
      ['b', []],
    ]);
  });

  it('orphans a dependent its caches have not seen yet: dependents are listed live, so none is left naming a deleted owner', async () => {
    f = await newFixture();
    const owner = await f.create(REPLICASETS, rs('web'));
    await f.create(PODS, pod('a', [ref(owner)]));
    await start();
    await f.client.delete(REPLICASETS, { namespace: 'default', name: 'web' }, { propagationPolicy: 'Orphan' });
    await f.settle();
    // A dependent created just before the orphaning runs, which no informer has delivered yet.
    await f.stale(true);
    await f.create(PODS, pod('late', [ref(owner)]));
    f.clear();
    expect(await gc.reconcile(gcKey(REPLICASETS, owner))).toBe('done');
    expect(f.client.writes().sort()).toEqual(['patch pods default/a', 'patch pods default/late', 'patch replicasets default/web']);
    const pods = await f.list(PODS, 'default');
    expect(pods.map((p) => [p.metadata.name, p.metadata.ownerReferences ?? []])).toEqual([
      ['a', []],
      ['late', []],
    ]);
  });

  it('foreground: deletes dependents (transitively in the foreground), waits, then removes the finalizer', async () => {
    f = await newFixture();
    const d = await f.create(DEPLOYMENTS, deploy('web'));
    const r = await f.create(REPLICASETS, rs('web-1', [ref(d)]));
    await f.create(PODS, pod('web-1-a', [ref(r)]));
    await start();
    await f.client.delete(DEPLOYMENTS, { namespace: 'default', name: 'web' }, { propagationPolicy: 'Foreground' });
    await f.settle();
    f.clear();

    expect(await gc.reconcile(gcKey(DEPLOYMENTS, d))).toBe('done');
    expect(f.client.writes()).toEqual(['delete replicasets default/web-1']);
    await f.settle();
    // The ReplicaSet now waits on its pod, the Deployment on its ReplicaSet.
    expect((await f.get(REPLICASETS, 'default', 'web-1'))?.metadata.finalizers).toEqual(['foregroundDeletion']);
    f.clear();
    expect(await gc.reconcile(gcKey(DEPLOYMENTS, d))).toBe('done');
    expect(f.client.writes()).toEqual([]);
    expect(await gc.reconcile(gcKey(REPLICASETS, r))).toBe('done');
    expect(f.client.writes()).toEqual(['delete pods default/web-1-a']);
    await f.settle();
    f.clear();
    expect(await gc.reconcile(gcKey(REPLICASETS, r))).toBe('done');
    expect(f.client.writes()).toEqual(['patch replicasets default/web-1']);
    await f.settle();
    f.clear();
    expect(await gc.reconcile(gcKey(DEPLOYMENTS, d))).toBe('done');
    expect(f.client.writes()).toEqual(['patch deployments default/web']);
    expect(await f.get(DEPLOYMENTS, 'default', 'web')).toBeNull();
  });

  it('is done for an object the cache no longer holds', async () => {
    f = await newFixture();
    await start();
    expect(await gc.reconcile('/pods:default/nope')).toBe('done');
    expect(f.client.calls).toEqual([]);
  });
});
