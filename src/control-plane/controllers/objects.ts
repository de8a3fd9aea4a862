/**
 * objects: what the controllers share about the objects they read — resource descriptors, typed
 * views of pods, ReplicaSets and Deployments, owner references, selectors, pod readiness and
 * availability, and a few pure helpers. Nothing here does I/O.
 */
import type { Deployment as K8sDeployment, ReplicaSet as K8sReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Namespace as K8sNamespace, Pod as K8sPod } from 'kubernetes-types/core/v1.js';
import type { LabelSelector, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { findResource } from '../api/resources.js';
import type { Selector } from '../api/selectors/labels.js';
import { matchesLabels, selectorFromLabelSelector } from '../api/selectors/labels.js';
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { apiVersionOf, err } from '../api/types.js';

function served(group: string, plural: string): ResourceInfo {
  const r = findResource(group, 'v1', plural);
  if (r === undefined) throw new Error(`The resource table lacks ${plural}; the controllers need it`);
  return r;
}

/** PODS is core/v1 pods. */
export const PODS = served('', 'pods');
/** REPLICASETS is apps/v1 replicasets. */
export const REPLICASETS = served('apps', 'replicasets');
/** DEPLOYMENTS is apps/v1 deployments. */
export const DEPLOYMENTS = served('apps', 'deployments');
/** NAMESPACES is core/v1 namespaces. */
export const NAMESPACES = served('', 'namespaces');
/** NODES is core/v1 nodes. */
export const NODES = served('', 'nodes');
/** EVENTS is core/v1 events. */
export const EVENTS = served('', 'events');

type Typed<T extends { spec?: unknown; status?: unknown }> = KubeObject & { spec?: T['spec']; status?: T['status'] };

/** Pod is a core/v1 Pod as the controllers read it. */
export type Pod = Typed<K8sPod>;
/** ReplicaSet is an apps/v1 ReplicaSet as the controllers read it. */
export type ReplicaSet = Typed<K8sReplicaSet>;
/** Deployment is an apps/v1 Deployment as the controllers read it. */
export type Deployment = Typed<K8sDeployment>;
/** Namespace is a core/v1 Namespace as the controllers read it. */
export type Namespace = Typed<K8sNamespace>;

/** OWNER_UID_INDEX indexes objects by the uids of their owners. */
export const OWNER_UID_INDEX = 'owner-uid';

/** ownerUids is the index function of OWNER_UID_INDEX. */
export function ownerUids(obj: KubeObject): readonly string[] {
  return (obj.metadata.ownerReferences ?? []).map((r) => r.uid);
}

/** controllerRef is the owner reference with controller: true, if any. */
export function controllerRef(obj: KubeObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

/** ownerReferenceTo makes a controlling, deletion-blocking owner reference to `owner`, a `res`. */
export function ownerReferenceTo(res: ResourceInfo, owner: KubeObject): OwnerReference {
  return { apiVersion: apiVersionOf(res), kind: res.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/**
 * selectorOf parses a workload's label selector; an empty or missing selector is an error (a
 * controller must never select every pod in a namespace).
 */
export function selectorOf(ls: LabelSelector | undefined): Result<Selector, string> {
  if (ls === undefined || ((ls.matchLabels === undefined || Object.keys(ls.matchLabels).length === 0) && (ls.matchExpressions ?? []).length === 0)) {
    return err('The selector is empty; set spec.selector.matchLabels to the labels of the pod template');
  }
  return selectorFromLabelSelector(ls);
}

/** matches says whether an object's labels satisfy a selector. */
export function matches(sel: Selector, obj: KubeObject): boolean {
  return matchesLabels(sel, obj.metadata.labels ?? {});
}

/** isTerminal says whether a pod finished (Succeeded or Failed). */
export function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** isActivePod says whether a pod counts toward a ReplicaSet: not finished and not being deleted. */
export function isActivePod(pod: Pod): boolean {
  return !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined;
}

/** readySince is when the pod became Ready (ms since the epoch), or null when it is not Ready. */
export function readySince(pod: Pod): number | null {
  const c = (pod.status?.conditions ?? []).find((x) => x.type === 'Ready');
  if (c?.status !== 'True') return null;
  const t = c.lastTransitionTime === undefined ? NaN : Date.parse(c.lastTransitionTime);
  return Number.isNaN(t) ? 0 : t;
}

/** isPodReady says whether the pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return readySince(pod) !== null;
}

/** isPodAvailable says whether the pod has been Ready for at least minReadySeconds at `nowMs`. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const since = readySince(pod);
  if (since === null) return false;
  return minReadySeconds <= 0 || since + minReadySeconds * 1000 <= nowMs;
}

/** canonicalJson renders a value as JSON with object keys sorted, so equal values print equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** rfc3339 renders a time as Kubernetes does (seconds precision, UTC). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** creationMs is an object's creationTimestamp in ms (0 when unknown). */
export function creationMs(obj: KubeObject): number {
  const t = obj.metadata.creationTimestamp === undefined ? NaN : Date.parse(obj.metadata.creationTimestamp);
  return Number.isNaN(t) ? 0 : t;
}

/** byCreation orders objects oldest first, ties by name. */
export function byCreation(a: KubeObject, b: KubeObject): number {
  return creationMs(a) - creationMs(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

/** isUncertain says whether a failed write may nevertheless have happened (cut off mid-call). */
export function isUncertain(e: { readonly code: number; readonly message: string }): boolean {
  return e.code === 504 || (e.code === 503 && e.message.includes('did not finish'));
}

/** objectKey is the ObjectKey of an object. */
export function objectKey(obj: KubeObject): { readonly namespace?: string; readonly name: string } {
  const ns = obj.metadata.namespace;
  return { ...(ns === undefined ? {} : { namespace: ns }), name: obj.metadata.name ?? '' };
}
