/**
 * rbac: Kubernetes' RBAC authorizer over the rbac.authorization.k8s.io/v1 objects. A request is
 * allowed when some binding that names the user (or one of its groups, or its service account)
 * references a role with a rule that covers the request; RBAC only ever grants, it never denies.
 *
 * The objects come from an `RbacSource` (the apiserver's caches); nothing is cached here, so a
 * change to a binding takes effect on the next request. Aggregated ClusterRoles (admin, edit,
 * view) are resolved on the fly from the ClusterRoles their selectors match, as Kubernetes'
 * aggregation controller would have written them.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject } from 'kubernetes-types/rbac/v1.js';
import type { ApiError, UserInfo } from '../apiserver/registry-api.js';

/** RbacSource hands the authorizer the RBAC objects as they are now. */
export interface RbacSource {
  roles(namespace: string): readonly Role[];
  roleBindings(namespace: string): readonly RoleBinding[];
  clusterRoles(): readonly ClusterRole[];
  clusterRoleBindings(): readonly ClusterRoleBinding[];
}

/** RbacObjects are RBAC objects held in plain lists. */
export interface RbacObjects {
  readonly roles?: readonly Role[];
  readonly roleBindings?: readonly RoleBinding[];
  readonly clusterRoles?: readonly ClusterRole[];
  readonly clusterRoleBindings?: readonly ClusterRoleBinding[];
}

/**
 * rbacSourceOf serves fixed lists as an RbacSource (tests, and the bootstrap policy before the
 * apiserver's caches have synced); namespaced objects are filtered by metadata.namespace.
 */
export function rbacSourceOf(objects: RbacObjects): RbacSource {
  const inNamespace = <T extends { metadata?: { namespace?: string } }>(list: readonly T[] | undefined, ns: string): readonly T[] =>
    (list ?? []).filter((o) => o.metadata?.namespace === ns);
  return {
    roles: (ns) => inNamespace(objects.roles, ns),
    roleBindings: (ns) => inNamespace(objects.roleBindings, ns),
    clusterRoles: () => objects.clusterRoles ?? [],
    clusterRoleBindings: () => objects.clusterRoleBindings ?? [],
  };
}

/**
 * ResourceAttributes describe a request on an API resource. `verb` is an RBAC verb: get, list,
 * watch, create, update, patch, delete, deletecollection, or a special one (bind, escalate,
 * impersonate, use). A cluster-scoped request has no namespace; a collection request no name.
 */
export interface ResourceAttributes {
  readonly kind: 'resource';
  readonly verb: string;
  /** apiGroup is '' for the core group. */
  readonly apiGroup: string;
  /** resource is the plural name, e.g. 'pods'. */
  readonly resource: string;
  /** subresource is e.g. 'status', 'binding', 'scale'. */
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** NonResourceAttributes describe a request on a path outside the resource API (/healthz, /api). */
export interface NonResourceAttributes {
  readonly kind: 'nonResource';
  /** verb is the lower-case HTTP method: get, post, put, ... */
  readonly verb: string;
  readonly path: string;
}

/** RequestAttributes are what an authorizer decides on. */
export type RequestAttributes = ResourceAttributes | NonResourceAttributes;

/**
 * Decision is an authorizer's answer. `reason` says which binding allowed the request, or, when
 * denied, what went wrong while looking (a missing role); it is '' for a plain denial.
 */
export type Decision = { readonly allowed: true; readonly reason: string } | { readonly allowed: false; readonly reason: string };

/** Authorizer decides whether a user may make a request. */
export interface Authorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): Decision;
}

/** RbacAuthorizerOptions tune the authorizer. */
export interface RbacAuthorizerOptions {
  /**
   * privilegedGroups may do anything even without bindings, as Kubernetes' system:masters
   * (whose bootstrap binding could be deleted by mistake). Default ['system:masters'].
   */
  readonly privilegedGroups?: readonly string[];
}

/** RulesForResult are the rules that apply to a user in a namespace, and what could not be resolved. */
export interface RulesForResult {
  readonly rules: readonly PolicyRule[];
  /** errors name bindings whose role is missing; the rules are then incomplete. */
  readonly errors: readonly string[];
}

/** RbacAuthorizer implements Kubernetes' RBAC authorization over an RbacSource. */
export class RbacAuthorizer implements Authorizer {
  readonly #source: RbacSource;
  readonly #privileged: readonly string[];

  constructor(source: RbacSource, opts: RbacAuthorizerOptions = {}) {
    this.#source = source;
    this.#privileged = opts.privilegedGroups ?? ['system:masters'];
  }

