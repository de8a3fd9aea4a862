// Node restriction: a node may write only its own Node, its own Lease, and the pods bound to it.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { admissionForbidden, nodeName, nodeReadRestriction, nodeRestriction, podReferences, type RestrictionTarget } from '../../../src/control-plane/auth/node-restriction.js';
import type { RequestAttributes, ResourceAttributes } from '../../../src/control-plane/auth/rbac.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

const n1: UserInfo = { username: 'system:node:n1', uid: '', groups: ['system:nodes', 'system:authenticated'] };
const admin: UserInfo = { username: 'admin', uid: '', groups: ['system:masters', 'system:authenticated'] };

function res(verb: string, apiGroup: string, resource: string, more: Partial<Omit<ResourceAttributes, 'kind' | 'verb' | 'apiGroup' | 'resource'>> = {}): ResourceAttributes {
  return { kind: 'resource', verb, apiGroup, resource, ...more };
}
function pod(name: string, node: string, extra: Partial<KubeObject['metadata']> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...extra }, spec: { nodeName: node, containers: [{ name: 'c', image: 'i' }], ...spec } };
}
function node(name: string, labels: Record<string, string> = {}, taints: unknown[] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } };
}
function lease(name: string): KubeObject {
  return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' } };
}
const mirror = (name: string, onNode: string, owner = onNode): KubeObject =>
  pod(name, onNode, {
    annotations: { 'kubernetes.io/config.mirror': 'hash' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: owner, uid: 'u', controller: true }],
  });

describe('nodeName', () => {
  it('needs both the user name prefix and the group', () => {
    expect(nodeName(n1)).toBe('n1');
    expect(nodeName({ username: 'system:node:n1', uid: '', groups: [] })).toBeUndefined();
    expect(nodeName({ username: 'n1', uid: '', groups: ['system:nodes'] })).toBeUndefined();
    expect(nodeName({ username: 'system:node:', uid: '', groups: ['system:nodes'] })).toBe('');
  });
});

