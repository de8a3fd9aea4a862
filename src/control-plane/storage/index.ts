/**
 * storage: Kubernetes objects in the etcd layer — keys, the object store (CAS writes,
 * linearizable reads, consistent paged lists) and the per-resource watch cache.
 */
export { objectKey, parseKey, resourcePrefix, resourceRoot, groupSegment, namespaceOfKey, REGISTRY_ROOT, type ParsedKey, type ResourceRef } from './keys.js';
export { objectJson, encodeObject, decodeObject, parseRevision, withResourceVersion } from './codec.js';
export { CONFLICT_MESSAGE, toApiError, type ErrorSubject, type StoreError, type StoreErrorKind } from './errors.js';
export {
  ObjectStore, encodeContinue, decodeContinue,
  type Deletion, type GuaranteedUpdateOptions, type ListPage, type ListPageOptions, type Mutation, type ObjectStoreOptions, type UpdateOutcome,
} from './store.js';
export { CacheWatcher, Change, type CacheEvent, type CacheSink, type WatcherSelection } from './cache-watcher.js';
export { INITIAL_EVENTS_END, WatchCache, type CacheList, type CacheListOptions, type CacheStats, type CacheWatchOptions, type WatchCacheOptions } from './watch-cache.js';
export { EtcdWatchSource, type CacheSource, type SourceEnd, type SourceEvent, type SourceHandlers, type SourceItem, type SourceListing, type SourceWatch } from './watch-source.js';
