/**
 * etcd-storage: the registry's storage port on the etcd layer — one ObjectStore (CAS writes and
 * quorum reads through the etcd v3 gRPC API, failing over across members) and one WatchCache
 * per served resource, each fed by a single etcd watch.
 */
import type { ResourceInfo, Result } from '../api/types.js';
import { ok } from '../api/types.js';
import { EtcdWatchSource, ObjectStore, WatchCache, type StoreError, type WatchCacheOptions } from '../storage/index.js';
import type { StoragePort, WatchCachePort } from './registry/storage-port.js';
import type { EtcdTls } from '../../kv/client/etcd-client.js';

/** EtcdStorageOptions tune the store and the caches. */
export interface EtcdStorageOptions {
  readonly cache?: WatchCacheOptions;
  readonly deadlineMs?: number;
  readonly tls?: EtcdTls;
}

function cacheKey(res: ResourceInfo): string {
  return `${res.group}/${res.plural}`;
}

/** EtcdStorage owns the store and the watch caches; start() before use, stop() at the end. */
export class EtcdStorage implements StoragePort {
  readonly store: ObjectStore;
  readonly #caches = new Map<string, WatchCache>();

  constructor(endpoints: readonly string[], resources: readonly ResourceInfo[], o: EtcdStorageOptions = {}) {
    this.store = new ObjectStore(endpoints, { ...(o.deadlineMs === undefined ? {} : { deadlineMs: o.deadlineMs }), ...(o.tls === undefined ? {} : { tls: o.tls }) });
    resources.forEach((res, i) => {
      if (res.group === 'authorization.k8s.io') return; // reviews are never stored
      // Spread the caches' etcd watches over the members.
      const source = new EtcdWatchSource(this.store, { firstEndpoint: i % endpoints.length });
      this.#caches.set(cacheKey(res), new WatchCache(source, res, o.cache ?? {}));
    });
  }

  /** start fills every cache (list, then watch); the first failure is returned. */
  async start(): Promise<Result<void, StoreError>> {
    const results = await Promise.all([...this.#caches.values()].map((c) => c.start()));
    for (const r of results) if (!r.ok) return r;
    return ok(undefined);
  }

  cacheFor(res: ResourceInfo): WatchCachePort {
    const c = this.#caches.get(cacheKey(res));
    if (c === undefined) throw new Error(`No watch cache for ${res.plural}; it is not a stored resource`);
    return c;
  }

  /** cache is the watch cache of a resource, for stats and informers in the same process. */
  cache(res: ResourceInfo): WatchCache | undefined {
    return this.#caches.get(cacheKey(res));
  }

  /** stop ends every cache's watch and closes the store's connections. */
  stop(): void {
    for (const c of this.#caches.values()) c.stop();
    this.store.close();
  }
}
