/**
 * storage-port: what the registry needs from storage — an etcd-backed object store for writes
 * and quorum reads, and a watch cache per resource for cached lists and watches. The production
 * implementations live in src/control-plane/storage; tests may pass in-memory ones.
 */
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import type { Disposable, WatchEventType, WriteFence } from '../registry-api.js';

/** StoreErrorKind classifies a storage failure; 'fenced' is a write refused because its fence no longer holds. */
export type StoreErrorKind = 'not-found' | 'already-exists' | 'conflict' | 'gone' | 'unavailable' | 'timeout' | 'too-large' | 'invalid' | 'internal' | 'fenced';

/**
 * PortWriteConditions add a condition to a write: with `fence`, the write applies only if, at
 * the moment it applies (atomically, not checked before), the Lease the fence names still
 * names the fence's holder in the fence's term; otherwise it fails with a 'fenced' error.
 */
export interface PortWriteConditions {
  readonly fence?: WriteFence;
}

/** PortError is a storage failure as the registry sees it. */
export interface PortError {
  readonly kind: StoreErrorKind;
  readonly message: string;
}

/** PortList is one page of a list. */
export interface PortList {
  readonly items: readonly KubeObject[];
  /** revision is the store revision the page was read at. */
  readonly revision: number;
  /** continueKey resumes the list after this page, or null at the end. */
  readonly continueKey: string | null;
  readonly remaining: number;
}

/** Mutation is a read-modify-write step: the new object, null to delete, or an error. */
export type Mutation<E> = (current: KubeObject | null) => Result<KubeObject | { readonly delete: true } | null, E>;

/** ObjectStorePort is the etcd-backed object store. */
export interface ObjectStorePort {
  create(key: string, obj: KubeObject, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>>;
  get(key: string): Promise<Result<KubeObject | null, PortError>>;
  list(prefix: string, o: { readonly limit?: number; readonly continueKey?: string; readonly revision?: number }): Promise<Result<PortList, PortError>>;
  update(key: string, obj: KubeObject, expectedRevision: number, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>>;
  delete(key: string, expectedRevision?: number, c?: PortWriteConditions): Promise<Result<KubeObject, PortError>>;
  /** continueToken makes a continue token that resumes a list at `revision` after `afterKey`. */
  continueToken(revision: number, afterKey: string): string;
  /** currentRevision is the store's newest revision (a linearizable read). */
  currentRevision(): Promise<Result<number, PortError>>;
}

/** CacheEvent is one change the watch cache delivers. */
export interface CacheEvent {
  readonly type: Exclude<WatchEventType, 'ERROR'>;
  readonly object: KubeObject;
  readonly revision: number;
}

/** CacheWatchOptions select what a cache watcher sees. */
export interface CacheWatchOptions {
  readonly namespace?: string;
  readonly filter?: (obj: KubeObject) => boolean;
  /** fromRevision: events after this revision (0: from the cache's current state). */
  readonly fromRevision: number;
  /** sendInitialEvents: the current state as ADDED events first. */
  readonly sendInitialEvents?: boolean;
  readonly bookmarks?: boolean;
}

/** WatchCachePort is one resource's watch cache. */
export interface WatchCachePort {
  list(o: { readonly namespace?: string; readonly filter?: (obj: KubeObject) => boolean; readonly minRevision?: number }): Promise<Result<{ readonly items: readonly KubeObject[]; readonly revision: number }, PortError>>;
  watch(o: CacheWatchOptions, sink: { readonly event: (ev: CacheEvent) => void; readonly closed: (err: PortError | null) => void }): Result<Disposable, PortError>;
}

/** StoragePort gives the registry its store and the watch cache of each resource. */
export interface StoragePort {
  readonly store: ObjectStorePort;
  cacheFor(res: ResourceInfo): WatchCachePort;
}
