/**
 * convert: between the wire shapes of the etcd API (src/kv/proto, IDs as decimal strings) and
 * the MVCC store's (src/kv/mvcc, lease IDs as bigints, absent = zero).
 */
import type * as pb from '../proto/index.js';
import type * as mv from '../mvcc/types.js';

/** leaseOf parses a wire lease ID (signed int64 in decimal). */
export function leaseOf(id: pb.Id64): bigint {
  return BigInt.asIntN(64, BigInt(id));
}

/** leaseId prints a lease ID for the wire. */
export function leaseId(l: bigint): pb.Id64 {
  return BigInt.asIntN(64, l).toString();
}

/** kvOut turns a stored KeyValue into its wire shape. */
export function kvOut(kv: mv.KeyValue): pb.KeyValue {
  return { key: kv.key, create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, value: kv.value, lease: leaseId(kv.lease) };
}

/** rangeIn maps a wire RangeRequest to the store's. */
export function rangeIn(r: pb.RangeRequest): mv.RangeRequest {
  return {
    key: r.key,
    range_end: r.range_end,
    limit: r.limit,
    revision: r.revision,
    sort_order: r.sort_order,
    sort_target: r.sort_target,
    keys_only: r.keys_only,
    count_only: r.count_only,
    min_mod_revision: r.min_mod_revision,
    max_mod_revision: r.max_mod_revision,
    min_create_revision: r.min_create_revision,
    max_create_revision: r.max_create_revision,
  };
}

/** putIn maps a wire PutRequest to the store's. */
export function putIn(r: pb.PutRequest): mv.PutRequest {
  return { key: r.key, value: r.value, lease: leaseOf(r.lease), prev_kv: r.prev_kv, ignore_value: r.ignore_value, ignore_lease: r.ignore_lease };
}

/** deleteIn maps a wire DeleteRangeRequest to the store's. */
export function deleteIn(r: pb.DeleteRangeRequest): mv.DeleteRangeRequest {
  return { key: r.key, range_end: r.range_end, prev_kv: r.prev_kv };
}

function compareIn(c: pb.Compare): mv.Compare {
  const base = { result: c.result, key: c.key, range_end: c.range_end };
  switch (c.target) {
    case 'VERSION':
      return { ...base, target: 'VERSION', version: c.version };
    case 'CREATE':
      return { ...base, target: 'CREATE', create_revision: c.create_revision };
    case 'MOD':
      return { ...base, target: 'MOD', mod_revision: c.mod_revision };
    case 'VALUE':
      return { ...base, target: 'VALUE', value: c.value };
    case 'LEASE':
      return { ...base, target: 'LEASE', lease: leaseOf(c.lease) };
  }
}

function opIn(op: pb.RequestOp): mv.RequestOp {
  switch (op.request) {
    case 'request_range':
      return { request_range: rangeIn(op.request_range) };
    case 'request_put':
      return { request_put: putIn(op.request_put) };
    case 'request_delete_range':
      return { request_delete_range: deleteIn(op.request_delete_range) };
    case 'request_txn':
      return { request_txn: txnIn(op.request_txn) };
  }
}

/** txnIn maps a wire TxnRequest to the store's. */
export function txnIn(r: pb.TxnRequest): mv.TxnRequest {
  return { compare: r.compare.map(compareIn), success: r.success.map(opIn), failure: r.failure.map(opIn) };
}

/** deleteOut builds a DeleteRangeResponse. */
export function deleteOut(header: pb.ResponseHeader, r: mv.DeleteRangeResult): pb.DeleteRangeResponse {
  return { header, deleted: r.deleted, prev_kvs: r.prev_kvs.map(kvOut) };
}
