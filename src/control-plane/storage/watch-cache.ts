/**
 * watch-cache: one resource's objects in memory, fed by ONE etcd watch, serving list and watch
 * to any number of clients (a thousand watchers cost the etcd layer one watch).
 *
 * `start()` lists the resource's prefix at revision R, then watches from R+1 (with previous
 * values for deletes, and progress notifications so that `revision` advances while the
 * resource is quiet). Each change is applied to the map of current objects, appended to a
 * bounded ring of recent changes (from which watchers starting at an older revision are
 * replayed), and offered to every watcher, which converts it per its filter and buffers it.
 *
 * When the watch breaks (its member died, or went silent: a progress request unanswered for
 * two periods) the cache resumes on the next member from the last revision it applied, so no
 * change is lost or repeated. When that revision was compacted it lists again, and every
 * watcher is closed with 410 Gone, since it may have missed changes; its client lists again.
 */
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { apiVersionOf, err, ok } from '../api/types.js';
import { CacheWatcher, Change, type CacheEvent, type CacheSink } from './cache-watcher.js';
import type { StoreError } from './errors.js';
import { namespaceOfKey, resourceRoot } from './keys.js';
import type { CacheSource, SourceEnd, SourceEvent, SourceListing, SourceWatch } from './watch-source.js';

/** WatchCacheOptions tune a cache; the defaults suit an apiserver. */
export interface WatchCacheOptions {
  /** capacity is how many recent changes the ring keeps for watchers resuming from a revision (default 1,000). */
  readonly capacity?: number;
  /** watcherBuffer is how many live events a watcher may fall behind before it is closed (default 1,000). */
  readonly watcherBuffer?: number;
  /** bookmarkIntervalMs is how often watchers that asked for bookmarks get one (default 10 s). */
  readonly bookmarkIntervalMs?: number;
  /** progressIntervalMs is how often the cache asks etcd for progress, to advance while quiet and to notice a silent stream (default 2 s). */
  readonly progressIntervalMs?: number;
  /** listWaitMs bounds how long list waits for the cache to reach a revision (default 3 s). */
  readonly listWaitMs?: number;
  /** maxBackoffMs caps the pause between reconnection attempts (default 2 s). */
  readonly maxBackoffMs?: number;
}

/** CacheListOptions select a list from the cache. */
export interface CacheListOptions {
  readonly namespace?: string;
  readonly filter?: (obj: KubeObject) => boolean;
  /** minRevision makes the list wait until the cache has applied at least this revision. */
  readonly minRevision?: number;
}

/** CacheList is a list served from memory: objects in key order, and the revision they reflect. */
export interface CacheList {
  readonly items: readonly KubeObject[];
  readonly revision: number;
}

/** CacheWatchOptions select what a watcher sees and from when. */
export interface CacheWatchOptions {
  readonly namespace?: string;
  readonly filter?: (obj: KubeObject) => boolean;
  /** fromRevision: events after this revision; 0 means from the cache's current revision. */
  readonly fromRevision: number;
  /** sendInitialEvents: the state at fromRevision (or now) as ADDED events first, ended by a bookmark. */
  readonly sendInitialEvents?: boolean;
  /** bookmarks: periodic BOOKMARK events with the cache's revision. */
  readonly bookmarks?: boolean;
}

/** CacheStats are counters for tests and metrics. */
export interface CacheStats {
  readonly objects: number;
  readonly watchers: number;
  readonly revision: number;
  /** oldestRevision is the oldest revision a watch may start from. */
  readonly oldestRevision: number;
  readonly ringSize: number;
  /** endpoint is the member the etcd watch is connected to (null while reconnecting). */
  readonly endpoint: string | null;
  readonly reconnects: number;
  readonly relists: number;
}

/** INITIAL_EVENTS_END is the annotation on the bookmark that ends the initial events. */
export const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

interface Waiter {
  readonly minRevision: number;
  readonly resolve: (r: Result<void, StoreError>) => void;
}

