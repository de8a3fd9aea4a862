/**
 * informer: a read-only local cache of one resource, kept current by list-then-watch, as
 * client-go's shared informer. It lists, then watches from the list's resourceVersion; a watch
 * that breaks is resumed from the last resourceVersion seen (through the client's failover, so
 * usually on another apiserver) after a backoff; a 410 Expired means the history is gone and
 * the informer lists again, delivering a synthetic delete for whatever vanished meanwhile.
 * Handlers are told of adds, updates and deletes, and should only enqueue keys.
 */
import type { KubeObject, Result } from '../api/types.js';
import type { ApiError, Disposable, ListOptions, WatchOptions } from '../apiserver/registry-api.js';
import type { ResourceDescriptor, TypedList, WatchHandlers } from './api-client.js';
import type { Clock, TimerHandle } from './clock.js';
import { systemClock } from './clock.js';

/** ListWatcher is the part of ApiClient an informer uses. */
export interface ListWatcher {
  list<T>(res: ResourceDescriptor, o: ListOptions): Promise<Result<TypedList<T>, ApiError>>;
  watch<T>(res: ResourceDescriptor, o: WatchOptions, h: WatchHandlers<T>): Disposable;
}

/** IndexFunc maps an object to the index values it is found under (e.g. its spec.nodeName). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** DeleteInfo tells a delete handler whether the deletion was seen or inferred from a relist. */
export interface DeleteInfo {
  /** finalStateUnknown: the object vanished during a relist; `obj` is the last state the cache held. */
  readonly finalStateUnknown: boolean;
}

/** InformerHandlers react to cache changes; keep them short (enqueue a key). */
export interface InformerHandlers<T> {
  readonly onAdd?: (obj: T) => void;
  readonly onUpdate?: (oldObj: T, newObj: T) => void;
  readonly onDelete?: (obj: T, info: DeleteInfo) => void;
}

/** InformerOptions configure an informer. */
export interface InformerOptions<T> {
  readonly client: ListWatcher;
  readonly resource: ResourceDescriptor;
  /** namespace restricts the informer to one namespace. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** indexers are named index functions; 'namespace' is always present. */
  readonly indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** pageSize lists in pages of this many objects (default 500). */
  readonly pageSize?: number;
  readonly clock?: Clock;
  /** backoff between failed lists or watches: initial (default 200 ms), doubling up to max (default 30 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * watchTimeoutMs re-establishes the watch (from the last resourceVersion) after this long, so a
   * stream on a half-open connection cannot go silent forever; default a random 5–10 minutes.
   */
  readonly watchTimeoutMs?: number;
  /** onError hears about each failed list or watch (for logs and metrics). */
  readonly onError?: (e: ApiError, during: 'list' | 'watch') => void;
}

/** NAMESPACE_INDEX is the built-in index of objects by metadata.namespace. */
export const NAMESPACE_INDEX = 'namespace';

