/**
 * errors: the one place that turns expected failures into `ApiError` values with Kubernetes'
 * codes, reasons and wording. Both faces render these (a Status on REST, a gRPC status).
 */
import type { FieldError, ResourceInfo } from '../../api/types.js';
import { isFencedRefusal, type ApiError, type StatusObject } from '../registry-api.js';
import { CONFLICT_MESSAGE } from '../../storage/errors.js';

function qualified(res: ResourceInfo): string {
  return res.group === '' ? res.plural : `${res.plural}.${res.group}`;
}

/** notFound is 404 for a named object: `pods "web" not found`. */
export function notFound(res: ResourceInfo, name: string): ApiError {
  return { code: 404, reason: 'NotFound', message: `${qualified(res)} "${name}" not found`, details: { name, group: res.group, kind: res.plural } };
}

/** alreadyExists is 409 for a create of an existing name. */
export function alreadyExists(res: ResourceInfo, name: string): ApiError {
  return { code: 409, reason: 'AlreadyExists', message: `${qualified(res)} "${name}" already exists`, details: { name, group: res.group, kind: res.plural } };
}

/** conflict is 409 for a compare-and-swap that lost, or a state that forbids the change. */
export function conflict(res: ResourceInfo, name: string, why: string): ApiError {
  return { code: 409, reason: 'Conflict', message: `Operation cannot be fulfilled on ${qualified(res)} "${name}": ${why}`, details: { name, group: res.group, kind: res.plural } };
}

/** isLostRace says whether a write lost a compare-and-swap race, so reading again and retrying may succeed. */
export function isLostRace(e: ApiError): boolean {
  return e.reason === 'Conflict' && !isFencedRefusal(e);
}

/** STALE_OBJECT is Kubernetes' message for a resourceVersion mismatch (the storage layer's). */
export const STALE_OBJECT = CONFLICT_MESSAGE;

/** invalid is 422 with one cause per field error, worded as Kubernetes words it. */
export function invalid(res: ResourceInfo, name: string, causes: readonly FieldError[]): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`);
  const list = text.length === 1 ? text[0]! : `[${text.join(', ')}]`;
  return {
    code: 422,
    reason: 'Invalid',
    message: `${res.kind} "${name}" is invalid: ${list}`,
    details: { name, group: res.group, kind: res.kind, causes },
  };
}

/** badRequest is 400 with a message that says what is wrong with the request. */
export function badRequest(message: string): ApiError {
  return { code: 400, reason: 'BadRequest', message };
}

/** forbidden is 403 with a reason that names the verb and resource. */
export function forbidden(message: string, res?: ResourceInfo, name?: string): ApiError {
  return { code: 403, reason: 'Forbidden', message, ...(res === undefined ? {} : { details: { ...(name === undefined ? {} : { name }), group: res.group, kind: res.plural } }) };
}

/** gone is 410 for a resourceVersion or continue token that has been compacted away. */
export function gone(message: string): ApiError {
  return { code: 410, reason: 'Expired', message };
}

/** methodNotAllowed is 405 for a verb a resource does not support. */
export function methodNotAllowed(message: string): ApiError {
  return { code: 405, reason: 'MethodNotAllowed', message };
}

/** unavailable is 503 when the etcd layer cannot be reached. */
export function unavailable(message: string): ApiError {
  return { code: 503, reason: 'ServiceUnavailable', message, details: { retryAfterSeconds: 1 } };
}

/** timeout is 504 when a read could not be served in time. */
export function timeout(message: string): ApiError {
  return { code: 504, reason: 'Timeout', message, details: { retryAfterSeconds: 1 } };
}

/** internal is 500 for a fault that is ours, not the caller's. */
export function internal(message: string): ApiError {
  return { code: 500, reason: 'InternalError', message };
}

/** statusOf renders an ApiError as a metav1.Status. */
export function statusOf(e: ApiError): StatusObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    ...(e.details === undefined ? {} : { details: e.details }),
    code: e.code,
  };
}
