/**
 * cache-watcher: one client's watch on a watch cache. It turns the cache's changes into the
 * events this client should see (Kubernetes' filter semantics: an object that stops matching
 * is DELETED, one that starts matching is ADDED), holds them in a bounded buffer while the
 * client is not ready, and is closed with an error rather than grow without bound.
 */
import type { KubeObject } from '../api/types.js';
import type { Disposable, WatchEventType } from '../apiserver/registry-api.js';
import { withResourceVersion } from './codec.js';
import type { StoreError } from './errors.js';

/** CacheEvent is one event a cache watcher receives; `object` is shared and read-only (copy before you modify). */
export interface CacheEvent {
  readonly type: Exclude<WatchEventType, 'ERROR'>;
  readonly object: KubeObject;
  /** revision is the event's revision (the object's resourceVersion). */
  readonly revision: number;
}

/**
 * CacheSink receives a watch's events. `closed` is called once when the watch ends: null when
 * the cache stopped or the watch was disposed of, an error when the watcher must watch again.
 * `ready`, when given, is the face's backpressure: while it says false, events wait in the
 * watcher's bounded buffer (call `resume()` on the handle once the client drained).
 */
export interface CacheSink {
  readonly event: (ev: CacheEvent) => void;
  readonly closed: (why: StoreError | null) => void;
  readonly ready?: () => boolean;
}

/**
 * Change is one change applied by the cache, shared by every watcher: the object after it
 * (null when deleted) and before it (null when created).
 */
export class Change {
  #deletedView: KubeObject | null = null;

  constructor(
    readonly key: string,
    readonly namespace: string | undefined,
    readonly revision: number,
    readonly object: KubeObject | null,
    readonly prev: KubeObject | null,
  ) {}

  /** deletedView is the previous object with resourceVersion = this change's revision, built once. */
  deletedView(): KubeObject {
    if (this.#deletedView === null) {
      if (this.prev === null) throw new Error('Change.deletedView: a change without a previous object cannot be a deletion');
      this.#deletedView = withResourceVersion(this.prev, this.revision);
    }
    return this.#deletedView;
  }
}

/** WatcherSelection is what a watcher wants to see. */
export interface WatcherSelection {
  readonly namespace?: string;
  readonly filter?: (obj: KubeObject) => boolean;
  readonly bookmarks: boolean;
}

/** CacheWatcher is one watch on a cache; the cache owns it, the client holds it as a Disposable. */
export class CacheWatcher implements Disposable {
  readonly selection: WatcherSelection;
  /**
   * afterRevision: changes at or below it are not for this watcher (already replayed, covered
   * by the initial state, or older than the revision it asked to start after).
   */
  afterRevision: number;
  /** snapshotAt: the initial state is still to be taken, once the cache reaches this revision. */
  snapshotAt: number | null = null;
  readonly #sink: CacheSink;
  readonly #limit: number;
  readonly #onDispose: (w: CacheWatcher) => void;
  /** #initial holds replayed or initial events; not bounded by the limit (the cache bounds them). */
  #initial: CacheEvent[] = [];
  #initialHead = 0;
  #queue: CacheEvent[] = [];
  #queueHead = 0;
  #closed = false;

  constructor(selection: WatcherSelection, sink: CacheSink, o: { readonly limit: number; readonly afterRevision: number; readonly onDispose: (w: CacheWatcher) => void }) {
    this.selection = selection;
    this.#sink = sink;
    this.#limit = o.limit;
    this.afterRevision = o.afterRevision;
    this.#onDispose = o.onDispose;
  }

  /** closed says the watch has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** backlog is how many events wait for delivery. */
  get backlog(): number {
    return this.#initial.length - this.#initialHead + this.#queue.length - this.#queueHead;
  }

  /** matches says whether obj is one this watcher sees. */
  matches(obj: KubeObject): boolean {
    const ns = this.selection.namespace;
    if (ns !== undefined && obj.metadata.namespace !== ns) return false;
    return this.selection.filter === undefined || this.selection.filter(obj);
  }

  /** eventFor converts a change into this watcher's event, or null when it sees nothing of it. */
  eventFor(c: Change): CacheEvent | null {
    const now = c.object !== null && this.matches(c.object);
    const before = c.prev !== null && this.matches(c.prev);
    if (now && c.object !== null) return { type: before ? 'MODIFIED' : 'ADDED', object: c.object, revision: c.revision };
    if (before) return { type: 'DELETED', object: c.deletedView(), revision: c.revision };
    return null;
  }

  /** addInitial queues a replayed or initial event, delivered before any live one. */
  addInitial(ev: CacheEvent): void {
    this.#initial.push(ev);
  }

  /** offer queues a live change; false (and the watcher closed) when the buffer overflowed. */
  offer(c: Change): boolean {
    if (this.#closed || c.revision <= this.afterRevision || this.snapshotAt !== null) return true;
    const ev = this.eventFor(c);
    if (ev === null) return true;
    return this.push(ev);
  }

  /** push queues an event; false (and the watcher closed) when the buffer overflowed. */
  push(ev: CacheEvent): boolean {
    if (this.#closed) return true;
    // A burst (a catching-up response holds many revisions) may fill the buffer of a client
    // that is keeping up: deliver what it will take now before judging it too slow.
    if (this.#queue.length - this.#queueHead >= this.#limit) this.flush();
    if (this.#closed) return true;
    if (this.#queue.length - this.#queueHead >= this.#limit) {
      this.close({
        kind: 'unavailable',
        message: `This watch fell ${this.#limit} events behind and was closed; watch again from the last resourceVersion received`,
      });
      return false;
    }
    this.#queue.push(ev);
    return true;
  }

  /** flush delivers queued events while the sink is ready. */
  flush(): void {
    while (!this.#closed && this.backlog > 0) {
      if (this.#sink.ready !== undefined && !this.#sink.ready()) return;
      let ev: CacheEvent | undefined;
      if (this.#initialHead < this.#initial.length) {
        ev = this.#initial[this.#initialHead++];
        if (this.#initialHead === this.#initial.length) {
          this.#initial = [];
          this.#initialHead = 0;
        }
      } else {
        ev = this.#queue[this.#queueHead++];
        if (this.#queueHead >= 1024 && this.#queueHead * 2 >= this.#queue.length) {
          this.#queue = this.#queue.slice(this.#queueHead);
          this.#queueHead = 0;
        }
      }
      if (ev === undefined) return;
      try {
        this.#sink.event(ev);
      } catch (e: unknown) {
        this.close({ kind: 'internal', message: `The watch's receiver failed (${e instanceof Error ? e.message : String(e)}); watch again` });
        return;
      }
    }
    if (this.#queueHead > 0 && this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    }
  }

  /** close ends the watch with `why` (null: a clean end). Idempotent. */
  close(why: StoreError | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#initial = [];
    this.#initialHead = 0;
    this.#queue = [];
    this.#queueHead = 0;
    this.#onDispose(this);
    this.#sink.closed(why);
  }

  /** resume delivers what waited while the sink was not ready (call it when the client drained). */
  resume(): void {
    this.flush();
  }

  /** dispose ends the watch at the client's request. */
  dispose(): void {
    this.close(null);
  }
}
