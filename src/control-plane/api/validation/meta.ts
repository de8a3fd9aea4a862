/**
 * meta: validation of ObjectMeta (Kubernetes' ValidateObjectMeta and ValidateObjectMetaUpdate):
 * the name (with the rule each kind uses), generateName, namespace, labels, annotations and
 * their total size, finalizers, ownerReferences, and on update the fields that never change.
 */
import type { FieldError, KubeObject, ObjectMeta } from '../types.js';
import { child, forbidden, index, invalid, required, tooLong } from './field-errors.js';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';
import { list, obj, str } from './util.js';

/** NameRule checks a name (or, with prefix, a generateName) and returns what is wrong. */
export type NameRule = (name: string, prefix: boolean) => string[];

/** maskTrailingDash lets a generateName end in '-' (the generated suffix follows it). */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
}

/** nameIsDNSSubdomain is the rule of most kinds. */
export const nameIsDNSSubdomain: NameRule = (name, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);

/** nameIsDNSLabel is the rule of namespaces. */
export const nameIsDNSLabel: NameRule = (name, prefix) => isDNS1123Label(prefix ? maskTrailingDash(name) : name);

/** nameIsDNS1035Label is the rule of services (a name that starts with a letter). */
export const nameIsDNS1035Label: NameRule = (name, prefix) => isDNS1035Label(prefix ? maskTrailingDash(name) : name);

/** nameIsPathSegment is the rule of RBAC objects: anything usable as one URL path segment. */
export const nameIsPathSegment: NameRule = (name, prefix) => {
  const errs: string[] = [];
  if (!prefix && (name === '.' || name === '..')) errs.push(`may not be '${name}'`);
  if (name.includes('/')) errs.push("may not contain '/'");
  if (name.includes('%')) errs.push("may not contain '%'");
  return errs;
};

/** TOTAL_ANNOTATION_SIZE_LIMIT is the most bytes of annotation keys and values one object may carry. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** validateLabels checks label keys and values, reporting at `path` as Kubernetes does. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const o = obj(labels);
  if (o === undefined) return errs;
  for (const [k, v] of Object.entries(o)) {
    for (const m of isQualifiedName(k)) errs.push(invalid(path, k, m));
    if (typeof v !== 'string') errs.push(invalid(path, v, 'label values must be strings'));
    else for (const m of isValidLabelValue(v)) errs.push(invalid(path, v, m));
  }
  return errs;
}

/** validateAnnotations checks annotation keys and the total size of keys and values. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const o = obj(annotations);
  if (o === undefined) return errs;
  let size = 0;
  for (const [k, v] of Object.entries(o)) {
    for (const m of isQualifiedName(k.toLowerCase())) errs.push(invalid(path, k, m));
    size += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/** MetaOptions says how a kind's metadata is checked. */
export interface MetaOptions {
  readonly namespaced: boolean;
  readonly nameRule: NameRule;
}

/** validateObjectMeta checks an object's metadata on create and update. */
export function validateObjectMeta(meta: ObjectMeta, opts: MetaOptions, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  const name = meta.name ?? '';
  const generateName = meta.generateName ?? '';
  if (generateName !== '') {
    for (const m of opts.nameRule(generateName, true)) errs.push(invalid(child(path, 'generateName'), generateName, m));
  }
  if (name === '') {
    if (generateName === '') errs.push(required(child(path, 'name'), 'name or generateName is required'));
  } else {
    for (const m of opts.nameRule(name, false)) errs.push(invalid(child(path, 'name'), name, m));
  }
  const ns = meta.namespace ?? '';
  if (opts.namespaced) {
    if (ns === '') errs.push(required(child(path, 'namespace')));
    else for (const m of isDNS1123Label(ns)) errs.push(invalid(child(path, 'namespace'), ns, m));
  } else if (ns !== '') {
    errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  errs.push(...validateLabels(meta.labels, child(path, 'labels')));
  errs.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  const finalizers = list(meta.finalizers);
  for (const [i, f] of finalizers.entries()) {
    const fp = index(child(path, 'finalizers'), i);
    if (typeof f !== 'string') errs.push(invalid(fp, f, 'a finalizer must be a string'));
    else for (const m of isQualifiedName(f)) errs.push(invalid(fp, f, m));
  }
  for (const [i, ref] of list(meta.ownerReferences).entries()) errs.push(...validateOwnerReference(ref, index(child(path, 'ownerReferences'), i)));
  return errs;
}

function validateOwnerReference(ref: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const o = obj(ref) ?? {};
  const apiVersion = str(o['apiVersion']) ?? '';
  const kind = str(o['kind']) ?? '';
  if (apiVersion === '') errs.push(invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
  if (kind === '') errs.push(invalid(child(path, 'kind'), kind, 'kind must not be empty'));
  if ((str(o['name']) ?? '') === '') errs.push(invalid(child(path, 'name'), str(o['name']) ?? '', 'name must not be empty'));
  if ((str(o['uid']) ?? '') === '') errs.push(invalid(child(path, 'uid'), str(o['uid']) ?? '', 'uid must not be empty'));
  return errs;
}

const IMMUTABLE_META: ReadonlyArray<keyof ObjectMeta> = ['name', 'namespace', 'uid', 'creationTimestamp'];

/** validateObjectMetaUpdate adds, on update, the metadata fields that may never change. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of IMMUTABLE_META) {
    const now = meta[f];
    const was = old[f];
    // An update that leaves uid or creationTimestamp out keeps them (the registry copies them).
    if (now === undefined && (f === 'uid' || f === 'creationTimestamp')) continue;
    if ((now ?? '') !== (was ?? '')) errs.push(invalid(child(path, f), now ?? '', 'field is immutable'));
  }
  return errs;
}

/** metaOf reads an object's metadata (an absent one reads as empty). */
export function metaOf(o: KubeObject): ObjectMeta {
  return obj(o.metadata) === undefined ? {} : o.metadata;
}
