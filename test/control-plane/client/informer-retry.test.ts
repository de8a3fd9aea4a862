/**
 * The informer's retry policy on a virtual clock over a scripted list/watch source: failed
 * lists back off exponentially up to the cap, a watch that delivered events resumes at once
 * after a clean end, broken watches back off and resume from the last resourceVersion, 410
 * relists, and stop leaves no timer or stream behind.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject, Result } from '../../../src/control-plane/api/types.js';
import { err, ok } from '../../../src/control-plane/api/types.js';
import type { ApiError, Disposable, ListOptions, WatchOptions } from '../../../src/control-plane/apiserver/registry-api.js';
import type { ResourceDescriptor, TypedList, WatchHandlers } from '../../../src/control-plane/client/api-client.js';
import { VirtualClock } from '../../../src/control-plane/client/clock.js';
import type { ListWatcher } from '../../../src/control-plane/client/informer.js';
import { Informer } from '../../../src/control-plane/client/informer.js';

const CONFIGMAPS: ResourceDescriptor = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };
const DOWN: ApiError = { code: 503, reason: 'ServiceUnavailable', message: 'No apiserver answered' };
const GONE: ApiError = { code: 410, reason: 'Expired', message: 'too old resource version' };

function cm(name: string, rv: number): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', resourceVersion: String(rv) } };
}

/** Scripted answers lists from a queue of outcomes and records every call with its time. */
class Scripted implements ListWatcher {
  readonly calls: string[] = [];
  readonly lists: Array<Result<{ items: KubeObject[]; rv: string }, ApiError>> = [];
  readonly open = new Set<WatchHandlers<KubeObject>>();
  constructor(readonly clock: VirtualClock) {}

  async list<T>(_r: ResourceDescriptor, _o: ListOptions): Promise<Result<TypedList<T>, ApiError>> {
    this.calls.push(`list@${this.clock.now()}`);
    const next = this.lists.shift() ?? err(DOWN);
    if (!next.ok) return next;
    return ok({ apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: next.value.rv }, items: next.value.items as unknown as T[] });
  }

  watch<T>(_r: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable {
    this.calls.push(`watch(${o.resourceVersion ?? ''})@${this.clock.now()}`);
    const handlers = h as unknown as WatchHandlers<KubeObject>;
    this.open.add(handlers);
    return { dispose: () => this.open.delete(handlers) };
  }

  /** the one open watch (fails the test when there is not exactly one). */
  get watcher(): WatchHandlers<KubeObject> {
    expect(this.open.size).toBe(1);
    return [...this.open][0]!;
  }

  end(why: ApiError | null): void {
    const w = this.watcher;
    this.open.delete(w);
    w.end(why);
  }
}

describe('Informer retries', () => {
  it('backs off failed lists exponentially up to the cap, then lists and watches from the list revision', async () => {
    const clock = new VirtualClock();
    const src = new Scripted(clock);
    const errors: string[] = [];
    const inf = new Informer({ client: src, resource: CONFIGMAPS, clock, backoff: { initialMs: 100, maxMs: 500 }, onError: (e, during) => errors.push(`${during} ${e.code}`) });
    src.lists.push(err(DOWN), err(DOWN), err(DOWN), err(DOWN), err(DOWN), ok({ items: [cm('a', 5)], rv: '7' }));
    inf.start();
    await clock.advance(2000);
    expect(src.calls).toEqual(['list@0', 'list@100', 'list@300', 'list@700', 'list@1200', 'list@1700', 'watch(7)@1700']);
    expect(errors).toEqual(['list 503', 'list 503', 'list 503', 'list 503', 'list 503']);
    expect(inf.hasSynced()).toBe(true);
    expect(inf.keys()).toEqual(['default/a']);
    // A good list resets the backoff: a watch failing now is retried after the initial delay (the clock stands at 2000).
    src.end(DOWN);
    await clock.advance(100);
    expect(src.calls.at(-1)).toBe('watch(7)@2100');
    inf.stop();
    expect(src.open.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('resumes from the last resourceVersion: at once after a useful clean end, with backoff after failures, relisting on 410', async () => {
    const clock = new VirtualClock();
    const src = new Scripted(clock);
    const inf = new Informer({ client: src, resource: CONFIGMAPS, clock, backoff: { initialMs: 100, maxMs: 1000 }, watchTimeoutMs: 1_000_000 });
    src.lists.push(ok({ items: [cm('a', 5)], rv: '7' }));
    inf.start();
    await clock.advance(0);
    src.watcher.event({ type: 'MODIFIED', object: cm('a', 9) });
    src.watcher.event({ type: 'BOOKMARK', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '12' } } });
    src.end(null);
    await clock.advance(0);
    // Broken twice without delivering anything: 100 ms, then 200 ms.
    src.end(DOWN);
    await clock.advance(100);
    src.end(DOWN);
    await clock.advance(200);
    // This one delivers, so the next failure starts the backoff from the beginning.
    src.watcher.event({ type: 'ADDED', object: cm('b', 13) });
    src.end(DOWN);
    await clock.advance(100);
    src.lists.push(ok({ items: [cm('b', 13)], rv: '20' }));
    const deleted: string[] = [];
    inf.addEventHandler({ onDelete: (o, info) => deleted.push(`${o.metadata.name ?? ''} ${info.finalStateUnknown}`) });
    src.end(GONE);
    await clock.advance(0);
    expect(src.calls).toEqual(['list@0', 'watch(7)@0', 'watch(12)@0', 'watch(12)@100', 'watch(12)@300', 'watch(13)@400', 'list@400', 'watch(20)@400']);
    expect(deleted).toEqual(['a true']);
    expect(inf.keys()).toEqual(['default/b']);
    expect(inf.lastSyncResourceVersion).toBe('20');
    inf.stop();
    expect(src.open.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });
});
