/**
 * The in-process RegistryClient with the informer and the work queue on a virtual clock — the
 * setup controller tests use: a cache preloaded from the registry, a reconcile called directly,
 * and the exact writes asserted.
 */
import { describe, expect, it } from 'vitest';
import { findResource } from '../../../src/control-plane/api/resources.js';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import { flushAsync, VirtualClock } from '../../../src/control-plane/client/clock.js';
import { enqueueHandlers, Informer, splitKey } from '../../../src/control-plane/client/informer.js';
import type { Reconciled } from '../../../src/control-plane/client/work-queue.js';
import { WorkQueue } from '../../../src/control-plane/client/work-queue.js';
import { newRegistry } from './harness.js';
import { RegistryClient } from './registry-client.js';

function res(group: string, plural: string): ResourceInfo {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`no ${plural}`);
  return r;
}

const PODS = res('', 'pods');
const NODES = res('', 'nodes');

interface Pod extends KubeObject {
  spec: { nodeName?: string; containers: { name: string; image: string }[] };
}

function pod(name: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

/** bindAll is a toy level-triggered reconcile: bind an unbound pod to n1; gone or bound pods are done. */
async function bindAll(client: RegistryClient, cache: Informer<Pod>, key: string): Promise<Reconciled> {
  const p = cache.get(key);
  if (p === undefined || p.spec.nodeName !== undefined) return 'done';
  const r = await client.bind(splitKey(key), 'n1');
  if (r.ok || r.error.code === 409) return 'done';
  return 'retry';
}

describe('RegistryClient', () => {
  it('feeds an informer on a virtual clock: synced and current after settling, no sockets', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    const clock = new VirtualClock();
    await client.create(PODS, pod('a'));
    const inf = new Informer<Pod>({ client, resource: PODS, clock });
    inf.start();
    await clock.advance(0);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.keys()).toEqual(['default/a']);
    await client.create(PODS, pod('b'));
    await client.delete(PODS, { namespace: 'default', name: 'a' }, { gracePeriodSeconds: 0 });
    await flushAsync();
    expect(inf.keys()).toEqual(['default/b']);
    inf.stop();
    expect(clock.pending()).toBe(0);
  });

  it('lets a test call reconcile on a preloaded cache and assert the exact writes', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    await client.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await client.create(PODS, pod('a'));
    await client.create(PODS, pod('b'));
    await client.bind({ namespace: 'default', name: 'b' }, 'n9');
    const clock = new VirtualClock();
    const cache = new Informer<Pod>({ client, resource: PODS, clock });
    cache.start();
    await clock.advance(0);
    client.calls.length = 0;

    expect(await bindAll(client, cache, 'default/a')).toBe('done');
    expect(await bindAll(client, cache, 'default/b')).toBe('done');
    expect(await bindAll(client, cache, 'default/zz')).toBe('done');
    expect(client.writes()).toEqual(['create pods/binding default/a']);
    cache.stop();
  });

  it('runs the whole informer → queue → reconcile loop to a fixed point on the virtual clock', async () => {
    const { registry } = await newRegistry();
    const client = new RegistryClient(registry);
    await client.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    const clock = new VirtualClock();
    const cache = new Informer<Pod>({ client, resource: PODS, clock, indexers: { node: (p) => (p.spec.nodeName === undefined ? [] : [p.spec.nodeName]) } });
    const queue = new WorkQueue<string>({ clock });
    cache.addEventHandler(enqueueHandlers(queue));
    cache.start();
    const running = queue.run(2, (key) => bindAll(client, cache, key));
    for (const n of ['a', 'b', 'c']) await client.create(PODS, pod(n));
    await clock.advance(1000);
    expect(cache.byIndex('node', 'n1').map((p) => p.metadata.name).sort()).toEqual(['a', 'b', 'c']);
    expect(client.writes().filter((w) => w.includes('binding')).sort()).toEqual(['create pods/binding default/a', 'create pods/binding default/b', 'create pods/binding default/c']);
    expect(queue.len()).toBe(0);
    queue.shutDown();
    await running;
    cache.stop();
    expect(clock.pending()).toBe(0);
  });
});
