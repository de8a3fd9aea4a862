/**
 * types: the requests, results and errors of the MVCC store, shaped and named after etcd's
 * etcdserverpb/mvccpb messages (snake_case, enums by their proto names) so the gRPC layer maps
 * them field for field. Differences from the wire shapes: every request field but `key` is
 * optional (absent = the proto zero value), revisions are numbers (exact below 2^53), lease IDs
 * are signed 64-bit bigints, and response headers carry only `revision` (the gRPC layer adds
 * cluster, member and term).
 */

/** KeyValue (mvccpb.KeyValue) is one key at one revision. Buffers are views; do not mutate. */
export interface KeyValue {
  readonly key: Buffer;
  readonly create_revision: number;
  readonly mod_revision: number;
  readonly version: number;
  readonly value: Buffer;
  /** lease is the attached lease ID, 0n for none. */
  readonly lease: bigint;
}

/** SortOrder is RangeRequest.SortOrder. */
export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
/** SortTarget is RangeRequest.SortTarget. */
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

/**
 * RangeRequest (etcdserverpb.RangeRequest). `range_end` follows etcd: absent or empty reads the
 * single key `key`; a single zero byte reads every key ≥ `key`; otherwise [key, range_end).
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly range_end?: Uint8Array;
  readonly limit?: number;
  /** revision reads the store as of that revision; 0 or absent reads the current one. */
  readonly revision?: number;
  readonly sort_order?: SortOrder;
  readonly sort_target?: SortTarget;
  readonly keys_only?: boolean;
  readonly count_only?: boolean;
  readonly min_mod_revision?: number;
  readonly max_mod_revision?: number;
  readonly min_create_revision?: number;
  readonly max_create_revision?: number;
}

/** RangeResult answers a RangeRequest; `count` counts every key in range, ignoring limit and filters. */
export interface RangeResult {
  /** revision is the store's revision when the read ran (the response header's revision). */
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

/** PutRequest (etcdserverpb.PutRequest). */
export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: bigint;
  readonly prev_kv?: boolean;
  readonly ignore_value?: boolean;
  readonly ignore_lease?: boolean;
}

/** PutResult answers a PutRequest. */
export interface PutResult {
  readonly revision: number;
  readonly prev_kv?: KeyValue;
}

/** DeleteRangeRequest (etcdserverpb.DeleteRangeRequest); `range_end` as in RangeRequest. */
export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly range_end?: Uint8Array;
  readonly prev_kv?: boolean;
}

/** DeleteRangeResult answers a DeleteRangeRequest. */
export interface DeleteRangeResult {
  readonly revision: number;
  readonly deleted: number;
  readonly prev_kvs: readonly KeyValue[];
}

/** CompareResult is Compare.CompareResult. */
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

/**
 * Compare (etcdserverpb.Compare) guards a transaction. Over a range it must hold for every key
 * in range; a missing key compares as the zero KeyValue, except that a VALUE compare on no key
 * at all fails (etcd's rule).
 */
export type Compare = {
  readonly result: CompareResult;
  readonly key: Uint8Array;
  readonly range_end?: Uint8Array;
} & (
  | { readonly target: 'VERSION'; readonly version: number }
  | { readonly target: 'CREATE'; readonly create_revision: number }
  | { readonly target: 'MOD'; readonly mod_revision: number }
  | { readonly target: 'VALUE'; readonly value: Uint8Array }
  | { readonly target: 'LEASE'; readonly lease: bigint }
);

/** RequestOp (etcdserverpb.RequestOp) is one operation of a transaction. */
export type RequestOp =
  | { readonly request_range: RangeRequest }
  | { readonly request_put: PutRequest }
  | { readonly request_delete_range: DeleteRangeRequest }
  | { readonly request_txn: TxnRequest };

/** ResponseOp (etcdserverpb.ResponseOp) is the result of one transaction operation. */
export type ResponseOp =
  | { readonly response_range: RangeResult }
  | { readonly response_put: PutResult }
  | { readonly response_delete_range: DeleteRangeResult }
  | { readonly response_txn: TxnResult };

/** TxnRequest (etcdserverpb.TxnRequest): if every compare holds run `success`, else `failure`. */
export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

/** TxnResult answers a TxnRequest; `revision` is the store's revision after it. */
export interface TxnResult {
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

/** EventType is mvccpb.Event.EventType. */
export type EventType = 'PUT' | 'DELETE';

/**
 * MvccEvent is one change made by an applied write. A DELETE's kv carries only the key and
 * mod_revision (the deleting revision), as in etcd.
 */
export interface MvccEvent {
  readonly type: EventType;
  readonly kv: KeyValue;
}

/** ChangeSet is everything one write transaction changed, all at `revision`, in sub-revision order. */
export interface ChangeSet {
  readonly revision: number;
  readonly events: readonly MvccEvent[];
}

/**
 * MvccError is an expected failure, a value rather than an exception. `message` is etcd's
 * exact text (clients such as the etcd3 npm package match on it), so it stays lower-case.
 */
export type MvccError =
  | { readonly code: 'compacted'; readonly message: string; readonly compactRevision: number }
  | { readonly code: 'future-revision'; readonly message: string }
  | { readonly code: 'key-not-found'; readonly message: string }
  | { readonly code: 'lease-not-found'; readonly message: string; readonly lease: bigint };

/** MvccResult is a success value or an MvccError. */
export type MvccResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MvccError };

/** ERR_COMPACTED_MESSAGE is etcd's mvcc.ErrCompacted text. */
export const ERR_COMPACTED_MESSAGE = 'mvcc: required revision has been compacted';
/** ERR_FUTURE_REV_MESSAGE is etcd's mvcc.ErrFutureRev text. */
export const ERR_FUTURE_REV_MESSAGE = 'mvcc: required revision is a future revision';

/** errCompacted builds the error for a read below the compacted revision. */
export function errCompacted(compactRevision: number): MvccError {
  return { code: 'compacted', message: ERR_COMPACTED_MESSAGE, compactRevision };
}
/** errFutureRev builds the error for a read above the current revision. */
export function errFutureRev(): MvccError {
  return { code: 'future-revision', message: ERR_FUTURE_REV_MESSAGE };
}
/** errKeyNotFound builds etcd's rpctypes.ErrKeyNotFound (ignore_value/ignore_lease on a missing key). */
export function errKeyNotFound(): MvccError {
  return { code: 'key-not-found', message: 'etcdserver: key not found' };
}
/** errLeaseNotFound builds etcd's lease.ErrLeaseNotFound. */
export function errLeaseNotFound(lease: bigint): MvccError {
  return { code: 'lease-not-found', message: 'lease not found', lease };
}

/** ok wraps a success value. */
export function ok<T>(value: T): MvccResult<T> {
  return { ok: true, value };
}
/** fail wraps an MvccError. */
export function fail<T>(error: MvccError): MvccResult<T> {
  return { ok: false, error };
}
