/**
 * errors: the storage layer's expected failures as values, and their mapping to the
 * apiserver's ApiError (the faces render those as Kubernetes Status objects and gRPC codes).
 */
import * as grpc from '@grpc/grpc-js';
import { EtcdCallError } from '../../kv/client/etcd-client.js';
import type { ApiError } from '../apiserver/registry-api.js';
import { fencedMessage, type LeaseFence } from './fencing.js';

/** StoreErrorKind names every expected storage failure. */
export type StoreErrorKind =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'gone'
  | 'unavailable'
  | 'timeout'
  | 'too-large'
  | 'invalid'
  | 'internal'
  | 'fenced';

/**
 * StoreError is one expected storage failure, with a message a person can act on and, when it
 * concerns one object, its key. 'internal' covers a stored value that is not an object's JSON.
 */
export interface StoreError {
  readonly kind: StoreErrorKind;
  readonly message: string;
  readonly key?: string;
}

/** CONFLICT_MESSAGE is Kubernetes' text for a failed compare-and-swap. */
export const CONFLICT_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

/** notFound builds a not-found error for key. */
export function notFound(key: string): StoreError {
  return { kind: 'not-found', key, message: `${key} not found; create it first or check its name and namespace` };
}

/** conflict builds the compare-and-swap failure for key. */
export function conflict(key: string): StoreError {
  return { kind: 'conflict', key, message: `Operation cannot be fulfilled on ${key}: ${CONFLICT_MESSAGE}` };
}

/** alreadyExists builds the create failure for key. */
export function alreadyExists(key: string): StoreError {
  return { kind: 'already-exists', key, message: `${key} already exists; update it, or delete it first` };
}

/** fenced builds the refusal of a write whose fence no longer holds (a deposed leader's write). */
export function fenced(key: string, f: LeaseFence): StoreError {
  return { kind: 'fenced', key, message: fencedMessage(f) };
}

/** isUnavailableCall says whether err is a call that failed for want of a reachable, led member. */
export function isUnavailableCall(err: unknown): err is EtcdCallError {
  return err instanceof EtcdCallError && (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED);
}

/**
 * isSafeToRetryWrite says whether a failed write certainly never reached a state machine: no
 * connection, or no leader to propose to. A timeout may have been applied, so it is not retried.
 */
export function isSafeToRetryWrite(err: EtcdCallError): boolean {
  return err.code === grpc.status.UNAVAILABLE && /no leader|No connection established|ECONNREFUSED|failed to connect/i.test(err.details);
}

/**
 * callError maps a failed etcd call to a StoreError, or returns null for something that is not
 * an etcd call failure (a bug, to be rethrown). `compactedMessage` is the text for a read of a
 * compacted revision, which depends on what the caller asked.
 */
export function callError(err: unknown, compactedMessage: string): StoreError | null {
  if (!(err instanceof EtcdCallError)) return null;
  const c = err.code;
  if (c === grpc.status.UNAVAILABLE) {
    return { kind: 'unavailable', message: `The etcd cluster is unavailable (${err.message}); retry once a majority of members is up` };
  }
  if (c === grpc.status.DEADLINE_EXCEEDED) return { kind: 'timeout', message: `The etcd cluster did not answer in time (${err.message}); retry shortly` };
  if (c === grpc.status.OUT_OF_RANGE) {
    if (/compacted/.test(err.details)) return { kind: 'gone', message: compactedMessage };
    return { kind: 'invalid', message: `The requested revision is not available yet (${err.details}); retry shortly` };
  }
  if (c === grpc.status.INVALID_ARGUMENT && /too large/.test(err.details)) {
    return { kind: 'too-large', message: `The object is too large for etcd (${err.details}); make it smaller` };
  }
  return { kind: 'internal', message: `The etcd request failed (${err.message}); retry, and check the members' logs if it persists` };
}

/** ErrorSubject names the object an error is about, for the ApiError's details. */
export interface ErrorSubject {
  readonly group?: string;
  /** kind is the resource name as Kubernetes puts it in details.kind ('pods'). */
  readonly kind?: string;
  readonly name?: string;
}

/** toApiError maps a StoreError to the apiserver's ApiError (the HTTP code and reason Kubernetes uses). */
export function toApiError(e: StoreError, subject: ErrorSubject = {}): ApiError {
  const details = { ...(subject.name === undefined ? {} : { name: subject.name }), ...(subject.group === undefined ? {} : { group: subject.group }), ...(subject.kind === undefined ? {} : { kind: subject.kind }) };
  const what = subject.kind !== undefined && subject.name !== undefined ? `${subject.kind}${subject.group ? `.${subject.group}` : ''} "${subject.name}"` : null;
  switch (e.kind) {
    case 'not-found':
      return { code: 404, reason: 'NotFound', message: what === null ? e.message : `${what} not found`, details };
    case 'already-exists':
      return { code: 409, reason: 'AlreadyExists', message: what === null ? e.message : `${what} already exists`, details };
    case 'conflict':
      return { code: 409, reason: 'Conflict', message: what === null ? e.message : `Operation cannot be fulfilled on ${what}: ${CONFLICT_MESSAGE}`, details };
    case 'gone':
      return { code: 410, reason: 'Expired', message: e.message };
    case 'unavailable':
      return { code: 503, reason: 'ServiceUnavailable', message: e.message, details: { retryAfterSeconds: 1 } };
    case 'timeout':
      return { code: 504, reason: 'Timeout', message: e.message, details: { retryAfterSeconds: 1 } };
    case 'too-large':
      return { code: 413, reason: 'RequestEntityTooLarge', message: e.message };
    case 'invalid':
      return { code: 400, reason: 'BadRequest', message: e.message };
    case 'internal':
      return { code: 500, reason: 'InternalError', message: e.message };
    case 'fenced':
      return { code: 409, reason: 'Conflict', message: e.message, details };
  }
}
