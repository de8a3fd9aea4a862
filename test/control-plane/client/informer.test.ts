/**
 * The informer against real in-process gRPC apiservers: the cache converges on the store's
 * state, indexes follow updates, handlers fire, a 410 causes a relist with synthetic deletes,
 * and a watch whose apiserver dies resumes on another apiserver from the last resourceVersion
 * without a relist.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findResource } from '../../../src/control-plane/api/resources.js';
import type { KubeObject, ResourceInfo, Result } from '../../../src/control-plane/api/types.js';
import type { ApiError, Disposable, ListOptions, WatchOptions } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ResourceDescriptor, TypedList, WatchHandlers } from '../../../src/control-plane/client/api-client.js';
import { ApiClient } from '../../../src/control-plane/client/api-client.js';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { ListWatcher } from '../../../src/control-plane/client/informer.js';
import { enqueueHandlers, Informer, keyOf, splitKey } from '../../../src/control-plane/client/informer.js';
import { SharedInformers } from '../../../src/control-plane/client/shared-informers.js';
import { WorkQueue } from '../../../src/control-plane/client/work-queue.js';
import type { Cluster } from './harness.js';
import { DEAD_ENDPOINT, startCluster, TOKEN } from './harness.js';

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

function pod(name: string, namespace = 'default'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
}

function must<T>(r: Result<T, ApiError>): T {
  if (!r.ok) throw new Error(`unexpected failure: ${JSON.stringify(r.error)}`);
  return r.value;
}

/** Counting wraps a client and counts lists and watches (to tell a relist from a resume). */
class Counting implements ListWatcher {
  lists = 0;
  watches = 0;
  constructor(readonly inner: ApiClient) {}
  list<T>(r: ResourceDescriptor, o: ListOptions): Promise<Result<TypedList<T>, ApiError>> {
    this.lists++;
    return this.inner.list<T>(r, o);
  }
  watch<T>(r: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable {
    this.watches++;
    return this.inner.watch<T>(r, o, h);
  }
}

/** Changes records handler calls and lets a test wait, without polling, for a condition. */
class Changes {
  readonly log: string[] = [];
  readonly #waiters: Array<{ check: () => boolean; resolve: () => void }> = [];

  readonly handlers = {
    onAdd: (o: Pod) => this.#push(`add ${keyOf(o)}`),
    onUpdate: (_old: Pod, o: Pod) => this.#push(`update ${keyOf(o)}`),
    onDelete: (o: Pod, info: { finalStateUnknown: boolean }) => this.#push(`delete ${keyOf(o)}${info.finalStateUnknown ? ' (unknown final state)' : ''}`),
  };

  /** note records something other than a handler call (and wakes waiters). */
  note(s: string): void {
    this.#push(s);
  }

  #push(s: string): void {
    this.log.push(s);
    for (const w of [...this.#waiters]) {
      if (w.check()) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ check, resolve }));
  }
}

let cluster: Cluster | undefined;
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  cluster?.close();
  cluster = undefined;
});

function setup(endpoints: readonly string[], clock?: VirtualClock): { client: ApiClient; counting: Counting; informer: Informer<Pod>; changes: Changes } {
  const client = new ApiClient({ endpoints, token: TOKEN, deadlineMs: 5000 });
  const counting = new Counting(client);
  const informer = new Informer<Pod>({
    client: counting,
    resource: PODS,
    pageSize: 2,
    backoff: { initialMs: 5, maxMs: 50 },
    ...(clock === undefined ? {} : { clock, watchTimeoutMs: 60_000 }),
    indexers: { nodeName: (p) => (p.spec.nodeName === undefined ? [] : [p.spec.nodeName]) },
  });
  const changes = new Changes();
  cleanups.push(() => client.close(), () => informer.stop());
  return { client, counting, informer, changes };
}

