/**
 * watch-cache: the cache over a scripted source — list from memory, watch from a revision with
 * replay, Kubernetes' filter semantics, 410 for revisions the ring no longer holds, one source
 * watch for a thousand watchers sharing each event's object, slow watchers closed without
 * holding others back, resume after a broken stream without gap or duplicate, relist after
 * compaction, waiting for a revision, initial events and bookmarks, and a clean stop.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResourceInfo } from '../../../src/control-plane/api/types.js';
import type { CacheEvent, CacheSink } from '../../../src/control-plane/storage/cache-watcher.js';
import type { StoreError } from '../../../src/control-plane/storage/errors.js';
import { objectKey } from '../../../src/control-plane/storage/keys.js';
import { INITIAL_EVENTS_END, WatchCache, type WatchCacheOptions } from '../../../src/control-plane/storage/watch-cache.js';
import { FakeSource, pod } from './fake-source.js';

const PODS: ResourceInfo = {
  group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', plural: 'pods', singular: 'pod', namespaced: true,
  shortNames: ['po'], categories: ['all'], subresources: ['status'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
};

const key = (ns: string, name: string): string => objectKey(PODS, ns, name);

/** turn lets scheduled deliveries (setImmediate) run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Recorder extends CacheSink {
  readonly events: CacheEvent[];
  readonly ends: (StoreError | null)[];
  open: boolean;
}

function recorder(ready?: () => boolean): Recorder {
  const r: Recorder = {
    events: [],
    ends: [],
    open: true,
    event: (ev) => r.events.push(ev),
    closed: (why) => {
      r.ends.push(why);
      r.open = false;
    },
    ...(ready === undefined ? {} : { ready }),
  };
  return r;
}

const summary = (evs: readonly CacheEvent[]): string[] => evs.map((e) => `${e.type} ${e.object.metadata.name ?? ''}@${e.object.metadata.resourceVersion ?? ''}`);

let caches: WatchCache[] = [];
afterEach(() => {
  for (const c of caches) c.stop();
  caches = [];
  vi.useRealTimers();
});

async function started(src: FakeSource, o: WatchCacheOptions = {}): Promise<WatchCache> {
  const c = new WatchCache(src, PODS, o);
  caches.push(c);
  const r = await c.start();
  expect(r.ok).toBe(true);
  return c;
}

describe('WatchCache', () => {
  it('lists from memory in key order, by namespace and filter, at its revision', async () => {
    const src = new FakeSource();
    src.put(key('b', 'x'), pod('b', 'x'));
    src.put(key('a', 'z'), pod('a', 'z', { app: 'web' }));
    src.put(key('a', 'y'), pod('a', 'y'));
    const c = await started(src);
    src.put(key('ab', 'w'), pod('ab', 'w', { app: 'web' }));
    const all = await c.list();
    expect(all.ok && all.value.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['a/y', 'a/z', 'ab/w', 'b/x']);
    expect(all.ok && all.value.revision).toBe(5);
    const inA = await c.list({ namespace: 'a' });
    expect(inA.ok && inA.value.items.map((o) => o.metadata.name)).toEqual(['y', 'z']);
    const web = await c.list({ filter: (o) => o.metadata.labels?.['app'] === 'web' });
    expect(web.ok && web.value.items.map((o) => o.metadata.name)).toEqual(['z', 'w']);
  });

  it('delivers live changes with the revision as resourceVersion; DELETED carries the last state at the delete revision', async () => {
    const src = new FakeSource();
    const c = await started(src);
    const r = recorder();
    expect(c.watch({ fromRevision: 0 }, r).ok).toBe(true);
    src.put(key('a', 'p'), pod('a', 'p'));
    src.put(key('a', 'p'), pod('a', 'p', { v: '2' }));
    src.delete(key('a', 'p'));
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p@2', 'MODIFIED p@3', 'DELETED p@4']);
    expect(r.events[2]!.object.metadata.labels).toEqual({ v: '2' });
    expect(r.events.map((e) => e.revision)).toEqual([2, 3, 4]);
  });

  it('replays the changes after a revision, then continues live, in revision order', async () => {
    const src = new FakeSource();
    const c = await started(src);
    for (let i = 0; i < 5; i++) src.put(key('a', `p${i}`), pod('a', `p${i}`));
    const r = recorder();
    expect(c.watch({ fromRevision: 3 }, r).ok).toBe(true);
    src.put(key('a', 'late'), pod('a', 'late'));
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p2@4', 'ADDED p3@5', 'ADDED p4@6', 'ADDED late@7']);
  });

  it('answers 410 Gone for a revision older than the ring holds, but not for the current one', async () => {
    const src = new FakeSource();
    const c = await started(src, { capacity: 3 });
    for (let i = 0; i < 6; i++) src.put(key('a', `p${i}`), pod('a', `p${i}`));
    // Revisions 2..7 happened; the ring holds 5, 6, 7, so a watch may start after 4 or later.
    const old = c.watch({ fromRevision: 3 }, recorder());
    expect(old.ok).toBe(false);
    if (!old.ok) {
      expect(old.error.kind).toBe('gone');
      expect(old.error.message).toBe('too old resource version: 3 (4)');
    }
    const r = recorder();
    expect(c.watch({ fromRevision: 4 }, r).ok).toBe(true);
    expect(c.watch({ fromRevision: 7 }, recorder()).ok).toBe(true);
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p3@5', 'ADDED p4@6', 'ADDED p5@7']);
  });

  it('sends DELETED when an object stops matching a filter and ADDED when it starts matching', async () => {
    const src = new FakeSource();
    const c = await started(src);
    const r = recorder();
    c.watch({ fromRevision: 0, namespace: 'a', filter: (o) => o.metadata.labels?.['app'] === 'web' }, r);
    src.put(key('a', 'p'), pod('a', 'p', { app: 'web' }));
    src.put(key('a', 'p'), pod('a', 'p', { app: 'db' }));
    src.put(key('a', 'p'), pod('a', 'p', { app: 'db', x: '1' }));
    src.put(key('a', 'p'), pod('a', 'p', { app: 'web' }));
    src.put(key('b', 'p'), pod('b', 'p', { app: 'web' }));
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p@2', 'DELETED p@3', 'ADDED p@5']);
    // The DELETED event carries the object as it last matched.
    expect(r.events[1]!.object.metadata.labels).toEqual({ app: 'web' });
  });

  it('serves a thousand watchers from one source watch, sharing each event object', async () => {
    const src = new FakeSource();
    const c = await started(src);
    const rs = Array.from({ length: 1000 }, () => recorder());
    for (const r of rs) expect(c.watch({ fromRevision: 0 }, r).ok).toBe(true);
    src.put(key('a', 'p'), pod('a', 'p'));
    await turn();
    expect(src.watches).toHaveLength(1);
    expect(c.stats().watchers).toBe(1000);
    const first = rs[0]!.events[0]!.object;
    for (const r of rs) {
      expect(r.events).toHaveLength(1);
      expect(r.events[0]!.object).toBe(first);
    }
  });

  it('closes a watcher that falls too far behind, without holding back the others', async () => {
    const src = new FakeSource();
    const c = await started(src, { watcherBuffer: 10 });
    const stuck = recorder(() => false);
    const fine = recorder();
    c.watch({ fromRevision: 0 }, stuck);
    c.watch({ fromRevision: 0 }, fine);
    for (let i = 0; i < 30; i++) src.put(key('a', `p${i}`), pod('a', `p${i}`));
    await turn();
    expect(fine.events).toHaveLength(30);
    expect(stuck.open).toBe(false);
    expect(stuck.ends[0]?.kind).toBe('unavailable');
    expect(c.stats().watchers).toBe(1);
  });

  it('holds events while the client is not ready and delivers them on resume', async () => {
    const src = new FakeSource();
    const c = await started(src);
    let ready = false;
    const r = recorder(() => ready);
    const w = c.watch({ fromRevision: 0 }, r);
    src.put(key('a', 'p'), pod('a', 'p'));
    await turn();
    expect(r.events).toHaveLength(0);
    ready = true;
    if (w.ok) w.value.resume();
    expect(summary(r.events)).toEqual(['ADDED p@2']);
  });

  it('resumes a broken watch from the next revision, with no gap and no duplicate', async () => {
    const src = new FakeSource();
    const c = await started(src, { maxBackoffMs: 100 });
    const r = recorder();
    c.watch({ fromRevision: 0 }, r);
    src.put(key('a', 'p1'), pod('a', 'p1'));
    src.autoDeliver = false;
    src.put(key('a', 'p2'), pod('a', 'p2'));
    src.current().handlers.ended({ compacted: false, message: 'member died' });
    src.put(key('a', 'p3'), pod('a', 'p3'));
    await vi.waitFor(() => expect(src.watches.filter((w) => !w.closed)).toHaveLength(1), { timeout: 5000 });
    expect(src.current().fromRevision).toBe(3);
    // The new member repeats a revision the cache already has: it must not be delivered twice.
    src.deliverFrom(2);
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p1@2', 'ADDED p2@3', 'ADDED p3@4']);
    expect(c.stats().reconnects).toBe(1);
  });

  it('lists again after its revision was compacted, closing watchers with 410', async () => {
    const src = new FakeSource();
    const c = await started(src);
    const r = recorder();
    c.watch({ fromRevision: 0 }, r);
    src.autoDeliver = false;
    src.put(key('a', 'p1'), pod('a', 'p1'));
    src.current().handlers.ended({ compacted: true, message: 'compacted' });
    await vi.waitFor(() => expect(c.stats().relists).toBe(1));
    await vi.waitFor(() => expect(c.revision).toBe(2));
    expect(r.ends[0]?.kind).toBe('gone');
    expect(src.current().fromRevision).toBe(3);
    const l = await c.list();
    expect(l.ok && l.value.items.map((o) => o.metadata.name)).toEqual(['p1']);
  });

  it('makes a list wait for a revision, asking for progress, and times out as a value', async () => {
    const src = new FakeSource();
    const c = await started(src, { listWaitMs: 200 });
    const pending = c.list({ minRevision: 9 });
    expect(src.current().progressRequests).toBe(1);
    src.current().handlers.progress(9);
    const l = await pending;
    expect(l.ok && l.value.revision).toBe(9);
    const late = await c.list({ minRevision: 50 });
    expect(!late.ok && late.error.kind).toBe('timeout');
  });

  it('sends the initial state as ADDED events ended by a bookmark, and periodic bookmarks', async () => {
    const src = new FakeSource();
    src.put(key('a', 'p1'), pod('a', 'p1'));
    src.put(key('a', 'p2'), pod('a', 'p2'));
    const c = await started(src, { bookmarkIntervalMs: 20 });
    const r = recorder();
    c.watch({ fromRevision: 0, sendInitialEvents: true, bookmarks: true }, r);
    await turn();
    expect(summary(r.events)).toEqual(['ADDED p1@2', 'ADDED p2@3', 'BOOKMARK @3']);
    expect(r.events[2]!.object.metadata.annotations).toEqual({ [INITIAL_EVENTS_END]: 'true' });
    expect(r.events[2]!.object).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    src.current().handlers.progress(10);
    await vi.waitFor(() => expect(summary(r.events)).toContain('BOOKMARK @10'));
  });

  it('replaces a watch that answers no progress request', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const src = new FakeSource();
    const c = await started(src, { progressIntervalMs: 100 });
    expect(src.watches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(src.watches[0]!.closed).toBe(true);
    expect(src.watches.length).toBeGreaterThanOrEqual(2);
    expect(c.stats().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('stop closes every watcher cleanly and the source watch', async () => {
    const src = new FakeSource();
    const c = await started(src);
    const r = recorder();
    c.watch({ fromRevision: 0 }, r);
    c.stop();
    expect(r.ends).toEqual([null]);
    expect(src.watches[0]!.closed).toBe(true);
    expect(c.watch({ fromRevision: 0 }, recorder()).ok).toBe(false);
  });

  it('leaves no timer behind once stopped, even mid-reconnect', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
    const src = new FakeSource();
    const c = await started(src, { bookmarkIntervalMs: 50 });
    c.watch({ fromRevision: 0, bookmarks: true }, recorder());
    src.put(key('a', 'p'), pod('a', 'p'));
    src.current().handlers.ended({ compacted: false, message: 'gone away' });
    const pending = c.list({ minRevision: 99 });
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    c.stop();
    expect(vi.getTimerCount()).toBe(0);
    const l = await pending;
    expect(!l.ok && l.error.kind).toBe('unavailable');
  });

  it('reports a failed initial list as a value', async () => {
    const src = new FakeSource();
    src.listFails = true;
    const c = new WatchCache(src, PODS);
    caches.push(c);
    const r = await c.start();
    expect(!r.ok && r.error.kind).toBe('unavailable');
  });
});
