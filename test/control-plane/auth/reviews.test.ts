// Self-subject reviews as `kubectl auth can-i` sends them.
import type { RoleBinding } from 'kubernetes-types/rbac/v1.js';
import { describe, expect, it } from 'vitest';
import { bootstrapPolicy } from '../../../src/control-plane/auth/bootstrap.js';
import { RbacAuthorizer, rbacSourceOf } from '../../../src/control-plane/auth/rbac.js';
import { answerReview, selfSubjectAccessReview, selfSubjectReview, selfSubjectRulesReview, selfSubjectRulesReviewFromBody } from '../../../src/control-plane/auth/reviews.js';
import type { UserInfo } from '../../../src/control-plane/apiserver/registry-api.js';

const policy = bootstrapPolicy();
const janeViews: RoleBinding = {
  metadata: { name: 'jane-view', namespace: 'dev' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'jane' }],
};
const janeReadsCm: RoleBinding = {
  metadata: { name: 'jane-cm', namespace: 'dev' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'jane' }],
};
const source = rbacSourceOf({
  clusterRoles: policy.clusterRoles,
  clusterRoleBindings: policy.clusterRoleBindings,
  roles: [{ metadata: { name: 'cm', namespace: 'dev' }, rules: [{ verbs: ['get', 'update'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] }] }],
  roleBindings: [janeViews, janeReadsCm],
});
const authz = new RbacAuthorizer(source);
const jane: UserInfo = { username: 'jane', uid: 'u', groups: ['system:authenticated'] };
const admin: UserInfo = { username: 'admin', uid: 'a', groups: ['system:masters', 'system:authenticated'] };

/** ssar is the body kubectl 1.32 sends for `auth can-i`. */
function ssar(spec: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status: { allowed: false } };
}

describe('selfSubjectAccessReview', () => {
  it('allows with the reason (kubectl auth can-i list pods -n dev)', () => {
    const spec = { resourceAttributes: { namespace: 'dev', verb: 'list', resource: 'pods' } };
    expect(selfSubjectAccessReview(authz, jane, ssar(spec))).toEqual({
      ok: true,
      value: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        metadata: { creationTimestamp: null },
        spec,
        status: { allowed: true, reason: 'RBAC: allowed by RoleBinding "jane-view/dev" of ClusterRole "view" to User "jane"' },
      },
    });
  });

  it('denies without a reason, and checks groups, subresources and names', () => {
    const status = (spec: Record<string, unknown>): unknown => {
      const r = selfSubjectAccessReview(authz, jane, ssar(spec));
      return r.ok ? r.value['status'] : r.error;
    };
    expect(status({ resourceAttributes: { namespace: 'dev', verb: 'delete', resource: 'pods', name: 'p' } })).toEqual({ allowed: false });
    expect(status({ resourceAttributes: { namespace: 'prod', verb: 'list', resource: 'pods' } })).toEqual({ allowed: false });
    expect(status({ resourceAttributes: { namespace: 'dev', verb: 'get', group: 'apps', version: 'v1', resource: 'deployments', subresource: 'scale', name: 'web' } })).toMatchObject({ allowed: true });
    expect(status({ resourceAttributes: { namespace: 'dev', verb: 'update', resource: 'configmaps', name: 'settings' } })).toMatchObject({ allowed: true });
    expect(status({ resourceAttributes: { namespace: 'dev', verb: 'update', resource: 'configmaps', name: 'other' } })).toEqual({ allowed: false });
    expect(status({ resourceAttributes: { verb: '*', group: '*', resource: '*' } })).toEqual({ allowed: false });
  });

  it('answers non-resource questions (kubectl auth can-i get /healthz)', () => {
    const r = selfSubjectAccessReview(authz, jane, ssar({ nonResourceAttributes: { path: '/healthz', verb: 'get' } }));
    expect(r.ok && r.value['status']).toMatchObject({ allowed: true });
    const logs = selfSubjectAccessReview(authz, jane, ssar({ nonResourceAttributes: { path: '/logs', verb: 'get' } }));
    expect(logs.ok && logs.value['status']).toEqual({ allowed: false });
  });

  it('lets system:masters do anything, as kubectl auth can-i \'*\' \'*\' asks', () => {
    const r = selfSubjectAccessReview(authz, admin, ssar({ resourceAttributes: { verb: '*', group: '*', resource: '*' } }));
    expect(r.ok && r.value['status']).toEqual({ allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"' });
  });

  it.each<[unknown, RegExp]>([
    [null, /^The request body must be a SelfSubjectAccessReview object/],
    [{ kind: 'SelfSubjectRulesReview', spec: {} }, /^kind: Invalid value: "SelfSubjectRulesReview": must be SelfSubjectAccessReview/],
    [{ apiVersion: 'v1', spec: {} }, /^apiVersion: Invalid value/],
    [{ spec: [] }, /^spec: Invalid value: must be an object/],
    [{ spec: {} }, /exactly one of nonResourceAttributes or resourceAttributes must be specified/],
    [{ spec: { resourceAttributes: { verb: 'get', resource: 'pods' }, nonResourceAttributes: { path: '/', verb: 'get' } } }, /exactly one of/],
    [{ spec: { resourceAttributes: { resource: 'pods' } } }, /^spec\.resourceAttributes\.verb: Required value/],
    [{ spec: { resourceAttributes: { verb: 'get' } } }, /^spec\.resourceAttributes\.resource: Required value/],
    [{ spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 7 } } }, /^spec\.resourceAttributes\.namespace: Invalid value: must be a string/],
    [{ spec: { nonResourceAttributes: { verb: 'get' } } }, /^spec\.nonResourceAttributes\.path: Required value/],
  ])('refuses %j', (body, message) => {
    const r = selfSubjectAccessReview(authz, jane, body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
});

describe('selfSubjectRulesReview', () => {
  it('lists namespace and cluster-wide rules, resource and non-resource apart', () => {
    const review = selfSubjectRulesReview(source, jane, 'dev');
    expect(review).toMatchObject({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'dev' } });
    const status = review['status'] as { resourceRules: Record<string, unknown>[]; nonResourceRules: Record<string, unknown>[]; incomplete: boolean };
    expect(status.incomplete).toBe(false);
    // From system:basic-user (cluster-wide), from view (aggregated, via the RoleBinding) and the Role.
    expect(status.resourceRules).toContainEqual({ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] });
    expect(status.resourceRules).toContainEqual({ verbs: ['get', 'list', 'watch'], apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] });
    expect(status.resourceRules).toContainEqual({ verbs: ['get', 'update'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] });
    expect(status.nonResourceRules).toContainEqual({ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] });
    for (const r of status.nonResourceRules) expect(r['resources']).toBeUndefined();

    const elsewhere = selfSubjectRulesReview(source, jane, 'prod')['status'] as { resourceRules: unknown[] };
    expect(elsewhere.resourceRules).toEqual([
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
    ]);
  });

  it('marks the answer incomplete when a binding names a missing role', () => {
    const broken = rbacSourceOf({ roleBindings: [{ ...janeReadsCm, roleRef: { ...janeReadsCm.roleRef, name: 'gone' } }] });
    expect(selfSubjectRulesReview(broken, jane, 'dev')['status']).toEqual({
      resourceRules: [],
      nonResourceRules: [],
      incomplete: true,
      evaluationError: 'role.rbac.authorization.k8s.io "gone" not found',
    });
  });

  it('decodes the body kubectl sends', () => {
    const r = selfSubjectRulesReviewFromBody(source, jane, { kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec: { namespace: 'dev' } });
    expect(r.ok && r.value['spec']).toEqual({ namespace: 'dev' });
    expect(r.ok && r.value.metadata).toEqual({ creationTimestamp: null });
    const bad = selfSubjectRulesReviewFromBody(source, jane, { spec: { namespace: 3 } });
    expect(bad).toEqual({ ok: false, error: 'spec.namespace: Invalid value: must be a string; give the namespace to list rules in' });
  });
});

