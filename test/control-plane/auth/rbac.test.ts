// RBAC: rule matching as Kubernetes does it, bindings and subjects, aggregation, the built-in
// policy, and the wording of a denial.
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { describe, expect, it } from 'vitest';
import { bootstrapObjects, bootstrapPolicy } from '../../../src/control-plane/auth/bootstrap.js';
import {
  forbiddenError,
  forbiddenMessage,
  labelSelectorMatches,
  RbacAuthorizer,
  rbacSourceOf,
  ruleAllows,
  serviceAccountUser,
  type RequestAttributes,
  type ResourceAttributes,
} from '../../../src/control-plane/auth/rbac.js';
import { ANONYMOUS_USER } from '../../../src/control-plane/auth/tokens.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

function res(verb: string, apiGroup: string, resource: string, more: Partial<Omit<ResourceAttributes, 'kind' | 'verb' | 'apiGroup' | 'resource'>> = {}): RequestAttributes {
  return { kind: 'resource', verb, apiGroup, resource, ...more };
}
function path(verb: string, p: string): RequestAttributes {
  return { kind: 'nonResource', verb, path: p };
}
function userOf(username: string, ...groups: string[]): UserInfo {
  return { username, uid: '', groups: [...groups, 'system:authenticated'] };
}

describe('ruleAllows', () => {
  const pods: PolicyRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] };
  const anyVerb: PolicyRule = { verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'] };
  const anyGroup: PolicyRule = { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] };
  const anyResource: PolicyRule = { verbs: ['get'], apiGroups: [''], resources: ['*'] };
  const podStatus: PolicyRule = { verbs: ['update'], apiGroups: [''], resources: ['pods/status'] };
  const anyScale: PolicyRule = { verbs: ['update'], apiGroups: ['*'], resources: ['*/scale'] };
  const named: PolicyRule = { verbs: ['get', 'update'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cfg'] };
  const health: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] };
  const everyPath: PolicyRule = { verbs: ['*'], nonResourceURLs: ['*'] };

  it.each<[string, PolicyRule, RequestAttributes, boolean]>([
    ['exact verb, group, resource', pods, res('list', '', 'pods', { namespace: 'default' }), true],
    ['a verb not listed', pods, res('delete', '', 'pods'), false],
    ['a resource in another group', pods, res('get', 'apps', 'pods'), false],
    ['a subresource of a listed resource', pods, res('get', '', 'pods', { subresource: 'log' }), false],
    ['verb *', anyVerb, res('deletecollection', 'apps', 'deployments'), true],
    ['verb * but another group', anyVerb, res('get', 'extensions', 'deployments'), false],
    ['group *', anyGroup, res('get', 'apps', 'deployments'), true],
    ['resource * covers resources', anyResource, res('get', '', 'secrets'), true],
    ['resource * covers subresources', anyResource, res('get', '', 'pods', { subresource: 'log' }), true],
    ['resource * stays in its group', anyResource, res('get', 'apps', 'deployments'), false],
    ['pods/status covers the status subresource', podStatus, res('update', '', 'pods', { subresource: 'status' }), true],
    ['pods/status does not cover pods', podStatus, res('update', '', 'pods'), false],
    ['pods/status does not cover nodes/status', podStatus, res('update', '', 'nodes', { subresource: 'status' }), false],
    ['*/scale covers any scale', anyScale, res('update', 'apps', 'deployments', { subresource: 'scale' }), true],
    ['*/scale does not cover status', anyScale, res('update', 'apps', 'deployments', { subresource: 'status' }), false],
    ['*/scale does not cover the resource', anyScale, res('update', 'apps', 'deployments'), false],
    ['resourceNames: the named object', named, res('get', '', 'configmaps', { namespace: 'a', name: 'cfg' }), true],
    ['resourceNames: another object', named, res('get', '', 'configmaps', { namespace: 'a', name: 'other' }), false],
    ['resourceNames: a list (no name)', named, res('list', '', 'configmaps', { namespace: 'a' }), false],
    ['non-resource exact path', health, path('get', '/healthz'), true],
    ['non-resource path under a prefix', health, path('get', '/apis/apps/v1'), true],
    ['non-resource prefix needs the slash', health, path('get', '/apis'), false],
    ['non-resource other path', health, path('get', '/healthz/etcd'), false],
    ['non-resource other verb', health, path('post', '/healthz'), false],
    ['non-resource *', everyPath, path('post', '/anything/at/all'), true],
    ['a resource rule never covers a path', anyResource, path('get', '/healthz'), false],
    ['a path rule never covers a resource', everyPath, res('get', '', 'pods'), false],
  ])('%s', (_name, rule, attrs, want) => {
    expect(ruleAllows(rule, attrs)).toBe(want);
  });
});

