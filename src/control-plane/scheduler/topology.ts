/**
 * topology: the plugins that look across nodes — PodTopologySpread (maxSkew per topology
 * domain: a filter for DoNotSchedule constraints, a score for ScheduleAnyway ones) and
 * InterPodAffinity's required terms (affinity; anti-affinity from the pod's own terms and
 * from existing pods' terms against the pod). Their `prepare` counts matching pods per domain once per cycle, so the
 * per-node check is a map lookup; pods without such terms skip them entirely.
 */
import { matchesLabels } from '../api/selectors/labels.js';
import type { NodeInfo, SchedulerCache } from './cache.js';
import { nodeAffinityCheck } from './filters.js';
import type { FilterPlugin, ScorePlugin } from './framework.js';
import { MAX_NODE_SCORE } from './framework.js';
import type { PodInfo, SpreadConstraint } from './types.js';
import { termMatches } from './types.js';

/** SPREAD_REASONS are PodTopologySpread's reasons, as kube-scheduler words them. */
export const SPREAD_REASONS = {
  skew: "node(s) didn't match pod topology spread constraints",
  missingLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
} as const;

/** ANTI_AFFINITY_REASONS are InterPodAffinity's reasons, as kube-scheduler words them. */
export const ANTI_AFFINITY_REASONS = {
  own: "node(s) didn't match pod anti-affinity rules",
  existing: "node(s) didn't satisfy existing pods anti-affinity rules",
  affinity: "node(s) didn't match pod affinity rules",
} as const;

function countMatching(node: NodeInfo, pod: PodInfo, c: SpreadConstraint): number {
  let n = 0;
  for (const p of node.pods.values()) {
    if (p.namespace === pod.namespace && p.pod.metadata.deletionTimestamp === undefined && matchesLabels(c.selector, p.labels)) n++;
  }
  return n;
}

/**
 * domainCounts counts, per constraint, the pods its selector matches in each topology domain,
 * over the nodes that carry every constraint's key and pass the pod's node affinity.
 */
export function domainCounts(pod: PodInfo, constraints: readonly SpreadConstraint[], cache: SchedulerCache): Map<string, number>[] {
  const eligible = nodeAffinityCheck(pod);
  const counts = constraints.map(() => new Map<string, number>());
  for (const node of cache.nodeList()) {
    if (!constraints.every((c) => Object.hasOwn(node.labels, c.topologyKey))) continue;
    if (eligible !== null && !eligible(node)) continue;
    constraints.forEach((c, i) => {
      const v = node.labels[c.topologyKey]!;
      const m = counts[i]!;
      m.set(v, (m.get(v) ?? 0) + countMatching(node, pod, c));
    });
  }
  return counts;
}

/** podTopologySpread rejects nodes where placing the pod would exceed a DoNotSchedule constraint's maxSkew. */
export const podTopologySpread: FilterPlugin = {
  name: 'PodTopologySpread',
  prepare(pod, cache) {
    const hard = pod.spread.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
    if (hard.length === 0) return null;
    const counts = domainCounts(pod, hard, cache);
    const mins = hard.map((c, i) => {
      const m = counts[i]!;
      // Fewer domains than minDomains: the global minimum is taken as 0.
      if (m.size < c.minDomains) return 0;
      let min = Infinity;
      for (const v of m.values()) if (v < min) min = v;
      return min === Infinity ? 0 : min;
    });
    const self = hard.map((c) => (matchesLabels(c.selector, pod.labels) ? 1 : 0));
    return (node) => {
      for (let i = 0; i < hard.length; i++) {
        const c = hard[i]!;
        const v = Object.hasOwn(node.labels, c.topologyKey) ? node.labels[c.topologyKey] : undefined;
        if (v === undefined) return SPREAD_REASONS.missingLabel;
        if ((counts[i]!.get(v) ?? 0) + self[i]! - mins[i]! > c.maxSkew) return SPREAD_REASONS.skew;
      }
      return null;
    };
  },
};

/**
 * podTopologySpreadScore prefers nodes in domains with fewer matching pods for ScheduleAnyway
 * constraints (each weighted by the log of its domain count, as kube-scheduler does); nodes
 * missing a constraint's key score 0.
 */
export const podTopologySpreadScore: ScorePlugin = {
  name: 'PodTopologySpread',
  weight: 2,
  prepare(pod, cache) {
    const soft = pod.spread.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (soft.length === 0) return null;
    const counts = domainCounts(pod, soft, cache);
    const weights = counts.map((m) => Math.log(m.size + 2));
    return {
      score(node) {
        let s = 0;
        for (let i = 0; i < soft.length; i++) {
          const c = soft[i]!;
          const v = Object.hasOwn(node.labels, c.topologyKey) ? node.labels[c.topologyKey] : undefined;
          if (v === undefined) return -1;
          s += ((counts[i]!.get(v) ?? 0) + c.maxSkew - 1) * weights[i]!;
        }
        return s;
      },
      normalize(scores) {
        let min = Infinity;
        let max = -Infinity;
        for (const s of scores) {
          if (s < 0) continue;
          if (s < min) min = s;
          if (s > max) max = s;
        }
        for (let i = 0; i < scores.length; i++) {
          const s = scores[i]!;
          if (s < 0) scores[i] = 0;
          else if (max <= 0) scores[i] = MAX_NODE_SCORE;
          else scores[i] = Math.floor((MAX_NODE_SCORE * (max + min - s)) / max);
        }
      },
    };
  },
};

