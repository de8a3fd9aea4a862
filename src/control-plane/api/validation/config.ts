/**
 * config: validation of the smaller kinds — ConfigMap and Secret (keys and size), Namespace,
 * Node (taints), Lease, Event, and RBAC roles and bindings — with Kubernetes' paths and messages.
 */
import type { FieldError } from '../types.js';
import { child, duplicate, forbidden, index, invalid, key, notSupported, required, tooLong } from './field-errors.js';
import { nameIsPathSegment } from './meta.js';
import { isConfigMapKey, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';
import { checkEnum, checkNonNegative, checkPositive, deepEqual, list, obj, str } from './util.js';
import type { JsonObject } from './util.js';

/** MAX_CONFIG_SIZE is the most bytes of data one ConfigMap or Secret may hold (1 MiB). */
export const MAX_CONFIG_SIZE = 1024 * 1024;

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'];

/** base64Size is the decoded length of a base64 string, without decoding it. */
function base64Size(v: string): number {
  const pad = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
  return Math.floor((v.length * 3) / 4) - pad;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** validateConfigMap checks data and binaryData keys, duplicates between them, and the total size. */
export function validateConfigMap(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  const data = obj(o['data']) ?? {};
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    size += typeof v === 'string' ? Buffer.byteLength(v) : 0;
  }
  for (const [k, v] of Object.entries(obj(o['binaryData']) ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('binaryData', k), k, m));
    if (Object.hasOwn(data, k)) errs.push(invalid(key('binaryData', k), k, 'duplicate of key present in data'));
    size += typeof v === 'string' ? base64Size(v) : 0;
  }
  // NB: Kubernetes reports a ConfigMap's size on the root path, which it prints as '[]'.
  if (size > MAX_CONFIG_SIZE) errs.push(tooLong('[]', MAX_CONFIG_SIZE));
  return errs;
}

/** validateSecret checks data keys, base64 values, the total size, and what some types require. */
export function validateSecret(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  const data = obj(o['data']) ?? {};
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('data', k), k, m));
    if (typeof v === 'string') {
      if (!BASE64.test(v)) errs.push(invalid(key('data', k), '<secret contents redacted>', 'must be base64-encoded; encode the value or put it in stringData'));
      size += base64Size(v);
    }
  }
  for (const [k, v] of Object.entries(obj(o['stringData']) ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(key('stringData', k), k, m));
    size += typeof v === 'string' ? Buffer.byteLength(v) : 0;
  }
  if (size > MAX_CONFIG_SIZE) errs.push(tooLong('data', MAX_CONFIG_SIZE));
  const has = (k: string): boolean => Object.hasOwn(data, k) || Object.hasOwn(obj(o['stringData']) ?? {}, k);
  const type = str(o['type']) ?? 'Opaque';
  const needs: Readonly<Record<string, readonly string[]>> = {
    'kubernetes.io/tls': ['tls.crt', 'tls.key'],
    'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
    'kubernetes.io/dockercfg': ['.dockercfg'],
  };
  for (const k of needs[type] ?? []) if (!has(k)) errs.push(required(key('data', k)));
  if (type === 'kubernetes.io/basic-auth' && !has('username') && !has('password')) errs.push(required(key('data', 'username')));
  if (type === 'kubernetes.io/ssh-auth' && !has('ssh-privatekey')) errs.push(required(key('data', 'ssh-privatekey')));
  return errs;
}

/** validateSecretUpdate refuses a changed type, and any change to an immutable secret or config map. */
export function validateImmutableData(o: JsonObject, old: JsonObject, checkType: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (checkType && (str(o['type']) ?? 'Opaque') !== (str(old['type']) ?? 'Opaque')) errs.push(invalid('type', o['type'] ?? '', 'field is immutable'));
  if (old['immutable'] === true) {
    if (o['immutable'] !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    for (const f of ['data', 'binaryData']) {
      if (!deepEqual(o[f] ?? {}, old[f] ?? {})) errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
    }
  }
  return errs;
}

/** validateNamespace checks a Namespace's spec.finalizers. */
export function validateNamespace(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, f] of list(obj(o['spec'])?.['finalizers']).entries()) {
    const fp = index(child('spec', 'finalizers'), i);
    if (typeof f !== 'string') errs.push(invalid(fp, f, 'a finalizer must be a string'));
    else for (const m of isQualifiedName(f)) errs.push(invalid(fp, f, m));
  }
  return errs;
}

/** validateNode checks a Node's taints: key, value and effect, unique by key and effect. */
export function validateNode(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const [i, t] of list(obj(o['spec'])?.['taints']).entries()) {
    const tp = index(child('spec', 'taints'), i);
    const taint = obj(t) ?? {};
    const k = str(taint['key']) ?? '';
    if (k === '') errs.push(required(child(tp, 'key')));
    else for (const m of isQualifiedName(k)) errs.push(invalid(child(tp, 'key'), k, m));
    const v = str(taint['value']) ?? '';
    for (const m of isValidLabelValue(v)) errs.push(invalid(child(tp, 'value'), v, m));
    const effect = taint['effect'];
    if (effect === undefined || effect === '') errs.push(required(child(tp, 'effect')));
    else checkEnum(errs, child(tp, 'effect'), effect, TAINT_EFFECTS);
    const id = `${k}:${String(effect)}`;
    if (seen.has(id)) errs.push(duplicate(tp, id));
    seen.add(id);
  }
  return errs;
}

