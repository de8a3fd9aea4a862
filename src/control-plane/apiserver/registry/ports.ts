/**
 * ports: what the registry is given rather than what it imports — the authorizer, and the
 * schema-driven functions (defaulting, structural checks, semantic validation, patches,
 * selectors). The apiserver's wiring (../server.ts) plugs in the production modules; tests can
 * plug in fakes.
 */
import type { SchemaCatalog } from '../../api/schema/format.js';
import type { FieldError, KubeObject, ResourceInfo, Result } from '../../api/types.js';
import type { PatchType, UserInfo } from '../registry-api.js';

/** ResourceAttributes describe a request on a resource, for authorization. */
export interface ResourceAttributes {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** Decision is an authorizer's answer; a denial carries the message the caller sees. */
export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly message: string };

/** Authorizer decides whether a user may make a request (RBAC plus the node restriction). */
export interface Authorizer {
  authorize(user: UserInfo, attrs: ResourceAttributes, objects?: { readonly existing?: KubeObject; readonly incoming?: KubeObject }): Decision;
  /** review answers authorization.k8s.io reviews (SelfSubjectAccessReview, SelfSubjectRulesReview). */
  review(user: UserInfo, res: ResourceInfo, body: unknown): Result<KubeObject, string>;
}

/** Selector is a parsed label or field selector. */
export interface ObjectFilter {
  /** matches tells whether an object passes both selectors. */
  matches(obj: KubeObject): boolean;
  /** empty says the filter passes everything. */
  readonly empty: boolean;
}

/** SchemaFunctions are the schema-driven steps of the write path. */
export interface SchemaFunctions {
  readonly catalog: SchemaCatalog;
  typeNameOf(res: ResourceInfo): string;
  applyDefaults(res: ResourceInfo, obj: KubeObject): KubeObject;
  checkStructure(typeName: string, value: unknown): { readonly errors: readonly FieldError[]; readonly unknownFields: readonly string[] };
  validate(res: ResourceInfo, obj: KubeObject, old?: KubeObject): readonly FieldError[];
  applyPatch(type: PatchType, original: KubeObject, patch: unknown, typeName: string): Result<unknown, { readonly message: string; readonly code: 400 | 422 }>;
  /**
   * serverSideApply merges an applied configuration into the live object (absent: a create) for
   * a field manager, recording ownership in managedFields; conflicts with other managers are 409.
   */
  serverSideApply(live: KubeObject | undefined, config: unknown, typeName: string, o: { readonly manager: string; readonly force: boolean; readonly apiVersion: string; readonly time: string }): Result<KubeObject, { readonly message: string; readonly code: 400 | 409 | 422 }>;
  /** filterFor parses list/watch selectors; an error message when one does not parse. */
  filterFor(res: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): Result<ObjectFilter, string>;
}
