/**
 * decode: turning a request body into an object of the resource's kind — the identity checks
 * (apiVersion, kind, name, namespace), and dropping the fields the schema does not know, as the
 * Kubernetes apiserver does when it decodes into its typed structs.
 */
import type { SchemaCatalog, TypeRef } from '../../api/schema/format.js';
import type { KubeObject, ResourceInfo, Result } from '../../api/types.js';
import { apiVersionOf, err, ok } from '../../api/types.js';
import type { ApiError } from '../registry-api.js';
import { badRequest } from './errors.js';
import { isObject } from './meta.js';

/** decodeObject checks that a body is an object of the resource's kind and names it. */
export function decodeObject(res: ResourceInfo, body: unknown, kind = res.kind, apiVersion = apiVersionOf(res)): Result<KubeObject, ApiError> {
  if (!isObject(body)) return err(badRequest(`The request body must be a JSON or YAML object of kind ${kind}, not ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body}`));
  const obj = structuredClone(body);
  if (obj['kind'] === undefined || obj['kind'] === '') obj['kind'] = kind;
  if (obj['apiVersion'] === undefined || obj['apiVersion'] === '') obj['apiVersion'] = apiVersion;
  if (obj['kind'] !== kind) return err(badRequest(`The body is a ${String(obj['kind'])}, but this URL takes a ${kind}`));
  if (obj['apiVersion'] !== apiVersion) return err(badRequest(`The body's apiVersion is ${String(obj['apiVersion'])}; ${res.plural} are served as ${apiVersion}`));
  if (obj['metadata'] === undefined || obj['metadata'] === null) obj['metadata'] = {};
  if (!isObject(obj['metadata'])) return err(badRequest('metadata must be an object'));
  return ok(obj as KubeObject);
}

/** checkNamespace reconciles the object's namespace with the request's. */
export function checkNamespace(res: ResourceInfo, obj: KubeObject, namespace: string | undefined): Result<void, ApiError> {
  const m = obj.metadata;
  if (!res.namespaced) {
    delete m.namespace;
    return ok(undefined);
  }
  if (namespace === undefined) return err(badRequest(`${res.plural} are namespaced: send the request to /namespaces/<namespace>/${res.plural}`));
  if (m.namespace === undefined || m.namespace === '') m.namespace = namespace;
  else if (m.namespace !== namespace) return err(badRequest(`the namespace of the provided object (${m.namespace}) does not match the namespace sent on the request (${namespace})`));
  return ok(undefined);
}

function pruneValue(catalog: SchemaCatalog, t: TypeRef, v: unknown): unknown {
  if (v === null || v === undefined) return v;
  switch (t.kind) {
    case 'scalar':
    case 'any':
      return v;
    case 'array':
      return Array.isArray(v) ? v.map((x) => pruneValue(catalog, t.items, x)) : v;
    case 'map': {
      if (!isObject(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = pruneValue(catalog, t.values, x);
      return out;
    }
    case 'ref':
      return pruneObject(catalog, t.name, v);
    default: {
      const never: never = t;
      return never;
    }
  }
}

function pruneObject(catalog: SchemaCatalog, typeName: string, v: unknown): unknown {
  const schema = catalog.types[typeName];
  if (schema === undefined || !isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const f = schema.fields[k];
    // Unknown fields go; so do nulls, which Kubernetes decodes as "absent" (kubectl rollout
    // undo sends creationTimestamp: null in a template, for one).
    if (f === undefined || x === null) continue;
    out[k] = pruneValue(catalog, f.type, x);
  }
  return out;
}

/**
 * pruneUnknownFields returns the object without the fields its schema does not define (at
 * every depth). apiVersion and kind always stay.
 */
export function pruneUnknownFields(catalog: SchemaCatalog, typeName: string, obj: KubeObject): KubeObject {
  const pruned = pruneObject(catalog, typeName, obj) as KubeObject;
  pruned.apiVersion = obj.apiVersion;
  pruned.kind = obj.kind;
  if (!isObject(pruned.metadata)) pruned.metadata = {};
  return pruned;
}
