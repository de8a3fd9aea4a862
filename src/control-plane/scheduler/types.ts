/**
 * types: the scheduler's view of pods and nodes. A pod is digested once, when the informer
 * hands it over, into a PodInfo (its key, requests in plain numbers, host ports, parsed
 * affinity and spread terms), so the per-node filters of a scheduling cycle only compare
 * numbers and strings: no quantity parsing, selector parsing or JSON work in the hot path.
 */
import type { NodeSpec, NodeStatus, PodAffinityTerm, PodSpec, PodStatus, Taint, Toleration, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityToMilli, quantityToValue } from '../api/quantity.js';
import type { Selector } from '../api/selectors/labels.js';
import { matchesLabels, selectorFromLabelSelector } from '../api/selectors/labels.js';
import type { KubeObject } from '../api/types.js';

/** PodObject is a v1 Pod as JSON. */
export interface PodObject extends KubeObject {
  spec?: PodSpec;
  status?: PodStatus;
}

/** NodeObject is a v1 Node as JSON. */
export interface NodeObject extends KubeObject {
  spec?: NodeSpec;
  status?: NodeStatus;
}

/** Resources is an amount of the resources the scheduler counts: millicores, bytes and pods. */
export interface Resources {
  milliCPU: number;
  memory: number;
  pods: number;
}

/** DEFAULT_SCHEDULER is the schedulerName of pods this scheduler takes. */
export const DEFAULT_SCHEDULER = 'default-scheduler';

/**
 * NON_ZERO_CPU and NON_ZERO_MEMORY are what scoring counts for a container that requests
 * nothing (kube-scheduler's defaults: 100m and 200Mi), so best-effort pods still spread.
 */
export const NON_ZERO_CPU = 100;
/** NON_ZERO_MEMORY is the memory scoring counts for a container without a memory request. */
export const NON_ZERO_MEMORY = 200 * 1024 * 1024;

const quantityCache = new Map<string, { milli: number; value: number }>();

/** quantityNumbers parses a quantity once (memoised): millis for cpu, whole units for the rest; 0 when invalid. */
export function quantityNumbers(q: string | number | undefined): { readonly milli: number; readonly value: number } {
  if (q === undefined) return { milli: 0, value: 0 };
  const k = String(q);
  let v = quantityCache.get(k);
  if (v === undefined) {
    const p = parseQuantity(q);
    v = p.ok ? { milli: Number(quantityToMilli(p.value)), value: Number(quantityToValue(p.value)) } : { milli: 0, value: 0 };
    if (quantityCache.size < 10_000) quantityCache.set(k, v);
  }
  return v;
}

/** resourcesOf reads cpu, memory and pods from a ResourceList (allocatable, requests). */
export function resourcesOf(list: Readonly<Record<string, string | number>> | undefined): Resources {
  return { milliCPU: quantityNumbers(list?.['cpu']).milli, memory: quantityNumbers(list?.['memory']).value, pods: quantityNumbers(list?.['pods']).value };
}

/** HostPort is one host port a pod claims: protocol, host IP ('0.0.0.0' for any) and port. */
export interface HostPort {
  readonly protocol: string;
  readonly ip: string;
  readonly port: number;
}

/** AntiAffinityTerm is a required pod affinity or anti-affinity term with its selector parsed and namespaces resolved. */
export interface AntiAffinityTerm {
  readonly topologyKey: string;
  readonly selector: Selector;
  /** namespaces the term looks at; null means every namespace (an empty namespaceSelector). */
  readonly namespaces: ReadonlySet<string> | null;
}

/** SpreadConstraint is a topology spread constraint with its selector parsed. */
export interface SpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  readonly selector: Selector;
  readonly minDomains: number;
}

/** PodInfo is a pod digested for scheduling. */
export interface PodInfo {
  readonly pod: PodObject;
  /** key is 'namespace/name'. */
  readonly key: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** requests count against allocatable in NodeResourcesFit. */
  readonly requests: Resources;
  /** nonZero is what the scoring plugins count (NON_ZERO_* for containers that request nothing). */
  readonly nonZero: Resources;
  readonly hostPorts: readonly HostPort[];
  readonly tolerations: readonly Toleration[];
  /** affinity are the required pod affinity terms: each must find a matching pod in the node's domain. */
  readonly affinity: readonly AntiAffinityTerm[];
  readonly antiAffinity: readonly AntiAffinityTerm[];
  readonly spread: readonly SpreadConstraint[];
  readonly priority: number;
}

function containerRequests(c: { resources?: { requests?: Record<string, string | number> } }): Resources {
  return resourcesOf(c.resources?.requests);
}

function termOf(t: PodAffinityTerm, podNamespace: string): AntiAffinityTerm | null {
  const sel = selectorFromLabelSelector(t.labelSelector);
  if (!sel.ok) return null;
  let namespaces: ReadonlySet<string> | null;
  if (t.namespaceSelector !== undefined && Object.keys(t.namespaceSelector).length === 0) namespaces = null;
  else if (t.namespaces !== undefined && t.namespaces.length > 0) namespaces = new Set(t.namespaces);
  else namespaces = new Set([podNamespace]);
  return { topologyKey: t.topologyKey, selector: sel.value, namespaces };
}

