/**
 * client: the machinery the scheduler, the controllers and the node agents stand on — a typed
 * gRPC client of the apiserver with endpoint failover, informers (list + watch into a read-only
 * indexed cache), a rate-limited work queue, Lease-based leader election, and the Clock they
 * all take their time from.
 */
export type { ApiClientOptions, ClientDeleted, ClientWatchEvent, FenceOption, KubeClient, ObjectKey, PatchBody, ResourceDescriptor, Scale, SubresourceOption, TypedList, WatchHandlers } from './api-client.js';
export { ApiClient, statusToApiError } from './api-client.js';
export type { Clock, TimerHandle } from './clock.js';
export type { FenceSource, WritingClient } from './fenced-client.js';
export { FencedClient, FencedKubeClient } from './fenced-client.js';
export { flushAsync, systemClock, VirtualClock } from './clock.js';
export type { DeleteInfo, IndexFunc, InformerHandlers, InformerOptions, ListWatcher } from './informer.js';
export { enqueueHandlers, Informer, keyOf, NAMESPACE_INDEX, splitKey } from './informer.js';
export type { Fence, LeaderElectorOptions, LeaseClient, LeaseObject, LeaseSpec, LeaseStore } from './leader-election.js';
export { CONTROLLER_MANAGER_LEASE, LEASES, LeaderElector, leaderIdentity, leaseStoreOf, microTime, SCHEDULER_LEASE } from './leader-election.js';
export type { SharedInformersOptions } from './shared-informers.js';
export { SharedInformers } from './shared-informers.js';
export type { QueueKey, RateLimits, Reconciled, RunOptions, WorkQueueOptions } from './work-queue.js';
export { TokenBucket, WorkQueue } from './work-queue.js';
