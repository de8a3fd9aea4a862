/**
 * reviews: the reviews a user asks about itself — authorization.k8s.io/v1 SelfSubjectAccessReview
 * (`kubectl auth can-i VERB RESOURCE`) and SelfSubjectRulesReview (`kubectl auth can-i --list`),
 * and authentication.k8s.io/v1 SelfSubjectReview (`kubectl auth whoami`). All are create-only
 * virtual resources: the apiserver hands the body to answerReview (or the function of that kind)
 * and returns the filled-in object (201), storing nothing.
 */
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { err, ok, type KubeObject, type ObjectMeta, type Result } from '../api/types.js';
import type { UserInfo } from '../apiserver/registry-api.js';
import { decodeReviewBody, PROTOBUF_CONTENT_TYPE } from './review-protobuf.js';
import { RbacAuthorizer, type Authorizer, type RbacSource, type RequestAttributes } from './rbac.js';

/** AUTHORIZATION_API_VERSION is the reviews' apiVersion. */
export const AUTHORIZATION_API_VERSION = 'authorization.k8s.io/v1';

/**
 * selfSubjectAccessReview answers whether `user` may do what the review's spec describes:
 * spec.resourceAttributes {namespace, verb, group, version, resource, subresource, name} or
 * spec.nonResourceAttributes {path, verb}, exactly one of them. The result echoes the spec with
 * status {allowed, reason}; a malformed body is an error naming the field (HTTP 400/422).
 */
export function selfSubjectAccessReview(authorizer: Authorizer, user: UserInfo, body: unknown): Result<KubeObject, string> {
  const review = decodeReview(body, 'SelfSubjectAccessReview');
  if (!review.ok) return review;
  const { metadata, spec } = review.value;
  const attrs = accessAttributes(spec);
  if (!attrs.ok) return attrs;
  const decision = authorizer.authorize(user, attrs.value);
  const status: Record<string, unknown> = { allowed: decision.allowed };
  if (decision.reason !== '') status['reason'] = decision.reason;
  return ok({ apiVersion: AUTHORIZATION_API_VERSION, kind: 'SelfSubjectAccessReview', metadata, spec, status });
}

/**
 * selfSubjectRulesReview lists what `user` may do in `namespace` (cluster-wide grants included):
 * status.resourceRules and status.nonResourceRules as `kubectl auth can-i --list` prints them,
 * with incomplete and evaluationError set when a binding names a missing role.
 */
export function selfSubjectRulesReview(source: RbacSource | RbacAuthorizer, user: UserInfo, namespace: string): KubeObject {
  const authz = source instanceof RbacAuthorizer ? source : new RbacAuthorizer(source);
  const { rules, errors } = authz.rulesFor(user, namespace);
  const resourceRules: Record<string, unknown>[] = [];
  const nonResourceRules: Record<string, unknown>[] = [];
  for (const rule of rules) {
    if ((rule.nonResourceURLs ?? []).length > 0) {
      nonResourceRules.push({ verbs: [...rule.verbs], nonResourceURLs: [...(rule.nonResourceURLs ?? [])] });
    }
    if ((rule.resources ?? []).length > 0) resourceRules.push(resourceRule(rule));
  }
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: errors.length > 0 };
  if (errors.length > 0) status['evaluationError'] = errors.join(', ');
  return { apiVersion: AUTHORIZATION_API_VERSION, kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace }, status };
}

/**
 * selfSubjectRulesReviewFromBody decodes a SelfSubjectRulesReview body (spec.namespace, '' when
 * absent) and answers it with selfSubjectRulesReview.
 */
export function selfSubjectRulesReviewFromBody(source: RbacSource | RbacAuthorizer, user: UserInfo, body: unknown): Result<KubeObject, string> {
  const review = decodeReview(body, 'SelfSubjectRulesReview');
  if (!review.ok) return review;
  const ns = review.value.spec['namespace'];
  if (ns !== undefined && typeof ns !== 'string') return err('spec.namespace: Invalid value: must be a string; give the namespace to list rules in');
  const answer = selfSubjectRulesReview(source, user, ns ?? '');
  return ok({ ...answer, metadata: review.value.metadata });
}