describe('labelSelectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each<[string, Parameters<typeof labelSelectorMatches>[0], boolean]>([
    ['empty selector', {}, true],
    ['matchLabels hit', { matchLabels: { app: 'web' } }, true],
    ['matchLabels miss', { matchLabels: { app: 'db' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['In on a missing key', { matchExpressions: [{ key: 'x', operator: 'In', values: ['a'] }] }, false],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['NotIn on a missing key', { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['unknown operator', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, false],
  ])('%s', (_name, sel, want) => {
    expect(labelSelectorMatches(sel, labels)).toBe(want);
  });
});

const crb = (name: string, role: string, subjects: ClusterRoleBinding['subjects']): ClusterRoleBinding => ({
  metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  ...(subjects !== undefined ? { subjects } : {}),
});
const rb = (ns: string, name: string, kind: 'Role' | 'ClusterRole', role: string, subjects: RoleBinding['subjects']): RoleBinding => ({
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  ...(subjects !== undefined ? { subjects } : {}),
});
const podReader: ClusterRole = { metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }] };
const cmWriter: Role = { metadata: { name: 'cm-writer', namespace: 'team-a' }, rules: [{ verbs: ['create', 'update'], apiGroups: [''], resources: ['configmaps'] }] };
const healthReader: Role = { metadata: { name: 'health', namespace: 'team-a' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz'] }] };

describe('RbacAuthorizer: bindings and subjects', () => {
  const source = rbacSourceOf({
    clusterRoles: [podReader, { metadata: { name: 'metrics' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }] }],
    roles: [cmWriter, healthReader],
    clusterRoleBindings: [
      crb('jane-reads-pods', 'pod-reader', [{ kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' }]),
      crb('ops-metrics', 'metrics', [{ kind: 'Group', name: 'ops', apiGroup: 'rbac.authorization.k8s.io' }]),
      crb('sa-without-namespace', 'metrics', [{ kind: 'ServiceAccount', name: 'default' }]),
    ],
    roleBindings: [
      rb('team-a', 'bob-writes', 'Role', 'cm-writer', [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }]),
      rb('team-a', 'bob-reads-pods', 'ClusterRole', 'pod-reader', [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }]),
      rb('team-a', 'bob-health', 'Role', 'health', [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }]),
      rb('team-a', 'builder', 'Role', 'cm-writer', [{ kind: 'ServiceAccount', name: 'builder' }]),
      rb('team-a', 'ci', 'ClusterRole', 'pod-reader', [{ kind: 'ServiceAccount', name: 'ci', namespace: 'tools' }]),
      rb('team-a', 'all-sas-in-tools', 'Role', 'cm-writer', [{ kind: 'Group', name: 'system:serviceaccounts:tools', apiGroup: 'rbac.authorization.k8s.io' }]),
      rb('team-a', 'dangling', 'Role', 'no-such-role', [{ kind: 'User', name: 'carol', apiGroup: 'rbac.authorization.k8s.io' }]),
    ],
  });
  const authz = new RbacAuthorizer(source);
  const jane = userOf('jane');
  const bob = userOf('bob');

  it('a ClusterRoleBinding grants in every namespace and at the cluster scope', () => {
    expect(authz.authorize(jane, res('list', '', 'pods', { namespace: 'x' }))).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "jane-reads-pods" of ClusterRole "pod-reader" to User "jane"',
    });
    expect(authz.authorize(jane, res('list', '', 'pods')).allowed).toBe(true);
    expect(authz.authorize(jane, res('delete', '', 'pods', { namespace: 'x', name: 'p' }))).toEqual({ allowed: false, reason: '' });
  });

  it('a group subject matches any member', () => {
    expect(authz.authorize(userOf('zed', 'ops'), path('get', '/metrics')).allowed).toBe(true);
    expect(authz.authorize(userOf('zed'), path('get', '/metrics')).allowed).toBe(false);
  });

  it('a RoleBinding grants its Role only in its namespace', () => {
    expect(authz.authorize(bob, res('create', '', 'configmaps', { namespace: 'team-a' }))).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "bob-writes/team-a" of Role "cm-writer" to User "bob"',
    });
    expect(authz.authorize(bob, res('create', '', 'configmaps', { namespace: 'team-b' })).allowed).toBe(false);
    expect(authz.authorize(bob, res('create', '', 'configmaps')).allowed).toBe(false);
  });

  it('a RoleBinding to a ClusterRole grants the ClusterRole in that namespace only', () => {
    expect(authz.authorize(bob, res('get', '', 'pods', { namespace: 'team-a', name: 'p' })).allowed).toBe(true);
    expect(authz.authorize(bob, res('get', '', 'pods', { namespace: 'team-b', name: 'p' })).allowed).toBe(false);
    expect(authz.authorize(bob, res('list', '', 'pods')).allowed).toBe(false);
  });

  it('non-resource rules count only through ClusterRoleBindings', () => {
    expect(authz.authorize(bob, path('get', '/healthz')).allowed).toBe(false);
  });

  it('service accounts: subject namespace defaults to the binding namespace; a ClusterRoleBinding needs one', () => {
    const builder = serviceAccountUser('team-a', 'builder');
    expect(builder).toEqual({ username: 'system:serviceaccount:team-a:builder', uid: '', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'] });
    expect(authz.authorize(builder, res('create', '', 'configmaps', { namespace: 'team-a' }))).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "builder/team-a" of Role "cm-writer" to ServiceAccount "team-a/builder"',
    });
    expect(authz.authorize(serviceAccountUser('team-b', 'builder'), res('create', '', 'configmaps', { namespace: 'team-a' })).allowed).toBe(false);
    expect(authz.authorize(serviceAccountUser('tools', 'ci'), res('list', '', 'pods', { namespace: 'team-a' })).allowed).toBe(true);
    expect(authz.authorize(serviceAccountUser('team-a', 'ci'), res('list', '', 'pods', { namespace: 'team-a' })).allowed).toBe(false);
    expect(authz.authorize(serviceAccountUser('default', 'default'), path('get', '/metrics')).allowed).toBe(false);
  });

  it('the service-account groups match every account of a namespace', () => {
    expect(authz.authorize(serviceAccountUser('tools', 'anyone'), res('update', '', 'configmaps', { namespace: 'team-a', name: 'c' })).allowed).toBe(true);
    // A user merely named like a service account is not in its groups.
    expect(authz.authorize(userOf('system:serviceaccount:tools:anyone'), res('update', '', 'configmaps', { namespace: 'team-a', name: 'c' })).allowed).toBe(false);
  });

  it('a binding to a missing role denies with the reason, and other bindings still count', () => {
    expect(authz.authorize(userOf('carol'), res('get', '', 'pods', { namespace: 'team-a' }))).toEqual({
      allowed: false,
      reason: 'RBAC: role.rbac.authorization.k8s.io "no-such-role" not found',
    });
  });

  it('system:masters may do anything without a binding; other users nothing', () => {
    const empty = new RbacAuthorizer(rbacSourceOf({}));
    expect(empty.authorize(userOf('root', 'system:masters'), res('delete', '', 'nodes', { name: 'n' })).allowed).toBe(true);
    expect(empty.authorize(userOf('root', 'system:masters'), path('post', '/x')).allowed).toBe(true);
    expect(empty.authorize(userOf('root'), res('get', '', 'nodes')).allowed).toBe(false);
    const none = new RbacAuthorizer(rbacSourceOf({}), { privilegedGroups: [] });
    expect(none.authorize(userOf('root', 'system:masters'), res('get', '', 'nodes')).allowed).toBe(false);
  });

  it('rulesFor lists cluster-wide rules, plus the namespace rules when one is given', () => {
    expect(authz.rulesFor(bob, '').rules).toEqual([]);
    expect(authz.rulesFor(bob, 'team-a').rules).toEqual([...(cmWriter.rules ?? []), ...(podReader.rules ?? []), ...(healthReader.rules ?? [])]);
    expect(authz.rulesFor(userOf('carol'), 'team-a')).toEqual({ rules: [], errors: ['role.rbac.authorization.k8s.io "no-such-role" not found'] });
  });
});

