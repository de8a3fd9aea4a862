// Impersonation (kubectl --as / --as-group): allowed per user, group, uid and extra by the
// impersonate verb, and the impersonated user's groups as Kubernetes builds them.
import type { ClusterRole, ClusterRoleBinding, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { describe, expect, it } from 'vitest';
import { bootstrapPolicy } from '../../../src/control-plane/auth/bootstrap.js';
import { impersonate } from '../../../src/control-plane/auth/impersonation.js';
import { RbacAuthorizer, rbacSourceOf } from '../../../src/control-plane/auth/rbac.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

const RBAC = 'rbac.authorization.k8s.io';
const policy = bootstrapPolicy();
const userImpersonator: ClusterRole = { metadata: { name: 'impersonate-users' }, rules: [{ verbs: ['impersonate'], apiGroups: [''], resources: ['users'] }] };
const bindings: ClusterRoleBinding[] = [
  { metadata: { name: 'sam-impersonates' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'impersonate-users' }, subjects: [{ apiGroup: RBAC, kind: 'User', name: 'sam' }] },
];
const devEditor: RoleBinding = { metadata: { name: 'ed', namespace: 'dev' }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: 'edit' }, subjects: [{ apiGroup: RBAC, kind: 'User', name: 'ed' }] };
const authz = new RbacAuthorizer(
  rbacSourceOf({ clusterRoles: [...policy.clusterRoles, userImpersonator], clusterRoleBindings: [...policy.clusterRoleBindings, ...bindings], roleBindings: [devEditor] }),
);
const u = (name: string, ...groups: string[]): UserInfo => ({ username: name, uid: '', groups: [...groups, 'system:authenticated'] });
const admin = u('admin', 'system:masters');

describe('impersonate', () => {
  it('without headers, the request runs as the caller', () => {
    expect(impersonate(authz, admin, { accept: 'application/json' })).toEqual({ ok: true, value: undefined });
  });

  it('refuses groups without a user', () => {
    expect(impersonate(authz, admin, { 'impersonate-group': ['dev'] })).toMatchObject({ ok: false, error: { code: 400, reason: 'BadRequest' } });
  });

  it('an admin acts as a user with groups, who is then authenticated', () => {
    expect(impersonate(authz, admin, { 'impersonate-user': 'jane', 'impersonate-group': ['dev', 'qa'], 'impersonate-uid': 'u-1' })).toEqual({
      ok: true,
      value: { username: 'jane', uid: 'u-1', groups: ['dev', 'qa', 'system:authenticated'] },
    });
    expect(impersonate(authz, admin, { 'impersonate-user': 'system:anonymous' })).toEqual({ ok: true, value: { username: 'system:anonymous', uid: '', groups: ['system:unauthenticated'] } });
  });

  it('a service account gets its own groups', () => {
    expect(impersonate(authz, admin, { 'impersonate-user': 'system:serviceaccount:dev:builder' })).toEqual({
      ok: true,
      value: { username: 'system:serviceaccount:dev:builder', uid: '', groups: ['system:serviceaccounts', 'system:serviceaccounts:dev', 'system:authenticated'] },
    });
  });

  it('each claim needs the impersonate verb on it', () => {
    const sam = u('sam');
    expect(impersonate(authz, sam, { 'impersonate-user': 'jane' })).toMatchObject({ ok: true, value: { username: 'jane' } });
    expect(impersonate(authz, sam, { 'impersonate-user': 'jane', 'impersonate-group': 'system:masters' })).toEqual({
      ok: false,
      error: {
        code: 403,
        reason: 'Forbidden',
        message: 'groups "system:masters" is forbidden: User "sam" cannot impersonate resource "groups" in API group "" at the cluster scope',
        details: { name: 'system:masters', group: '', kind: 'groups' },
      },
    });
    expect(impersonate(authz, sam, { 'impersonate-user': 'jane', 'impersonate-extra-scopes': ['a'] })).toMatchObject({ ok: false, error: { code: 403 } });
    expect(impersonate(authz, u('jane'), { 'impersonate-user': 'admin' })).toMatchObject({
      ok: false,
      error: { message: 'users "admin" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope' },
    });
  });

  it('edit in a namespace allows impersonating that namespace\'s service accounts only', () => {
    const ed = u('ed');
    expect(impersonate(authz, ed, { 'impersonate-user': 'system:serviceaccount:dev:default' }).ok).toBe(true);
    expect(impersonate(authz, ed, { 'impersonate-user': 'system:serviceaccount:prod:default' })).toMatchObject({
      ok: false,
      error: { message: 'serviceaccounts "default" is forbidden: User "ed" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "prod"' },
    });
  });
});
