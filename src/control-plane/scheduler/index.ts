/**
 * scheduler: raftkube's kube-scheduler — a queue of pending pods, filter and score plugins
 * over an incrementally kept cache of nodes, an assume-then-bind binder, FailedScheduling and
 * Scheduled Events, and Lease-based leader election so one scheduler acts per cluster.
 * `runScheduler` is the entry point; the plugins are exported for tests and other profiles.
 */
export type { CacheStats } from './cache.js';
export { NodeInfo, SchedulerCache } from './cache.js';
export type { EventClient, EventRecorderOptions } from './events.js';
export { EventRecorder, EVENTS } from './events.js';
export type { FilterPlugin, FilterVerdict, NodeFilter, NodeScorer, Profile, ScheduleOutcome, ScorePlugin } from './framework.js';
export { Algorithm, MAX_NODE_SCORE, normalizeToMax, numFeasibleNodesToFind, unschedulableMessage } from './framework.js';
export { fitVerdict, nodeAffinity, nodeAffinityCheck, nodePorts, nodeReady, nodeRequirementMatches, nodeResourcesFit, nodeSelectorMatches, nodeSelectorTermMatches, nodeUnschedulable, portsConflict, REASONS, taintToleration, untoleratedTaint } from './filters.js';
export type { QueuedPod, QueueLengths, QueueOptions } from './queue.js';
export { SchedulingQueue, schedulingInputsChanged } from './queue.js';
export type { LeaderElectionTimings, RunSchedulerOptions, SchedulerHandle } from './run.js';
export { runScheduler } from './run.js';
export type { SchedulerClient, SchedulerLog, SchedulerOptions, SchedulerStats } from './scheduler.js';
export { NODES, PODS, Scheduler } from './scheduler.js';
export { DEFAULT_PROFILE } from './profile.js';
export { balancedAllocation, balancedAllocationScore, intolerablePreferNoSchedule, leastAllocated, leastAllocatedScore, preferredNodeAffinity, taintTolerationScore } from './scores.js';
export { ANTI_AFFINITY_REASONS, domainCounts, interPodAffinity, podTopologySpread, podTopologySpreadScore, SPREAD_REASONS } from './topology.js';
export type { AntiAffinityTerm, HostPort, NodeObject, PodInfo, PodObject, Resources, SpreadConstraint } from './types.js';
export { DEFAULT_SCHEDULER, isTerminal, needsScheduling, podInfoOf, quantityNumbers, resourcesOf, termMatches, tolerates, toleratesTaint } from './types.js';
