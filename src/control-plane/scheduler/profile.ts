/**
 * profile: the scheduler's default plugin set — the filters in kube-scheduler's order (cheap,
 * node-local checks first; the cross-node ones, which count pods per domain, last) and the
 * score plugins with kube-scheduler's default weights.
 */
import { nodeAffinity, nodePorts, nodeReady, nodeResourcesFit, nodeUnschedulable, taintToleration } from './filters.js';
import type { Profile } from './framework.js';
import { balancedAllocation, leastAllocated, preferredNodeAffinity, taintTolerationScore } from './scores.js';
import { interPodAffinity, podTopologySpread, podTopologySpreadScore } from './topology.js';

/** DEFAULT_PROFILE is the scheduler's plugin set: filters in kube-scheduler's order, then the scores. */
export const DEFAULT_PROFILE: Profile = {
  filters: [nodeUnschedulable, taintToleration, nodeReady, nodeAffinity, nodePorts, nodeResourcesFit, podTopologySpread, interPodAffinity],
  scores: [taintTolerationScore, preferredNodeAffinity, podTopologySpreadScore, leastAllocated, balancedAllocation],
};
