/**
 * impersonation: acting as another user, as `kubectl --as=jane --as-group=dev` asks through the
 * Impersonate-User, Impersonate-Group, Impersonate-Uid and Impersonate-Extra-<key> headers.
 * The caller must be allowed the `impersonate` verb on each thing it claims: the user (resource
 * users, or the service account in its namespace), every group, the uid and every extra value.
 * The request then runs as the impersonated user, with RBAC checking that user.
 */
import { err, ok, type Result } from '../api/types.js';
import type { ApiError, UserInfo } from '../apiserver/registry-api.js';
import { forbiddenError, SERVICE_ACCOUNT_PREFIX, type Authorizer, type ResourceAttributes } from './rbac.js';
import { ANONYMOUS_USER, AUTHENTICATED_GROUP } from './tokens.js';

/** Headers are request headers by lower-case name; repeated headers as arrays (Node's headersDistinct). */
export type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

const USER = 'impersonate-user';
const GROUP = 'impersonate-group';
const UID = 'impersonate-uid';
const EXTRA_PREFIX = 'impersonate-extra-';

/**
 * impersonate reads the impersonation headers: no headers → ok(undefined) (the request runs as
 * `user`); allowed → ok(the impersonated user); otherwise a 400 (groups, uid or extras without a
 * user) or a 403 naming the first thing `user` may not impersonate.
 */
export function impersonate(authz: Authorizer, user: UserInfo, headers: Headers): Result<UserInfo | undefined, ApiError> {
  const name = single(headers[USER]);
  const groups = all(headers[GROUP]);
  const uid = single(headers[UID]);
  const extras = Object.keys(headers)
    .filter((h) => h.toLowerCase().startsWith(EXTRA_PREFIX))
    .map((h) => ({ key: decodeURIComponent(h.slice(EXTRA_PREFIX.length)).toLowerCase(), values: all(headers[h]) }));
  if (name === undefined) {
    if (groups.length > 0 || uid !== undefined || extras.length > 0) {
      return err({ code: 400, reason: 'BadRequest', message: 'Impersonate-Group, Impersonate-Uid and Impersonate-Extra need Impersonate-User; name the user to act as' });
    }
    return ok(undefined);
  }

  const checks: ResourceAttributes[] = [];
  const sa = serviceAccountOf(name);
  checks.push(
    sa === undefined
      ? { kind: 'resource', verb: 'impersonate', apiGroup: '', resource: 'users', name }
      : { kind: 'resource', verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name },
  );
  for (const g of groups) checks.push({ kind: 'resource', verb: 'impersonate', apiGroup: '', resource: 'groups', name: g });
  if (uid !== undefined) checks.push({ kind: 'resource', verb: 'impersonate', apiGroup: 'authentication.k8s.io', resource: 'uids', name: uid });
  for (const { key, values } of extras) {
    for (const v of values) checks.push({ kind: 'resource', verb: 'impersonate', apiGroup: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v });
  }
  for (const attrs of checks) {
    const d = authz.authorize(user, attrs);
    if (!d.allowed) return err(forbiddenError(user, attrs, d.reason));
  }

  // As Kubernetes: a service account without explicit groups gets its own; everyone but the
  // anonymous user is authenticated.
  const resultGroups = groups.length === 0 && sa !== undefined ? ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`] : [...groups];
  const implied = name === ANONYMOUS_USER.username ? 'system:unauthenticated' : AUTHENTICATED_GROUP;
  if (!resultGroups.includes(implied)) resultGroups.push(implied);
  return ok({ username: name, uid: uid ?? '', groups: resultGroups });
}

function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace, name, ...rest] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  if (namespace === undefined || name === undefined || namespace === '' || name === '' || rest.length > 0) return undefined;
  return { namespace, name };
}

function all(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return (typeof value === 'string' ? [value] : [...value]).filter((v) => v !== '');
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return all(value)[0];
}
