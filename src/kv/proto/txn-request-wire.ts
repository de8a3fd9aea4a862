/**
 * txn-request-wire: etcdserverpb.TxnRequest read straight from its bytes, for the Txn handler (the
 * client's request, which then enters the log as it came) and for applying a transaction from the
 * Raft log on every member.
 *
 * Through proto-loader a member decoded every transaction with protobufjs, turned it into plain
 * objects (each key and value copied into a new Buffer byte by byte, each 64-bit field through a
 * Long into a decimal string) and narrowed them with requestDecoders.TxnRequest, and the serving
 * member encoded the object back into protobuf for the log. A load of 128-key transactions spent
 * more of its members' CPU there than in RocksDB. Here the same value comes out of one pass: keys
 * and values as views into the entry's bytes, the rest as the narrowing decoder gives it, with
 * protobufjs's rules where the wire is unusual:
 * - a field that comes twice takes its last value; an embedded message that comes twice is the
 *   last one whole (protobufjs replaces it rather than merging);
 * - of a oneof whose members came more than once, the member declared last counts (protobufjs's
 *   toObject names the set members in declaration order, the last naming the oneof);
 * - a Compare reads only the operand its target names, the zero value when another came.
 * test/kv/txn-request-wire.test.ts checks it against the old path over random requests, such
 * unusual wire and every truncation.
 *
 * Field numbers are those of etcd's rpc.proto.
 */
import type { Decoded } from './decode.js';
import { COMPARE_RESULTS, COMPARE_TARGETS, type Compare, type CompareResult, type CompareTarget, type DeleteRangeRequest, type RequestOp, type TxnRequest } from './etcd-types.js';
import { putRequestBody } from './put-request-wire.js';
import { rangeRequestBody } from './range-request-wire.js';
import { EMPTY, expect, malformed, readMessage, within, WIRE_VARINT, type Cursor } from './wire-cursor.js';

const TXN = 'TxnRequest';
const OP = 'RequestOp';
const COMPARE = 'Compare';
const DELETE = 'DeleteRangeRequest';

function deleteRangeRequest(c: Cursor, end = c.buf.length): DeleteRangeRequest {
  let key = EMPTY;
  let rangeEnd = EMPTY;
  let prevKv = false;
  while (c.pos < end) {
    const tag = c.tag(DELETE);
    switch (tag >>> 3) {
      case 1:
        key = c.bytes(tag, DELETE, 'key');
        break;
      case 2:
        rangeEnd = c.bytes(tag, DELETE, 'range_end');
        break;
      case 3:
        prevKv = c.bool(tag, DELETE, 'prev_kv');
        break;
      default:
        c.skip(tag & 7, DELETE);
    }
  }
  return { key, range_end: rangeEnd, prev_kv: prevKv };
}

/** int64 reads a signed 64-bit varint: a number when it is safe, else the exact bigint. */
function int64(c: Cursor, tag: number, field: string): number | bigint {
  expect(tag, WIRE_VARINT, COMPARE, field);
  const n = c.varint(COMPARE, field);
  if (n >= 0) return n;
  const v = BigInt.asIntN(64, c.bigVarint(COMPARE, field));
  return v > -TWO_53 && v < TWO_53 ? Number(v) : v;
}

/** safe is an operand that counts: refused unless its magnitude is below 2^53. */
function safe(v: number | bigint, field: string): number {
  return typeof v === 'number' ? v : malformed(COMPARE, field, `expected an integer of magnitude below 2^53, got ${v}`);
}

const TWO_53 = 2n ** 53n;

/** NO_VALUE is a VALUE compare's operand when none came (a plain empty Uint8Array, as the old path gave; never written to). */
const NO_VALUE = new Uint8Array(0);