describe('RbacAuthorizer: aggregation and the built-in policy', () => {
  const policy = bootstrapPolicy();
  const custom: ClusterRole = {
    metadata: { name: 'widgets-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    rules: [{ verbs: ['get'], apiGroups: ['example.com'], resources: ['widgets'] }],
  };
  const cycleA: ClusterRole = { metadata: { name: 'a', labels: { loop: 'a' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { loop: 'b' } }] } };
  const cycleB: ClusterRole = { metadata: { name: 'b', labels: { loop: 'b' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { loop: 'a' } }] }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['x'] }] };
  const cycleC: ClusterRole = { metadata: { name: 'c', labels: { loop: 'b' } }, rules: [{ verbs: ['list'], apiGroups: [''], resources: ['y'] }] };
  const source = rbacSourceOf({
    clusterRoles: [...policy.clusterRoles, custom, cycleA, cycleB, cycleC],
    clusterRoleBindings: [...policy.clusterRoleBindings, crb('loop', 'a', [{ kind: 'User', name: 'looper' }])],
    roles: policy.roles,
    roleBindings: [
      ...policy.roleBindings,
      rb('dev', 'viewer', 'ClusterRole', 'view', [{ kind: 'User', name: 'v' }]),
      rb('dev', 'editor', 'ClusterRole', 'edit', [{ kind: 'User', name: 'e' }]),
      rb('dev', 'administrator', 'ClusterRole', 'admin', [{ kind: 'User', name: 'a' }]),
    ],
  });
  const authz = new RbacAuthorizer(source);
  const allow = (u: UserInfo, a: RequestAttributes): boolean => authz.authorize(u, a).allowed;

  it('view reads workloads but not secrets, and writes nothing', () => {
    const v = userOf('v');
    expect(allow(v, res('list', '', 'pods', { namespace: 'dev' }))).toBe(true);
    expect(allow(v, res('get', 'apps', 'deployments', { namespace: 'dev', subresource: 'scale', name: 'd' }))).toBe(true);
    expect(allow(v, res('get', '', 'secrets', { namespace: 'dev', name: 's' }))).toBe(false);
    expect(allow(v, res('create', '', 'pods', { namespace: 'dev' }))).toBe(false);
    expect(allow(v, res('list', '', 'pods', { namespace: 'prod' }))).toBe(false);
  });

  it('a ClusterRole labelled aggregate-to-view joins view, edit and admin', () => {
    for (const u of ['v', 'e', 'a']) expect(allow(userOf(u), res('get', 'example.com', 'widgets', { namespace: 'dev', name: 'w' }))).toBe(true);
  });

  it('edit adds writing workloads and secrets (through view), not RBAC', () => {
    const e = userOf('e');
    expect(allow(e, res('create', 'apps', 'deployments', { namespace: 'dev' }))).toBe(true);
    expect(allow(e, res('patch', 'apps', 'deployments', { namespace: 'dev', subresource: 'scale', name: 'd' }))).toBe(true);
    expect(allow(e, res('get', '', 'secrets', { namespace: 'dev', name: 's' }))).toBe(true);
    expect(allow(e, res('list', '', 'pods', { namespace: 'dev' }))).toBe(true);
    expect(allow(e, res('create', 'rbac.authorization.k8s.io', 'rolebindings', { namespace: 'dev' }))).toBe(false);
  });

  it('admin adds roles and role bindings in the namespace', () => {
    const a = userOf('a');
    expect(allow(a, res('create', 'rbac.authorization.k8s.io', 'rolebindings', { namespace: 'dev' }))).toBe(true);
    expect(allow(a, res('delete', '', 'pods', { namespace: 'dev', name: 'p' }))).toBe(true);
    expect(allow(a, res('create', 'rbac.authorization.k8s.io', 'clusterrolebindings'))).toBe(false);
  });

  it('aggregation ends on a cycle of selectors; aggregated roles lose their own rules, as in Kubernetes', () => {
    // a aggregates b and c (loop=b); b aggregates a, which is being resolved, so b adds nothing,
    // and b's own rule on x is replaced by aggregation.
    expect(allow(userOf('looper'), res('list', '', 'y'))).toBe(true);
    expect(allow(userOf('looper'), res('get', '', 'x'))).toBe(false);
  });

  it('cluster-admin through system:masters, and the public and discovery paths', () => {
    expect(authz.authorize(userOf('admin', 'system:masters'), res('delete', '', 'nodes', { name: 'n' }))).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
    });
    expect(allow(ANONYMOUS_USER, path('get', '/healthz'))).toBe(true);
    expect(allow(ANONYMOUS_USER, path('get', '/version'))).toBe(true);
    expect(allow(ANONYMOUS_USER, path('get', '/api'))).toBe(false);
    expect(allow(ANONYMOUS_USER, res('list', '', 'pods', { namespace: 'default' }))).toBe(false);
    expect(allow(userOf('prometheus', 'system:monitoring'), path('get', '/metrics'))).toBe(true);
    expect(allow(userOf('prometheus', 'system:monitoring'), path('get', '/readyz/etcd'))).toBe(true);
    const someone = userOf('someone');
    expect(allow(someone, path('get', '/metrics'))).toBe(false);
    expect(allow(someone, path('get', '/apis/apps/v1'))).toBe(true);
    expect(allow(someone, path('get', '/openapi/v3'))).toBe(true);
    expect(allow(someone, res('create', 'authorization.k8s.io', 'selfsubjectaccessreviews'))).toBe(true);
    expect(allow(someone, res('list', '', 'pods', { namespace: 'default' }))).toBe(false);
  });

  it('the scheduler binds and watches pods and nodes, and nothing more', () => {
    const s = userOf('system:kube-scheduler');
    expect(allow(s, res('create', '', 'pods', { namespace: 'dev', name: 'p', subresource: 'binding' }))).toBe(true);
    expect(allow(s, res('watch', '', 'nodes'))).toBe(true);
    expect(allow(s, res('patch', '', 'pods', { namespace: 'dev', name: 'p', subresource: 'status' }))).toBe(true);
    expect(allow(s, res('create', '', 'events', { namespace: 'dev' }))).toBe(true);
    expect(allow(s, res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'raftkube-scheduler' }))).toBe(true);
    expect(allow(s, res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' }))).toBe(false);
    expect(allow(s, res('delete', '', 'nodes', { name: 'n' }))).toBe(false);
    expect(allow(s, res('create', 'apps', 'deployments', { namespace: 'dev' }))).toBe(false);
    expect(allow(s, res('get', '', 'secrets', { namespace: 'dev', name: 's' }))).toBe(false);
  });

  it('the controller manager reconciles workloads, endpoints and garbage', () => {
    const c = userOf('system:kube-controller-manager');
    expect(allow(c, res('create', 'apps', 'replicasets', { namespace: 'dev' }))).toBe(true);
    expect(allow(c, res('update', 'apps', 'deployments', { namespace: 'dev', name: 'd', subresource: 'status' }))).toBe(true);
    expect(allow(c, res('create', '', 'pods', { namespace: 'dev' }))).toBe(true);
    expect(allow(c, res('create', 'discovery.k8s.io', 'endpointslices', { namespace: 'dev' }))).toBe(true);
    expect(allow(c, res('delete', 'apps', 'replicasets', { namespace: 'dev', name: 'r' }))).toBe(true);
    expect(allow(c, res('watch', 'coordination.k8s.io', 'leases'))).toBe(true);
    expect(allow(c, res('create', 'coordination.k8s.io', 'leases', { namespace: 'kube-system' }))).toBe(true);
    expect(allow(c, res('create', 'rbac.authorization.k8s.io', 'clusterrolebindings'))).toBe(false);
    expect(allow(c, res('create', 'apps', 'deployments', { namespace: 'dev' }))).toBe(false);
  });

  it('a node (before node restriction) registers, heartbeats and reports pod status', () => {
    const n = userOf('system:node:n1', 'system:nodes');
    expect(allow(n, res('create', '', 'nodes'))).toBe(true);
    expect(allow(n, res('patch', '', 'nodes', { name: 'n1', subresource: 'status' }))).toBe(true);
    expect(allow(n, res('update', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' }))).toBe(true);
    expect(allow(n, res('update', '', 'pods', { namespace: 'dev', name: 'p', subresource: 'status' }))).toBe(true);
    expect(allow(n, res('update', '', 'pods', { namespace: 'dev', name: 'p' }))).toBe(false);
    expect(allow(n, res('create', 'apps', 'deployments', { namespace: 'dev' }))).toBe(false);
  });

  it('every built-in object is labelled and typed, bindings after the roles they use', () => {
    const objs = bootstrapObjects();
    for (const o of objs) expect(o.metadata.labels?.['kubernetes.io/bootstrapping']).toBe('rbac-defaults');
    const kinds = objs.map((o) => o.kind);
    expect(kinds.lastIndexOf('ClusterRole')).toBeLessThan(kinds.indexOf('ClusterRoleBinding'));
    expect(kinds.lastIndexOf('Role')).toBeLessThan(kinds.indexOf('RoleBinding'));
    const names = new Set(objs.filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name));
    for (const b of policy.clusterRoleBindings) expect(names.has(b.roleRef.name)).toBe(true);
    expect(objs.find((o) => o.metadata.name === 'cluster-admin')?.apiVersion).toBe('rbac.authorization.k8s.io/v1');
  });
});

