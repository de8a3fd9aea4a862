// RBAC escalation prevention: a user grants (through roles and bindings) only what it holds,
// unless it may `escalate` or `bind`.
import type { ClusterRole, ClusterRoleBinding, PolicyRule, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { bootstrapPolicy } from '../../../src/control-plane/auth/bootstrap.js';
import { breakdown, rbacEscalationCheck, ruleCovers } from '../../../src/control-plane/auth/escalation.js';
import { RbacAuthorizer, rbacSourceOf, type ResourceAttributes } from '../../../src/control-plane/auth/rbac.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

const RBAC = 'rbac.authorization.k8s.io';
const policy = bootstrapPolicy();
const binder: ClusterRole = { metadata: { name: 'binder' }, rules: [{ verbs: ['bind'], apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: ['cluster-admin'] }] };
const escalator: ClusterRole = { metadata: { name: 'escalator' }, rules: [{ verbs: ['escalate', 'create'], apiGroups: [RBAC], resources: ['roles'] }] };
const userBinding = (name: string, role: string, user: string): ClusterRoleBinding => ({
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
  subjects: [{ apiGroup: RBAC, kind: 'User', name: user }],
});
const janeAdmin: RoleBinding = {
  metadata: { name: 'jane-admin', namespace: 'dev' },
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'admin' },
  subjects: [{ apiGroup: RBAC, kind: 'User', name: 'jane' }],
};
const authz = new RbacAuthorizer(
  rbacSourceOf({
    clusterRoles: [...policy.clusterRoles, binder, escalator],
    clusterRoleBindings: [...policy.clusterRoleBindings, userBinding('bob-binds', 'binder', 'bob'), userBinding('eve-escalates', 'escalator', 'eve')],
    roleBindings: [janeAdmin],
  }),
);

const user = (name: string, ...groups: string[]): UserInfo => ({ username: name, uid: '', groups: [...groups, 'system:authenticated'] });
const jane = user('jane');

function attrs(verb: string, resource: string, namespace?: string): ResourceAttributes {
  return { kind: 'resource', verb, apiGroup: RBAC, resource, ...(namespace !== undefined ? { namespace } : {}) };
}
function roleBinding(ns: string, kind: 'Role' | 'ClusterRole', role: string): KubeObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'RoleBinding', metadata: { name: 'b', namespace: ns }, roleRef: { apiGroup: RBAC, kind, name: role }, subjects: [{ kind: 'User', name: 'x', apiGroup: RBAC }] };
}
function role(ns: string, rules: PolicyRule[]): KubeObject {
  return { apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: 'r', namespace: ns }, rules };
}