  /** authorize allows the request when a binding of the user grants a rule that covers it. */
  authorize(user: UserInfo, attrs: RequestAttributes): Decision {
    const errors: string[] = [];
    const granted = this.#visit(user, attrs.kind === 'resource' ? attrs.namespace ?? '' : '', errors, (rule) => ruleAllows(rule, attrs));
    if (granted !== undefined) return { allowed: true, reason: `RBAC: allowed by ${granted}` };
    const privileged = user.groups.find((g) => this.#privileged.includes(g));
    if (privileged !== undefined) return { allowed: true, reason: `Allowed to members of the privileged group "${privileged}"` };
    return { allowed: false, reason: errors.length > 0 ? `RBAC: ${errors.join(', ')}` : '' };
  }

  /**
   * roleRules resolves a binding's roleRef (a Role in `namespace`, or a ClusterRole, aggregated
   * if need be) to its rules; an error names the missing role.
   */
  roleRules(ref: RoleRef, namespace: string): { ok: true; value: readonly PolicyRule[] } | { ok: false; error: string } {
    return new RoleResolver(this.#source).rulesOf(ref, namespace);
  }

  /** isPrivileged says the user is in a privileged group (system:masters), which RBAC never limits. */
  isPrivileged(user: UserInfo): boolean {
    return user.groups.some((g) => this.#privileged.includes(g));
  }

  /**
   * rulesFor lists every rule granted to the user by ClusterRoleBindings and, when `namespace`
   * is not '', by that namespace's RoleBindings (SelfSubjectRulesReview's answer).
   */
  rulesFor(user: UserInfo, namespace: string): RulesForResult {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.#visit(user, namespace, errors, (rule) => {
      rules.push(rule);
      return false;
    });
    return { rules, errors };
  }

  /**
   * #visit walks the rules bound to the user — ClusterRoleBindings first, then the namespace's
   * RoleBindings — until `visitor` returns true, and describes the binding that held that rule.
   */
  #visit(user: UserInfo, namespace: string, errors: string[], visitor: (rule: PolicyRule) => boolean): string | undefined {
    const resolver = new RoleResolver(this.#source);
    for (const crb of this.#source.clusterRoleBindings()) {
      const subject = (crb.subjects ?? []).find((s) => appliesTo(user, s, ''));
      if (subject === undefined) continue;
      const rules = resolver.rulesOf(crb.roleRef, '');
      if (!rules.ok) {
        errors.push(rules.error);
        continue;
      }
      if (rules.value.some(visitor)) return `ClusterRoleBinding "${crb.metadata?.name ?? ''}" of ${crb.roleRef.kind} "${crb.roleRef.name}" to ${describeSubject(subject, '')}`;
    }
    if (namespace === '') return undefined;
    for (const rb of this.#source.roleBindings(namespace)) {
      const subject = (rb.subjects ?? []).find((s) => appliesTo(user, s, namespace));
      if (subject === undefined) continue;
      const rules = resolver.rulesOf(rb.roleRef, namespace);
      if (!rules.ok) {
        errors.push(rules.error);
        continue;
      }
      if (rules.value.some(visitor)) return `RoleBinding "${rb.metadata?.name ?? ''}/${namespace}" of ${rb.roleRef.kind} "${rb.roleRef.name}" to ${describeSubject(subject, namespace)}`;
    }
    return undefined;
  }
}

/**
 * RoleResolver finds a binding's rules, resolving aggregated ClusterRoles, once per request.
 */
class RoleResolver {
  readonly #source: RbacSource;
  #clusterRoles: Map<string, ClusterRole> | undefined;
  readonly #effective = new Map<string, readonly PolicyRule[]>();

  constructor(source: RbacSource) {
    this.#source = source;
  }