describe('selfSubjectReview', () => {
  it('reports the caller, leaving out an empty uid', () => {
    expect(selfSubjectReview(jane)).toEqual({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: {}, status: { userInfo: { username: 'jane', uid: 'u', groups: ['system:authenticated'] } } });
    expect(selfSubjectReview({ username: 'x', uid: '', groups: [] })['status']).toEqual({ userInfo: { username: 'x', groups: [] } });
  });
});

describe('answerReview', () => {
  it('answers each review by its plural, from decoded JSON or raw JSON bytes', () => {
    const spec = { resourceAttributes: { namespace: 'dev', verb: 'list', resource: 'pods' } };
    expect(answerReview(authz, jane, 'selfsubjectaccessreviews', ssar(spec))).toMatchObject({ ok: true, value: { status: { allowed: true } } });
    expect(answerReview(authz, jane, 'selfsubjectaccessreviews', Buffer.from(JSON.stringify(ssar(spec))))).toMatchObject({ ok: true, value: { status: { allowed: true } } });
    expect(answerReview(authz, jane, 'selfsubjectrulesreviews', { spec: { namespace: 'dev' } })).toMatchObject({ ok: true, value: { kind: 'SelfSubjectRulesReview', status: { incomplete: false } } });
    expect(answerReview(authz, jane, 'selfsubjectreviews', Buffer.from(''))).toMatchObject({ ok: true, value: { status: { userInfo: { username: 'jane' } } } });
  });

  it('refuses bad bytes and unknown reviews', () => {
    expect(answerReview(authz, jane, 'selfsubjectaccessreviews', Buffer.from('{'))).toMatchObject({ ok: false });
    expect(answerReview(authz, jane, 'subjectaccessreviews', {})).toMatchObject({ ok: false, error: expect.stringMatching(/^subjectaccessreviews is not a review this apiserver answers/) as unknown });
  });
});
