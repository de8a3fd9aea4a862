/**
 * status: ApiError values as Kubernetes `Status` objects, and the errors the REST face itself
 * raises (routing, bodies, content negotiation) before a request ever reaches the registry.
 */
import type { ApiError, StatusReason } from '../registry-api.js';
import { statusOf } from '../registry/errors.js';

/** statusOf is the registry's rendering of an ApiError as a metav1.Status (one for both faces). */
export { statusOf };

/**
 * wireStatus is the Status as JSON on the wire: field causes carry `reason` (the cause type)
 * rather than the FieldError's `type`, as metav1.StatusCause names it.
 */
export function wireStatus(e: ApiError): Record<string, unknown> {
  const s = statusOf(e);
  const causes = e.details?.causes;
  if (causes === undefined) return { ...s };
  return {
    ...s,
    details: {
      ...e.details,
      causes: causes.map((c) => ({ reason: c.type, message: c.message, field: c.field })),
    },
  };
}

function apiError(code: number, reason: StatusReason, message: string): ApiError {
  return { code, reason, message };
}

/** NOT_FOUND_MESSAGE is Kubernetes' message for a path that names no served resource. */
export const NOT_FOUND_MESSAGE = 'the server could not find the requested resource';

/** notFound is the 404 for a path that names no served resource or version. */
export function notFound(message: string = NOT_FOUND_MESSAGE): ApiError {
  return { code: 404, reason: 'NotFound', message, details: {} };
}

/** badRequest is a 400 with a message saying what is wrong. */
export function badRequest(message: string): ApiError {
  return apiError(400, 'BadRequest', message);
}

/** methodNotAllowed is the 405 for a verb the path does not serve. */
export function methodNotAllowed(method: string, path: string): ApiError {
  return apiError(405, 'MethodNotAllowed', `The server does not allow ${method} on ${path}; use one of the verbs discovery lists for the resource`);
}

/** notAcceptable is the 406 for an Accept header naming no media type the server produces. */
export function notAcceptable(accept: string): ApiError {
  return apiError(406, 'NotAcceptable', `The server cannot produce any of the accepted media types "${accept}"; accept application/json or application/yaml`);
}

/** unsupportedMediaType is the 415 for a body in a content type the server cannot read. */
export function unsupportedMediaType(contentType: string, allowed: readonly string[]): ApiError {
  return apiError(415, 'UnsupportedMediaType', `The body's content type "${contentType}" is not supported here; send one of ${allowed.join(', ')}`);
}

/** tooLarge is the 413 for a body over the size limit. */
export function tooLarge(limit: number): ApiError {
  return apiError(413, 'RequestEntityTooLarge', `The request body is larger than the limit of ${limit} bytes; send a smaller object`);
}

/** unauthorized is the 401 for a request without valid credentials. */
export function unauthorized(): ApiError {
  return apiError(401, 'Unauthorized', 'Unauthorized');
}

/** forbiddenPath is the 403 for a non-resource path the user may not read. */
export function forbiddenPath(username: string, verb: string, path: string): ApiError {
  return apiError(403, 'Forbidden', `forbidden: User "${username}" cannot ${verb} path "${path}"; ask an administrator for a role that grants it`);
}

/** internalError is the 500 for an exception while serving; the details go to the log. */
export function internalError(): ApiError {
  return apiError(500, 'InternalError', 'Internal error occurred while serving the request; the apiserver log has the details, retry or report it');
}
