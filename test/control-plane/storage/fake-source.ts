/**
 * fake-source: a scripted CacheSource for the watch cache's unit tests. It keeps a tiny MVCC
 * history (every put and delete at its own revision), answers list at the latest revision,
 * and lets the test deliver events, progress and stream failures to the open watch.
 */
import type { KubeObject, Result } from '../../../src/control-plane/api/types.js';
import { ok, err } from '../../../src/control-plane/api/types.js';
import type { StoreError } from '../../../src/control-plane/storage/errors.js';
import type { CacheSource, SourceEvent, SourceHandlers, SourceListing, SourceWatch } from '../../../src/control-plane/storage/watch-source.js';

/** FakeWatch is a watch the fake source opened. */
export interface FakeWatch {
  readonly fromRevision: number;
  readonly handlers: SourceHandlers;
  closed: boolean;
  progressRequests: number;
}

/** pod builds a minimal namespaced object. */
export function pod(namespace: string, name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, labels } };
}

/** FakeSource is an in-memory etcd for one prefix. */
export class FakeSource implements CacheSource {
  revision = 1;
  compacted = 0;
  readonly objects = new Map<string, KubeObject>();
  readonly history: SourceEvent[] = [];
  readonly watches: FakeWatch[] = [];
  listFails = false;
  /** autoDeliver sends each write to the open watch at once. */
  autoDeliver = true;

  list(prefix: string): Promise<Result<SourceListing, StoreError>> {
    if (this.listFails) return Promise.resolve(err({ kind: 'unavailable', message: 'down' }));
    const items = [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([key, object]) => ({ key, object }));
    return Promise.resolve(ok({ items, revision: this.revision }));
  }

  watch(_prefix: string, fromRevision: number, handlers: SourceHandlers): SourceWatch {
    const w: FakeWatch = { fromRevision, handlers, closed: false, progressRequests: 0 };
    this.watches.push(w);
    return {
      endpoint: `fake-${this.watches.length}`,
      requestProgress: () => {
        w.progressRequests++;
      },
      close: () => {
        w.closed = true;
      },
    };
  }

  /** current is the open watch (the newest not closed). */
  current(): FakeWatch {
    const w = this.watches.filter((x) => !x.closed).at(-1);
    if (w === undefined) throw new Error('No open watch');
    return w;
  }

  put(key: string, obj: KubeObject): SourceEvent {
    this.revision++;
    const object = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.revision) } };
    this.objects.set(key, object);
    const e: SourceEvent = { type: 'put', key, revision: this.revision, object };
    this.history.push(e);
    if (this.autoDeliver) this.#deliver([e]);
    return e;
  }

  delete(key: string): SourceEvent {
    this.revision++;
    const prev = this.objects.get(key) ?? null;
    this.objects.delete(key);
    const e: SourceEvent = { type: 'delete', key, revision: this.revision, prev };
    this.history.push(e);
    if (this.autoDeliver) this.#deliver([e]);
    return e;
  }

  /** deliverFrom sends the open watch every event from revision `from` on (a resumed watch catching up). */
  deliverFrom(from: number): void {
    this.#deliver(this.history.filter((e) => e.revision >= from));
  }

  #deliver(events: SourceEvent[]): void {
    const w = this.watches.filter((x) => !x.closed).at(-1);
    if (w !== undefined && events.length > 0) w.handlers.events(events);
  }
}
