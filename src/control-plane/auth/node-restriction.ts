/**
 * node-restriction: what a node agent may write beyond what RBAC's system:node role grants every
 * node — the part of Kubernetes' Node authorizer and NodeRestriction admission plugin that keeps
 * one node (a compromised one, say) from touching another's objects:
 *
 * - its own Node object only (and its status), without changing its taints or setting labels
 *   reserved for the control plane;
 * - its own Lease only, in kube-node-lease;
 * - the status (and eviction) of pods bound to it, never a pod's spec; deleting only pods bound
 *   to it; creating only mirror pods bound to it.
 *
 * Writes of other resources (events, say) are left to RBAC. The apiserver calls nodeRestriction
 * after RBAC allowed a write, with the stored object (`existing`) and the object as it would be
 * stored (`incoming`, after any patch); it is a pure function of those. For reads,
 * nodeReadRestriction limits secrets, config maps and claims to those its pods use.
 */
import type { KubeObject } from '../api/types.js';
import type { ApiError, UserInfo } from '../apiserver/registry-api.js';
import type { Decision, RequestAttributes, ResourceAttributes } from './rbac.js';
import { NODES_GROUP } from './tokens.js';

/** NODE_LEASE_NAMESPACE holds each node's heartbeat Lease, named after the node. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** MIRROR_POD_ANNOTATION marks a pod a node created for a static pod of its own. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

const NODE_USER_PREFIX = 'system:node:';

/** RestrictionTarget is the object a write is about: as stored, and as it would be stored. */
export interface RestrictionTarget {
  readonly existing?: KubeObject;
  readonly incoming?: KubeObject;
}

/**
 * nodeName is the node a user acts for: the `<name>` of system:node:<name> when the user is also
 * in group system:nodes; undefined for every other user ('' for a node user without a name).
 */
export function nodeName(user: UserInfo): string | undefined {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  return user.username.slice(NODE_USER_PREFIX.length);
}

const ALLOWED: Decision = { allowed: true, reason: '' };

function deny(reason: string): Decision {
  return { allowed: false, reason };
}

/**
 * nodeRestriction decides whether a node may make a write RBAC already allowed; any other user,
 * and any read, is allowed. Writes to a pod (other than create) need `target.existing`: without
 * it the request is refused, so look the object up first (and answer 404 when it is gone).
 */
export function nodeRestriction(user: UserInfo, attrs: RequestAttributes, target: RestrictionTarget): Decision {
  const node = nodeName(user);
  if (node === undefined || attrs.kind === 'nonResource') return ALLOWED;
  const op = operationOf(attrs.verb);
  if (op === undefined) return ALLOWED;
  if (node === '') return deny(`Could not determine the node from user "${user.username}"; name node users system:node:<node-name>`);
  const sub = attrs.subresource ?? '';
  if (attrs.apiGroup === '' && attrs.resource === 'pods') {
    switch (sub) {
      case '':
        return admitPod(node, op, target);
      case 'status':
        return admitPodStatus(node, op, target);
      case 'eviction':
        return op === 'create' && boundTo(target.existing) === node ? ALLOWED : deny(`node ${node} can only evict pods with spec.nodeName set to itself`);
      default:
        return deny(`unexpected pod subresource "${sub}", only 'status' and 'eviction' are allowed`);
    }
  }
  if (attrs.apiGroup === '' && attrs.resource === 'nodes') return admitNode(node, op, attrs, target);
  if (attrs.apiGroup === 'coordination.k8s.io' && attrs.resource === 'leases') return admitLease(node, op, attrs, target);
  return ALLOWED;
}

type Operation = 'create' | 'update' | 'delete';

/** The admission operation of a verb; undefined for reads, which admission never sees. */
function operationOf(verb: string): Operation | undefined {
  switch (verb) {
    case 'create':
      return 'create';
    case 'update':
    case 'patch':
      return 'update';
    case 'delete':
    case 'deletecollection':
      return 'delete';
    default:
      return undefined;
  }
}

function admitPod(node: string, op: Operation, target: RestrictionTarget): Decision {
  switch (op) {
    case 'create':
      return admitMirrorPod(node, target.incoming);
    case 'delete':
      if (target.existing === undefined) return deny(`node "${node}" can only delete pods with spec.nodeName set to itself; the pod to delete was not given`);
      return boundTo(target.existing) === node ? ALLOWED : deny(`node "${node}" can only delete pods with spec.nodeName set to itself`);
    case 'update':
      return deny(`unexpected operation "UPDATE", node "${node}" can only create and delete mirror pods`);
  }
}

