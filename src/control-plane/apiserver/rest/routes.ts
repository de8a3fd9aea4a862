/**
 * routes: a URL path as what it names — a discovery document, a non-resource endpoint, or a
 * resource collection, object or subresource of a served resource.
 */
import type { ResourceInfo, Subresource } from '../../api/types.js';

/** ResourceTarget is what a resource path names. */
export interface ResourceTarget {
  readonly resource: ResourceInfo;
  /** namespace from the path (namespaces/<ns>/...); undefined for cluster scope or all namespaces. */
  readonly namespace: string | undefined;
  /** name is the object's name; undefined for a collection. */
  readonly name: string | undefined;
  readonly subresource: Subresource | undefined;
}

/** Route is what a path names. */
export type Route =
  | { readonly kind: 'core-versions' }
  | { readonly kind: 'groups' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'resource-list'; readonly group: string; readonly version: string }
  | { readonly kind: 'resource'; readonly target: ResourceTarget }
  | { readonly kind: 'version' }
  | { readonly kind: 'health'; readonly check: 'healthz' | 'livez' | 'readyz' }
  | { readonly kind: 'openapi-v2' }
  | { readonly kind: 'openapi-v3-index' }
  | { readonly kind: 'openapi-v3'; readonly path: string }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'not-found' };

const SUBRESOURCES: ReadonlySet<string> = new Set(['status', 'scale', 'binding', 'log', 'exec']);

function splitPath(pathname: string): string[] | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

function findIn(resources: readonly ResourceInfo[], group: string, version: string, plural: string): ResourceInfo | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.plural === plural);
}

function resourceRoute(resources: readonly ResourceInfo[], group: string, version: string, rest: readonly string[]): Route {
  if (!resources.some((r) => r.group === group && r.version === version)) return { kind: 'not-found' };
  if (rest.length === 0) return { kind: 'resource-list', group, version };
  // namespaces/<ns>/<plural>[/<name>[/<sub>]] when the third segment is a namespaced resource;
  // otherwise namespaces/<name>[/<sub>] is the Namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const res = findIn(resources, group, version, rest[2]!);
    if (res?.namespaced === true) return target(res, rest[1], rest.slice(3));
  }
  const res = findIn(resources, group, version, rest[0]!);
  if (res === undefined) return { kind: 'not-found' };
  // A namespaced resource's objects are only addressable inside their namespace.
  if (res.namespaced && rest.length > 1) return { kind: 'not-found' };
  return target(res, undefined, rest.slice(1));
}

function target(resource: ResourceInfo, namespace: string | undefined, rest: readonly string[]): Route {
  if (rest.length > 2) return { kind: 'not-found' };
  const name = rest[0];
  const sub = rest[1];
  if (name === '') return { kind: 'not-found' };
  if (sub !== undefined) {
    if (!SUBRESOURCES.has(sub) || !resource.subresources.includes(sub as Subresource)) return { kind: 'not-found' };
  }
  return { kind: 'resource', target: { resource, namespace, name, subresource: sub as Subresource | undefined } };
}

/** route resolves a path against the served resources. */
export function route(pathname: string, resources: readonly ResourceInfo[]): Route {
  const p = splitPath(pathname);
  if (p === undefined) return { kind: 'not-found' };
  const [first, second, third] = p;
  switch (first) {
    case 'api':
      if (p.length === 1) return { kind: 'core-versions' };
      return resourceRoute(resources, '', second!, p.slice(2));
    case 'apis':
      if (p.length === 1) return { kind: 'groups' };
      if (p.length === 2) return resources.some((r) => r.group === second) ? { kind: 'group', group: second! } : { kind: 'not-found' };
      return resourceRoute(resources, second!, third!, p.slice(3));
    case 'version':
      return p.length === 1 ? { kind: 'version' } : { kind: 'not-found' };
    case 'healthz':
    case 'livez':
    case 'readyz':
      return p.length === 1 ? { kind: 'health', check: first } : { kind: 'not-found' };
    case 'metrics':
      return p.length === 1 ? { kind: 'metrics' } : { kind: 'not-found' };
    case 'openapi':
      if (second === 'v2' && p.length === 2) return { kind: 'openapi-v2' };
      if (second === 'v3' && p.length === 2) return { kind: 'openapi-v3-index' };
      if (second === 'v3') return { kind: 'openapi-v3', path: p.slice(2).join('/') };
      return { kind: 'not-found' };
    case undefined:
    default:
      return { kind: 'not-found' };
  }
}
