/**
 * storage against a real 3-member raftkube cluster (one cluster for the whole file): the object
 * store's create/get/update/delete with compare-and-swap, guaranteedUpdate under contention,
 * paged lists that stay one snapshot across writes, 410 after compaction; the watch cache's
 * list and watch over one etcd watch for a thousand watchers, filter semantics, 410 for
 * revisions it no longer holds, and — last, since it kills a member — a kill -9 of the member
 * its watch is connected to, after which it continues with no gap and no duplicate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../../../src/control-plane/api/types.js';
import type { CacheEvent } from '../../../src/control-plane/storage/cache-watcher.js';
import { ok } from '../../../src/control-plane/api/types.js';
import { objectKey, resourcePrefix } from '../../../src/control-plane/storage/keys.js';
import { ObjectStore } from '../../../src/control-plane/storage/store.js';
import { ClusterIPRepair } from '../../../src/control-plane/apiserver/registry/service-ip-repair.js';
import { ServiceIPAllocator } from '../../../src/control-plane/apiserver/registry/service-ips.js';
import { WatchCache } from '../../../src/control-plane/storage/watch-cache.js';
import { EtcdWatchSource } from '../../../src/control-plane/storage/watch-source.js';
import { hostPort, startCluster, waitFor, type TestCluster } from '../../integration/harness.js';

const CONFIGMAPS: ResourceInfo = {
  group: '', version: 'v1', kind: 'ConfigMap', listKind: 'ConfigMapList', plural: 'configmaps', singular: 'configmap', namespaced: true,
  shortNames: ['cm'], categories: [], subresources: [], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
};
const SECRETS: ResourceInfo = { ...CONFIGMAPS, kind: 'Secret', listKind: 'SecretList', plural: 'secrets', singular: 'secret', shortNames: [] };

function cm(namespace: string, name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name, labels }, data };
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: { kind: string; message: string } }): T {
  if (!r.ok) throw new Error(`Expected success, got ${r.error.kind}: ${r.error.message}`);
  return r.value;
}

describe('storage on a 3-member cluster', () => {
  let c: TestCluster;
  let store: ObjectStore;

  beforeAll(async () => {
    c = await startCluster({ masters: 3, spareMembers: 0 });
    store = new ObjectStore(c.clientURLs, { retryMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    store?.close();
    await c?.stop();
  }, 60_000);

  it('creates, reads, updates with compare-and-swap, and deletes', async () => {
    const key = objectKey(CONFIGMAPS, 'crud', 'one');
    const created = must(await store.create(key, cm('crud', 'one', { a: '1' })));
    const rv1 = Number(created.metadata.resourceVersion);
    expect(rv1).toBeGreaterThan(0);
    const again = await store.create(key, cm('crud', 'one'));
    expect(!again.ok && again.error.kind).toBe('already-exists');

    const got = must(await store.get(key));
    expect(got).toEqual(created);
    if (got === null) return;

    const updated = must(await store.update(key, { ...got, data: { a: '2' } }, rv1));
    const rv2 = Number(updated.metadata.resourceVersion);
    expect(rv2).toBeGreaterThan(rv1);
    const stale = await store.update(key, { ...got, data: { a: 'stale' } }, rv1);
    expect(!stale.ok && stale.error.kind).toBe('conflict');
    expect(!stale.ok && stale.error.message).toMatch(/the object has been modified; please apply your changes to the latest version and try again/);
    expect(must(await store.get(key))?.['data']).toEqual({ a: '2' });

    const staleDelete = await store.delete(key, rv1);
    expect(!staleDelete.ok && staleDelete.error.kind).toBe('conflict');
    const deleted = must(await store.delete(key, rv2));
    expect(deleted['data']).toEqual({ a: '2' });
    expect(Number(deleted.metadata.resourceVersion)).toBeGreaterThan(rv2);
    expect(must(await store.get(key))).toBeNull();
    const missing = await store.update(key, got, rv2);
    expect(!missing.ok && missing.error.kind).toBe('not-found');
    const missingDelete = await store.delete(key);
    expect(!missingDelete.ok && missingDelete.error.kind).toBe('not-found');
  });

  it('ClusterIP allocations: a repair over more than one page of each frees only what no Service holds', async () => {
    const ips = new ServiceIPAllocator(store, '127.97.0.0/16');
    const repair = new ClusterIPRepair(store, ips);
    const SERVICES: ResourceInfo = { ...CONFIGMAPS, kind: 'Service', listKind: 'ServiceList', plural: 'services', singular: 'service', shortNames: ['svc'] };
    // 520 addresses (two pages of allocations); Services for the even ones (two pages of Services).
    const addr = (i: number): string => `127.97.${2 + (i >> 8)}.${i & 255}`;
    for (let i = 0; i < 520; i++) {
      must(await ips.reserve(addr(i), { service: `repair/s${i}`, uid: `uid-${i}` }));
      if (i % 2 === 0) must(await store.create(objectKey(SERVICES, 'repair', `s${i}`), { apiVersion: 'v1', kind: 'Service', metadata: { name: `s${i}`, namespace: 'repair', uid: `uid-${i}` }, spec: { clusterIP: addr(i) } }));
    }
    expect(must(await repair.sweep())).toEqual({ released: [], restored: [], suspects: 260 });
    const second = must(await repair.sweep());
    expect(second.released.length).toBe(260);
    expect(new Set(second.released)).toEqual(new Set(Array.from({ length: 260 }, (_, k) => addr(2 * k + 1))));
    const left = must(await ips.allocations());
    expect(left.items.map((a) => a.ip).sort()).toEqual(Array.from({ length: 260 }, (_, k) => addr(2 * k)).sort());
    expect(left.items.every((a) => a.uid === `uid-${a.service.slice('repair/s'.length)}`)).toBe(true);
  }, 120_000);

  it('guaranteedUpdate retries on conflict until every writer got through', async () => {
    const key = objectKey(CONFIGMAPS, 'gu', 'counter');
    must(await store.create(key, cm('gu', 'counter', { n: '0' })));
    const bump = (cur: KubeObject | null) => {
      const data = (cur?.['data'] ?? {}) as Record<string, string>;
      return ok({ ...cur!, data: { n: String(Number(data['n']) + 1) } });
    };
    const results = await Promise.all(Array.from({ length: 8 }, () => store.guaranteedUpdate(key, bump)));
    for (const r of results) expect(r.ok).toBe(true);
    expect(must(await store.get(key))?.['data']).toEqual({ n: '8' });
    const same = must(await store.guaranteedUpdate(key, (cur) => ok(cur)));
    expect(same.unchanged).toBe(true);
    // A stale cached copy costs a conflict and a re-read, not a lost update.
    const stale = must(await store.get(key))!;
    must(await store.guaranteedUpdate(key, bump));
    const fromStale = must(await store.guaranteedUpdate(key, bump, { current: stale }));
    expect(fromStale.object['data']).toEqual({ n: '10' });
    const gone = must(await store.guaranteedUpdate(key, () => ok(null)));
    expect(gone.deleted).toBe(true);
    expect(must(await store.get(key))).toBeNull();
    const missing = await store.guaranteedUpdate<never>(key, bump);
    expect(!missing.ok && missing.error.kind).toBe('not-found');
    const made = must(await store.guaranteedUpdate(key, (cur) => ok(cur ?? cm('gu', 'counter', { n: '100' })), { allowCreate: true }));
    expect(made.object['data']).toEqual({ n: '100' });
    const refused = await store.guaranteedUpdate(key, () => ({ ok: false as const, error: { kind: 'mine', message: 'no' } }));
    expect(!refused.ok && refused.error.kind).toBe('mine');
  });

  it('pages a list with continue tokens as one snapshot, across writes', async () => {
    for (let i = 0; i < 5; i++) must(await store.create(objectKey(CONFIGMAPS, 'pages', `p${i}`), cm('pages', `p${i}`)));
    must(await store.create(objectKey(CONFIGMAPS, 'pagesx', 'other'), cm('pagesx', 'other')));
    const prefix = resourcePrefix(CONFIGMAPS, 'pages');
    const first = must(await store.list(prefix, { limit: 2 }));
    expect(first.items.map((o) => o.metadata.name)).toEqual(['p0', 'p1']);
    expect(first.remaining).toBe(3);
    expect(first.continueKey).not.toBeNull();
    // Writes after the first page must not show in the later pages.
    must(await store.delete(objectKey(CONFIGMAPS, 'pages', 'p3')));
    must(await store.create(objectKey(CONFIGMAPS, 'pages', 'p2a'), cm('pages', 'p2a')));
    const p4 = must(await store.get(objectKey(CONFIGMAPS, 'pages', 'p4')))!;
    must(await store.update(objectKey(CONFIGMAPS, 'pages', 'p4'), { ...p4, data: { changed: 'yes' } }, Number(p4.metadata.resourceVersion)));

    const second = must(await store.list(prefix, { limit: 2, continueKey: first.continueKey! }));
    expect(second.items.map((o) => o.metadata.name)).toEqual(['p2', 'p3']);
    expect(second.revision).toBe(first.revision);
    const third = must(await store.list(prefix, { limit: 2, continueKey: second.continueKey! }));
    expect(third.items.map((o) => o.metadata.name)).toEqual(['p4']);
    expect(third.items[0]?.['data']).toEqual({});
    expect(third.continueKey).toBeNull();
    expect(third.remaining).toBe(0);

    const now = must(await store.list(prefix));
    expect(now.items.map((o) => o.metadata.name)).toEqual(['p0', 'p1', 'p2', 'p2a', 'p4']);
    expect(now.revision).toBeGreaterThan(first.revision);
  });

  it('answers 410 Gone for a continue token or revision that was compacted', async () => {
    const prefix = resourcePrefix(CONFIGMAPS, 'pages');
    const first = must(await store.list(prefix, { limit: 1 }));
    must(await store.create(objectKey(CONFIGMAPS, 'pages', 'p9'), cm('pages', 'p9')));
    const rev = must(await store.currentRevision());
    must(await store.compact(rev));
    const next = await store.list(prefix, { limit: 1, continueKey: first.continueKey! });
    expect(!next.ok && next.error.kind).toBe('gone');
    expect(!next.ok && next.error.message).toMatch(/continue parameter is too old/);
    const old = await store.list(prefix, { revision: first.revision });
    expect(!old.ok && old.error.kind).toBe('gone');
    expect(must(await store.list(prefix, { revision: rev })).items.length).toBe(6);
  });

  describe('the watch cache', () => {
    let source: EtcdWatchSource;
    let cache: WatchCache;

    beforeAll(async () => {
      source = new EtcdWatchSource(store);
      cache = new WatchCache(source, SECRETS, { capacity: 20, progressIntervalMs: 500 });
      for (let i = 0; i < 3; i++) must(await store.create(objectKey(SECRETS, 'wc', `s${i}`), { ...cm('wc', `s${i}`), kind: 'Secret' }));
      must(await cache.start());
    });

    afterAll(() => cache?.stop());

    const secret = (name: string, labels: Record<string, string> = {}): KubeObject => ({ ...cm('wc', name, {}, labels), kind: 'Secret' });

    it('lists what a quorum read lists, once it has reached the revision', async () => {
      must(await store.create(objectKey(SECRETS, 'wc', 's3'), secret('s3')));
      const quorum = must(await store.list(resourcePrefix(SECRETS)));
      const cached = must(await cache.list({ minRevision: quorum.revision }));
      expect(cached.items).toEqual(quorum.items);
      expect(cached.revision).toBeGreaterThanOrEqual(quorum.revision);
    });

    it('advances its revision on progress while the resource is quiet', async () => {
      // A write elsewhere moves the cluster's revision; no secret changes.
      must(await store.create(objectKey(CONFIGMAPS, 'quiet', 'x'), cm('quiet', 'x')));
      const rev = must(await store.currentRevision());
      const l = must(await cache.list({ minRevision: rev }));
      expect(l.revision).toBeGreaterThanOrEqual(rev);
    });

    it('watches from a revision, sends DELETED when an object stops matching, and 410 for a revision it no longer holds', async () => {
      const from = cache.revision;
      const events: CacheEvent[] = [];
      const w = must(cache.watch({ fromRevision: from, filter: (o) => o.metadata.labels?.['tier'] === 'gold' }, { event: (e) => events.push(e), closed: () => undefined }));
      const key = objectKey(SECRETS, 'wc', 'f');
      const a = must(await store.create(key, secret('f', { tier: 'gold' })));
      const b = must(await store.update(key, secret('f', { tier: 'tin' }), Number(a.metadata.resourceVersion)));
      await waitFor('the ADDED and DELETED events', () => events.length >= 2);
      expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
      expect(events[1]!.object.metadata.resourceVersion).toBe(b.metadata.resourceVersion);
      expect(events[1]!.object.metadata.labels).toEqual({ tier: 'gold' });
      w.dispose();

      // A late watcher replays from `from`; then enough writes push `from` out of the ring.
      const replay: CacheEvent[] = [];
      const r = must(cache.watch({ fromRevision: from }, { event: (e) => replay.push(e), closed: () => undefined }));
      await waitFor('the replayed events', () => replay.length >= 2);
      expect(replay.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED']);
      r.dispose();
      for (let i = 0; i < 25; i++) must(await store.create(objectKey(SECRETS, 'wc', `bulk${i}`), secret(`bulk${i}`)));
      const target = must(await store.currentRevision());
      must(await cache.list({ minRevision: target }));
      const old = cache.watch({ fromRevision: from }, { event: () => undefined, closed: () => undefined });
      expect(!old.ok && old.error.kind).toBe('gone');
      expect(!old.ok && old.error.message).toMatch(new RegExp(`^too old resource version: ${from} \\(\\d+\\)$`));
    });

    it('reports an etcd watch from a compacted revision as compacted, so the cache lists again', async () => {
      const probe = new EtcdWatchSource(store);
      const ends: { compacted: boolean; message: string }[] = [];
      const w = probe.watch(resourcePrefix(SECRETS), 2, { events: () => undefined, progress: () => undefined, ended: (why) => ends.push(why) });
      try {
        await waitFor('the watch to be canceled', () => ends.length > 0);
        expect(ends.map((e) => e.compacted)).toEqual([true]);
        expect(ends[0]?.message).toMatch(/compacted/);
      } finally {
        w.close();
      }
    });

    it('serves a thousand watchers through one etcd watch', async () => {
      const opened = source.opened;
      const counts = new Array<number>(1000).fill(0);
      const ws = counts.map((_, i) => must(cache.watch({ fromRevision: 0 }, { event: () => counts[i]!++, closed: () => undefined })));
      must(await store.create(objectKey(SECRETS, 'wc', 'fanout'), secret('fanout')));
      await waitFor('every watcher to see the event', () => counts.every((n) => n === 1));
      expect(source.opened).toBe(opened);
      expect(source.opened).toBe(1);
      for (const w of ws) w.dispose();
      expect(cache.stats().watchers).toBe(0);
    });

    it('continues with no gap and no duplicate after kill -9 of the member its watch is connected to', async () => {
      const events: CacheEvent[] = [];
      const start = cache.revision;
      must(cache.watch({ fromRevision: start }, { event: (e) => events.push(e), closed: () => undefined }));
      const written: string[] = [];
      const write = async (name: string): Promise<void> => {
        must(await store.create(objectKey(SECRETS, 'kill', name), { ...secret(name), metadata: { namespace: 'kill', name } }));
        written.push(name);
      };
      for (let i = 0; i < 5; i++) await write(`before${i}`);
      const endpoint = cache.stats().endpoint;
      const victim = c.members.find((m) => hostPort(m.clientURL) === endpoint);
      expect(victim, `a member serving ${endpoint}`).toBeDefined();
      for (const pid of victim!.pids) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 5; i++) await write(`after${i}`);
      await waitFor('the cache to reconnect elsewhere', () => cache.stats().endpoint !== null && cache.stats().endpoint !== endpoint, { timeoutMs: 20_000 });
      const quorum = must(await store.list(resourcePrefix(SECRETS)));
      const cached = must(await cache.list({ minRevision: quorum.revision }));
      expect(cached.items).toEqual(quorum.items);
      await waitFor('every write to reach the watcher', () => events.length >= written.length);
      expect(events.map((e) => e.object.metadata.name)).toEqual(written);
      expect(events.every((e) => e.type === 'ADDED')).toBe(true);
      const revs = events.map((e) => e.revision);
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
      expect(new Set(revs).size).toBe(revs.length);
      expect(cache.stats().reconnects).toBeGreaterThanOrEqual(1);
    });
  });
});
