/**
 * common: glue shared by the gRPC services — wrapping async handlers so every failure becomes a
 * gRPC status, and mapping apply results to etcd errors.
 */
import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Decoded } from '../../proto/index.js';
import type { ApplyResult } from '../state-machine.js';
import { etcdError, invalid, toServiceError, type EtcdError } from '../errors.js';
import { TRACE_METADATA_KEY, TRACE_TOKEN_PATTERN } from '../tracer.js';

/** unary wraps an async handler: its result or its error reaches the client, never a crash. */
export function unary<Res>(fn: (raw: unknown, call: ServerUnaryCall<unknown, Res>) => Promise<Res>): handleUnaryCall<unknown, Res> {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}

/** decoded unwraps a decoder result or throws INVALID_ARGUMENT with the decoder's explanation. */
export function decoded<T>(d: Decoded<T>): T {
  if (!d.ok) throw invalid(d.error);
  return d.value;
}

/** resultError maps an apply-time failure to the error etcd reports. */
function resultError(r: Extract<ApplyResult, { kind: 'error' }>): EtcdError {
  switch (r.error.code) {
    case 'compacted':
      return etcdError('compacted');
    case 'future-revision':
      return etcdError('future-rev');
    case 'key-not-found':
      return etcdError('key-not-found');
    case 'lease-not-found':
      return etcdError('lease-not-found');
    case 'lease-exists':
      return etcdError('lease-exists');
    case 'no-space':
      return etcdError('no-space');
    case 'malformed':
      return etcdError('internal', r.error.message);
  }
}

/** expectKind narrows an apply result to the expected kind, or throws the error it carries. */
export function expectKind<K extends ApplyResult['kind']>(r: ApplyResult, kind: K): Extract<ApplyResult, { kind: K }> {
  if (r.kind === kind) return r as Extract<ApplyResult, { kind: K }>;
  if (r.kind === 'error') throw resultError(r);
  throw etcdError('internal', `expected a ${kind} result, got ${r.kind}`);
}

/**
 * traceTokenOf is the token of a sampled request from its raftkube-trace metadata value (a
 * header's string or a metadata Buffer), or null if the request is not sampled; a malformed token
 * is refused with INVALID_ARGUMENT.
 */
export function traceTokenOf(v: unknown): string | null {
  if (v === undefined) return null;
  const token = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : null;
  if (token === null || !TRACE_TOKEN_PATTERN.test(token)) throw invalid(`the ${TRACE_METADATA_KEY} metadata must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'`);
  return token;
}
