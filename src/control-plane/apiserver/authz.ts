/**
 * authz: the apiserver's authorizer — RBAC evaluated over a live mirror of the cluster's Role,
 * ClusterRole, RoleBinding and ClusterRoleBinding objects (kept by watching their caches), the
 * node restriction on top for node agents, and the authorization.k8s.io reviews that
 * `kubectl auth can-i` sends.
 */
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { KubeObject, ResourceInfo, Result } from '../api/types.js';
import { admissionForbidden } from '../auth/node-restriction.js';
import { answerReview } from '../auth/reviews.js';
import { rbacEscalationCheck } from '../auth/escalation.js';
import { forbiddenMessage, RbacAuthorizer, type RbacSource, type RequestAttributes } from '../auth/rbac.js';
import type { Disposable, UserInfo } from './registry-api.js';
import type { Authorizer, Decision, ResourceAttributes } from './registry/ports.js';
import type { StoragePort } from './registry/storage-port.js';

/** NodeRestriction refines RBAC's answer for node agents (a node writes only its own objects). */
export type NodeRestriction = (user: UserInfo, attrs: RequestAttributes, target: { readonly existing?: KubeObject; readonly incoming?: KubeObject }) => { readonly allowed: boolean; readonly reason: string };

/** Reviews answer SelfSubjectAccessReview and SelfSubjectRulesReview bodies. */
export type Reviews = (user: UserInfo, res: ResourceInfo, body: unknown) => Result<KubeObject, string>;

/** RbacMirror keeps the RBAC objects in memory from the watch caches, for synchronous checks. */
export class RbacMirror implements RbacSource {
  readonly #roles = new Map<string, Role>();
  readonly #roleBindings = new Map<string, RoleBinding>();
  readonly #clusterRoles = new Map<string, ClusterRole>();
  readonly #clusterRoleBindings = new Map<string, ClusterRoleBinding>();
  readonly #watches: Disposable[] = [];

  /** start watches the four RBAC resources' caches from their current state. */
  start(storage: StoragePort, resources: readonly ResourceInfo[]): void {
    const follow = <T>(plural: string, into: Map<string, T>): void => {
      const res = resources.find((r) => r.group === 'rbac.authorization.k8s.io' && r.plural === plural);
      if (res === undefined) throw new Error(`The resource list lacks rbac.authorization.k8s.io ${plural}`);
      const w = storage.cacheFor(res).watch(
        { fromRevision: 0, sendInitialEvents: true },
        {
          event: (ev) => {
            if (ev.type === 'BOOKMARK') return;
            const key = `${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name ?? ''}`;
            if (ev.type === 'DELETED') into.delete(key);
            else into.set(key, ev.object as unknown as T);
          },
          // A closed watch (cache stopped, or this watcher fell far behind) is re-opened.
          closed: (e) => {
            if (e !== null) follow(plural, into);
          },
        },
      );
      if (w.ok) this.#watches.push(w.value);
    };
    follow('roles', this.#roles);
    follow('rolebindings', this.#roleBindings);
    follow('clusterroles', this.#clusterRoles);
    follow('clusterrolebindings', this.#clusterRoleBindings);
  }

  /** size counts the mirrored objects (readiness: the bootstrap policy is loaded). */
  get size(): number {
    return this.#roles.size + this.#roleBindings.size + this.#clusterRoles.size + this.#clusterRoleBindings.size;
  }

  roles(namespace: string): readonly Role[] {
    return [...this.#roles.values()].filter((r) => r.metadata?.namespace === namespace);
  }

  roleBindings(namespace: string): readonly RoleBinding[] {
    return [...this.#roleBindings.values()].filter((r) => r.metadata?.namespace === namespace);
  }

  clusterRoles(): readonly ClusterRole[] {
    return [...this.#clusterRoles.values()];
  }

  clusterRoleBindings(): readonly ClusterRoleBinding[] {
    return [...this.#clusterRoleBindings.values()];
  }

  stop(): void {
    for (const w of this.#watches.splice(0)) w.dispose();
  }
}

/** ApiAuthorizer is the registry's authorizer: RBAC, then the node restriction. */
export class ApiAuthorizer implements Authorizer {
  readonly rbac: RbacAuthorizer;
  readonly #node: NodeRestriction | undefined;
  readonly #reviews: Reviews | undefined;

  constructor(source: RbacSource, o: { readonly nodeRestriction?: NodeRestriction; readonly reviews?: Reviews } = {}) {
    this.rbac = new RbacAuthorizer(source);
    this.#node = o.nodeRestriction;
    this.#reviews = o.reviews;
  }

  authorize(user: UserInfo, attrs: ResourceAttributes, objects: { readonly existing?: KubeObject; readonly incoming?: KubeObject } = {}): Decision {
    const a = { kind: 'resource' as const, ...attrs };
    const d = this.rbac.authorize(user, a);
    if (!d.allowed) return { allowed: false, message: forbiddenMessage(user, a, d.reason) };
    // Granting permissions through RBAC objects needs those permissions (or escalate/bind).
    const esc = rbacEscalationCheck(this.rbac, user, a, objects.incoming);
    if (!esc.allowed) return { allowed: false, message: forbiddenMessage(user, a, esc.reason) };
    if (this.#node !== undefined) {
      const n = this.#node(user, a, objects);
      if (!n.allowed) return { allowed: false, message: admissionForbidden(a, n.reason).message };
    }
    return { allowed: true };
  }

  /** authorizeNonResource decides on a path outside the resource API (discovery, health). */
  authorizeNonResource(user: UserInfo, verb: string, path: string): boolean {
    return this.rbac.authorize(user, { kind: 'nonResource', verb, path }).allowed;
  }

  review(user: UserInfo, res: ResourceInfo, body: unknown): Result<KubeObject, string> {
    if (this.#reviews !== undefined) return this.#reviews(user, res, body);
    return answerReview(this.rbac, user, res.plural, body);
  }
}