  rulesOf(ref: RoleRef, namespace: string): { ok: true; value: readonly PolicyRule[] } | { ok: false; error: string } {
    if (ref.kind === 'Role') {
      const role = namespace === '' ? undefined : this.#source.roles(namespace).find((r) => r.metadata?.name === ref.name);
      return role === undefined ? { ok: false, error: `role.rbac.authorization.k8s.io "${ref.name}" not found` } : { ok: true, value: role.rules ?? [] };
    }
    if (ref.kind === 'ClusterRole') {
      const rules = this.#clusterRoleRules(ref.name, new Set());
      return rules === undefined ? { ok: false, error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found` } : { ok: true, value: rules };
    }
    return { ok: false, error: `Unknown roleRef kind "${ref.kind}"; use Role or ClusterRole` };
  }

  #clusterRoleRules(name: string, visiting: Set<string>): readonly PolicyRule[] | undefined {
    const memo = this.#effective.get(name);
    if (memo !== undefined) return memo;
    const all = this.#byName();
    const role = all.get(name);
    if (role === undefined) return undefined;
    const selectors = role.aggregationRule?.clusterRoleSelectors;
    if (selectors === undefined) {
      const rules = role.rules ?? [];
      this.#effective.set(name, rules);
      return rules;
    }
    // As Kubernetes' aggregation controller: the rules become the union of the rules of every
    // other ClusterRole a selector matches (which may be aggregated themselves: admin ⊇ edit ⊇ view).
    const topLevel = visiting.size === 0;
    visiting.add(name);
    const rules: PolicyRule[] = [];
    const seen = new Set<string>();
    for (const other of all.values()) {
      const otherName = other.metadata?.name ?? '';
      if (visiting.has(otherName)) continue;
      if (!selectors.some((sel) => labelSelectorMatches(sel, other.metadata?.labels))) continue;
      for (const rule of this.#clusterRoleRules(otherName, visiting) ?? []) {
        const key = JSON.stringify(rule);
        if (seen.has(key)) continue;
        seen.add(key);
        rules.push(rule);
      }
    }
    visiting.delete(name);
    // NB: a nested result may have been cut short by a cycle (a role already being resolved is
    // skipped), so only a top-level resolution is remembered.
    if (topLevel) this.#effective.set(name, rules);
    return rules;
  }

  #byName(): Map<string, ClusterRole> {
    this.#clusterRoles ??= new Map(this.#source.clusterRoles().map((r) => [r.metadata?.name ?? '', r]));
    return this.#clusterRoles;
  }
}

/** ruleAllows says whether one policy rule covers the request. */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!matchesOrStar(rule.verbs, attrs.verb)) return false;
  if (attrs.kind === 'nonResource') return nonResourceURLMatches(rule.nonResourceURLs ?? [], attrs.path);
  if (!matchesOrStar(rule.apiGroups ?? [], attrs.apiGroup)) return false;
  if (!resourceMatches(rule.resources ?? [], attrs.resource, attrs.subresource ?? '')) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (attrs.name !== undefined && names.includes(attrs.name));
}

function matchesOrStar(values: readonly string[], wanted: string): boolean {
  return values.some((v) => v === '*' || v === wanted);
}

/** A rule's resources match 'pods', 'pods/status', '*' (anything) or '*\/status' (that subresource of anything). */
function resourceMatches(ruleResources: readonly string[], resource: string, subresource: string): boolean {
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  return ruleResources.some((r) => r === '*' || r === combined || (subresource !== '' && r.startsWith('*/') && r.slice(2) === subresource));
}

/** A rule's URLs match exactly, '*' anything, and '/prefix/*' anything that starts with '/prefix/'. */
function nonResourceURLMatches(urls: readonly string[], path: string): boolean {
  return urls.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

/** SERVICE_ACCOUNT_PREFIX starts every service account's user name. */
export const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/**
 * serviceAccountUser is the user a service account authenticates as: system:serviceaccount:<ns>:<name>
 * in groups system:serviceaccounts, system:serviceaccounts:<ns> and system:authenticated.
 */
export function serviceAccountUser(namespace: string, name: string, uid = ''): UserInfo {
  return {
    username: `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`,
    uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/**
 * appliesTo says whether a binding's subject names the user. A ServiceAccount subject without
 * a namespace means the binding's own namespace (none for a ClusterRoleBinding: no match).
 */
export function appliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace !== undefined && subject.namespace !== '' ? subject.namespace : bindingNamespace;
      if (ns === '' || subject.name === '') return false;
      return user.username === `${SERVICE_ACCOUNT_PREFIX}${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount') {
    const ns = subject.namespace !== undefined && subject.namespace !== '' ? subject.namespace : bindingNamespace;
    return `ServiceAccount "${ns}/${subject.name}"`;
  }
  return `${subject.kind} "${subject.name}"`;
}

/**
 * labelSelectorMatches evaluates a metav1.LabelSelector: every matchLabels pair and every
 * matchExpressions requirement (In, NotIn, Exists, DoesNotExist) must hold; an empty selector
 * matches everything. An unknown operator matches nothing.
 */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const value = l[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * forbiddenMessage words a denial as Kubernetes does, e.g. `pods is forbidden: User "jane" cannot
 * list resource "pods" in API group "" in the namespace "default"`, `... at the cluster scope`,
 * `deployments.apps "web" is forbidden: ...`, or `forbidden: User "jane" cannot get path "/logs"`;
 * a non-empty `reason` is appended after a colon.
 */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes, reason = ''): string {
  let detail: string;
  let prefix: string;
  if (attrs.kind === 'nonResource') {
    detail = `User "${user.username}" cannot ${attrs.verb} path "${attrs.path}"`;
    prefix = 'forbidden';
  } else {
    const resource = attrs.subresource !== undefined && attrs.subresource !== '' ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const scope = attrs.namespace !== undefined && attrs.namespace !== '' ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
    detail = `User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
    const qualified = attrs.apiGroup === '' ? attrs.resource : `${attrs.resource}.${attrs.apiGroup}`;
    prefix = attrs.name !== undefined && attrs.name !== '' ? `${qualified} "${attrs.name}" is forbidden` : `${qualified} is forbidden`;
  }
  return `${prefix}: ${detail}${reason !== '' ? `: ${reason}` : ''}`;
}

/** forbiddenError is the 403 ApiError for a denied request, with Kubernetes' message and details. */
export function forbiddenError(user: UserInfo, attrs: RequestAttributes, reason = ''): ApiError {
  const message = forbiddenMessage(user, attrs, reason);
  if (attrs.kind === 'nonResource') return { code: 403, reason: 'Forbidden', message };
  const details = attrs.name !== undefined && attrs.name !== '' ? { name: attrs.name, group: attrs.apiGroup, kind: attrs.resource } : { group: attrs.apiGroup, kind: attrs.resource };
  return { code: 403, reason: 'Forbidden', message, details };
}