/** REVIEW_RESOURCES are the plural names answerReview serves, with their groups. */
export const REVIEW_RESOURCES: readonly { readonly group: string; readonly plural: string; readonly kind: string }[] = [
  { group: 'authorization.k8s.io', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' },
  { group: 'authorization.k8s.io', plural: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview' },
  { group: 'authentication.k8s.io', plural: 'selfsubjectreviews', kind: 'SelfSubjectReview' },
];

/**
 * answerReview answers a create of one of REVIEW_RESOURCES by its plural name. `body` is either
 * the decoded JSON, or the raw request bytes — which may be Kubernetes protobuf, as kubectl sends
 * these — so a REST face can pass bytes whatever the Content-Type. RBAC on the create itself
 * (system:basic-user grants it to every authenticated user) is the caller's check.
 */
export function answerReview(authz: RbacAuthorizer, user: UserInfo, plural: string, body: unknown): Result<KubeObject, string> {
  if (plural === 'selfsubjectreviews') return ok(selfSubjectReview(user)); // its body carries nothing
  let decoded: unknown = body;
  if (body instanceof Uint8Array) {
    const isProtobuf = body.length >= 4 && body[0] === 0x6b && body[1] === 0x38 && body[2] === 0x73 && body[3] === 0x00;
    const parsed = decodeReviewBody(isProtobuf ? PROTOBUF_CONTENT_TYPE : 'application/json', body);
    if (!parsed.ok) return parsed;
    decoded = parsed.value;
  }
  switch (plural) {
    case 'selfsubjectaccessreviews':
      return selfSubjectAccessReview(authz, user, decoded);
    case 'selfsubjectrulesreviews':
      return selfSubjectRulesReviewFromBody(authz, user, decoded);
    default:
      return err(`${plural} is not a review this apiserver answers; use one of ${REVIEW_RESOURCES.map((r) => r.plural).join(', ')}`);
  }
}

/** AUTHENTICATION_API_VERSION is SelfSubjectReview's apiVersion. */
export const AUTHENTICATION_API_VERSION = 'authentication.k8s.io/v1';

/**
 * selfSubjectReview answers `kubectl auth whoami`: a SelfSubjectReview whose status.userInfo is
 * the caller (after impersonation). Its request body carries nothing, so none is read.
 */
export function selfSubjectReview(user: UserInfo): KubeObject {
  return {
    apiVersion: AUTHENTICATION_API_VERSION,
    kind: 'SelfSubjectReview',
    metadata: {},
    status: { userInfo: { username: user.username, ...(user.uid !== '' ? { uid: user.uid } : {}), groups: [...user.groups] } },
  };
}

function resourceRule(rule: PolicyRule): Record<string, unknown> {
  const out: Record<string, unknown> = { verbs: [...rule.verbs] };
  if ((rule.apiGroups ?? []).length > 0) out['apiGroups'] = [...(rule.apiGroups ?? [])];
  out['resources'] = [...(rule.resources ?? [])];
  if ((rule.resourceNames ?? []).length > 0) out['resourceNames'] = [...(rule.resourceNames ?? [])];
  return out;
}

interface DecodedReview {
  readonly metadata: ObjectMeta;
  readonly spec: Record<string, unknown>;
}

function decodeReview(body: unknown, kind: string): Result<DecodedReview, string> {
  if (!isRecord(body)) return err(`The request body must be a ${kind} object; send JSON like {"apiVersion": "${AUTHORIZATION_API_VERSION}", "kind": "${kind}", "spec": {...}}`);
  if (body['kind'] !== undefined && body['kind'] !== kind) return err(`kind: Invalid value: ${JSON.stringify(body['kind'])}: must be ${kind}`);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== AUTHORIZATION_API_VERSION) {
    return err(`apiVersion: Invalid value: ${JSON.stringify(body['apiVersion'])}: must be ${AUTHORIZATION_API_VERSION}`);
  }
  const metadata = body['metadata'] ?? {};
  if (!isRecord(metadata)) return err('metadata: Invalid value: must be an object');
  const spec = body['spec'] ?? {};
  if (!isRecord(spec)) return err('spec: Invalid value: must be an object');
  return ok({ metadata, spec });
}

const RESOURCE_FIELDS = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'] as const;

function accessAttributes(spec: Record<string, unknown>): Result<RequestAttributes, string> {
  const ra = spec['resourceAttributes'];
  const nra = spec['nonResourceAttributes'];
  if ((ra === undefined) === (nra === undefined)) {
    return err('spec: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified');
  }
  if (ra !== undefined) {
    if (!isRecord(ra)) return err('spec.resourceAttributes: Invalid value: must be an object');
    const f: Partial<Record<(typeof RESOURCE_FIELDS)[number], string>> = {};
    for (const key of RESOURCE_FIELDS) {
      const v = ra[key];
      if (v === undefined || v === '') continue;
      if (typeof v !== 'string') return err(`spec.resourceAttributes.${key}: Invalid value: must be a string`);
      f[key] = v;
    }
    if (f.verb === undefined) return err('spec.resourceAttributes.verb: Required value: name the verb to check, e.g. get or create');
    if (f.resource === undefined) return err('spec.resourceAttributes.resource: Required value: name the resource to check, e.g. pods');
    return ok({
      kind: 'resource',
      verb: f.verb,
      apiGroup: f.group ?? '',
      resource: f.resource,
      ...(f.subresource !== undefined ? { subresource: f.subresource } : {}),
      ...(f.namespace !== undefined ? { namespace: f.namespace } : {}),
      ...(f.name !== undefined ? { name: f.name } : {}),
    });
  }
  if (!isRecord(nra)) return err('spec.nonResourceAttributes: Invalid value: must be an object');
  const path = nra['path'];
  const verb = nra['verb'];
  if (typeof path !== 'string' || path === '') return err('spec.nonResourceAttributes.path: Required value: give the URL path to check, e.g. /healthz');
  if (typeof verb !== 'string' || verb === '') return err('spec.nonResourceAttributes.verb: Required value: give the verb to check, e.g. get');
  return ok({ kind: 'nonResource', verb, path });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
