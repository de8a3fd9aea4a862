/**
 * patch-meta: the strategic-merge metadata of the served types — which lists merge by which key,
 * which fields retain keys — as Kubernetes declares it in its Go struct tags
 * (patchStrategy / patchMergeKey) and OpenAPI (x-kubernetes-patch-strategy /
 * x-kubernetes-patch-merge-key). `kubernetes-types` does not carry it, so scripts/gen-schema.ts
 * merges this table into the generated catalogue.
 */
import type { PatchStrategy } from './format.js';

/** PatchMeta is the strategic-merge metadata of one field of one type. */
export interface PatchMeta {
  /** type is the OpenAPI definition name, e.g. 'io.k8s.api.core.v1.PodSpec'. */
  readonly type: string;
  readonly field: string;
  readonly strategy: PatchStrategy;
  /** mergeKey identifies list elements; absent for lists of scalars and retainKeys fields. */
  readonly mergeKey?: string;
}

const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function containerMeta(type: string): PatchMeta[] {
  return [
    { type, field: 'env', strategy: 'merge', mergeKey: 'name' },
    { type, field: 'ports', strategy: 'merge', mergeKey: 'containerPort' },
    { type, field: 'volumeDevices', strategy: 'merge', mergeKey: 'devicePath' },
    { type, field: 'volumeMounts', strategy: 'merge', mergeKey: 'mountPath' },
  ];
}

/** PATCH_META lists every field of the served types with a strategic-merge strategy. */
export const PATCH_META: readonly PatchMeta[] = [
  { type: `${APPS}.DeploymentSpec`, field: 'strategy', strategy: 'retainKeys' },
  { type: `${APPS}.DeploymentStatus`, field: 'conditions', strategy: 'merge', mergeKey: 'type' },
  { type: `${APPS}.ReplicaSetStatus`, field: 'conditions', strategy: 'merge', mergeKey: 'type' },
  ...containerMeta(`${CORE}.Container`),
  ...containerMeta(`${CORE}.EphemeralContainer`),
  { type: `${CORE}.NodeStatus`, field: 'addresses', strategy: 'merge', mergeKey: 'type' },
  { type: `${CORE}.NodeStatus`, field: 'conditions', strategy: 'merge', mergeKey: 'type' },
  { type: `${CORE}.NodeSpec`, field: 'podCIDRs', strategy: 'merge' },
  { type: `${CORE}.PodSpec`, field: 'containers', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'ephemeralContainers', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'hostAliases', strategy: 'merge', mergeKey: 'ip' },
  { type: `${CORE}.PodSpec`, field: 'imagePullSecrets', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'initContainers', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'volumes', strategy: 'merge,retainKeys', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'topologySpreadConstraints', strategy: 'merge', mergeKey: 'topologyKey' },
  { type: `${CORE}.PodSpec`, field: 'resourceClaims', strategy: 'merge,retainKeys', mergeKey: 'name' },
  { type: `${CORE}.PodSpec`, field: 'schedulingGates', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.PodStatus`, field: 'conditions', strategy: 'merge', mergeKey: 'type' },
  { type: `${CORE}.PodStatus`, field: 'podIPs', strategy: 'merge', mergeKey: 'ip' },
  { type: `${CORE}.ServiceAccount`, field: 'secrets', strategy: 'merge', mergeKey: 'name' },
  { type: `${CORE}.ServiceSpec`, field: 'ports', strategy: 'merge', mergeKey: 'port' },
  { type: `${META}.LabelSelectorRequirement`, field: 'key', strategy: 'merge', mergeKey: 'key' },
  { type: `${META}.ObjectMeta`, field: 'finalizers', strategy: 'merge' },
  { type: `${META}.ObjectMeta`, field: 'ownerReferences', strategy: 'merge', mergeKey: 'uid' },
];
