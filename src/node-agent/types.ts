/**
 * types: the objects the node agent reads and writes, typed after `kubernetes-types`, and the
 * resources it addresses; plus the small helpers every part of the agent shares (timestamps,
 * the pod's key).
 */
import type { Node, NodeStatus, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../control-plane/api/types.js';
import type { ResourceDescriptor } from '../control-plane/client/index.js';

/** PodObject is a Pod as the apiserver serves it. */
export type PodObject = KubeObject & Omit<Pod, 'apiVersion' | 'kind' | 'metadata'>;

/** NodeObject is a Node as the apiserver serves it. */
export type NodeObject = KubeObject & Omit<Node, 'apiVersion' | 'kind' | 'metadata'>;

/** Mutable strips readonly from an object type's top-level fields (for building statuses). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** PodStatusBody is a pod status as the agent builds it. */
export type PodStatusBody = Mutable<PodStatus>;

/** NodeStatusBody is a node status as the agent builds it. */
export type NodeStatusBody = Mutable<NodeStatus>;

/** PODS addresses core/v1 pods. */
export const PODS: ResourceDescriptor = { group: '', version: 'v1', plural: 'pods', namespaced: true };
/** NODES addresses core/v1 nodes. */
export const NODES: ResourceDescriptor = { group: '', version: 'v1', plural: 'nodes', namespaced: false };
/** CONFIG_MAPS addresses core/v1 configmaps. */
export const CONFIG_MAPS: ResourceDescriptor = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };
/** SECRETS addresses core/v1 secrets. */
export const SECRETS: ResourceDescriptor = { group: '', version: 'v1', plural: 'secrets', namespaced: true };

/** KUBELET_VERSION is what the agent reports as nodeInfo.kubeletVersion. */
export const KUBELET_VERSION = 'v1.32.0-raftkube';

/** rfc3339 renders a time as Kubernetes' metav1.Time: seconds precision, UTC. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** nodeOf is the node a pod is bound to ('' when unscheduled). */
export function nodeOf(pod: PodObject): string {
  return pod.spec?.nodeName ?? '';
}
