/**
 * scores: the node-local score plugins with kube-scheduler's default weights — LeastAllocated
 * (NodeResourcesFit, 1), BalancedAllocation (1), preferred node affinity (NodeAffinity, 2) and
 * PreferNoSchedule taints (TaintToleration, 3). Resource scores count the pod's non-zero
 * requests so pods that request nothing still spread; every score ends in 0–100.
 */
import type { NodeInfo } from './cache.js';
import { nodeSelectorTermMatches } from './filters.js';
import type { ScorePlugin } from './framework.js';
import { MAX_NODE_SCORE, normalizeToMax } from './framework.js';
import type { PodInfo } from './types.js';
import { toleratesTaint } from './types.js';

function freeShare(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return ((allocatable - requested) * MAX_NODE_SCORE) / allocatable;
}

/** leastAllocatedScore is the mean over cpu and memory of the share left free after placing the pod, 0–100. */
export function leastAllocatedScore(pod: PodInfo, node: NodeInfo): number {
  const cpu = freeShare(node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU, node.allocatable.milliCPU);
  const mem = freeShare(node.nonZeroRequested.memory + pod.nonZero.memory, node.allocatable.memory);
  return Math.floor((cpu + mem) / 2);
}

/** leastAllocated prefers nodes with the most cpu and memory left. */
export const leastAllocated: ScorePlugin = {
  name: 'NodeResourcesFit',
  weight: 1,
  prepare(pod) {
    return { score: (node) => leastAllocatedScore(pod, node) };
  },
};

function fraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

/**
 * balancedAllocationScore is (1 − the standard deviation of the cpu and memory fractions) × 100
 * after placing the pod: nodes whose use stays even across resources score higher.
 */
export function balancedAllocationScore(pod: PodInfo, node: NodeInfo): number {
  const cpu = fraction(node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU, node.allocatable.milliCPU);
  const mem = fraction(node.nonZeroRequested.memory + pod.nonZero.memory, node.allocatable.memory);
  const std = Math.abs(cpu - mem) / 2;
  return Math.floor((1 - std) * MAX_NODE_SCORE);
}

/** balancedAllocation prefers nodes where cpu and memory stay equally used. */
export const balancedAllocation: ScorePlugin = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  prepare(pod) {
    return { score: (node) => balancedAllocationScore(pod, node) };
  },
};

/** preferredNodeAffinity sums the weights of the preferred node affinity terms a node matches, normalized to 0–100. */
export const preferredNodeAffinity: ScorePlugin = {
  name: 'NodeAffinity',
  weight: 2,
  prepare(pod) {
    const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (terms.length === 0) return null;
    return {
      score(node) {
        let s = 0;
        for (const t of terms) if (t.weight !== 0 && nodeSelectorTermMatches(t.preference, node)) s += t.weight;
        return s;
      },
      normalize: (scores) => normalizeToMax(scores, false),
    };
  },
};

/** intolerablePreferNoSchedule counts a node's PreferNoSchedule taints the pod does not tolerate. */
export function intolerablePreferNoSchedule(pod: PodInfo, node: NodeInfo): number {
  let n = 0;
  for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !toleratesTaint(pod.tolerations, t)) n++;
  return n;
}

/** taintTolerationScore prefers nodes with fewer untolerated PreferNoSchedule taints (reverse-normalized). */
export const taintTolerationScore: ScorePlugin = {
  name: 'TaintToleration',
  weight: 3,
  prepare(pod) {
    return { score: (node) => intolerablePreferNoSchedule(pod, node), normalize: (scores) => normalizeToMax(scores, true) };
  },
};