/** validateLease checks a Lease's durations and transition count. */
export function validateLease(o: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(o['spec']) ?? {};
  checkPositive(errs, child('spec', 'leaseDurationSeconds'), spec['leaseDurationSeconds']);
  checkNonNegative(errs, child('spec', 'leaseTransitions'), spec['leaseTransitions']);
  return errs;
}

/** validateEvent checks that an Event names the object it is about, in its own namespace. */
export function validateEvent(o: JsonObject, namespace: string): FieldError[] {
  const errs: FieldError[] = [];
  const io = obj(o['involvedObject']);
  if (io === undefined || Object.keys(io).length === 0) {
    errs.push(required('involvedObject'));
    return errs;
  }
  const ions = str(io['namespace']) ?? '';
  if (ions !== '' && namespace !== '' && ions !== namespace) errs.push(invalid(child('involvedObject', 'namespace'), ions, 'does not match event.namespace'));
  checkNonNegative(errs, 'count', o['count']);
  return errs;
}

/** validatePolicyRules checks the rules of a Role or ClusterRole. */
export function validatePolicyRules(o: JsonObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const aggregated = obj(o['aggregationRule']) !== undefined;
  for (const [i, r] of list(o['rules']).entries()) {
    const rp = index('rules', i);
    const rule = obj(r) ?? {};
    if (list(rule['verbs']).length === 0) errs.push(required(child(rp, 'verbs'), 'verbs must contain at least one value'));
    const urls = list(rule['nonResourceURLs']);
    if (urls.length > 0) {
      if (namespaced) errs.push(invalid(child(rp, 'nonResourceURLs'), urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (list(rule['apiGroups']).length > 0 || list(rule['resources']).length > 0 || list(rule['resourceNames']).length > 0) {
        errs.push(invalid(child(rp, 'nonResourceURLs'), urls, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      continue;
    }
    if (list(rule['apiGroups']).length === 0) errs.push(required(child(rp, 'apiGroups'), 'resource rules must supply at least one api group'));
    if (list(rule['resources']).length === 0) errs.push(required(child(rp, 'resources'), 'resource rules must supply at least one resource'));
  }
  if (aggregated && namespaced) errs.push(forbidden('aggregationRule', 'only ClusterRoles may aggregate'));
  return errs;
}

/** validateBinding checks a RoleBinding or ClusterRoleBinding: its roleRef and subjects. */
export function validateBinding(o: JsonObject, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = obj(o['roleRef']) ?? {};
  const refGroup = str(ref['apiGroup']) ?? '';
  if (refGroup !== RBAC_GROUP) errs.push(notSupported(child('roleRef', 'apiGroup'), refGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  const kind = str(ref['kind']) ?? '';
  if (!kinds.includes(kind)) errs.push(notSupported(child('roleRef', 'kind'), kind, kinds));
  const name = str(ref['name']) ?? '';
  if (name === '') errs.push(required(child('roleRef', 'name')));
  else for (const m of nameIsPathSegment(name, false)) errs.push(invalid(child('roleRef', 'name'), name, m));
  for (const [i, s] of list(o['subjects']).entries()) {
    const sp = index('subjects', i);
    const subject = obj(s) ?? {};
    const skind = str(subject['kind']) ?? '';
    const sname = str(subject['name']) ?? '';
    const sgroup = str(subject['apiGroup']) ?? '';
    if (sname === '') errs.push(required(child(sp, 'name')));
    switch (skind) {
      case 'ServiceAccount':
        if (sgroup !== '') errs.push(notSupported(child(sp, 'apiGroup'), sgroup, ['']));
        if (sname !== '') for (const m of isDNS1123Subdomain(sname)) errs.push(invalid(child(sp, 'name'), sname, m));
        if (!namespaced && (str(subject['namespace']) ?? '') === '') errs.push(required(child(sp, 'namespace')));
        break;
      case 'User':
      case 'Group':
        if (sgroup !== RBAC_GROUP) errs.push(notSupported(child(sp, 'apiGroup'), sgroup, [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(child(sp, 'kind'), skind, SUBJECT_KINDS));
    }
  }
  return errs;
}

/** validateBindingUpdate refuses a changed roleRef. */
export function validateBindingUpdate(o: JsonObject, old: JsonObject): FieldError[] {
  return deepEqual(o['roleRef'], old['roleRef']) ? [] : [invalid('roleRef', o['roleRef'] ?? null, 'cannot change roleRef')];
}