/** WatchCache caches one resource; `start()` it, and `stop()` it to release its watch and timers. */
export class WatchCache {
  readonly resource: ResourceInfo;
  readonly prefix: string;
  readonly #source: CacheSource;
  readonly #capacity: number;
  readonly #watcherBuffer: number;
  readonly #bookmarkMs: number;
  readonly #progressMs: number;
  readonly #listWaitMs: number;
  readonly #maxBackoffMs: number;
  readonly #objects = new Map<string, KubeObject>();
  #sortedKeys: string[] | null = null;
  /** #ring holds the newest changes; every change after #ringStart is in it. */
  #ring: (Change | undefined)[];
  #ringHead = 0;
  #ringLen = 0;
  #ringStart = 0;
  #revision = 0;
  readonly #allNamespaces = new Set<CacheWatcher>();
  readonly #byNamespace = new Map<string, Set<CacheWatcher>>();
  #waiters: Waiter[] = [];
  #watch: SourceWatch | null = null;
  #watchToken: object | null = null;
  #heardSinceProbe = true;
  #silentProbes = 0;
  #backoffMs = 100;
  #reconnects = 0;
  #relists = 0;
  #started = false;
  #stopped = false;
  #flushScheduled: NodeJS.Immediate | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #progressTimer: NodeJS.Timeout | null = null;
  #bookmarkTimer: NodeJS.Timeout | null = null;

