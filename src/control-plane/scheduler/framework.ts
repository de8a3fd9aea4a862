/**
 * framework: the shape of a scheduling cycle. A filter plugin looks at the pod once
 * (`prepare`, kube-scheduler's PreFilter) and hands back a per-node check that closes over
 * what it computed — that closure is the cycle's state; a score plugin does the same and may
 * normalize its scores to 0–100 over the feasible nodes. `scheduleOne` walks the nodes
 * round-robin from where the last cycle stopped, keeps the first failing reason per node, stops
 * once it has found enough feasible nodes (kube-scheduler's percentageOfNodesToScore), scores
 * them, and returns the best node or why there was none.
 */
import type { NodeInfo, SchedulerCache } from './cache.js';
import type { PodInfo } from './types.js';

/** MAX_NODE_SCORE is the top of the normalized score range. */
export const MAX_NODE_SCORE = 100;

/** FilterVerdict is a node check's answer: null passes; a reason (or several) rejects the node. */
export type FilterVerdict = null | string | readonly string[];

/** NodeFilter is a filter plugin's check of one node for the pod of the cycle. */
export type NodeFilter = (node: NodeInfo) => FilterVerdict;

/** FilterPlugin prepares a NodeFilter for a pod; null when the pod asks nothing of this plugin. */
export interface FilterPlugin {
  readonly name: string;
  prepare(pod: PodInfo, cache: SchedulerCache): NodeFilter | null;
}

/** NodeScorer scores nodes for the pod of the cycle, optionally normalizing them in place to 0–100. */
export interface NodeScorer {
  score(node: NodeInfo): number;
  normalize?(scores: Float64Array, nodes: readonly NodeInfo[]): void;
}

/** ScorePlugin prepares a NodeScorer for a pod; null when it would score every node alike. */
export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  prepare(pod: PodInfo, cache: SchedulerCache): NodeScorer | null;
}

/** Profile is the plugin set a scheduler runs, filters in order. */
export interface Profile {
  readonly filters: readonly FilterPlugin[];
  readonly scores: readonly ScorePlugin[];
}

/** ScheduleOutcome is a cycle's result: the chosen node, or every node's reason for refusing. */
export type ScheduleOutcome =
  | { readonly ok: true; readonly node: string; readonly evaluated: number; readonly feasible: number }
  | { readonly ok: false; readonly nodes: number; readonly reasons: ReadonlyMap<string, number>; readonly message: string };

/**
 * unschedulableMessage writes kube-scheduler's FitError text: '0/5 nodes are available: 2
 * Insufficient cpu, 3 node(s) had untolerated taint {k: v}.' — each reason with the number of
 * nodes that gave it, the entries sorted as strings as Kubernetes sorts them.
 */
export function unschedulableMessage(nodes: number, reasons: ReadonlyMap<string, number>): string {
  if (nodes === 0) return '0/0 nodes are available: no nodes available to schedule pods.';
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${nodes} nodes are available: ${parts.join(', ')}.`;
}

/**
 * numFeasibleNodesToFind is how many feasible nodes a cycle looks for before it stops
 * filtering: every node below 100; otherwise `percentage` of them (0: kube-scheduler's
 * adaptive 50% − nodes/125, at least 5%), but never fewer than 100.
 */
export function numFeasibleNodesToFind(nodes: number, percentage: number): number {
  if (nodes < 100 || percentage >= 100) return nodes;
  let p = percentage;
  if (p <= 0) p = Math.max(5, 50 - Math.floor(nodes / 125));
  return Math.max(100, Math.floor((nodes * p) / 100));
}

function addReasons(reasons: Map<string, number>, v: string | readonly string[]): void {
  if (typeof v === 'string') reasons.set(v, (reasons.get(v) ?? 0) + 1);
  else for (const r of v) reasons.set(r, (reasons.get(r) ?? 0) + 1);
}

/** Algorithm runs scheduling cycles over a cache with a profile; it remembers where to start next. */
export class Algorithm {
  readonly #profile: Profile;
  readonly #cache: SchedulerCache;
  readonly #percentage: number;
  #nextStart = 0;

  constructor(profile: Profile, cache: SchedulerCache, o: { readonly percentageOfNodesToScore?: number } = {}) {
    this.#profile = profile;
    this.#cache = cache;
    this.#percentage = o.percentageOfNodesToScore ?? 0;
  }

  /** schedule picks a node for the pod (it does not assume or bind). */
  schedule(pod: PodInfo): ScheduleOutcome {
    const nodes = this.#cache.nodeList();
    const n = nodes.length;
    const reasons = new Map<string, number>();
    if (n === 0) return { ok: false, nodes: 0, reasons, message: unschedulableMessage(0, reasons) };
    const filters: NodeFilter[] = [];
    for (const p of this.#profile.filters) {
      const f = p.prepare(pod, this.#cache);
      if (f !== null) filters.push(f);
    }
    const want = numFeasibleNodesToFind(n, this.#percentage);
    const feasible: NodeInfo[] = [];
    const start = this.#nextStart % n;
    let evaluated = 0;
    for (; evaluated < n && feasible.length < want; evaluated++) {
      const node = nodes[(start + evaluated) % n]!;
      let verdict: FilterVerdict = null;
      for (const f of filters) {
        verdict = f(node);
        if (verdict !== null) break;
      }
      if (verdict === null) feasible.push(node);
      else addReasons(reasons, verdict);
    }
    this.#nextStart = (start + evaluated) % n;
    if (feasible.length === 0) return { ok: false, nodes: n, reasons, message: unschedulableMessage(n, reasons) };
    if (feasible.length === 1) return { ok: true, node: feasible[0]!.name, evaluated, feasible: 1 };
    const total = new Float64Array(feasible.length);
    const scores = new Float64Array(feasible.length);
    for (const p of this.#profile.scores) {
      const s = p.prepare(pod, this.#cache);
      if (s === null) continue;
      for (let i = 0; i < feasible.length; i++) scores[i] = s.score(feasible[i]!);
      s.normalize?.(scores, feasible);
      for (let i = 0; i < feasible.length; i++) total[i]! += p.weight * scores[i]!;
    }
    let best = 0;
    for (let i = 1; i < feasible.length; i++) {
      const d = total[i]! - total[best]!;
      // Ties go to the lower node name, so a cycle's choice does not depend on the walk's start.
      if (d > 0 || (d === 0 && feasible[i]!.name < feasible[best]!.name)) best = i;
    }
    return { ok: true, node: feasible[best]!.name, evaluated, feasible: feasible.length };
  }
}

/** normalizeToMax scales scores so the largest becomes 100 (reverse: the largest becomes 0). */
export function normalizeToMax(scores: Float64Array, reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? MAX_NODE_SCORE : 0;
    else {
      const v = Math.floor((MAX_NODE_SCORE * scores[i]!) / max);
      scores[i] = reverse ? MAX_NODE_SCORE - v : v;
    }
  }
}
