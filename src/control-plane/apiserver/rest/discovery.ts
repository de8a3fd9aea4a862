/**
 * discovery: the documents kubectl reads to learn what the server serves — APIVersions (/api),
 * APIGroupList (/apis), APIGroup (/apis/<g>), APIResourceList (/api/v1, /apis/<g>/<v>), and
 * the aggregated form (apidiscovery.k8s.io/v2 APIGroupDiscoveryList) that answers /api or /apis
 * in one request.
 */
import type { GroupVersion, ResourceInfo, Subresource, Verb } from '../../api/types.js';
import { apiVersionOf } from '../../api/types.js';

/** AGGREGATED_DISCOVERY_CONTENT_TYPE is the Content-Type of an aggregated discovery answer. */
export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface SubresourceShape {
  readonly kind: string;
  readonly group?: string;
  readonly version?: string;
  readonly verbs: readonly Verb[] | readonly string[];
}

/** subresourceShape is what a subresource returns and accepts, as discovery advertises it. */
export function subresourceShape(res: ResourceInfo, sub: Subresource): SubresourceShape {
  switch (sub) {
    case 'status':
      return { kind: res.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      return { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] };
    case 'binding':
      return { kind: 'Binding', group: '', version: 'v1', verbs: ['create'] };
    case 'log':
      return { kind: 'Pod', group: '', version: 'v1', verbs: ['get'] };
    case 'exec':
      return { kind: 'PodExecOptions', group: '', version: 'v1', verbs: ['create', 'get'] };
  }
}

/** groupVersions lists the served group-versions in first-seen order, core first. */
export function groupVersions(resources: readonly ResourceInfo[]): GroupVersion[] {
  const seen = new Map<string, GroupVersion>();
  for (const r of resources) {
    const key = apiVersionOf(r);
    if (!seen.has(key)) seen.set(key, { group: r.group, version: r.version });
  }
  return [...seen.values()].sort((a, b) => (a.group === '' ? -1 : 0) - (b.group === '' ? -1 : 0));
}

/** apiVersions is /api: the core group's versions and the address clients should use. */
export function apiVersions(resources: readonly ResourceInfo[], serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: groupVersions(resources).filter((gv) => gv.group === '').map((gv) => gv.version),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, versions: readonly GroupVersion[]): Record<string, unknown> {
  const vs = versions.map((gv) => ({ groupVersion: apiVersionOf(gv), version: gv.version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** apiGroupList is /apis: every named group with its versions and the preferred one. */
export function apiGroupList(resources: readonly ResourceInfo[]): Record<string, unknown> {
  const byGroup = new Map<string, GroupVersion[]>();
  for (const gv of groupVersions(resources)) {
    if (gv.group === '') continue;
    byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv]);
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...byGroup].map(([name, vs]) => apiGroup(name, vs)) };
}

/** apiGroupDocument is /apis/<group>: one group with its versions. */
export function apiGroupDocument(resources: readonly ResourceInfo[], group: string): Record<string, unknown> {
  const vs = groupVersions(resources).filter((gv) => gv.group === group);
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, vs) };
}

/** apiResourceList is /api/v1 or /apis/<g>/<v>: the resources and subresources of a group-version. */
export function apiResourceList(resources: readonly ResourceInfo[], gv: GroupVersion): Record<string, unknown> {
  const out: Record<string, unknown>[] = [];
  for (const r of resources.filter((x) => x.group === gv.group && x.version === gv.version)) {
    out.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
      ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
      ...(r.categories.length > 0 ? { categories: [...r.categories] } : {}),
    });
    for (const sub of r.subresources) {
      const shape = subresourceShape(r, sub);
      out.push({
        name: `${r.plural}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(shape.group !== undefined && shape.group !== r.group ? { group: shape.group } : {}),
        ...(shape.version !== undefined && (shape.group !== r.group || shape.version !== r.version) ? { version: shape.version } : {}),
        kind: shape.kind,
        verbs: [...shape.verbs],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(gv), resources: out };
}

function resourceDiscovery(r: ResourceInfo): Record<string, unknown> {
  return {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
    ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
    ...(r.categories.length > 0 ? { categories: [...r.categories] } : {}),
    ...(r.subresources.length > 0
      ? {
          subresources: r.subresources.map((sub) => {
            const shape = subresourceShape(r, sub);
            return {
              subresource: sub,
              responseKind: { group: shape.group ?? r.group, version: shape.version ?? r.version, kind: shape.kind },
              verbs: [...shape.verbs],
            };
          }),
        }
      : {}),
  };
}

/**
 * aggregatedDiscovery is /api (core: true) or /apis (core: false) in the aggregated form: every
 * group, its versions (preferred first) and each version's resources.
 */
export function aggregatedDiscovery(resources: readonly ResourceInfo[], core: boolean): Record<string, unknown> {
  const groups = new Map<string, GroupVersion[]>();
  for (const gv of groupVersions(resources)) {
    if ((gv.group === '') !== core) continue;
    groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv]);
  }
  const items = [...groups].map(([name, vs]) => ({
    metadata: name === '' ? {} : { name },
    versions: vs.map((gv) => ({
      version: gv.version,
      resources: resources.filter((r) => r.group === gv.group && r.version === gv.version).map(resourceDiscovery),
      freshness: 'Current',
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