  constructor(source: CacheSource, resource: ResourceInfo, o: WatchCacheOptions = {}) {
    this.#source = source;
    this.resource = resource;
    this.prefix = resourceRoot(resource);
    this.#capacity = o.capacity ?? 1_000;
    this.#watcherBuffer = o.watcherBuffer ?? 1_000;
    this.#bookmarkMs = o.bookmarkIntervalMs ?? 10_000;
    this.#progressMs = o.progressIntervalMs ?? 2_000;
    this.#listWaitMs = o.listWaitMs ?? 3_000;
    this.#maxBackoffMs = o.maxBackoffMs ?? 2_000;
    if (this.#capacity < 1) throw new RangeError('WatchCache capacity must be at least 1');
    this.#ring = new Array<Change | undefined>(this.#capacity);
  }

  /** revision is the newest revision the cache has applied (0 before start). */
  get revision(): number {
    return this.#revision;
  }

  /** start lists the resource and opens the watch; an error value when etcd cannot be listed (call again to retry). */
  async start(): Promise<Result<void, StoreError>> {
    if (this.#stopped) throw new Error('WatchCache.start: the cache was stopped; make a new one');
    if (this.#started) return ok(undefined);
    const l = await this.#source.list(this.prefix);
    if (!l.ok) return l;
    if (this.#stopped) return ok(undefined);
    this.#replace(l.value);
    this.#started = true;
    this.#openWatch();
    this.#progressTimer = setInterval(() => this.#probe(), this.#progressMs);
    this.#progressTimer.unref();
    this.#bookmarkTimer = setInterval(() => this.#bookmarkAll(), this.#bookmarkMs);
    this.#bookmarkTimer.unref();
    return ok(undefined);
  }

  /** stop closes every watcher (cleanly), the etcd watch and the timers. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watch?.close();
    this.#watch = null;
    this.#watchToken = null;
    for (const t of [this.#retryTimer, this.#progressTimer, this.#bookmarkTimer]) if (t !== null) clearTimeout(t);
    if (this.#flushScheduled !== null) clearImmediate(this.#flushScheduled);
    this.#retryTimer = this.#progressTimer = this.#bookmarkTimer = null;
    this.#flushScheduled = null;
    for (const w of this.#watchers()) w.close(null);
    for (const wt of this.#waiters.splice(0)) wt.resolve(err({ kind: 'unavailable', message: 'The watch cache stopped; retry against a running apiserver' }));
    this.#objects.clear();
    this.#ring = [];
    this.#ringLen = 0;
  }

  /** stats are the cache's counters. */
  stats(): CacheStats {
    return {
      objects: this.#objects.size,
      watchers: this.#allNamespaces.size + [...this.#byNamespace.values()].reduce((n, s) => n + s.size, 0),
      revision: this.#revision,
      oldestRevision: this.#ringStart,
      ringSize: this.#ringLen,
      endpoint: this.#watch?.endpoint ?? null,
      reconnects: this.#reconnects,
      relists: this.#relists,
    };
  }

  /**
   * list serves the current objects (in key order) once the cache has reached minRevision;
   * a timeout error value after listWaitMs. Items are shared: copy before you modify.
   */
  async list(o: CacheListOptions = {}): Promise<Result<CacheList, StoreError>> {
    const reached = await this.#waitFor(o.minRevision ?? 0);
    if (!reached.ok) return reached;
    if (this.#sortedKeys === null) this.#sortedKeys = [...this.#objects.keys()].sort();
    const items: KubeObject[] = [];
    const from = o.namespace === undefined || !this.resource.namespaced ? this.prefix : `${this.prefix}${o.namespace}/`;
    const keys = this.#sortedKeys;
    for (let i = lowerBound(keys, from); i < keys.length; i++) {
      const k = keys[i]!;
      if (!k.startsWith(from)) break;
      const obj = this.#objects.get(k)!;
      if (o.filter === undefined || o.filter(obj)) items.push(obj);
    }
    return ok({ items, revision: this.#revision });
  }

  /**
   * watch starts a watcher: replayed changes after fromRevision (or the initial state), then
   * live ones in revision order. 410 Gone (kind 'gone') as a value when fromRevision is older
   * than the ring holds. The returned handle disposes of the watch (and has `resume()`).
   */
  watch(o: CacheWatchOptions, sink: CacheSink): Result<CacheWatcher, StoreError> {
    if (this.#stopped || !this.#started) return err({ kind: 'unavailable', message: 'The watch cache is not running yet; retry shortly' });
    const from = o.fromRevision;
    if (!Number.isSafeInteger(from) || from < 0) return err({ kind: 'invalid', message: `The resourceVersion to watch from must be a non-negative integer (got ${from})` });
    if (from !== 0 && from < this.#ringStart && !o.sendInitialEvents) {
      return err({ kind: 'gone', message: `too old resource version: ${from} (${this.#ringStart})` });
    }
    const ns = this.resource.namespaced && o.namespace !== undefined && o.namespace !== '' ? o.namespace : undefined;
    const w = new CacheWatcher(
      { ...(ns === undefined ? {} : { namespace: ns }), ...(o.filter === undefined ? {} : { filter: o.filter }), bookmarks: o.bookmarks === true },
      sink,
      { limit: this.#watcherBuffer, afterRevision: Math.max(from, this.#revision), onDispose: (x) => this.#remove(x) },
    );
    if (o.sendInitialEvents === true) {
      if (from > this.#revision) w.snapshotAt = from;
      else this.#snapshot(w);
    } else if (from !== 0 && from < this.#revision) {
      for (const c of this.#changesAfter(from)) {
        const ev = w.eventFor(c);
        if (ev !== null) w.addInitial(ev);
      }
    }
    if (ns === undefined) this.#allNamespaces.add(w);
    else {
      let set = this.#byNamespace.get(ns);
      if (set === undefined) this.#byNamespace.set(ns, (set = new Set()));
      set.add(w);
    }
    if (w.backlog > 0) this.#scheduleFlush();
    return ok(w);
  }

  // ---- applying what etcd sends ----

  #replace(l: SourceListing): void {
    this.#objects.clear();
    for (const it of l.items) this.#objects.set(it.key, it.object);
    this.#sortedKeys = null;
    this.#ring = new Array<Change | undefined>(this.#capacity);
    this.#ringHead = 0;
    this.#ringLen = 0;
    this.#ringStart = l.revision;
    this.#advance(l.revision);
  }

  #openWatch(): void {
    if (this.#stopped) return;
    this.#heardSinceProbe = true;
    this.#silentProbes = 0;
    // NB: a watch that was replaced may still report; its token no longer matches.
    const token = {};
    this.#watchToken = token;
    const w = this.#source.watch(this.prefix, this.#revision + 1, {
      events: (evs) => {
        if (this.#watchToken !== token) return;
        this.#heard();
        this.#apply(evs);
      },
      progress: (rev) => {
        if (this.#watchToken !== token) return;
        this.#heard();
        this.#advance(rev);
      },
      ended: (why) => {
        if (this.#watchToken !== token) return;
        this.#watchEnded(why);
      },
    });
    if (this.#watchToken === token) this.#watch = w;
    else w.close();
  }

  #heard(): void {
    this.#heardSinceProbe = true;
    this.#silentProbes = 0;
    this.#backoffMs = 100;
  }

  #watchEnded(why: SourceEnd): void {
    this.#watch?.close();
    this.#watch = null;
    this.#watchToken = null;
    if (this.#stopped) return;
    if (why.compacted) {
      void this.#relist();
      return;
    }
    this.#reconnects++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#openWatch();
    }, this.#backoffMs);
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
  }

  /** #relist lists again after the cache's next revision was compacted; watchers may have missed changes, so they must list too. */
  async #relist(): Promise<void> {
    this.#relists++;
    const l = await this.#source.list(this.prefix);
    if (this.#stopped) return;
    if (!l.ok) {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        void this.#relist();
      }, this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
      return;
    }
    const gone: StoreError = { kind: 'gone', message: `The watch cache of ${this.resource.plural} lost its history to a compaction and listed again at revision ${l.value.revision}; list again, then watch` };
    for (const w of this.#watchers()) w.close(gone);
    this.#replace(l.value);
    this.#openWatch();
  }

  #apply(evs: readonly SourceEvent[]): void {
    const before = this.#revision;
    let newest = before;
    for (const e of evs) {
      // NB: a resumed watch starts after the last revision applied, so this only guards
      // against a source that repeats itself; revisions are applied whole.
      if (e.revision <= before) continue;
      newest = Math.max(newest, e.revision);
      const prev = this.#objects.get(e.key) ?? null;
      let c: Change;
      if (e.type === 'put') {
        if (prev === null) this.#sortedKeys = null;
        this.#objects.set(e.key, e.object);
        c = new Change(e.key, namespaceOfKey(this.prefix, e.key), e.revision, e.object, prev);
      } else {
        const last = prev ?? e.prev;
        if (last === null) continue;
        this.#objects.delete(e.key);
        this.#sortedKeys = null;
        c = new Change(e.key, namespaceOfKey(this.prefix, e.key), e.revision, null, last);
      }
      this.#append(c);
      this.#offer(c);
    }
    this.#advance(newest);
  }

  #append(c: Change): void {
    const cap = this.#ring.length;
    if (this.#ringLen === cap) {
      const evicted = this.#ring[this.#ringHead];
      if (evicted !== undefined) this.#ringStart = evicted.revision;
      this.#ring[this.#ringHead] = c;
      this.#ringHead = (this.#ringHead + 1) % cap;
    } else {
      this.#ring[(this.#ringHead + this.#ringLen) % cap] = c;
      this.#ringLen++;
    }
  }

  #ringAt(i: number): Change {
    return this.#ring[(this.#ringHead + i) % this.#ring.length]!;
  }

  /** #changesAfter yields the ring's changes with revision > rev, oldest first. */
  *#changesAfter(rev: number): Generator<Change> {
    let lo = 0;
    let hi = this.#ringLen;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#ringAt(mid).revision <= rev) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.#ringLen; i++) yield this.#ringAt(i);
  }

  #offer(c: Change): void {
    let any = false;
    for (const w of this.#allNamespaces) any = w.offer(c) || any;
    if (c.namespace !== undefined) {
      const set = this.#byNamespace.get(c.namespace);
      if (set !== undefined) for (const w of set) any = w.offer(c) || any;
    }
    if (any) this.#scheduleFlush();
  }

  #advance(rev: number): void {
    if (rev <= this.#revision) return;
    this.#revision = rev;
    for (const w of this.#watchers()) {
      if (w.snapshotAt !== null && w.snapshotAt <= rev) this.#snapshot(w);
    }
    if (this.#waiters.length > 0) {
      const still: Waiter[] = [];
      for (const wt of this.#waiters) {
        if (wt.minRevision <= rev) wt.resolve(ok(undefined));
        else still.push(wt);
      }
      this.#waiters = still;
    }
  }

  /** #snapshot queues the current state as ADDED events, then the initial-events-end bookmark. */
  #snapshot(w: CacheWatcher): void {
    w.snapshotAt = null;
    w.afterRevision = this.#revision;
    const keys = this.#sortedKeys ?? (this.#sortedKeys = [...this.#objects.keys()].sort());
    for (const k of keys) {
      const obj = this.#objects.get(k)!;
      if (w.matches(obj)) w.addInitial({ type: 'ADDED', object: obj, revision: parseInt(obj.metadata.resourceVersion ?? '0', 10) });
    }
    w.addInitial(this.#bookmark(true));
    this.#scheduleFlush();
  }

  #bookmark(initialEnd: boolean): CacheEvent {
    const metadata = initialEnd ? { resourceVersion: String(this.#revision), annotations: { [INITIAL_EVENTS_END]: 'true' } } : { resourceVersion: String(this.#revision) };
    return { type: 'BOOKMARK', object: { apiVersion: apiVersionOf(this.resource), kind: this.resource.kind, metadata }, revision: this.#revision };
  }

  #bookmarkAll(): void {
    const bm = this.#bookmark(false);
    for (const w of this.#watchers()) {
      if (w.selection.bookmarks && w.snapshotAt === null && w.backlog === 0 && this.#revision > w.afterRevision) {
        w.afterRevision = this.#revision;
        w.push(bm);
      }
    }
    this.#scheduleFlush();
  }

  /** #probe asks for progress; a watch that answered nothing to two probes in a row is replaced. */
  #probe(): void {
    const w = this.#watch;
    if (w === null) return;
    if (!this.#heardSinceProbe) this.#silentProbes++;
    if (this.#silentProbes >= 2) {
      this.#watchEnded({ compacted: false, message: `The watch on ${w.endpoint} went silent` });
      return;
    }
    this.#heardSinceProbe = false;
    w.requestProgress();
  }

  #waitFor(minRevision: number): Promise<Result<void, StoreError>> {
    if (this.#stopped || !this.#started) return Promise.resolve(err({ kind: 'unavailable', message: 'The watch cache is not running yet; retry shortly' }));
    if (minRevision <= this.#revision) return Promise.resolve(ok(undefined));
    // Ask now rather than at the next probe: a quiet resource then reaches the revision at once.
    this.#watch?.requestProgress();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== waiter);
        resolve(err({ kind: 'timeout', message: `Too large resource version: ${minRevision}, current: ${this.#revision}; the watch cache is behind, retry shortly` }));
      }, this.#listWaitMs);
      const waiter: Waiter = {
        minRevision,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled !== null || this.#stopped) return;
    this.#flushScheduled = setImmediate(() => {
      this.#flushScheduled = null;
      for (const w of this.#watchers()) w.flush();
    });
  }

  *#watchers(): Generator<CacheWatcher> {
    yield* [...this.#allNamespaces];
    for (const set of [...this.#byNamespace.values()]) yield* [...set];
  }

  #remove(w: CacheWatcher): void {
    const ns = w.selection.namespace;
    if (ns === undefined) {
      this.#allNamespaces.delete(w);
      return;
    }
    const set = this.#byNamespace.get(ns);
    set?.delete(w);
    if (set?.size === 0) this.#byNamespace.delete(ns);
  }
}

/** lowerBound is the first index of sorted `keys` whose key is ≥ k. */
function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