function compare(c: Cursor, end = c.buf.length): Compare {
  let result: CompareResult = COMPARE_RESULTS[0];
  let target: CompareTarget = COMPARE_TARGETS[0];
  let key = EMPTY;
  let rangeEnd = EMPTY;
  // The int64 operands are checked only once the target says which one counts (the old path
  // never read the others); an exact value outside ±2^53 waits as a bigint.
  let version: number | bigint = 0;
  let createRevision: number | bigint = 0;
  let modRevision: number | bigint = 0;
  let value = EMPTY;
  let lease = '0';
  let last = 0; // the operand (fields 4-8, declared in that order) declared last among those that came; 0: none
  while (c.pos < end) {
    const tag = c.tag(COMPARE);
    const field = tag >>> 3;
    switch (field) {
      case 1:
        result = c.enumName(tag, COMPARE, 'result', COMPARE_RESULTS);
        break;
      case 2:
        target = c.enumName(tag, COMPARE, 'target', COMPARE_TARGETS);
        break;
      case 3:
        key = c.bytes(tag, COMPARE, 'key');
        break;
      case 4:
        version = int64(c, tag, 'version');
        break;
      case 5:
        createRevision = int64(c, tag, 'create_revision');
        break;
      case 6:
        modRevision = int64(c, tag, 'mod_revision');
        break;
      case 7:
        value = c.bytes(tag, COMPARE, 'value');
        break;
      case 8:
        lease = c.id(tag, COMPARE, 'lease', false);
        break;
      case 64:
        rangeEnd = c.bytes(tag, COMPARE, 'range_end');
        break;
      default:
        c.skip(tag & 7, COMPARE);
    }
    if (field >= 4 && field <= 8 && field > last) last = field;
  }
  const set = (f: number): boolean => last === f;
  const common = { result, key, range_end: rangeEnd };
  switch (target) {
    case 'VERSION':
      return { ...common, target, target_union: 'version', version: set(4) ? safe(version, 'version') : 0 };
    case 'CREATE':
      return { ...common, target, target_union: 'create_revision', create_revision: set(5) ? safe(createRevision, 'create_revision') : 0 };
    case 'MOD':
      return { ...common, target, target_union: 'mod_revision', mod_revision: set(6) ? safe(modRevision, 'mod_revision') : 0 };
    case 'VALUE':
      return { ...common, target, target_union: 'value', value: set(7) ? value : NO_VALUE };
    case 'LEASE':
      return { ...common, target, target_union: 'lease', lease: set(8) ? lease : '0' };
  }
}

function requestOp(c: Cursor, end = c.buf.length): RequestOp {
  // Each member keeps its last occurrence; the member declared last among those that came counts.
  const ops: (RequestOp | undefined)[] = [undefined, undefined, undefined, undefined];
  while (c.pos < end) {
    const tag = c.tag(OP);
    switch (tag >>> 3) {
      case 1:
        ops[0] = { request: 'request_range', request_range: within(c, tag, OP, 'request_range', rangeRequestBody) };
        break;
      case 2:
        ops[1] = { request: 'request_put', request_put: within(c, tag, OP, 'request_put', putRequestBody) };
        break;
      case 3:
        ops[2] = { request: 'request_delete_range', request_delete_range: within(c, tag, OP, 'request_delete_range', deleteRangeRequest) };
        break;
      case 4:
        ops[3] = { request: 'request_txn', request_txn: within(c, tag, OP, 'request_txn', txnRequest) };
        break;
      default:
        c.skip(tag & 7, OP);
    }
  }
  const op = ops[3] ?? ops[2] ?? ops[1] ?? ops[0];
  return op ?? malformed(OP, 'request', 'one of request_range, request_put, request_delete_range, request_txn must be set');
}

function txnRequest(c: Cursor, end = c.buf.length): TxnRequest {
  const compares: Compare[] = [];
  const success: RequestOp[] = [];
  const failure: RequestOp[] = [];
  while (c.pos < end) {
    const tag = c.tag(TXN);
    switch (tag >>> 3) {
      case 1:
        compares.push(within(c, tag, TXN, 'compare', compare));
        break;
      case 2:
        success.push(within(c, tag, TXN, 'success', requestOp));
        break;
      case 3:
        failure.push(within(c, tag, TXN, 'failure', requestOp));
        break;
      default:
        c.skip(tag & 7, TXN);
    }
  }
  return { compare: compares, success, failure };
}

/**
 * decodeTxnRequest reads one TxnRequest message. Keys and values are views into `bytes`. Never
 * throws for bad input: a malformed message comes back as `{ ok: false }` naming the field.
 */
export function decodeTxnRequest(bytes: Buffer): Decoded<TxnRequest> {
  return readMessage(bytes, txnRequest);
}
