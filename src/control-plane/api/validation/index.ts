/**
 * validation: the surface of semantic validation — `validateObject` checks one (already
 * defaulted, structurally sound) object of a served kind, on create or, given the stored
 * object, on update, and returns every problem as a FieldError with Kubernetes' field path and
 * wording. An empty list means valid. Kinds without rules of their own get metadata checks only.
 */
import type { FieldError, KubeObject, ResourceInfo } from '../types.js';
import { validateBinding, validateBindingUpdate, validateConfigMap, validateEvent, validateImmutableData, validateLease, validateNamespace, validateNode, validatePolicyRules, validateSecret } from './config.js';
import { metaOf, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, nameIsPathSegment, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import type { NameRule } from './meta.js';
import { validateEndpointSlice, validateEndpoints, validateServiceSpec, validateServiceSpecUpdate } from './network.js';
import { validatePodSpec, validatePodSpecUpdate } from './pod.js';
import { deepEqual } from './util.js';
import { validateDeploymentSpec, validateReplicatedSpec, validateSelectorUpdate } from './workloads.js';

export { formatFieldError, formatFieldErrors } from './field-errors.js';
export { validateLabels, validateAnnotations, validateObjectMeta } from './meta.js';
export { validatePodSpec } from './pod.js';
export { validateLabelSelectorField } from './workloads.js';
export * from './names.js';

/** KindRules are one kind's checks: its name rule, create checks and extra update checks. */
interface KindRules {
  readonly nameRule: NameRule;
  readonly create?: (o: KubeObject) => FieldError[];
  readonly update?: (o: KubeObject, old: KubeObject) => FieldError[];
}

const RULES: Readonly<Record<string, KindRules>> = {
  '/Pod': {
    nameRule: nameIsDNSSubdomain,
    create: (o) => validatePodSpec(o['spec'], 'spec'),
    update: (o, old) => validatePodSpecUpdate(o['spec'], old['spec']),
  },
  '/Service': {
    nameRule: nameIsDNS1035Label,
    create: (o) => validateServiceSpec(o['spec']),
    update: (o, old) => validateServiceSpecUpdate(o['spec'], old['spec']),
  },
  '/Namespace': { nameRule: nameIsDNSLabel, create: validateNamespace },
  '/Node': { nameRule: nameIsDNSSubdomain, create: validateNode },
  '/ConfigMap': { nameRule: nameIsDNSSubdomain, create: validateConfigMap, update: (o, old) => validateImmutableData(o, old, false) },
  '/Secret': { nameRule: nameIsDNSSubdomain, create: validateSecret, update: (o, old) => validateImmutableData(o, old, true) },
  '/Event': { nameRule: nameIsDNSSubdomain, create: (o) => validateEvent(o, metaOf(o).namespace ?? '') },
  '/Endpoints': { nameRule: nameIsDNSSubdomain, create: (o) => validateEndpoints(o['subsets']) },
  '/ServiceAccount': { nameRule: nameIsDNSSubdomain },
  'apps/Deployment': {
    nameRule: nameIsDNSSubdomain,
    create: (o) => validateDeploymentSpec(o['spec']),
    update: (o, old) => validateSelectorUpdate(o['spec'], old['spec']),
  },
  'apps/ReplicaSet': {
    nameRule: nameIsDNSSubdomain,
    create: (o) => validateReplicatedSpec(o['spec']),
    update: (o, old) => validateSelectorUpdate(o['spec'], old['spec']),
  },
  'coordination.k8s.io/Lease': { nameRule: nameIsDNSSubdomain, create: validateLease },
  'discovery.k8s.io/EndpointSlice': { nameRule: nameIsDNSSubdomain, create: validateEndpointSlice, update: endpointSliceUpdate },
  'rbac.authorization.k8s.io/Role': { nameRule: nameIsPathSegment, create: (o) => validatePolicyRules(o, true) },
  'rbac.authorization.k8s.io/ClusterRole': { nameRule: nameIsPathSegment, create: (o) => validatePolicyRules(o, false) },
  'rbac.authorization.k8s.io/RoleBinding': { nameRule: nameIsPathSegment, create: (o) => validateBinding(o, true), update: validateBindingUpdate },
  'rbac.authorization.k8s.io/ClusterRoleBinding': { nameRule: nameIsPathSegment, create: (o) => validateBinding(o, false), update: validateBindingUpdate },
};

function endpointSliceUpdate(o: KubeObject, old: KubeObject): FieldError[] {
  return deepEqual(o['addressType'], old['addressType']) ? [] : [{ type: 'FieldValueInvalid', field: 'addressType', message: `Invalid value: ${JSON.stringify(o['addressType'] ?? '')}: field is immutable` }];
}

const DEFAULT_RULES: KindRules = { nameRule: nameIsDNSSubdomain };

/**
 * validateObject checks an object of resource `res`; with `old` (the stored object) it also
 * applies the update rules (immutable metadata, pod spec, selectors, cluster IP, roleRef).
 */
export function validateObject(res: ResourceInfo, obj: KubeObject, old?: KubeObject): FieldError[] {
  const rules = RULES[`${res.group}/${res.kind}`] ?? DEFAULT_RULES;
  const meta = metaOf(obj);
  const errs = validateObjectMeta(meta, { namespaced: res.namespaced, nameRule: rules.nameRule });
  if (old !== undefined) errs.push(...validateObjectMetaUpdate(meta, metaOf(old)));
  if (rules.create !== undefined) errs.push(...rules.create(obj));
  if (old !== undefined && rules.update !== undefined) errs.push(...rules.update(obj, old));
  return errs;
}
