/**
 * types: the shapes every part of the control plane shares — a Kubernetes object as stored and
 * served, a resource's identity, field errors as Kubernetes reports them, and the Result type
 * that expected outcomes travel in. Concrete object types (Pod, Deployment, ...) come from the
 * `kubernetes-types` package; this module only holds what is generic over resources.
 */
import type { ObjectMeta as K8sObjectMeta } from 'kubernetes-types/meta/v1.js';

/**
 * ObjectMeta is Kubernetes' object metadata with every field writable: the apiserver is the
 * one party that sets the system fields (uid, creationTimestamp, deletionTimestamp, ...).
 */
export type ObjectMeta = { -readonly [K in keyof K8sObjectMeta]: K8sObjectMeta[K] };

/**
 * KubeObject is any Kubernetes object as JSON: apiVersion, kind and metadata, plus whatever
 * the kind carries (spec, status, data, ...). Decoders narrow `unknown` input into this shape.
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** GroupVersion names an API group and version; the core group is ''. */
export interface GroupVersion {
  readonly group: string;
  readonly version: string;
}

/** Subresource is a subresource the apiserver serves for a resource. */
export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec';

/** ResourceInfo describes one served resource (a row of `kubectl api-resources`). */
export interface ResourceInfo extends GroupVersion {
  /** kind is the object's kind, e.g. 'Pod'. */
  readonly kind: string;
  /** listKind is the kind of a list of it, e.g. 'PodList'. */
  readonly listKind: string;
  /** plural is the resource name in URLs, e.g. 'pods'. */
  readonly plural: string;
  /** singular is the lower-case kind, e.g. 'pod'. */
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** verbs are the verbs discovery advertises for the resource itself. */
  readonly verbs: readonly Verb[];
}

/** Verb is a Kubernetes API verb (RBAC and discovery use these names). */
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** apiVersionOf renders a group-version as an object's apiVersion ('v1', 'apps/v1'). */
export function apiVersionOf(gv: GroupVersion): string {
  return gv.group === '' ? gv.version : `${gv.group}/${gv.version}`;
}

/**
 * FieldErrorType is the kind of a field error, named as Kubernetes names its causes
 * (metav1.CauseType values).
 */
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound'
  | 'FieldValueUnknown';

/** FieldError is one problem with one field, e.g. {field: 'spec.containers[0].name', ...}. */
export interface FieldError {
  readonly type: FieldErrorType;
  /** field is the path as Kubernetes prints it: metadata.name, spec.containers[0].image. */
  readonly field: string;
  /** message says what is wrong and what is allowed, e.g. 'Required value'. */
  readonly message: string;
}

/** Result carries an expected outcome as a value: ok with a value, or an error. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** ok wraps a value. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** err wraps an error. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
