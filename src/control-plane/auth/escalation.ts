/**
 * escalation: RBAC's guard against privilege escalation through RBAC itself, as Kubernetes
 * applies it to writes of roles and bindings. Without it, anyone allowed to write RoleBindings
 * (the `admin` role in a namespace, say) could bind themselves to cluster-admin.
 *
 * - Writing a Role or ClusterRole: the writer must already hold every permission the role
 *   grants (in that namespace, or cluster-wide for a ClusterRole), or be allowed the `escalate`
 *   verb on it. An aggregationRule needs full authority.
 * - Writing a RoleBinding or ClusterRoleBinding: the writer must be allowed the `bind` verb on
 *   the referenced role, or already hold every permission that role grants.
 * - Members of a privileged group (system:masters) may do either.
 */
import type { ClusterRole, PolicyRule, Role, RoleBinding, RoleRef } from 'kubernetes-types/rbac/v1.js';
import type { KubeObject } from '../api/types.js';
import type { UserInfo } from '../apiserver/registry-api.js';
import type { Decision, RbacAuthorizer, ResourceAttributes } from './rbac.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const ALLOWED: Decision = { allowed: true, reason: '' };

/** FULL_AUTHORITY is every permission there is (what cluster-admin holds). */
const FULL_AUTHORITY: readonly PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/**
 * rbacEscalationCheck decides whether `user` may write the RBAC object `incoming` (as it would
 * be stored, after any patch); requests that do not create or change a role or binding are
 * allowed. A denial's reason is Kubernetes' wording, for admissionForbidden.
 */
export function rbacEscalationCheck(authz: RbacAuthorizer, user: UserInfo, attrs: ResourceAttributes, incoming: KubeObject | undefined): Decision {
  if (attrs.apiGroup !== RBAC_GROUP || (attrs.subresource ?? '') !== '') return ALLOWED;
  if (attrs.verb !== 'create' && attrs.verb !== 'update' && attrs.verb !== 'patch') return ALLOWED;
  if (incoming === undefined || authz.isPrivileged(user)) return ALLOWED;
  const namespace = attrs.namespace ?? '';
  switch (attrs.resource) {
    case 'roles':
    case 'clusterroles': {
      const role = incoming as unknown as Role & ClusterRole;
      if (authz.authorize(user, { ...attrs, verb: 'escalate', name: role.metadata?.name ?? attrs.name ?? '' }).allowed) return ALLOWED;
      if (attrs.resource === 'clusterroles' && role.aggregationRule !== undefined) {
        return notCovered(authz, user, '', FULL_AUTHORITY) === undefined ? ALLOWED : { allowed: false, reason: 'must have cluster-admin privileges to use the aggregationRule' };
      }
      const missing = notCovered(authz, user, attrs.resource === 'roles' ? namespace : '', role.rules ?? []);
      return missing === undefined ? ALLOWED : { allowed: false, reason: missing };
    }
    case 'rolebindings':
    case 'clusterrolebindings': {
      const ref = (incoming as unknown as RoleBinding).roleRef as RoleRef | undefined;
      if (ref === undefined) return ALLOWED; // validation refuses a binding without roleRef
      const bindNamespace = attrs.resource === 'rolebindings' ? namespace : '';
      const bind: ResourceAttributes = {
        kind: 'resource',
        verb: 'bind',
        apiGroup: RBAC_GROUP,
        resource: ref.kind === 'Role' ? 'roles' : 'clusterroles',
        name: ref.name,
        ...(bindNamespace !== '' ? { namespace: bindNamespace } : {}),
      };
      if (authz.authorize(user, bind).allowed) return ALLOWED;
      const rules = authz.roleRules(ref, bindNamespace);
      if (!rules.ok) return { allowed: false, reason: rules.error };
      const missing = notCovered(authz, user, bindNamespace, rules.value);
      return missing === undefined ? ALLOWED : { allowed: false, reason: missing };
    }
    default:
      return ALLOWED;
  }
}

/** notCovered describes the rules the user does not hold, or is undefined when it holds them all. */
function notCovered(authz: RbacAuthorizer, user: UserInfo, namespace: string, wanted: readonly PolicyRule[]): string | undefined {
  const owned = authz.rulesFor(user, namespace).rules;
  const missing = wanted.flatMap(breakdown).filter((rule) => !owned.some((o) => ruleCovers(o, rule)));
  if (missing.length === 0) return undefined;
  return `user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${missing.map(describeRule).join('\n')}`;
}

/**
 * breakdown splits a rule into rules of one verb, one group, one resource and at most one name
 * (or one verb and one URL), so that each can be checked against the owner's rules alone.
 */
export function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs) {
    for (const apiGroup of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ verbs: [verb], apiGroups: [apiGroup], resources: [resource] });
        for (const name of names) out.push({ verbs: [verb], apiGroups: [apiGroup], resources: [resource], resourceNames: [name] });
      }
    }
    for (const url of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
  }
  return out;
}

/** ruleCovers says whether the owner's rule grants everything `sub` (a broken-down rule) grants. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  if (!coversAll(owner.verbs, sub.verbs)) return false;
  const urls = sub.nonResourceURLs ?? [];
  if (urls.length > 0) return urls.every((u) => (owner.nonResourceURLs ?? []).some((o) => o === '*' || o === u || (o.endsWith('*') && u.startsWith(o.slice(0, -1)))));
  if (!coversAll(owner.apiGroups ?? [], sub.apiGroups ?? [])) return false;
  if (!resourcesCover(owner.resources ?? [], sub.resources ?? [])) return false;
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  return ownerNames.length === 0 || (subNames.length > 0 && subNames.every((n) => ownerNames.includes(n)));
}

function coversAll(owner: readonly string[], wanted: readonly string[]): boolean {
  return owner.includes('*') || wanted.every((w) => owner.includes(w));
}

/** resourcesCover: '*' covers all; 'pods/*' covers every subresource of pods. */
function resourcesCover(owner: readonly string[], wanted: readonly string[]): boolean {
  if (owner.includes('*')) return true;
  return wanted.every((w) => {
    if (owner.includes(w)) return true;
    const slash = w.indexOf('/');
    return slash > 0 && owner.includes(`${w.slice(0, slash)}/*`);
  });
}

function describeRule(rule: PolicyRule): string {
  const parts: string[] = [];
  const list = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
  if ((rule.apiGroups ?? []).length > 0) parts.push(`APIGroups:${list(rule.apiGroups ?? [])}`);
  if ((rule.resources ?? []).length > 0) parts.push(`Resources:${list(rule.resources ?? [])}`);
  if ((rule.resourceNames ?? []).length > 0) parts.push(`ResourceNames:${list(rule.resourceNames ?? [])}`);
  if ((rule.nonResourceURLs ?? []).length > 0) parts.push(`NonResourceURLs:${list(rule.nonResourceURLs ?? [])}`);
  parts.push(`Verbs:${list(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}
