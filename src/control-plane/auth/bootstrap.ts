/**
 * bootstrap: the built-in RBAC policy the apiserver creates at start when absent — Kubernetes'
 * default roles (cluster-admin, admin/edit/view by aggregation, discovery, basic-user,
 * public-info-viewer, monitoring) and the roles of raftkube's own components (scheduler,
 * controller manager, node agents), each bound to the identity tokens.ts gives that component.
 *
 * Rules follow Kubernetes' bootstrap policy, trimmed to resources that exist or that kubectl
 * users expect to see; every object is labelled kubernetes.io/bootstrapping=rbac-defaults.
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { KubeObject } from '../api/types.js';
import { CONTROLLER_MANAGER_USER, NODES_GROUP, SCHEDULER_USER } from './tokens.js';

/** BootstrapPolicy is the built-in RBAC objects, in the order they should be created. */
export interface BootstrapPolicy {
  readonly clusterRoles: readonly ClusterRole[];
  readonly clusterRoleBindings: readonly ClusterRoleBinding[];
  /** roles and roleBindings live in LEADER_ELECTION_NAMESPACE, which must exist first. */
  readonly roles: readonly Role[];
  readonly roleBindings: readonly RoleBinding[];
}

/** BOOTSTRAP_LABEL marks built-in RBAC objects, as Kubernetes marks its own. */
export const BOOTSTRAP_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const;

/** LEADER_ELECTION_NAMESPACE holds the scheduler's and controller manager's election Leases. */
export const LEADER_ELECTION_NAMESPACE = 'kube-system';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const AGGREGATE_TO = (role: 'admin' | 'edit' | 'view'): string => `rbac.authorization.k8s.io/aggregate-to-${role}`;

function rule(verbs: readonly string[], apiGroups: readonly string[], resources: readonly string[], resourceNames?: readonly string[]): PolicyRule {
  return { verbs: [...verbs], apiGroups: [...apiGroups], resources: [...resources], ...(resourceNames !== undefined ? { resourceNames: [...resourceNames] } : {}) };
}

function urls(verbs: readonly string[], nonResourceURLs: readonly string[]): PolicyRule {
  return { verbs: [...verbs], nonResourceURLs: [...nonResourceURLs] };
}

function meta(name: string, extraLabels: Readonly<Record<string, string>> = {}, namespace?: string): ObjectMeta {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { ...BOOTSTRAP_LABEL, ...extraLabels },
    annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
  };
}

function clusterRole(name: string, rules: readonly PolicyRule[], extra: { labels?: Record<string, string>; aggregateFrom?: string } = {}): ClusterRole {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(name, extra.labels),
    ...(extra.aggregateFrom !== undefined ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [extra.aggregateFrom]: 'true' } }] } } : {}),
    rules: [...rules],
  };
}

function user(name: string): Subject {
  return { apiGroup: RBAC_GROUP, kind: 'User', name };
}

function group(name: string): Subject {
  return { apiGroup: RBAC_GROUP, kind: 'Group', name };
}

function clusterRoleBinding(name: string, subjects: readonly Subject[]): ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(name),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: [...subjects],
  };
}