function spreadOf(c: TopologySpreadConstraint, labels: Readonly<Record<string, string>>): SpreadConstraint | null {
  const sel = selectorFromLabelSelector(c.labelSelector);
  if (!sel.ok) return null;
  let selector = sel.value;
  // matchLabelKeys add 'key in (the pod's value)' requirements, as in Kubernetes 1.27+.
  for (const k of c.matchLabelKeys ?? []) {
    const v = labels[k];
    if (v !== undefined) selector = { requirements: [...selector.requirements, { key: k, operator: 'in', values: [v] }] };
  }
  const when = c.whenUnsatisfiable === 'ScheduleAnyway' ? 'ScheduleAnyway' : 'DoNotSchedule';
  return { maxSkew: Math.max(1, c.maxSkew), topologyKey: c.topologyKey, whenUnsatisfiable: when, selector, minDomains: c.minDomains ?? 1 };
}

/**
 * podInfoOf digests a pod. Requests are Kubernetes' effective requests: the larger of the sum
 * over containers and the largest init container, plus the pod overhead.
 */
export function podInfoOf(pod: PodObject): PodInfo {
  const spec = pod.spec;
  const namespace = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels ?? {};
  const requests: Resources = { milliCPU: 0, memory: 0, pods: 1 };
  const nonZero: Resources = { milliCPU: 0, memory: 0, pods: 1 };
  const hostPorts: HostPort[] = [];
  for (const c of spec?.containers ?? []) {
    const r = containerRequests(c);
    requests.milliCPU += r.milliCPU;
    requests.memory += r.memory;
    const req = c.resources?.requests;
    nonZero.milliCPU += req?.['cpu'] === undefined ? NON_ZERO_CPU : r.milliCPU;
    nonZero.memory += req?.['memory'] === undefined ? NON_ZERO_MEMORY : r.memory;
    for (const p of c.ports ?? []) {
      if (p.hostPort !== undefined && p.hostPort > 0) hostPorts.push({ protocol: p.protocol ?? 'TCP', ip: p.hostIP === undefined || p.hostIP === '' ? '0.0.0.0' : p.hostIP, port: p.hostPort });
    }
  }
  for (const c of spec?.initContainers ?? []) {
    const r = containerRequests(c);
    requests.milliCPU = Math.max(requests.milliCPU, r.milliCPU);
    requests.memory = Math.max(requests.memory, r.memory);
    nonZero.milliCPU = Math.max(nonZero.milliCPU, r.milliCPU);
    nonZero.memory = Math.max(nonZero.memory, r.memory);
  }
  const overhead = resourcesOf(spec?.overhead);
  requests.milliCPU += overhead.milliCPU;
  requests.memory += overhead.memory;
  nonZero.milliCPU += overhead.milliCPU;
  nonZero.memory += overhead.memory;
  const affinity: AntiAffinityTerm[] = [];
  for (const t of spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    const term = termOf(t, namespace);
    if (term !== null) affinity.push(term);
  }
  const antiAffinity: AntiAffinityTerm[] = [];
  for (const t of spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    const term = termOf(t, namespace);
    if (term !== null) antiAffinity.push(term);
  }
  const spread: SpreadConstraint[] = [];
  for (const c of spec?.topologySpreadConstraints ?? []) {
    const s = spreadOf(c, labels);
    if (s !== null) spread.push(s);
  }
  return {
    pod,
    key: `${namespace}/${pod.metadata.name ?? ''}`,
    namespace,
    labels,
    requests,
    nonZero,
    hostPorts,
    tolerations: spec?.tolerations ?? [],
    affinity,
    antiAffinity,
    spread,
    priority: spec?.priority ?? 0,
  };
}

/** termMatches says whether an (anti-)affinity term selects a pod. */
export function termMatches(term: AntiAffinityTerm, pod: PodInfo): boolean {
  if (term.namespaces !== null && !term.namespaces.has(pod.namespace)) return false;
  return matchesLabels(term.selector, pod.labels);
}

/** tolerates says whether a toleration tolerates a taint (Kubernetes' ToleratesTaint). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  // An empty key with operator Exists matches every taint.
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** toleratesTaint says whether some toleration of the list tolerates the taint. */
export function toleratesTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

/** needsScheduling says whether a pod waits for this scheduler: no node, our schedulerName, not terminating or finished. */
export function needsScheduling(pod: PodObject, schedulerName: string): boolean {
  if (pod.spec?.nodeName !== undefined && pod.spec.nodeName !== '') return false;
  if ((pod.spec?.schedulerName ?? DEFAULT_SCHEDULER) !== schedulerName) return false;
  if (pod.metadata.deletionTimestamp !== undefined) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** isTerminal says whether a pod finished (its requests no longer count on its node). */
export function isTerminal(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}
