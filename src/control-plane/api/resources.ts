/**
 * resources: the table of served resources (what `kubectl api-resources` lists) and the lookups
 * the apiserver routes by — by URL (group, version, plural), by an object's apiVersion and kind,
 * and from a resource to the OpenAPI name of its kind in the schema catalogue.
 */
import type { GroupVersion, ResourceInfo, Subresource, Verb } from './types.js';

/** ALL_VERBS are the verbs of an ordinary resource, in the order discovery lists them. */
export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface ResourceSpec {
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources?: readonly Subresource[];
  readonly verbs?: readonly Verb[];
}

function resource(gv: GroupVersion, spec: ResourceSpec): ResourceInfo {
  return {
    group: gv.group,
    version: gv.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    subresources: spec.subresources ?? [],
    verbs: spec.verbs ?? ALL_VERBS,
  };
}

const CORE: GroupVersion = { group: '', version: 'v1' };
const APPS: GroupVersion = { group: 'apps', version: 'v1' };
const COORDINATION: GroupVersion = { group: 'coordination.k8s.io', version: 'v1' };
const DISCOVERY: GroupVersion = { group: 'discovery.k8s.io', version: 'v1' };
const RBAC: GroupVersion = { group: 'rbac.authorization.k8s.io', version: 'v1' };
const AUTHORIZATION: GroupVersion = { group: 'authorization.k8s.io', version: 'v1' };

/** RESOURCES is every served resource, core first, then by group as discovery lists them. */
export const RESOURCES: readonly ResourceInfo[] = [
  resource(CORE, { plural: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'] }),
  resource(CORE, { plural: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  resource(CORE, { plural: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'log', 'exec'] }),
  resource(CORE, { plural: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  resource(CORE, { plural: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] }),
  resource(CORE, { plural: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  resource(CORE, { plural: 'secrets', kind: 'Secret', namespaced: true }),
  resource(CORE, { plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] }),
  resource(CORE, { plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] }),
  resource(APPS, { plural: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  resource(APPS, { plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  resource(AUTHORIZATION, { plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'] }),
  resource(AUTHORIZATION, { plural: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', namespaced: false, verbs: ['create'] }),
  resource(RBAC, { plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false }),
  resource(RBAC, { plural: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
  resource(RBAC, { plural: 'rolebindings', kind: 'RoleBinding', namespaced: true }),
  resource(RBAC, { plural: 'roles', kind: 'Role', namespaced: true }),
  resource(COORDINATION, { plural: 'leases', kind: 'Lease', namespaced: true }),
  resource(DISCOVERY, { plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true }),
];

/** GroupVersions is one API group as discovery lists it: its versions and the preferred one. */
export interface GroupVersions {
  readonly group: string;
  readonly versions: readonly string[];
  readonly preferredVersion: string;
}

/** groupVersions lists the served groups (core first, as '') with their versions, for discovery. */
export function groupVersions(): readonly GroupVersions[] {
  const out: { group: string; versions: string[]; preferredVersion: string }[] = [];
  for (const r of RESOURCES) {
    const g = out.find((x) => x.group === r.group);
    if (g === undefined) out.push({ group: r.group, versions: [r.version], preferredVersion: r.version });
    else if (!g.versions.includes(r.version)) g.versions.push(r.version);
  }
  return out;
}

const byPath = new Map<string, ResourceInfo>(RESOURCES.map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));
const byKind = new Map<string, ResourceInfo>(RESOURCES.map((r) => [`${r.group}/${r.version}/${r.kind}`, r]));

/** findResource finds the resource served at /api(s)/<group>/<version>/<plural>; undefined if none. */
export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return byPath.get(`${group}/${version}/${plural}`);
}

/** parseApiVersion splits an apiVersion ('v1', 'apps/v1') into its group and version. */
export function parseApiVersion(apiVersion: string): GroupVersion {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** resourceByKind finds the resource of objects with this apiVersion and kind; undefined if none. */
export function resourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const gv = parseApiVersion(apiVersion);
  return byKind.get(`${gv.group}/${gv.version}/${kind}`);
}

/**
 * definitionName is the OpenAPI definition name of a kind: io.k8s.api.<group's first label>.<version>.<Kind>,
 * with 'core' for the core group and io.k8s.apimachinery.pkg.apis.meta for meta.k8s.io.
 */
export function definitionName(group: string, version: string, kind: string): string {
  if (group === 'meta.k8s.io') return `io.k8s.apimachinery.pkg.apis.meta.${version}.${kind}`;
  const short = group === '' ? 'core' : (group.split('.')[0] ?? group);
  return `io.k8s.api.${short}.${version}.${kind}`;
}

/** typeNameOf is the catalogue (OpenAPI) type name of a resource's kind, e.g. io.k8s.api.core.v1.Pod. */
export function typeNameOf(res: ResourceInfo): string {
  return definitionName(res.group, res.version, res.kind);
}

/** listTypeNameOf is the catalogue type name of a resource's list kind, e.g. io.k8s.api.core.v1.PodList. */
export function listTypeNameOf(res: ResourceInfo): string {
  return definitionName(res.group, res.version, res.listKind);
}