/** The read-only view of a namespace: everything but secrets and RBAC. */
const VIEW_RULES: readonly PolicyRule[] = [
  rule(READ, [''], [
    'bindings', 'configmaps', 'endpoints', 'events', 'limitranges', 'namespaces', 'namespaces/status',
    'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'pods/log', 'pods/status',
    'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status',
    'resourcequotas', 'resourcequotas/status', 'serviceaccounts', 'services', 'services/status',
  ]),
  rule(READ, ['apps'], [
    'controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status',
    'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status',
  ]),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(READ, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(READ, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
];

/** What edit adds to view: writing workloads, config and secrets (not endpoints, not RBAC). */
const EDIT_RULES: readonly PolicyRule[] = [
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(WRITE, [''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  rule(['create'], [''], ['pods/eviction', 'serviceaccounts/token']),
  rule(WRITE, [''], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
  rule(READ, [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy']),
  rule(WRITE, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
  rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(WRITE, ['batch'], ['cronjobs', 'jobs']),
  rule(WRITE, ['policy'], ['poddisruptionbudgets']),
  rule(WRITE, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
];

/** What admin adds to edit: RBAC inside the namespace. */
const ADMIN_RULES: readonly PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule([...READ, ...WRITE], [RBAC_GROUP], ['rolebindings', 'roles']),
];

const EVENTS_WRITE: readonly PolicyRule[] = [
  rule(['create', 'patch', 'update'], [''], ['events']),
  rule(['create', 'patch', 'update'], ['events.k8s.io'], ['events']),
];

const DELEGATED_AUTH: readonly PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
];

/** The scheduler: watch pods and nodes, bind pods, preempt, report, elect a leader. */
const SCHEDULER_RULES: readonly PolicyRule[] = [
  ...EVENTS_WRITE,
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
  rule(READ, [''], ['nodes', 'namespaces', 'services', 'replicationcontrollers', 'persistentvolumeclaims', 'persistentvolumes']),
  rule([...READ, 'delete'], [''], ['pods']),
  rule(['create'], [''], ['bindings', 'pods/binding']),
  rule(['patch', 'update'], [''], ['pods/status']),
  rule(READ, ['apps'], ['replicasets', 'statefulsets']),
  rule(READ, ['policy'], ['poddisruptionbudgets']),
  rule(READ, ['storage.k8s.io'], ['csidrivers', 'csinodes', 'csistoragecapacities', 'storageclasses']),
  ...DELEGATED_AUTH,
];

/**
 * The controller manager runs every controller under one identity, so its role is the union of
 * what Kubernetes grants its per-controller service accounts: reading everything (informers,
 * quota), updating, patching and deleting anything (the garbage collector removes dependents and
 * finalizers; the namespace controller empties namespaces), and creating the objects controllers
 * make — pods, replica sets, endpoints, service accounts and their secrets, events.
 */
const CONTROLLER_MANAGER_RULES: readonly PolicyRule[] = [
  ...EVENTS_WRITE,
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
  rule(READ, ['*'], ['*']),
  rule(['update', 'patch', 'delete', 'deletecollection'], ['*'], ['*']),
  rule(['create'], [''], ['pods', 'endpoints', 'serviceaccounts', 'serviceaccounts/token', 'secrets', 'configmaps']),
  rule(['create'], ['apps'], ['replicasets', 'controllerrevisions']),
  rule(['create'], ['discovery.k8s.io'], ['endpointslices']),
  ...DELEGATED_AUTH,
];

/**
 * A node agent: register and update nodes, renew leases, read what its pods need, write their
 * status. This role alone would let a node touch other nodes' objects; node-restriction.ts
 * narrows it to the node's own (Kubernetes' Node authorizer and NodeRestriction admission).
 */
const NODE_RULES: readonly PolicyRule[] = [
  ...DELEGATED_AUTH,
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule([...READ, 'create', 'update', 'patch', 'delete'], [''], ['nodes']),
  rule(['patch', 'update'], [''], ['nodes/status']),
  ...EVENTS_WRITE,
  rule([...READ, 'create', 'delete'], [''], ['pods']),
  rule(['patch', 'update'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(READ, [''], ['services', 'endpoints', 'configmaps', 'secrets']),
  rule(READ, ['discovery.k8s.io'], ['endpointslices']),
  rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
  rule(['patch', 'update'], [''], ['persistentvolumeclaims/status']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
];

/** The leases a component elects its leader with, in LEADER_ELECTION_NAMESPACE. */
const LEADER_LOCKING_RULES: readonly PolicyRule[] = [rule([...READ, 'create', 'update', 'patch'], ['coordination.k8s.io'], ['leases'])];

/** bootstrapPolicy builds the built-in RBAC objects (fresh copies on each call). */
export function bootstrapPolicy(): BootstrapPolicy {
  const clusterRoles: ClusterRole[] = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('admin', [], { aggregateFrom: AGGREGATE_TO('admin') }),
    clusterRole('edit', [], { labels: { [AGGREGATE_TO('admin')]: 'true' }, aggregateFrom: AGGREGATE_TO('edit') }),
    clusterRole('view', [], { labels: { [AGGREGATE_TO('edit')]: 'true' }, aggregateFrom: AGGREGATE_TO('view') }),
    clusterRole('system:aggregate-to-admin', ADMIN_RULES, { labels: { [AGGREGATE_TO('admin')]: 'true' } }),
    clusterRole('system:aggregate-to-edit', EDIT_RULES, { labels: { [AGGREGATE_TO('edit')]: 'true' } }),
    clusterRole('system:aggregate-to-view', VIEW_RULES, { labels: { [AGGREGATE_TO('view')]: 'true' } }),
    clusterRole('system:discovery', [urls(['get'], ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:monitoring', [urls(['get'], ['/healthz', '/healthz/*', '/livez', '/livez/*', '/metrics', '/metrics/slis', '/readyz', '/readyz/*'])]),
    clusterRole('system:public-info-viewer', [urls(['get'], ['/healthz', '/livez', '/readyz', '/version', '/version/'])]),
    clusterRole('system:kube-scheduler', SCHEDULER_RULES),
    clusterRole('system:kube-controller-manager', CONTROLLER_MANAGER_RULES),
    clusterRole('system:node', NODE_RULES),
  ];
  const clusterRoleBindings: ClusterRoleBinding[] = [
    clusterRoleBinding('cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:monitoring', [group('system:monitoring')]),
    clusterRoleBinding('system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    clusterRoleBinding('system:kube-scheduler', [user(SCHEDULER_USER)]),
    clusterRoleBinding('system:kube-controller-manager', [user(CONTROLLER_MANAGER_USER)]),
    clusterRoleBinding('system:node', [group(NODES_GROUP)]),
  ];
  const leaderLocking: readonly (readonly [string, string])[] = [
    ['system::leader-locking-kube-scheduler', SCHEDULER_USER],
    ['system::leader-locking-kube-controller-manager', CONTROLLER_MANAGER_USER],
  ];
  const roles: Role[] = leaderLocking.map(([name]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(name, {}, LEADER_ELECTION_NAMESPACE),
    rules: [...LEADER_LOCKING_RULES],
  }));
  const roleBindings: RoleBinding[] = leaderLocking.map(([name, who]) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(name, {}, LEADER_ELECTION_NAMESPACE),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name },
    subjects: [user(who)],
  }));
  return { clusterRoles, clusterRoleBindings, roles, roleBindings };
}

/**
 * bootstrapObjects is bootstrapPolicy as KubeObjects in creation order: roles before the
 * bindings that reference them. The apiserver creates each one that does not exist yet and
 * leaves existing ones alone, so a restart (or a second master) changes nothing.
 */
export function bootstrapObjects(): KubeObject[] {
  const p = bootstrapPolicy();
  return [...p.clusterRoles, ...p.roles, ...p.clusterRoleBindings, ...p.roleBindings].map(toKubeObject);
}

function toKubeObject(o: ClusterRole | ClusterRoleBinding | Role | RoleBinding): KubeObject {
  const { apiVersion, kind, metadata, ...rest } = o;
  if (apiVersion === undefined || kind === undefined || metadata === undefined) throw new Error('Bootstrap object without apiVersion, kind or metadata; fix bootstrapPolicy');
  return { apiVersion, kind, metadata, ...rest };
}
