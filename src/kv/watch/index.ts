/**
 * watch: the watch hub (etcd's watchable store) — watchers over key ranges fed by the MVCC
 * store's applied changes, replaying history when they start in the past. The gRPC Watch service
 * adapts a Watcher (poll / next / for-await / onReadable) to a stream and does the fragmenting.
 */

export { Batch } from './batch.js';
export { eventBytes, eventsBytes, WatchHub } from './hub.js';
export type { WatchHubOptions } from './hub.js';
export { Watcher } from './watcher.js';
export type { FilterType, WatchEvent, WatchRequest, WatchResponse } from './watcher.js';
