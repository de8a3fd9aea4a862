/**
 * shared-informers: one informer per resource for a whole process, as client-go's shared
 * informer factory, so the controller-manager's dozen controllers that all look at pods cost
 * the apiserver one list and one watch of pods, not a dozen.
 */
import type { KubeObject } from '../api/types.js';
import type { ApiError } from '../apiserver/registry-api.js';
import type { ResourceDescriptor } from './api-client.js';
import type { Clock } from './clock.js';
import type { IndexFunc, ListWatcher } from './informer.js';
import { Informer } from './informer.js';

/** SharedInformersOptions configure every informer the factory makes. */
export interface SharedInformersOptions {
  readonly client: ListWatcher;
  /** namespace restricts every informer to one namespace (a node agent's view, say). */
  readonly namespace?: string;
  readonly clock?: Clock;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly onError?: (resource: ResourceDescriptor, e: ApiError, during: 'list' | 'watch') => void;
}

/**
 * SharedInformers hands out one Informer per resource. Informers asked for before `start()`
 * start with it; later ones start at once. `stop()` stops them all.
 */
export class SharedInformers {
  readonly #o: SharedInformersOptions;
  readonly #informers = new Map<string, Informer>();
  #started = false;
  #stopped = false;

  constructor(o: SharedInformersOptions) {
    this.#o = o;
  }

  /**
   * informerFor returns the resource's shared informer, adding the given indexes to it. `T` is
   * how the caller views the objects; every caller shares the same, read-only objects.
   */
  informerFor<T extends KubeObject = KubeObject>(res: ResourceDescriptor, indexers: Readonly<Record<string, IndexFunc<T>>> = {}): Informer<T> {
    const k = `${res.group}/${res.version}/${res.plural}`;
    let inf = this.#informers.get(k);
    if (inf === undefined) {
      const o = this.#o;
      inf = new Informer({
        client: o.client,
        resource: res,
        ...(o.namespace === undefined ? {} : { namespace: o.namespace }),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        ...(o.backoff === undefined ? {} : { backoff: o.backoff }),
        ...(o.onError === undefined ? {} : { onError: (e: ApiError, during: 'list' | 'watch') => o.onError?.(res, e, during) }),
      });
      this.#informers.set(k, inf);
      if (this.#started && !this.#stopped) inf.start();
    }
    // NB: the cache holds JSON objects of the resource's kind; T only narrows the caller's view.
    const typed = inf as unknown as Informer<T>;
    for (const [name, f] of Object.entries(indexers)) typed.addIndexer(name, f);
    return typed;
  }

  /** start starts every informer made so far and every one made later. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    for (const inf of this.#informers.values()) inf.start();
  }

  /** hasSynced says whether every informer has synced. */
  hasSynced(): boolean {
    return [...this.#informers.values()].every((i) => i.hasSynced());
  }

  /** waitForSync resolves true when every informer made so far has synced, false if stopped first. */
  async waitForSync(): Promise<boolean> {
    const all = await Promise.all([...this.#informers.values()].map((i) => i.waitForSync()));
    return all.every((x) => x);
  }

  /** stop stops every informer. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const inf of this.#informers.values()) inf.stop();
  }
}
