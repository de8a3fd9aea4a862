/**
 * filters: the node-local filter plugins — NodeUnschedulable, NodeReady, TaintToleration,
 * NodeAffinity (nodeSelector and required node affinity), NodePorts and NodeResourcesFit. Each
 * looks only at the pod and one NodeInfo; the reasons are kube-scheduler's words, since they
 * end up in the pod's PodScheduled condition and in `kubectl describe`.
 */
import type { NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint } from 'kubernetes-types/core/v1.js';
import type { NodeInfo } from './cache.js';
import type { FilterPlugin, FilterVerdict, NodeFilter } from './framework.js';
import type { HostPort, PodInfo } from './types.js';
import { toleratesTaint } from './types.js';

/** REASONS are the node-local filters' reasons, as kube-scheduler words them. */
export const REASONS = {
  unschedulable: 'node(s) were unschedulable',
  notReady: 'node(s) were not ready',
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  ports: "node(s) didn't have free ports for the requested pod ports",
  cpu: 'Insufficient cpu',
  memory: 'Insufficient memory',
  pods: 'Too many pods',
} as const;

/** untoleratedTaint is the reason for a taint the pod does not tolerate. */
export function untoleratedTaint(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
const NOT_READY_TAINT: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

/** nodeUnschedulable rejects cordoned nodes (spec.unschedulable) unless the pod tolerates the unschedulable taint. */
export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  prepare(pod) {
    if (toleratesTaint(pod.tolerations, UNSCHEDULABLE_TAINT)) return null;
    return (node) => (node.unschedulable ? REASONS.unschedulable : null);
  },
};

/**
 * nodeReady rejects nodes whose Ready condition is not True, unless the pod tolerates the
 * not-ready taint (as DaemonSet pods do), which is how Kubernetes lets such pods onto them.
 */
export const nodeReady: FilterPlugin = {
  name: 'NodeReady',
  prepare(pod) {
    if (toleratesTaint(pod.tolerations, NOT_READY_TAINT)) return null;
    return (node) => (node.ready ? null : REASONS.notReady);
  },
};

/** taintToleration rejects nodes with a NoSchedule or NoExecute taint the pod does not tolerate. */
export const taintToleration: FilterPlugin = {
  name: 'TaintToleration',
  prepare(pod) {
    return (node) => {
      for (const t of node.taints) {
        if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
        if (!toleratesTaint(pod.tolerations, t)) return untoleratedTaint(t);
      }
      return null;
    };
  },
};

function parseInt64(s: string): number | undefined {
  return /^-?\d+$/.test(s) ? Number(s) : undefined;
}

/** nodeRequirementMatches evaluates one node selector requirement against a value lookup. */
export function nodeRequirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const have = parseInt64(value);
      const want = parseInt64(values[0] ?? '');
      if (have === undefined || want === undefined) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/**
 * nodeSelectorTermMatches says whether a node matches a term: every matchExpression on its labels
 * and every matchField (only metadata.name exists) on its fields. A term with neither matches nothing.
 */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const e of exprs) if (!nodeRequirementMatches(e, Object.hasOwn(node.labels, e.key) ? node.labels[e.key] : undefined)) return false;
  for (const f of fields) if (!nodeRequirementMatches(f, f.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

/** nodeSelectorMatches says whether a node matches a NodeSelector: any of its terms (terms are ORed). */
export function nodeSelectorMatches(sel: NodeSelector, node: NodeInfo): boolean {
  for (const t of sel.nodeSelectorTerms) if (nodeSelectorTermMatches(t, node)) return true;
  return false;
}

/**
 * nodeAffinityCheck returns the pod's nodeSelector and required node affinity as one check,
 * or null when it has neither (PodTopologySpread uses it too: only such nodes count as domains).
 */
export function nodeAffinityCheck(pod: PodInfo): ((node: NodeInfo) => boolean) | null {
  const selector = Object.entries(pod.pod.spec?.nodeSelector ?? {});
  const required = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (selector.length === 0 && required === undefined) return null;
  return (node) => {
    for (const [k, v] of selector) if (node.labels[k] !== v) return false;
    return required === undefined || nodeSelectorMatches(required, node);
  };
}

/** nodeAffinity rejects nodes that miss the pod's nodeSelector or required node affinity. */
export const nodeAffinity: FilterPlugin = {
  name: 'NodeAffinity',
  prepare(pod) {
    const check = nodeAffinityCheck(pod);
    if (check === null) return null;
    return (node) => (check(node) ? null : REASONS.nodeAffinity);
  },
};

/** portsConflict says whether two host ports collide: same protocol and port, and the same IP or a wildcard. */
export function portsConflict(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === '0.0.0.0' || b.ip === '0.0.0.0');
}

/** nodePorts rejects nodes where a host port the pod asks for is taken. */
export const nodePorts: FilterPlugin = {
  name: 'NodePorts',
  prepare(pod) {
    if (pod.hostPorts.length === 0) return null;
    return (node) => {
      for (const want of pod.hostPorts) for (const used of node.usedPorts) if (portsConflict(want, used)) return REASONS.ports;
      return null;
    };
  },
};

/**
 * fitVerdict checks the pod's requests against the node's allocatable minus what is bound or
 * assumed there: pods always, cpu and memory when the pod requests them. Every shortfall is a reason.
 */
export function fitVerdict(pod: PodInfo, node: NodeInfo): FilterVerdict {
  const a = node.allocatable;
  const u = node.requested;
  const r = pod.requests;
  const tooMany = u.pods + 1 > a.pods;
  const cpu = r.milliCPU > 0 && u.milliCPU + r.milliCPU > a.milliCPU;
  const memory = r.memory > 0 && u.memory + r.memory > a.memory;
  if (!tooMany && !cpu && !memory) return null;
  const out: string[] = [];
  if (tooMany) out.push(REASONS.pods);
  if (cpu) out.push(REASONS.cpu);
  if (memory) out.push(REASONS.memory);
  return out.length === 1 ? out[0]! : out;
}

/** nodeResourcesFit rejects nodes without room for the pod's cpu, memory or one more pod. */
export const nodeResourcesFit: FilterPlugin = {
  name: 'NodeResourcesFit',
  prepare(pod) {
    const f: NodeFilter = (node) => fitVerdict(pod, node);
    return f;
  },
};