function admitMirrorPod(node: string, pod: KubeObject | undefined): Decision {
  if (pod === undefined || pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] === undefined) {
    return deny(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${node}" can only create mirror pods`);
  }
  if (boundTo(pod) !== node) return deny(`node "${node}" can only create pods with spec.nodeName set to itself`);
  const owners = pod.metadata.ownerReferences ?? [];
  const owner = owners[0];
  if (owners.length !== 1 || owner === undefined || owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node) {
    return deny(`node "${node}" can only create pods with an owner reference set to itself`);
  }
  if (owner.controller !== true) return deny(`node "${node}" can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion === true) return deny(`node "${node}" must not set blockOwnerDeletion on an owner reference`);
  const spec = record(pod['spec']);
  if (typeof spec['serviceAccountName'] === 'string' && spec['serviceAccountName'] !== '') return deny(`node "${node}" can not create pods that reference a service account`);
  for (const vol of Array.isArray(spec['volumes']) ? spec['volumes'] : []) {
    const v = record(vol);
    if (v['secret'] !== undefined) return deny(`node "${node}" can not create pods that reference secrets`);
    if (v['configMap'] !== undefined) return deny(`node "${node}" can not create pods that reference configmaps`);
    if (v['persistentVolumeClaim'] !== undefined) return deny(`node "${node}" can not create pods that reference persistentvolumeclaims`);
    if (v['projected'] !== undefined) return deny(`node "${node}" can not create pods with projected volumes`);
  }
  return ALLOWED;
}

function admitPodStatus(node: string, op: Operation, target: RestrictionTarget): Decision {
  if (op !== 'update') return deny(`unexpected operation "${op.toUpperCase()}"`);
  if (target.existing === undefined || boundTo(target.existing) !== node) {
    return deny(`node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  }
  if (target.incoming !== undefined && !sameLabels(target.existing.metadata.labels, target.incoming.metadata.labels)) {
    return deny(`node "${node}" cannot update labels through pod status`);
  }
  return ALLOWED;
}

function admitNode(node: string, op: Operation, attrs: ResourceAttributes, target: RestrictionTarget): Decision {
  const requested = attrs.name ?? target.incoming?.metadata.name ?? '';
  if (requested !== node) return deny(`node "${node}" is not allowed to modify node "${requested}"`);
  if (op === 'create' && target.incoming !== undefined) {
    const forbidden = forbiddenLabels(modifiedLabels(target.incoming.metadata.labels, undefined));
    if (forbidden.length > 0) return deny(`node "${node}" is not allowed to set the following labels: ${forbidden.join(', ')}`);
  }
  if (op === 'update' && target.incoming !== undefined && target.existing !== undefined) {
    const taints = (o: KubeObject): string => JSON.stringify(record(o['spec'])['taints'] ?? []);
    if (taints(target.incoming) !== taints(target.existing)) return deny(`node "${node}" is not allowed to modify taints`);
    const forbidden = forbiddenLabels(modifiedLabels(target.incoming.metadata.labels, target.existing.metadata.labels));
    if (forbidden.length > 0) return deny(`node "${node}" is not allowed to modify labels: ${forbidden.join(', ')}`);
  }
  return ALLOWED;
}

function admitLease(node: string, op: Operation, attrs: ResourceAttributes, target: RestrictionTarget): Decision {
  if (attrs.namespace !== NODE_LEASE_NAMESPACE) return deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  const name = op === 'create' ? target.incoming?.metadata.name ?? attrs.name : attrs.name;
  return name === node ? ALLOWED : deny('can only access node lease with the same name as the requesting node');
}

/** Labels a kubelet sets on its own Node; other kubernetes.io and k8s.io labels are the control plane's. */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/arch',
  'kubernetes.io/os',
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

function labelNamespace(key: string): string {
  const slash = key.indexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((k) => ns === k || ns.endsWith(`.${k}`));
}

function forbiddenLabels(keys: readonly string[]): string[] {
  return keys
    .filter((key) => {
      const ns = labelNamespace(key);
      if (ns === 'node-restriction.kubernetes.io' || ns.endsWith('.node-restriction.kubernetes.io')) return true;
      const reserved = ns === 'kubernetes.io' || ns.endsWith('.kubernetes.io') || ns === 'k8s.io' || ns.endsWith('.k8s.io');
      return reserved && !isKubeletLabel(key);
    })
    .sort();
}

function modifiedLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): string[] {
  const la = a ?? {};
  const lb = b ?? {};
  const keys = new Set([...Object.keys(la), ...Object.keys(lb)]);
  return [...keys].filter((k) => la[k] !== lb[k]);
}

function sameLabels(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  return modifiedLabels(a, b).length === 0;
}