describe('forbiddenMessage', () => {
  const jane = userOf('jane');
  it.each<[RequestAttributes, string]>([
    [res('list', '', 'pods', { namespace: 'default' }), 'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"'],
    [res('list', '', 'nodes'), 'nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope'],
    [res('create', '', 'pods', { namespace: 'default', name: 'web', subresource: 'binding' }), 'pods "web" is forbidden: User "jane" cannot create resource "pods/binding" in API group "" in the namespace "default"'],
    [res('get', 'apps', 'deployments', { namespace: 'prod', name: 'api' }), 'deployments.apps "api" is forbidden: User "jane" cannot get resource "deployments" in API group "apps" in the namespace "prod"'],
    [path('get', '/metrics'), 'forbidden: User "jane" cannot get path "/metrics"'],
  ])('%j', (attrs, want) => {
    expect(forbiddenMessage(jane, attrs)).toBe(want);
  });

  it('appends a reason', () => {
    expect(forbiddenMessage(jane, res('get', '', 'pods'), 'RBAC: role x not found')).toBe('pods is forbidden: User "jane" cannot get resource "pods" in API group "" at the cluster scope: RBAC: role x not found');
  });

  it('forbiddenError is a 403 with details', () => {
    expect(forbiddenError(jane, res('get', 'apps', 'deployments', { namespace: 'p', name: 'api' }))).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: 'deployments.apps "api" is forbidden: User "jane" cannot get resource "deployments" in API group "apps" in the namespace "p"',
      details: { name: 'api', group: 'apps', kind: 'deployments' },
    });
    expect(forbiddenError(jane, path('get', '/x'))).toEqual({ code: 403, reason: 'Forbidden', message: 'forbidden: User "jane" cannot get path "/x"' });
  });
});
