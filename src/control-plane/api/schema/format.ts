/**
 * format: the shape of the schema catalogue — the one schema source from which types are
 * checked, objects validated (structure and unknown fields), defaults applied, OpenAPI served
 * and strategic merge patches computed. The catalogue itself is generated (see
 * scripts/gen-schema.ts) from the `kubernetes-types` declarations plus the Kubernetes patch
 * metadata (x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key).
 */

/** ScalarKind is a leaf type. `quantity`, `int-or-string` and `time` are Kubernetes formats. */
export type ScalarKind = 'string' | 'integer' | 'number' | 'boolean' | 'quantity' | 'int-or-string' | 'time' | 'bytes';

/** TypeRef is the type of a field. */
export type TypeRef =
  | { readonly kind: 'scalar'; readonly scalar: ScalarKind }
  /** ref names another type of the catalogue, e.g. 'io.k8s.api.core.v1.PodSpec'. */
  | { readonly kind: 'ref'; readonly name: string }
  | { readonly kind: 'array'; readonly items: TypeRef }
  /** map is a JSON object with arbitrary keys (labels, data, nodeSelector). */
  | { readonly kind: 'map'; readonly values: TypeRef }
  /** any is free-form JSON (RawExtension, JSON fields). */
  | { readonly kind: 'any' };

/** PatchStrategy is a field's strategic-merge strategy. */
export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';

/** FieldSchema describes one field of an object type. */
export interface FieldSchema {
  readonly type: TypeRef;
  readonly description: string;
  readonly required: boolean;
  /** patchStrategy: how strategic merge patch combines this list (absent: replace). */
  readonly patchStrategy?: PatchStrategy;
  /** patchMergeKey: the key that identifies elements of a merged list of objects. */
  readonly patchMergeKey?: string;
}

/** TypeSchema is one object type, e.g. io.k8s.api.core.v1.Container. */
export interface TypeSchema {
  /** name is the OpenAPI definition name, e.g. 'io.k8s.api.core.v1.Container'. */
  readonly name: string;
  readonly description: string;
  readonly fields: Readonly<Record<string, FieldSchema>>;
}

/** SchemaCatalog is every type reachable from the served kinds. */
export interface SchemaCatalog {
  readonly types: Readonly<Record<string, TypeSchema>>;
}
