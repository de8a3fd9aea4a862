/**
 * response-objects: the response objects the KV service built for Put, Range and Txn before
 * their responses were written by hand (kv-wire.ts), for protobufjs to encode. The hand
 * encoders' tests check their bytes against protobufjs's encoding of these.
 */
import type * as pb from '../../src/kv/proto/index.js';
import type * as mv from '../../src/kv/mvcc/types.js';
import { deleteOut, kvOut } from '../../src/kv/server/convert.js';

/** rangeOut builds a RangeResponse. */
export function rangeOut(header: pb.ResponseHeader, r: mv.RangeResult): pb.RangeResponse {
  return { header, kvs: r.kvs.map(kvOut), more: r.more, count: r.count };
}

/** putOut builds a PutResponse. */
export function putOut(header: pb.ResponseHeader, r: mv.PutResult): pb.PutResponse {
  return r.prev_kv === undefined ? { header } : { header, prev_kv: kvOut(r.prev_kv) };
}

function respOpOut(header: pb.ResponseHeader, op: mv.ResponseOp): pb.ResponseOp {
  if ('response_range' in op) return { response: 'response_range', response_range: rangeOut(header, op.response_range) };
  if ('response_put' in op) return { response: 'response_put', response_put: putOut(header, op.response_put) };
  if ('response_delete_range' in op) return { response: 'response_delete_range', response_delete_range: deleteOut(header, op.response_delete_range) };
  return { response: 'response_txn', response_txn: txnOut(header, op.response_txn) };
}

/** txnOut builds a TxnResponse (nested responses share the header, as etcd's do). */
export function txnOut(header: pb.ResponseHeader, r: mv.TxnResult): pb.TxnResponse {
  return { header, succeeded: r.succeeded, responses: r.responses.map((op) => respOpOut(header, op)) };
}
