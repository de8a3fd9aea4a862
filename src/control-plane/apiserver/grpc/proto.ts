/**
 * proto: the apiserver's gRPC API (proto/apiserver/v1/apiserver.proto), loaded once, with the
 * status mapping both ends share: an ApiError travels as a gRPC code plus the Kubernetes Status
 * as JSON in the trailing metadata `k8s-status-bin`, so a client rebuilds the exact error.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { join } from 'node:path';
import { findProtoDir } from '../../../kv/proto/loader.js';
import type { ApiError, StatusReason, WriteFence } from '../registry-api.js';

/** STATUS_TRAILER is the metadata key carrying a failed call's Kubernetes Status (JSON). */
export const STATUS_TRAILER = 'k8s-status-bin';

/** FENCE_METADATA is the request metadata key carrying a leader's WriteFence (JSON). */
export const FENCE_METADATA = 'raftkube-fence';

/** encodeFence renders a WriteFence as the value of FENCE_METADATA. */
export function encodeFence(f: WriteFence): string {
  return JSON.stringify({ namespace: f.namespace, name: f.name, holderIdentity: f.holderIdentity, leaseTransitions: f.leaseTransitions });
}

/** decodeFence reads a FENCE_METADATA value; a string says what is wrong with it. */
export function decodeFence(raw: string): WriteFence | string {
  const bad = `The ${FENCE_METADATA} metadata must be JSON {namespace, name, holderIdentity, leaseTransitions}`;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return `${bad}; it is not JSON`;
  }
  if (typeof v !== 'object' || v === null) return bad;
  const o = v as Record<string, unknown>;
  const { namespace, name, holderIdentity, leaseTransitions } = o;
  if (typeof namespace !== 'string' || namespace === '' || typeof name !== 'string' || name === '') return `${bad}; namespace and name must name the Lease`;
  if (typeof holderIdentity !== 'string' || holderIdentity === '') return `${bad}; holderIdentity must be the holder's non-empty identity`;
  if (typeof leaseTransitions !== 'number' || !Number.isSafeInteger(leaseTransitions) || leaseTransitions < 0) return `${bad}; leaseTransitions must be a non-negative integer`;
  return { namespace, name, holderIdentity, leaseTransitions };
}

/** ApiServerMethod names the service's methods. */
export type ApiServerMethod = 'Get' | 'List' | 'Watch' | 'Create' | 'Update' | 'Patch' | 'Delete' | 'DeleteCollection';

let cached: grpc.ServiceDefinition | undefined;

/** apiServerService is the ApiServer service definition for grpc-js. */
export function apiServerService(): grpc.ServiceDefinition {
  if (cached !== undefined) return cached;
  const dir = findProtoDir();
  const def = loadSync(join(dir, 'apiserver', 'v1', 'apiserver.proto'), { keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true, oneofs: true, includeDirs: [dir] });
  const svc = def['raftkube.apiserver.v1.ApiServer'];
  if (svc === undefined) throw new Error('proto/apiserver/v1/apiserver.proto lacks the ApiServer service; reinstall raftkube');
  cached = svc as grpc.ServiceDefinition;
  return cached;
}

/** grpcCodeOf maps an HTTP status code of an ApiError to the closest gRPC status. */
export function grpcCodeOf(e: ApiError): grpc.status {
  switch (e.code) {
    case 400:
    case 422:
      return grpc.status.INVALID_ARGUMENT;
    case 401:
      return grpc.status.UNAUTHENTICATED;
    case 403:
      return grpc.status.PERMISSION_DENIED;
    case 404:
      return grpc.status.NOT_FOUND;
    case 405:
    case 415:
      return grpc.status.UNIMPLEMENTED;
    case 409:
      return e.reason === 'AlreadyExists' ? grpc.status.ALREADY_EXISTS : grpc.status.ABORTED;
    case 410:
      return grpc.status.OUT_OF_RANGE;
    case 413:
    case 429:
      return grpc.status.RESOURCE_EXHAUSTED;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return grpc.status.INTERNAL;
  }
}

const REASON_BY_CODE: Readonly<Partial<Record<grpc.status, { code: number; reason: StatusReason }>>> = {
  [grpc.status.INVALID_ARGUMENT]: { code: 400, reason: 'BadRequest' },
  [grpc.status.UNAUTHENTICATED]: { code: 401, reason: 'Unauthorized' },
  [grpc.status.PERMISSION_DENIED]: { code: 403, reason: 'Forbidden' },
  [grpc.status.NOT_FOUND]: { code: 404, reason: 'NotFound' },
  [grpc.status.ALREADY_EXISTS]: { code: 409, reason: 'AlreadyExists' },
  [grpc.status.ABORTED]: { code: 409, reason: 'Conflict' },
  [grpc.status.OUT_OF_RANGE]: { code: 410, reason: 'Expired' },
  [grpc.status.RESOURCE_EXHAUSTED]: { code: 429, reason: 'TooManyRequests' },
  [grpc.status.UNAVAILABLE]: { code: 503, reason: 'ServiceUnavailable' },
  [grpc.status.DEADLINE_EXCEEDED]: { code: 504, reason: 'Timeout' },
};

/** apiErrorOf rebuilds an ApiError from a failed call (from the trailer when present). */
export function apiErrorOf(e: grpc.ServiceError): ApiError {
  const raw = e.metadata?.get(STATUS_TRAILER)[0];
  if (raw !== undefined) {
    try {
      const s = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw) as { code?: unknown; reason?: unknown; message?: unknown; details?: ApiError['details'] };
      if (typeof s.code === 'number' && typeof s.reason === 'string' && typeof s.message === 'string') {
        return { code: s.code, reason: s.reason as StatusReason, message: s.message, ...(s.details === undefined ? {} : { details: s.details }) };
      }
    } catch {
      // Fall back to the gRPC status below.
    }
  }
  const m = REASON_BY_CODE[e.code] ?? { code: 500, reason: 'InternalError' as const };
  return { code: m.code, reason: m.reason, message: e.details === '' ? e.message : e.details };
}