/** The node a pod is bound to ('' when unscheduled or not given). */
function boundTo(pod: KubeObject | undefined): string {
  const name = record(pod?.['spec'])['nodeName'];
  return typeof name === 'string' ? name : '';
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Resources a node may read only when a pod bound to it references them (by name, in its namespace). */
const POD_REFERENCED: ReadonlyMap<string, (pod: KubeObject) => Set<string>> = new Map([
  ['secrets', (pod: KubeObject) => podReferences(pod).secrets],
  ['configmaps', (pod: KubeObject) => podReferences(pod).configMaps],
  ['persistentvolumeclaims', (pod: KubeObject) => podReferences(pod).claims],
]);

/**
 * nodeReadRestriction is the read half of Kubernetes' Node authorizer: a node reads a secret,
 * config map or persistent volume claim only by name, and only when a pod bound to it in that
 * namespace references it (volumes, projected sources, env, envFrom, image pull secrets); list
 * and watch without a name are refused. `podsOn(node)` lists the pods bound to a node (the
 * apiserver's pod cache). Other users, writes and other resources are allowed (RBAC decides).
 */
export function nodeReadRestriction(user: UserInfo, attrs: RequestAttributes, podsOn: (nodeName: string) => readonly KubeObject[]): Decision {
  const node = nodeName(user);
  if (node === undefined || attrs.kind === 'nonResource' || attrs.apiGroup !== '' || (attrs.subresource ?? '') !== '') return ALLOWED;
  if (attrs.verb !== 'get' && attrs.verb !== 'list' && attrs.verb !== 'watch') return ALLOWED;
  const refs = POD_REFERENCED.get(attrs.resource);
  if (refs === undefined) return ALLOWED;
  if (node === '') return deny(`Could not determine the node from user "${user.username}"; name node users system:node:<node-name>`);
  const name = attrs.name ?? '';
  if (name === '') return deny(`node "${node}" can only read ${attrs.resource} by name (get, or list and watch with a metadata.name field selector)`);
  const related = podsOn(node).some((pod) => pod.metadata.namespace === attrs.namespace && boundTo(pod) === node && refs(pod).has(name));
  return related ? ALLOWED : deny(`no relationship found between node '${node}' and this object`);
}

interface PodReferences {
  readonly secrets: Set<string>;
  readonly configMaps: Set<string>;
  readonly claims: Set<string>;
}

/** podReferences collects the secrets, config maps and claims a pod's spec names. */
export function podReferences(pod: KubeObject): PodReferences {
  const out: PodReferences = { secrets: new Set(), configMaps: new Set(), claims: new Set() };
  const add = (set: Set<string>, name: unknown): void => {
    if (typeof name === 'string' && name !== '') set.add(name);
  };
  const spec = record(pod['spec']);
  for (const s of list(spec['imagePullSecrets'])) add(out.secrets, record(s)['name']);
  for (const vol of list(spec['volumes'])) {
    const v = record(vol);
    add(out.secrets, record(v['secret'])['secretName']);
    add(out.configMaps, record(v['configMap'])['name']);
    add(out.claims, record(v['persistentVolumeClaim'])['claimName']);
    for (const src of list(record(v['projected'])['sources'])) {
      add(out.secrets, record(record(src)['secret'])['name']);
      add(out.configMaps, record(record(src)['configMap'])['name']);
    }
  }
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const c of list(spec[key])) {
      const container = record(c);
      for (const e of list(container['env'])) {
        const from = record(record(e)['valueFrom']);
        add(out.secrets, record(from['secretKeyRef'])['name']);
        add(out.configMaps, record(from['configMapKeyRef'])['name']);
      }
      for (const e of list(container['envFrom'])) {
        add(out.secrets, record(record(e)['secretRef'])['name']);
        add(out.configMaps, record(record(e)['configMapRef'])['name']);
      }
    }
  }
  return out;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/**
 * admissionForbidden is the 403 for a write admission refused, worded as Kubernetes' admission
 * errors: `pods "web" is forbidden: node "n1" can only update pod status for pods ...`.
 */
export function admissionForbidden(attrs: ResourceAttributes, reason: string, name = attrs.name ?? ''): ApiError {
  const qualified = attrs.apiGroup === '' ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`;
  const message = name !== '' ? `${qualified} "${name}" is forbidden: ${reason}` : `${qualified} is forbidden: ${reason}`;
  const details = name !== '' ? { name, group: attrs.apiGroup, kind: attrs.resource } : { group: attrs.apiGroup, kind: attrs.resource };
  return { code: 403, reason: 'Forbidden', message, details };
}