/**
 * affinityDomains finds, for each required pod affinity term, the domains (values of its key)
 * holding a pod it selects; null for a term that selects no pod anywhere while the pod matches
 * it itself — the first pod of a group, which Kubernetes lets go anywhere.
 */
function affinityDomains(pod: PodInfo, cache: SchedulerCache): (Set<string> | null)[] {
  const domains = pod.affinity.map(() => new Set<string>());
  const anyMatch = pod.affinity.map(() => false);
  for (const node of cache.nodeList()) {
    for (let i = 0; i < pod.affinity.length; i++) {
      const term = pod.affinity[i]!;
      const v = Object.hasOwn(node.labels, term.topologyKey) ? node.labels[term.topologyKey] : undefined;
      if (v !== undefined && domains[i]!.has(v)) continue;
      for (const p of node.pods.values()) {
        if (p.key === pod.key || !termMatches(term, p)) continue;
        anyMatch[i] = true;
        if (v !== undefined) domains[i]!.add(v);
        break;
      }
    }
  }
  return domains.map((d, i) => (!anyMatch[i] && termMatches(pod.affinity[i]!, pod) ? null : d));
}

/**
 * interPodAffinity enforces required pod affinity (the node's domain must hold a pod each term
 * selects) and required pod anti-affinity both ways: the pod may not join a topology domain
 * holding a pod its terms select, nor a domain where an existing pod's terms select it.
 */
export const interPodAffinity: FilterPlugin = {
  name: 'InterPodAffinity',
  prepare(pod, cache) {
    const affinity = pod.affinity.length === 0 ? [] : affinityDomains(pod, cache);
    // The pod's own terms: which domains (values of each term's key) already hold a matching pod.
    const own = pod.antiAffinity.map(() => new Set<string>());
    if (pod.antiAffinity.length > 0) {
      for (const node of cache.nodeList()) {
        for (let i = 0; i < pod.antiAffinity.length; i++) {
          const term = pod.antiAffinity[i]!;
          const v = Object.hasOwn(node.labels, term.topologyKey) ? node.labels[term.topologyKey] : undefined;
          if (v === undefined || own[i]!.has(v)) continue;
          for (const p of node.pods.values()) {
            if (p.key !== pod.key && termMatches(term, p)) {
              own[i]!.add(v);
              break;
            }
          }
        }
      }
    }
    // Existing pods' terms that select this pod: topology key → forbidden values.
    const existing = new Map<string, Set<string>>();
    for (const p of cache.antiAffinityPods()) {
      if (p.key === pod.key) continue;
      const nodeName = cache.nodeOfPod(p.key);
      const node = nodeName === undefined ? undefined : cache.node(nodeName);
      if (node === undefined) continue;
      for (const term of p.antiAffinity) {
        const v = Object.hasOwn(node.labels, term.topologyKey) ? node.labels[term.topologyKey] : undefined;
        if (v === undefined || !termMatches(term, pod)) continue;
        let set = existing.get(term.topologyKey);
        if (set === undefined) existing.set(term.topologyKey, (set = new Set()));
        set.add(v);
      }
    }
    if (existing.size === 0 && own.every((s) => s.size === 0) && affinity.every((d) => d === null)) return null;
    return (node) => {
      for (let i = 0; i < affinity.length; i++) {
        const d = affinity[i]!;
        if (d === null) continue;
        const key = pod.affinity[i]!.topologyKey;
        const v = Object.hasOwn(node.labels, key) ? node.labels[key] : undefined;
        if (v === undefined || !d.has(v)) return ANTI_AFFINITY_REASONS.affinity;
      }
      for (let i = 0; i < pod.antiAffinity.length; i++) {
        const term = pod.antiAffinity[i]!;
        const v = Object.hasOwn(node.labels, term.topologyKey) ? node.labels[term.topologyKey] : undefined;
        if (v !== undefined && own[i]!.has(v)) return ANTI_AFFINITY_REASONS.own;
      }
      for (const [k, vals] of existing) {
        const v = Object.hasOwn(node.labels, k) ? node.labels[k] : undefined;
        if (v !== undefined && vals.has(v)) return ANTI_AFFINITY_REASONS.existing;
      }
      return null;
    };
  },
};