/** keyOf is an object's cache key: 'namespace/name', or 'name' for a cluster-scoped object. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  const name = obj.metadata.name ?? '';
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

/** splitKey splits a cache key into namespace (absent for cluster-scoped) and name. */
export function splitKey(key: string): { readonly namespace?: string; readonly name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * enqueueHandlers are handlers that only add the changed object's key to a queue, the usual
 * thing for a controller's informer handlers to do.
 */
export function enqueueHandlers<T extends KubeObject>(queue: { add(key: string): void }, key: (obj: T) => string = keyOf): InformerHandlers<T> {
  return {
    onAdd: (obj) => queue.add(key(obj)),
    onUpdate: (_old, obj) => queue.add(key(obj)),
    onDelete: (obj) => queue.add(key(obj)),
  };
}

/**
 * Informer keeps a read-only cache of one resource. Objects handed out are the cache's own:
 * copy (structuredClone) before modifying. `start()` begins, `stop()` ends every stream and timer.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly #o: InformerOptions<T>;
  readonly #clock: Clock;
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** indexes: index name → index value → keys. */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #handlers = new Set<InformerHandlers<T>>();
  readonly #syncWaiters: ((synced: boolean) => void)[] = [];
  #started = false;
  #stopped = false;
  #synced = false;
  #lastRv = '';
  #watch: Disposable | null = null;
  #timer: TimerHandle | null = null;
  #refresh: TimerHandle | null = null;
  #failures = 0;
  /** generation invalidates callbacks of a list or watch that was superseded or stopped. */
  #generation = 0;

  constructor(o: InformerOptions<T>) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.addIndexer(NAMESPACE_INDEX, (obj) => [obj.metadata.namespace ?? '']);
    for (const [name, f] of Object.entries(o.indexers ?? {})) this.addIndexer(name, f);
  }

  /**
   * addIndexer adds a named index (e.g. pods by spec.nodeName) and indexes what the cache
   * holds; a name that is taken must map to the same function.
   */
  addIndexer(name: string, f: IndexFunc<T>): void {
    const cur = this.#indexers.get(name);
    if (cur !== undefined) {
      if (cur !== f) throw new Error(`The informer already has an index ${JSON.stringify(name)} with another function; pick another name`);
      return;
    }
    this.#indexers.set(name, f);
    const ix = new Map<string, Set<string>>();
    this.#indexes.set(name, ix);
    for (const [k, obj] of this.#items) {
      for (const v of f(obj)) {
        let set = ix.get(v);
        if (set === undefined) ix.set(v, (set = new Set()));
        set.add(k);
      }
    }
  }

  /** start lists and begins watching; calling it twice is a no-op. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#list();
  }

  /** stop cancels the watch and any pending retry; waitForSync callers get false if not synced. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#generation++;
    this.#watch?.dispose();
    this.#watch = null;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#clearRefresh();
    for (const w of this.#syncWaiters.splice(0)) w(this.#synced);
  }

  /** hasSynced says whether the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** waitForSync resolves true once the cache has synced, or false if the informer stops first. */
  waitForSync(): Promise<boolean> {
    if (this.#synced || this.#stopped) return Promise.resolve(this.#synced);
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** lastSyncResourceVersion is the newest resourceVersion the cache reflects. */
  get lastSyncResourceVersion(): string {
    return this.#lastRv;
  }

  /**
   * addEventHandler registers handlers; objects already in the cache are replayed to onAdd.
   * Dispose the result to unregister.
   */
  addEventHandler(h: InformerHandlers<T>): Disposable {
    this.#handlers.add(h);
    if (h.onAdd !== undefined) for (const obj of this.#items.values()) h.onAdd(obj);
    return { dispose: () => this.#handlers.delete(h) };
  }

  /** get returns the cached object with this key ('namespace/name' or 'name'). */
  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  /** list returns every cached object. */
  list(): T[] {
    return [...this.#items.values()];
  }

  /** keys returns every cached key. */
  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** byIndex returns the cached objects an index maps `value` to (e.g. byIndex('namespace', 'default')). */
  byIndex(index: string, value: string): T[] {
    const ix = this.#indexes.get(index);
    if (ix === undefined) throw new Error(`The informer has no index ${JSON.stringify(index)}; pass it in the indexers option`);
    const keys = ix.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const obj = this.#items.get(k);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  #selection(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    const o = this.#o;
    return {
      ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
      ...(o.labelSelector === undefined ? {} : { labelSelector: o.labelSelector }),
      ...(o.fieldSelector === undefined ? {} : { fieldSelector: o.fieldSelector }),
    };
  }

  #retry(what: () => void): void {
    const initial = this.#o.backoff?.initialMs ?? 200;
    const max = this.#o.backoff?.maxMs ?? 30_000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    const gen = this.#generation;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (gen === this.#generation && !this.#stopped) what();
    }, delay);
  }

  #list(): void {
    const gen = ++this.#generation;
    void this.#listAll().then((r) => {
      if (gen !== this.#generation || this.#stopped) return;
      if (!r.ok) {
        this.#o.onError?.(r.error, 'list');
        this.#retry(() => this.#list());
        return;
      }
      this.#failures = 0;
      this.#replace(r.value.items, r.value.resourceVersion);
      this.#watchFrom(this.#lastRv);
    });
  }

  async #listAll(): Promise<Result<{ items: T[]; resourceVersion: string }, ApiError>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    for (;;) {
      const r = await this.#o.client.list<T>(this.#o.resource, { ...this.#selection(), limit: this.#o.pageSize ?? 500, ...(cont === undefined ? {} : { continue: cont }) });
      if (!r.ok) return r;
      items.push(...r.value.items);
      // NB: every page is read at the first page's revision, so that revision is the list's.
      if (rv === '') rv = r.value.metadata.resourceVersion;
      cont = r.value.metadata.continue;
      if (cont === undefined || cont === '') return { ok: true, value: { items, resourceVersion: rv } };
    }
  }

  /** replace swaps in a fresh list: adds, updates, and synthetic deletes for what vanished. */
  #replace(items: readonly T[], rv: string): void {
    const fresh = new Map<string, T>();
    for (const obj of items) fresh.set(keyOf(obj), obj);
    for (const [k, old] of [...this.#items]) {
      if (fresh.has(k)) continue;
      this.#remove(k);
      for (const h of this.#handlers) h.onDelete?.(old, { finalStateUnknown: true });
    }
    for (const [k, obj] of fresh) this.#upsert(k, obj);
    this.#lastRv = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w(true);
    }
  }

  #upsert(k: string, obj: T): void {
    const old = this.#items.get(k);
    if (old !== undefined && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    if (old !== undefined) this.#unindex(k, old);
    this.#items.set(k, obj);
    this.#index(k, obj);
    if (old === undefined) for (const h of this.#handlers) h.onAdd?.(obj);
    else for (const h of this.#handlers) h.onUpdate?.(old, obj);
  }

  #remove(k: string): T | undefined {
    const old = this.#items.get(k);
    if (old === undefined) return undefined;
    this.#unindex(k, old);
    this.#items.delete(k);
    return old;
  }

  #index(k: string, obj: T): void {
    for (const [name, f] of this.#indexers) {
      const ix = this.#indexes.get(name)!;
      for (const v of f(obj)) {
        let set = ix.get(v);
        if (set === undefined) ix.set(v, (set = new Set()));
        set.add(k);
      }
    }
  }

  #unindex(k: string, obj: T): void {
    for (const [name, f] of this.#indexers) {
      const ix = this.#indexes.get(name)!;
      for (const v of f(obj)) {
        const set = ix.get(v);
        set?.delete(k);
        if (set?.size === 0) ix.delete(v);
      }
    }
  }

  #clearRefresh(): void {
    if (this.#refresh !== null) this.#clock.clearTimeout(this.#refresh);
    this.#refresh = null;
  }

  #watchFrom(rv: string): void {
    const gen = ++this.#generation;
    let delivered = false;
    this.#clearRefresh();
    this.#refresh = this.#clock.setTimeout(
      () => {
        this.#refresh = null;
        if (gen !== this.#generation || this.#stopped) return;
        this.#watch?.dispose();
        this.#watch = null;
        this.#watchFrom(this.#lastRv);
      },
      this.#o.watchTimeoutMs ?? 300_000 * (1 + Math.random()),
    );
    this.#watch = this.#o.client.watch<T>(this.#o.resource, { ...this.#selection(), resourceVersion: rv, allowWatchBookmarks: true }, {
      event: (ev) => {
        if (gen !== this.#generation || this.#stopped) return;
        if (!delivered) {
          delivered = true;
          this.#failures = 0;
        }
        const k = keyOf(ev.object);
        switch (ev.type) {
          case 'ADDED':
          case 'MODIFIED':
            this.#upsert(k, ev.object);
            break;
          case 'DELETED':
            this.#remove(k);
            for (const h of this.#handlers) h.onDelete?.(ev.object, { finalStateUnknown: false });
            break;
          case 'BOOKMARK':
            break;
        }
        const next = ev.object.metadata.resourceVersion;
        if (next !== undefined && next !== '') this.#lastRv = next;
      },
      end: (why) => {
        if (gen !== this.#generation || this.#stopped) return;
        this.#watch = null;
        this.#clearRefresh();
        if (why === null) {
          // A clean end (server timeout, apiserver shutting down gracefully): resume at once if
          // the watch was useful, after a backoff if it ended without delivering anything.
          if (delivered) this.#watchFrom(this.#lastRv);
          else this.#retry(() => this.#watchFrom(this.#lastRv));
          return;
        }
        this.#o.onError?.(why, 'watch');
        if (why.code === 410) {
          // The history we would resume from is compacted away: only a fresh list can tell
          // what changed, including what was deleted meanwhile.
          this.#list();
          return;
        }
        this.#retry(() => this.#watchFrom(this.#lastRv));
      },
    });
  }
}
