/**
 * keys: where Kubernetes objects live in the key-value store. An object's key is
 * `/registry/<group>/<resource>/<namespace>/<name>`, the core group spelled `core`, and
 * cluster-scoped objects omit the namespace. Prefixes end in '/', so that the prefix of
 * namespace `a` never covers namespace `ab`.
 */
import type { ResourceInfo } from '../api/types.js';

/** REGISTRY_ROOT is the prefix under which every object lives. */
export const REGISTRY_ROOT = '/registry/';

/** ResourceRef is the part of a ResourceInfo that places a resource in the keyspace. */
export type ResourceRef = Pick<ResourceInfo, 'group' | 'plural' | 'namespaced'>;

/** groupSegment spells an API group as a key segment: the core group '' is `core`. */
export function groupSegment(group: string): string {
  return group === '' ? 'core' : group;
}

/** resourceRoot is `/registry/<group>/<resource>/`, the prefix of every object of a resource. */
export function resourceRoot(res: ResourceRef): string {
  return `${REGISTRY_ROOT}${groupSegment(res.group)}/${res.plural}/`;
}

/**
 * resourcePrefix is the prefix of a resource's objects, narrowed to one namespace when given
 * (and the resource is namespaced); it always ends in '/'.
 */
export function resourcePrefix(res: ResourceRef, namespace?: string): string {
  const root = resourceRoot(res);
  return res.namespaced && namespace !== undefined && namespace !== '' ? `${root}${namespace}/` : root;
}

/**
 * objectKey is the key of one object. A namespaced resource needs a namespace; passing one
 * for a cluster-scoped resource, or none for a namespaced one, is a bug in the caller.
 */
export function objectKey(res: ResourceRef, namespace: string | undefined, name: string): string {
  if (name === '' || name.includes('/')) throw new Error(`Object name ${JSON.stringify(name)} cannot be a key segment; validate names before storing`);
  if (res.namespaced) {
    if (namespace === undefined || namespace === '' || namespace.includes('/')) {
      throw new Error(`${res.plural} are namespaced; pass a valid namespace (got ${JSON.stringify(namespace)})`);
    }
    return `${resourceRoot(res)}${namespace}/${name}`;
  }
  if (namespace !== undefined && namespace !== '') throw new Error(`${res.plural} are cluster-scoped; pass no namespace (got ${JSON.stringify(namespace)})`);
  return `${resourceRoot(res)}${name}`;
}

/** ParsedKey is a key taken apart. */
export interface ParsedKey {
  /** group is the API group ('' for core). */
  readonly group: string;
  readonly resource: string;
  /** namespace is absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
}

/**
 * parseKey takes an object key apart; null when it is not an object key. Four segments after
 * /registry/ are a namespaced object, three a cluster-scoped one.
 */
export function parseKey(key: string): ParsedKey | null {
  if (!key.startsWith(REGISTRY_ROOT)) return null;
  const parts = key.slice(REGISTRY_ROOT.length).split('/');
  if (parts.some((p) => p === '')) return null;
  const [g, resource, a, b] = parts;
  if (g === undefined || resource === undefined || a === undefined) return null;
  const group = g === 'core' ? '' : g;
  if (parts.length === 3) return { group, resource, name: a };
  if (parts.length === 4 && b !== undefined) return { group, resource, namespace: a, name: b };
  return null;
}

/** namespaceOfKey is the namespace segment of a key under `root`, or undefined. */
export function namespaceOfKey(root: string, key: string): string | undefined {
  if (!key.startsWith(root)) return undefined;
  const rest = key.slice(root.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? undefined : rest.slice(0, slash);
}