describe('nodeRestriction', () => {
  const podsOnN1 = pod('a', 'n1');
  const podsOnN2 = pod('b', 'n2');

  it.each<[string, RequestAttributes, RestrictionTarget, string | null]>([
    // Nodes
    ['create its own Node', res('create', '', 'nodes'), { incoming: node('n1', { 'kubernetes.io/hostname': 'n1' }) }, null],
    ['create another Node', res('create', '', 'nodes'), { incoming: node('n2') }, 'node "n1" is not allowed to modify node "n2"'],
    ['update its own Node status', res('update', '', 'nodes', { name: 'n1', subresource: 'status' }), { existing: node('n1'), incoming: node('n1') }, null],
    ['patch another Node status', res('patch', '', 'nodes', { name: 'n2', subresource: 'status' }), { existing: node('n2'), incoming: node('n2') }, 'node "n1" is not allowed to modify node "n2"'],
    ['delete another Node', res('delete', '', 'nodes', { name: 'n2' }), { existing: node('n2') }, 'node "n1" is not allowed to modify node "n2"'],
    ['change its own taints', res('update', '', 'nodes', { name: 'n1' }), { existing: node('n1'), incoming: node('n1', {}, [{ key: 'k', effect: 'NoSchedule' }]) }, 'node "n1" is not allowed to modify taints'],
    ['register with a reserved label', res('create', '', 'nodes'), { incoming: node('n1', { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/instance-type': 'x' }) }, 'node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane'],
    ['set a node-restriction label', res('update', '', 'nodes', { name: 'n1' }), { existing: node('n1'), incoming: node('n1', { 'node-restriction.kubernetes.io/trusted': 'yes' }) }, 'node "n1" is not allowed to modify labels: node-restriction.kubernetes.io/trusted'],
    ['set its own free-form labels', res('update', '', 'nodes', { name: 'n1' }), { existing: node('n1'), incoming: node('n1', { team: 'a', 'topology.kubernetes.io/zone': 'z' }) }, null],
    ['read any Node', res('get', '', 'nodes', { name: 'n2' }), {}, null],
    // Leases
    ['create its own Lease', res('create', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease' }), { incoming: lease('n1') }, null],
    ['renew its own Lease', res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' }), { existing: lease('n1'), incoming: lease('n1') }, null],
    ['renew another Lease', res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n2' }), { existing: lease('n2'), incoming: lease('n2') }, 'can only access node lease with the same name as the requesting node'],
    ['create a Lease named after another node', res('create', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease' }), { incoming: lease('n2') }, 'can only access node lease with the same name as the requesting node'],
    ['write a Lease elsewhere', res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'n1' }), {}, 'can only access leases in the "kube-node-lease" system namespace'],
    // Pods
    ['update the status of its pod', res('update', '', 'pods', { namespace: 'default', name: 'a', subresource: 'status' }), { existing: podsOnN1, incoming: podsOnN1 }, null],
    ['patch the status of its pod', res('patch', '', 'pods', { namespace: 'default', name: 'a', subresource: 'status' }), { existing: podsOnN1 }, null],
    ['update the status of a pod bound elsewhere', res('update', '', 'pods', { namespace: 'default', name: 'b', subresource: 'status' }), { existing: podsOnN2, incoming: podsOnN2 }, 'node "n1" can only update pod status for pods with spec.nodeName set to itself'],
    ['update the status of an unscheduled pod', res('update', '', 'pods', { namespace: 'default', name: 'u', subresource: 'status' }), { existing: pod('u', '') }, 'node "n1" can only update pod status for pods with spec.nodeName set to itself'],
    ['update a pod status without the stored pod', res('update', '', 'pods', { namespace: 'default', name: 'a', subresource: 'status' }), {}, 'node "n1" can only update pod status for pods with spec.nodeName set to itself'],
    ['change labels through pod status', res('update', '', 'pods', { namespace: 'default', name: 'a', subresource: 'status' }), { existing: podsOnN1, incoming: pod('a', 'n1', { labels: { app: 'x' } }) }, 'node "n1" cannot update labels through pod status'],
    ['update a pod spec', res('update', '', 'pods', { namespace: 'default', name: 'a' }), { existing: podsOnN1, incoming: podsOnN1 }, 'unexpected operation "UPDATE", node "n1" can only create and delete mirror pods'],
    ['delete its pod', res('delete', '', 'pods', { namespace: 'default', name: 'a' }), { existing: podsOnN1 }, null],
    ['delete a pod bound elsewhere', res('delete', '', 'pods', { namespace: 'default', name: 'b' }), { existing: podsOnN2 }, 'node "n1" can only delete pods with spec.nodeName set to itself'],
    ['delete a pod not given', res('delete', '', 'pods', { namespace: 'default', name: 'b' }), {}, 'node "n1" can only delete pods with spec.nodeName set to itself; the pod to delete was not given'],
    ['evict its pod', res('create', '', 'pods', { namespace: 'default', name: 'a', subresource: 'eviction' }), { existing: podsOnN1 }, null],
    ['evict a pod bound elsewhere', res('create', '', 'pods', { namespace: 'default', name: 'b', subresource: 'eviction' }), { existing: podsOnN2 }, 'node n1 can only evict pods with spec.nodeName set to itself'],
    ['bind a pod', res('create', '', 'pods', { namespace: 'default', name: 'b', subresource: 'binding' }), { existing: podsOnN2 }, "unexpected pod subresource \"binding\", only 'status' and 'eviction' are allowed"],
    ['create an ordinary pod', res('create', '', 'pods', { namespace: 'default' }), { incoming: pod('x', 'n1') }, 'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'],
    ['create a mirror pod of its own', res('create', '', 'pods', { namespace: 'default' }), { incoming: mirror('m', 'n1') }, null],
    ['create a mirror pod bound elsewhere', res('create', '', 'pods', { namespace: 'default' }), { incoming: mirror('m', 'n2', 'n1') }, 'node "n1" can only create pods with spec.nodeName set to itself'],
    ['create a mirror pod owned by another node', res('create', '', 'pods', { namespace: 'default' }), { incoming: mirror('m', 'n1', 'n2') }, 'node "n1" can only create pods with an owner reference set to itself'],
    ['list pods anywhere', res('list', '', 'pods'), {}, null],
    // Everything else is RBAC's business.
    ['create an event', res('create', '', 'events', { namespace: 'default' }), {}, null],
  ])('%s', (_name, attrs, target, want) => {
    const d = nodeRestriction(n1, attrs, target);
    expect(d).toEqual(want === null ? { allowed: true, reason: '' } : { allowed: false, reason: want });
  });

  it('a mirror pod may not reference secrets or a service account', () => {
    const withSecret = mirror('m', 'n1');
    withSecret['spec'] = { ...(withSecret['spec'] as object), volumes: [{ name: 'v', secret: { secretName: 's' } }] };
    expect(nodeRestriction(n1, res('create', '', 'pods', { namespace: 'default' }), { incoming: withSecret })).toEqual({ allowed: false, reason: 'node "n1" can not create pods that reference secrets' });
    const withSa = mirror('m', 'n1');
    withSa['spec'] = { ...(withSa['spec'] as object), serviceAccountName: 'default' };
    expect(nodeRestriction(n1, res('create', '', 'pods', { namespace: 'default' }), { incoming: withSa })).toEqual({ allowed: false, reason: 'node "n1" can not create pods that reference a service account' });
  });

  it('leaves users that are not nodes, and non-resource requests, alone', () => {
    expect(nodeRestriction(admin, res('delete', '', 'nodes', { name: 'n2' }), {})).toEqual({ allowed: true, reason: '' });
    expect(nodeRestriction(n1, { kind: 'nonResource', verb: 'get', path: '/healthz' }, {})).toEqual({ allowed: true, reason: '' });
  });

  it('refuses writes from a node user without a name', () => {
    const nameless: UserInfo = { username: 'system:node:', uid: '', groups: ['system:nodes'] };
    expect(nodeRestriction(nameless, res('create', '', 'events', { namespace: 'default' }), {}).allowed).toBe(false);
  });

  it('admissionForbidden words the refusal as Kubernetes does', () => {
    const attrs = res('update', '', 'pods', { namespace: 'default', name: 'b', subresource: 'status' });
    const d = nodeRestriction(n1, attrs, { existing: podsOnN2 });
    expect(admissionForbidden(attrs, d.reason)).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: 'pods "b" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself',
      details: { name: 'b', group: '', kind: 'pods' },
    });
    expect(admissionForbidden(res('create', 'coordination.k8s.io', 'leases'), 'x').message).toBe('leases.coordination.k8s.io is forbidden: x');
  });
});

describe('nodeReadRestriction', () => {
  const web = pod('web', 'n1', {}, {
    imagePullSecrets: [{ name: 'registry' }],
    volumes: [
      { name: 'a', secret: { secretName: 'tls' } },
      { name: 'b', configMap: { name: 'settings' } },
      { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'd', projected: { sources: [{ secret: { name: 'projected-secret' } }, { configMap: { name: 'projected-cm' } }] } },
    ],
    initContainers: [{ name: 'i', image: 'x', envFrom: [{ secretRef: { name: 'init-env' } }] }],
    containers: [{ name: 'c', image: 'x', env: [{ name: 'E', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } }] }],
  });
  const elsewhere = pod('db', 'n2', {}, { volumes: [{ name: 'a', secret: { secretName: 'db-password' } }] });
  const podsOn = (n: string): readonly KubeObject[] => [web, elsewhere].filter((p) => (p['spec'] as { nodeName: string }).nodeName === n);
  const read = (verb: string, resource: string, name?: string, namespace = 'default'): RequestAttributes => res(verb, '', resource, { namespace, ...(name !== undefined ? { name } : {}) });

  it('collects every reference of a pod', () => {
    const refs = podReferences(web);
    expect([...refs.secrets].sort()).toEqual(['init-env', 'projected-secret', 'registry', 'tls']);
    expect([...refs.configMaps].sort()).toEqual(['env-cm', 'projected-cm', 'settings']);
    expect([...refs.claims]).toEqual(['data']);
  });

  it.each<[string, RequestAttributes, string | null]>([
    ['a secret its pod mounts', read('get', 'secrets', 'tls'), null],
    ['a pull secret', read('get', 'secrets', 'registry'), null],
    ['a config map by env, watched by name', read('watch', 'configmaps', 'env-cm'), null],
    ['a claim its pod uses', read('get', 'persistentvolumeclaims', 'data'), null],
    ['a secret of a pod on another node', read('get', 'secrets', 'db-password'), "no relationship found between node 'n1' and this object"],
    ['the right name in another namespace', read('get', 'secrets', 'tls', 'other'), "no relationship found between node 'n1' and this object"],
    ['listing secrets', read('list', 'secrets'), 'node "n1" can only read secrets by name (get, or list and watch with a metadata.name field selector)'],
    ['pods and nodes are RBAC\'s business', read('list', 'pods'), null],
    ['writes are nodeRestriction\'s business', read('create', 'secrets'), null],
  ])('%s', (_name, attrs, want) => {
    expect(nodeReadRestriction(n1, attrs, podsOn)).toEqual(want === null ? { allowed: true, reason: '' } : { allowed: false, reason: want });
  });

  it('leaves other users alone', () => {
    expect(nodeReadRestriction(admin, read('list', 'secrets'), podsOn).allowed).toBe(true);
  });
});