describe('rbacEscalationCheck', () => {
  it('a namespace admin may bind edit and view there, not cluster-admin', () => {
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'rolebindings', 'dev'), roleBinding('dev', 'ClusterRole', 'edit'))).toEqual({ allowed: true, reason: '' });
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'rolebindings', 'dev'), roleBinding('dev', 'ClusterRole', 'view')).allowed).toBe(true);
    const d = rbacEscalationCheck(authz, jane, attrs('create', 'rolebindings', 'dev'), roleBinding('dev', 'ClusterRole', 'cluster-admin'));
    expect(d).toEqual({
      allowed: false,
      reason: 'user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    });
    // Holding edit in dev grants nothing in prod.
    expect(rbacEscalationCheck(authz, jane, attrs('update', 'rolebindings', 'prod'), roleBinding('prod', 'ClusterRole', 'view')).allowed).toBe(false);
  });

  it('a Role may grant only what the writer holds in its namespace', () => {
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'roles', 'dev'), role('dev', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] }])).allowed).toBe(true);
    const d = rbacEscalationCheck(authz, jane, attrs('patch', 'roles', 'dev'), role('dev', [{ verbs: ['get', 'delete'], apiGroups: [''], resources: ['nodes'] }]));
    expect(d.allowed).toBe(false);
    expect(d.reason.split('\n').slice(1)).toEqual(['{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}', '{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}']);
  });

  it('the bind verb on the role allows binding it without holding it', () => {
    const bob = user('bob');
    expect(rbacEscalationCheck(authz, bob, attrs('create', 'clusterrolebindings'), { ...roleBinding('', 'ClusterRole', 'cluster-admin'), kind: 'ClusterRoleBinding' }).allowed).toBe(true);
    expect(rbacEscalationCheck(authz, bob, attrs('create', 'clusterrolebindings'), { ...roleBinding('', 'ClusterRole', 'edit'), kind: 'ClusterRoleBinding' }).allowed).toBe(false);
  });

  it('the escalate verb allows writing a role with any rules', () => {
    expect(rbacEscalationCheck(authz, user('eve'), attrs('create', 'roles', 'dev'), role('dev', [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }])).allowed).toBe(true);
  });

  it('an aggregationRule needs full authority', () => {
    const aggregated: KubeObject = { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }] } };
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'clusterroles'), aggregated)).toEqual({ allowed: false, reason: 'must have cluster-admin privileges to use the aggregationRule' });
    const root = user('root', 'system:masters');
    expect(rbacEscalationCheck(authz, root, attrs('create', 'clusterroles'), aggregated).allowed).toBe(true);
  });

  it('a binding to a missing role is refused', () => {
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'rolebindings', 'dev'), roleBinding('dev', 'Role', 'nope'))).toEqual({ allowed: false, reason: 'role.rbac.authorization.k8s.io "nope" not found' });
  });

  it('ignores reads, deletes, status and other groups', () => {
    const big = roleBinding('dev', 'ClusterRole', 'cluster-admin');
    expect(rbacEscalationCheck(authz, jane, attrs('delete', 'rolebindings', 'dev'), big).allowed).toBe(true);
    expect(rbacEscalationCheck(authz, jane, { ...attrs('create', 'rolebindings', 'dev'), apiGroup: 'example.com' }, big).allowed).toBe(true);
    expect(rbacEscalationCheck(authz, jane, attrs('create', 'rolebindings', 'dev'), undefined).allowed).toBe(true);
  });
});

describe('ruleCovers', () => {
  const sub = (r: PolicyRule): PolicyRule => r;
  it.each<[string, PolicyRule, PolicyRule, boolean]>([
    ['same rule', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }), true],
    ['star verb', { verbs: ['*'], apiGroups: [''], resources: ['pods'] }, sub({ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }), true],
    ['other group', { verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['pods'] }), false],
    ['pods/* covers a subresource', { verbs: ['get'], apiGroups: [''], resources: ['pods/*'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }), true],
    ['pods does not cover pods/log', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['pods/log'] }), false],
    ['names: owner unrestricted', { verbs: ['get'], apiGroups: [''], resources: ['cm'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['cm'], resourceNames: ['a'] }), true],
    ['names: owner restricted, servant not', { verbs: ['get'], apiGroups: [''], resources: ['cm'], resourceNames: ['a'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['cm'] }), false],
    ['names: same name', { verbs: ['get'], apiGroups: [''], resources: ['cm'], resourceNames: ['a'] }, sub({ verbs: ['get'], apiGroups: [''], resources: ['cm'], resourceNames: ['a'] }), true],
    ['url prefix', { verbs: ['get'], nonResourceURLs: ['/apis/*'] }, sub({ verbs: ['get'], nonResourceURLs: ['/apis/apps'] }), true],
    ['url other', { verbs: ['get'], nonResourceURLs: ['/healthz'] }, sub({ verbs: ['get'], nonResourceURLs: ['/metrics'] }), false],
  ])('%s', (_name, owner, servant, want) => {
    expect(ruleCovers(owner, servant)).toBe(want);
  });

  it('breakdown splits a rule into single permissions', () => {
    expect(breakdown({ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'], resourceNames: ['a', 'b'] })).toHaveLength(4);
    expect(breakdown({ verbs: ['get'], nonResourceURLs: ['/a', '/b'] })).toEqual([
      { verbs: ['get'], nonResourceURLs: ['/a'] },
      { verbs: ['get'], nonResourceURLs: ['/b'] },
    ]);
  });
});
