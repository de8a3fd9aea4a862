/**
 * The namespace controller's reconcile: a terminating namespace is emptied with one
 * deleteCollection per namespaced resource, and finalized (so removed) only once nothing is left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RESOURCES } from '../../../src/control-plane/api/resources.js';
import { NamespaceController } from '../../../src/control-plane/controllers/namespace.js';
import { NAMESPACES, PODS } from '../../../src/control-plane/controllers/objects.js';
import type { Fixture } from './fixture.js';
import { newFixture } from './fixture.js';

const CONFIGMAPS = RESOURCES.find((r) => r.plural === 'configmaps')!;
const EMPTIED = RESOURCES.filter((r) => r.namespaced && r.verbs.includes('deletecollection')).map((r) => `deletecollection ${r.plural} team/`);

let f: Fixture;
let nc: NamespaceController;

async function setup(): Promise<void> {
  f = await newFixture();
  await f.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await f.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'team' }, data: { a: 'b' } });
  await f.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  nc = new NamespaceController(f.ctx, { resources: RESOURCES, recheckMs: 500 });
  f.informers.start();
  await f.settle();
}

afterEach(() => {
  nc.stop();
  f.close();
});

describe('NamespaceController', () => {
  it('ignores a live namespace', async () => {
    await setup();
    f.clear();
    expect(await nc.reconcile('team')).toBe('done');
    expect(f.client.calls).toEqual([]);
  });

  it('empties a terminating namespace, then removes its finalizer so it goes', async () => {
    await setup();
    const d = await f.client.delete(NAMESPACES, { name: 'team' });
    expect(d.ok && d.value.gone).toBe(false);
    await f.settle();
    f.clear();
    expect(await nc.reconcile('team')).toBe('done');
    expect(f.client.writes()).toEqual([...EMPTIED, 'update namespaces team']);
    expect(await f.get(NAMESPACES, undefined, 'team')).toBeNull();
    expect(await f.list(CONFIGMAPS, 'team')).toEqual([]);
  });

  it('waits while an object with a finalizer remains, and does not finalize', async () => {
    await setup();
    await f.create(CONFIGMAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'team', finalizers: ['example.com/hold'] } });
    await f.client.delete(NAMESPACES, { name: 'team' });
    await f.settle();
    f.clear();
    expect(await nc.reconcile('team')).toEqual({ requeueAfter: 500 });
    expect(f.client.writes()).toEqual(EMPTIED);
    expect((await f.get(NAMESPACES, undefined, 'team'))?.metadata.deletionTimestamp).toBeDefined();
  });
});