describe('Informer', () => {
  it('lists in pages, syncs, then follows creates, updates, binds and deletes into an indexed cache', async () => {
    cluster = await startCluster();
    const { client, informer, changes } = setup([DEAD_ENDPOINT, cluster.servers[0]!.endpoint]);
    for (const n of ['a', 'b', 'c']) must(await client.create(PODS, pod(n)));
    must(await client.create(PODS, pod('x', 'kube-system')));
    must(await client.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
    informer.addEventHandler(changes.handlers);
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.keys().sort()).toEqual(['default/a', 'default/b', 'default/c', 'kube-system/x']);
    expect(informer.byIndex('namespace', 'default').map((p) => p.metadata.name).sort()).toEqual(['a', 'b', 'c']);
    expect(changes.log.sort()).toEqual(['add default/a', 'add default/b', 'add default/c', 'add kube-system/x']);
    changes.log.length = 0;

    must(await client.bind({ namespace: 'default', name: 'a' }, 'n1'));
    must(await client.delete(PODS, { namespace: 'default', name: 'b', }, { gracePeriodSeconds: 0 }));
    must(await client.create(PODS, pod('d')));
    await changes.until(() => informer.get('default/d') !== undefined);
    expect(changes.log).toEqual(['update default/a', 'delete default/b', 'add default/d']);
    expect(informer.byIndex('nodeName', 'n1').map(keyOf)).toEqual(['default/a']);
    expect(informer.get('default/b')).toBeUndefined();
    expect(informer.lastSyncResourceVersion).toBe(informer.get('default/d')!.metadata.resourceVersion);

    // A late handler gets the current state replayed as adds.
    const late: string[] = [];
    const h = informer.addEventHandler({ onAdd: (p) => late.push(keyOf(p)) });
    expect(late.sort()).toEqual(['default/a', 'default/c', 'default/d', 'kube-system/x']);
    h.dispose();
    expect(splitKey('default/a')).toEqual({ namespace: 'default', name: 'a' });
    expect(splitKey('n1')).toEqual({ name: 'n1' });
  });

  it('relists on 410 and delivers synthetic deletes for what vanished while the watch was blind', async () => {
    cluster = await startCluster();
    const { client, counting, informer, changes } = setup([cluster.servers[0]!.endpoint]);
    for (const n of ['a', 'b', 'c']) must(await client.create(PODS, pod(n)));
    informer.addEventHandler(changes.handlers);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    expect(counting.lists).toBe(2); // three pods in pages of two
    changes.log.length = 0;

    // The watch cache falls behind: events are lost, then every watch ends with 410.
    cluster.expiring.muted = true;
    must(await client.delete(PODS, { namespace: 'default', name: 'b' }, { gracePeriodSeconds: 0 }));
    must(await client.patch(PODS, { namespace: 'default', name: 'c' }, { type: 'merge', patch: { metadata: { labels: { x: 'y' } } } }));
    must(await client.create(PODS, pod('e')));
    expect(changes.log).toEqual([]);
    cluster.expiring.muted = false;
    cluster.expiring.expireAll(cluster.storage.store.revision);

    await changes.until(() => changes.log.length >= 3);
    expect(changes.log.sort()).toEqual(['add default/e', 'delete default/b (unknown final state)', 'update default/c']);
    expect(counting.lists).toBe(4);
    expect(informer.keys().sort()).toEqual(['default/a', 'default/c', 'default/e']);
    expect(informer.get('default/c')!.metadata.labels).toEqual({ x: 'y' });

    // And it watches again after the relist.
    must(await client.create(PODS, pod('f')));
    await changes.until(() => informer.get('default/f') !== undefined);
    expect(changes.log.at(-1)).toBe('add default/f');
  });

  it('resumes a broken watch on another apiserver from the last resourceVersion, without a relist', async () => {
    cluster = await startCluster(2);
    const { client, counting, informer, changes } = setup([cluster.servers[0]!.endpoint, cluster.servers[1]!.endpoint]);
    must(await client.create(PODS, pod('a')));
    informer.addEventHandler(changes.handlers);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    must(await client.create(PODS, pod('b')));
    await changes.until(() => informer.get('default/b') !== undefined);
    const listsBefore = counting.lists;
    const watchesBefore = counting.watches;

    cluster.kill(0);
    must(await client.create(PODS, pod('c')));
    must(await client.delete(PODS, { namespace: 'default', name: 'a' }, { gracePeriodSeconds: 0 }));
    await changes.until(() => informer.get('default/c') !== undefined && informer.get('default/a') === undefined);
    expect(changes.log).toEqual(['add default/a', 'add default/b', 'add default/c', 'delete default/a']);
    expect(counting.lists).toBe(listsBefore);
    expect(counting.watches).toBeGreaterThan(watchesBefore);
    expect(client.endpoint).toBe(cluster.servers[1]!.endpoint);
  });

  it('re-establishes its watch after the watch timeout, from the last resourceVersion, without a relist', async () => {
    cluster = await startCluster();
    const clock = new VirtualClock();
    const { client, counting, informer, changes } = setup([cluster.servers[0]!.endpoint], clock);
    informer.addEventHandler(changes.handlers);
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    must(await client.create(PODS, pod('a')));
    await changes.until(() => informer.get('default/a') !== undefined);
    expect([counting.lists, counting.watches]).toEqual([1, 1]);
    expect(cluster.expiring.open.size).toBe(1);
    await clock.advance(60_000);
    expect([counting.lists, counting.watches]).toEqual([1, 2]);
    must(await client.create(PODS, pod('b')));
    await changes.until(() => informer.get('default/b') !== undefined);
    expect(changes.log).toEqual(['add default/a', 'add default/b']);
    informer.stop();
    expect(clock.pending()).toBe(0);
  });

  it('drives a controller-shaped loop: handlers enqueue keys, workers reconcile from the cache', async () => {
    cluster = await startCluster();
    const { client, informer } = setup([cluster.servers[0]!.endpoint]);
    must(await client.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
    const queue = new WorkQueue<string>();
    informer.addEventHandler(enqueueHandlers(queue));
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    // The "controller" binds every unbound pod to n1, and records what it saw.
    const seen: string[] = [];
    const progress = new Changes();
    informer.addEventHandler({ onUpdate: (_o, p) => (p.spec.nodeName === undefined ? undefined : progress.note(`cached ${keyOf(p)}`)) });
    const running = queue.run(2, async (key) => {
      const p = informer.get(key);
      if (p === undefined) {
        seen.push(`${key} gone`);
        return 'done';
      }
      if (p.spec.nodeName !== undefined) return 'done';
      const r = await client.bind(splitKey(key), 'n1');
      seen.push(`${key} ${r.ok ? 'bound' : r.error.reason}`);
      progress.note(`wrote ${key}`);
      return r.ok || r.error.code === 409 ? 'done' : 'retry';
    });
    for (const n of ['p1', 'p2', 'p3']) must(await client.create(PODS, pod(n)));
    await progress.until(() => progress.log.filter((l) => l.startsWith('cached')).length === 3 && seen.length === 3);
    expect(informer.byIndex('nodeName', 'n1').map(keyOf).sort()).toEqual(['default/p1', 'default/p2', 'default/p3']);
    expect(seen.sort()).toEqual(['default/p1 bound', 'default/p2 bound', 'default/p3 bound']);
    queue.shutDown();
    await running;
  });

  it('adds an index after sync over what the cache already holds', async () => {
    cluster = await startCluster();
    const { client, informer } = setup([cluster.servers[0]!.endpoint]);
    must(await client.create(PODS, { ...pod('a'), metadata: { name: 'a', namespace: 'default', labels: { app: 'web' } } }));
    must(await client.create(PODS, pod('b')));
    informer.start();
    expect(await informer.waitForSync()).toBe(true);
    const byApp = (p: Pod): string[] => (p.metadata.labels?.['app'] === undefined ? [] : [p.metadata.labels['app']]);
    informer.addIndexer('app', byApp);
    informer.addIndexer('app', byApp);
    expect(informer.byIndex('app', 'web').map(keyOf)).toEqual(['default/a']);
    expect(() => informer.addIndexer('app', (p) => [p.metadata.name ?? ''])).toThrow(/already has an index "app"/);
    expect(() => informer.byIndex('nope', 'x')).toThrow(/has no index "nope"/);
  });

  it('SharedInformers gives every caller the same informer: one list and one watch per resource', async () => {
    cluster = await startCluster();
    const client = new ApiClient({ endpoints: [cluster.servers[0]!.endpoint], token: TOKEN });
    const counting = new Counting(client);
    const shared = new SharedInformers({ client: counting });
    cleanups.push(() => client.close(), () => shared.stop());
    must(await client.create(PODS, pod('a')));
    const nodeName = (p: Pod): string[] => (p.spec.nodeName === undefined ? [] : [p.spec.nodeName]);
    const first = shared.informerFor<Pod>(PODS, { nodeName });
    const second = shared.informerFor<Pod>(PODS);
    const nodes = shared.informerFor(NODES);
    expect(second).toBe(first);
    expect(shared.hasSynced()).toBe(false);
    shared.start();
    expect(await shared.waitForSync()).toBe(true);
    expect([counting.lists, counting.watches]).toEqual([2, 2]);
    expect(first.keys()).toEqual(['default/a']);
    expect(nodes.keys()).toEqual([]);
    // An informer asked for after start starts at once.
    const late = shared.informerFor(res('', 'configmaps'));
    expect(await late.waitForSync()).toBe(true);
    shared.stop();
    expect(await first.waitForSync()).toBe(true);
  });

  it('stop ends the watch; waitForSync on a stopped, unsynced informer answers false', async () => {
    const { informer } = setup([DEAD_ENDPOINT]);
    informer.start();
    const waiting = informer.waitForSync();
    informer.stop();
    expect(await waiting).toBe(false);
    expect(informer.hasSynced()).toBe(false);
  });
});
