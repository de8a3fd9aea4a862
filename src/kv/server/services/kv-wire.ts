/**
 * kv-wire: etcdserverpb.PutResponse, RangeResponse and TxnResponse written by hand, for the KV
 * hot path and the transactions the apiserver and bulk loads send.
 *
 * Through protobufjs a response object was built (its header's 64-bit IDs as decimal strings,
 * every KeyValue's lease through a string) and then turned into bytes by `fromObject` and a
 * writer, on every put and get; a TxnResponse built one such object per operation, each with its
 * own header. Here the header field is cached per revision and term (header-wire.ts) and each
 * KeyValue is written by the store's own codec, straight into the one buffer the response leaves
 * in, optionally behind its gRPC message prefix.
 *
 * A response is sized first, then written. Sizing records each embedded message's length (a
 * transaction's operations, nested transactions, key-values) in `Sizes`, in the order the writer
 * meets them, so no length is worked out twice.
 *
 * Field numbers are those of etcd's rpc.proto. Zero fields are left out, as etcd's Go encoder
 * does; a transaction's nested responses carry the same header as the transaction's, as etcd's
 * do. test/kv/kv-wire.test.ts checks every shape against protobufjs's decoder.
 */
import type { Id64 } from '../../proto/index.js';
import { varintSize, writeKeyValue, writeVarint, type DeleteRangeResult, type KeyValue, type RangeResult, type ResponseOp, type TxnResult } from '../../mvcc/index.js';
import { GRPC_FRAME_BYTES, HeaderWire, checkQuantity, keyValueSizeIn, scalarSize, writeFrame, writeScalar } from './header-wire.js';

const TAG_PUT_PREV_KV = 0x12; // PutResponse.prev_kv = 2
const TAG_RANGE_KVS = 0x12; // RangeResponse.kvs = 2
const TAG_RANGE_MORE = 0x18; // RangeResponse.more = 3
const TAG_RANGE_COUNT = 0x20; // RangeResponse.count = 4
const TAG_DELETE_DELETED = 0x10; // DeleteRangeResponse.deleted = 2
const TAG_DELETE_PREV_KVS = 0x1a; // DeleteRangeResponse.prev_kvs = 3
const TAG_TXN_SUCCEEDED = 0x10; // TxnResponse.succeeded = 2
const TAG_TXN_RESPONSES = 0x1a; // TxnResponse.responses = 3
const TAG_OP_RANGE = 0x0a; // ResponseOp.response_range = 1
const TAG_OP_PUT = 0x12; // ResponseOp.response_put = 2
const TAG_OP_DELETE = 0x1a; // ResponseOp.response_delete_range = 3
const TAG_OP_TXN = 0x22; // ResponseOp.response_txn = 4

type RangeBody = Pick<RangeResult, 'kvs' | 'more' | 'count'>;
type TxnBody = Pick<TxnResult, 'succeeded' | 'responses'>;

/** KvWire encodes one member's PutResponses, RangeResponses and TxnResponses. */
export class KvWire {
  readonly #header: HeaderWire;
  /** #sizes serves one response at a time: each is sized and written within one call. */
  readonly #sizes = new Sizes();

  /** constructor takes the IDs every header names and where the current Raft term is read. */
  constructor(clusterId: Id64, memberId: Id64, term: () => number) {
    this.#header = new HeaderWire(clusterId, memberId, term);
  }

  /** put encodes a PutResponse at `revision`, with the previous KeyValue when the client asked for it. */
  put(revision: number, prevKv: KeyValue | undefined, framed: boolean): Buffer {
    const header = this.#header.field(revision);
    const sizes = this.#sizes.reset();
    const out = allocate(putSize(header, prevKv, sizes), framed);
    return checked('PutResponse', out, writePut(out, framed ? GRPC_FRAME_BYTES : 0, header, prevKv, sizes));
  }

  /** range encodes a RangeResponse: the result's key-values, `more` and `count`, at `revision`. */
  range(revision: number, r: RangeBody, framed: boolean): Buffer {
    const header = this.#header.field(revision);
    const sizes = this.#sizes.reset();
    const out = allocate(rangeSize(header, r, sizes), framed);
    return checked('RangeResponse', out, writeRange(out, framed ? GRPC_FRAME_BYTES : 0, header, r, sizes));
  }

  /** txn encodes a TxnResponse at `revision`: `succeeded` and each operation's response, nested transactions' too. */
  txn(revision: number, r: TxnBody, framed: boolean): Buffer {
    const header = this.#header.field(revision);
    const sizes = this.#sizes.reset();
    const out = allocate(txnSize(header, r, sizes), framed);
    return checked('TxnResponse', out, writeTxn(out, framed ? GRPC_FRAME_BYTES : 0, header, r, sizes));
  }
}

/**
 * Sizes holds the lengths of a response's embedded messages, pushed by the sizing pass and taken
 * by the writing pass in the same order. A length the writer needs before it has written the
 * message's contents is reserved first (`reserve`) and filled once those are sized (`fill`).
 * One Sizes serves a member's responses one after another (`reset`), keeping its array's room:
 * a put or a get allocates nothing here.
 */
class Sizes {
  readonly #lens: number[] = [];
  #count = 0;
  #next = 0;

  /** reset empties the lengths for the next response; returns this. */
  reset(): this {
    this.#count = 0;
    this.#next = 0;
    return this;
  }

  reserve(): number {
    return this.#add(0);
  }

  fill(slot: number, len: number): void {
    this.#lens[slot] = len;
  }

  push(len: number): number {
    this.#add(len);
    return len;
  }

  take(): number {
    if (this.#next >= this.#count) throw new Error('a response was written past the lengths its sizing recorded; this is a bug');
    return this.#lens[this.#next++] as number;
  }

  #add(len: number): number {
    const slot = this.#count++;
    if (slot < this.#lens.length) this.#lens[slot] = len;
    else this.#lens.push(len);
    return slot;
  }
}

/** fieldSize is the size of an embedded message field holding `len` bytes (one-byte tag). */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** allocate is the buffer a response of `size` bytes is written into, behind its gRPC prefix if `framed`. */
function allocate(size: number, framed: boolean): Buffer {
  const out = Buffer.allocUnsafe((framed ? GRPC_FRAME_BYTES : 0) + size);
  if (framed) writeFrame(out, size);
  return out;
}

function checked(message: string, out: Buffer, end: number): Buffer {
  if (end !== out.length) throw new Error(`${message} encoded to ${end} bytes into ${out.length}; this is a bug`);
  return out;
}

function kvSize(message: string, kv: KeyValue, sizes: Sizes): number {
  return fieldSize(sizes.push(keyValueSizeIn(message, kv)));
}

/** writeFieldHead writes an embedded message field's tag and length; returns where its contents go. */
function writeFieldHead(out: Buffer, pos: number, tag: number, len: number): number {
  out[pos] = tag;
  return writeVarint(out, pos + 1, len);
}

function writeKv(out: Buffer, pos: number, tag: number, kv: KeyValue, sizes: Sizes): number {
  return writeKeyValue(out, writeFieldHead(out, pos, tag, sizes.take()), kv);
}

function putSize(header: Uint8Array, prevKv: KeyValue | undefined, sizes: Sizes): number {
  return header.length + (prevKv === undefined ? 0 : kvSize('PutResponse', prevKv, sizes));
}

function writePut(out: Buffer, pos: number, header: Uint8Array, prevKv: KeyValue | undefined, sizes: Sizes): number {
  out.set(header, pos);
  pos += header.length;
  return prevKv === undefined ? pos : writeKv(out, pos, TAG_PUT_PREV_KV, prevKv, sizes);
}

function rangeSize(header: Uint8Array, r: RangeBody, sizes: Sizes): number {
  let size = header.length + (r.more ? 2 : 0) + scalarSize(checkQuantity('RangeResponse', 'count', r.count));
  for (const kv of r.kvs) size += kvSize('RangeResponse', kv, sizes);
  return size;
}

function writeRange(out: Buffer, pos: number, header: Uint8Array, r: RangeBody, sizes: Sizes): number {
  out.set(header, pos);
  pos += header.length;
  for (const kv of r.kvs) pos = writeKv(out, pos, TAG_RANGE_KVS, kv, sizes);
  if (r.more) pos = writeScalar(out, pos, TAG_RANGE_MORE, 1);
  return writeScalar(out, pos, TAG_RANGE_COUNT, r.count);
}

function deleteSize(header: Uint8Array, r: DeleteRangeResult, sizes: Sizes): number {
  let size = header.length + scalarSize(checkQuantity('DeleteRangeResponse', 'deleted', r.deleted));
  for (const kv of r.prev_kvs) size += kvSize('DeleteRangeResponse', kv, sizes);
  return size;
}

function writeDelete(out: Buffer, pos: number, header: Uint8Array, r: DeleteRangeResult, sizes: Sizes): number {
  out.set(header, pos);
  pos += header.length;
  pos = writeScalar(out, pos, TAG_DELETE_DELETED, r.deleted);
  for (const kv of r.prev_kvs) pos = writeKv(out, pos, TAG_DELETE_PREV_KVS, kv, sizes);
  return pos;
}

function txnSize(header: Uint8Array, r: TxnBody, sizes: Sizes): number {
  let size = header.length + (r.succeeded ? 2 : 0);
  for (const op of r.responses) {
    // responses[i] is a ResponseOp holding one field: the operation's response message.
    const slot = sizes.reserve();
    const inner = opSize(header, op, sizes);
    sizes.fill(slot, inner);
    size += fieldSize(fieldSize(inner));
  }
  return size;
}

function opSize(header: Uint8Array, op: ResponseOp, sizes: Sizes): number {
  if ('response_range' in op) return rangeSize(header, op.response_range, sizes);
  if ('response_put' in op) return putSize(header, op.response_put.prev_kv, sizes);
  if ('response_delete_range' in op) return deleteSize(header, op.response_delete_range, sizes);
  return txnSize(header, op.response_txn, sizes);
}

function writeTxn(out: Buffer, pos: number, header: Uint8Array, r: TxnBody, sizes: Sizes): number {
  out.set(header, pos);
  pos += header.length;
  if (r.succeeded) pos = writeScalar(out, pos, TAG_TXN_SUCCEEDED, 1);
  for (const op of r.responses) {
    const inner = sizes.take();
    pos = writeFieldHead(out, pos, TAG_TXN_RESPONSES, fieldSize(inner));
    pos = writeOp(out, pos, header, op, inner, sizes);
  }
  return pos;
}

/** writeOp writes a ResponseOp's one field, the operation's response of `inner` bytes. */
function writeOp(out: Buffer, pos: number, header: Uint8Array, op: ResponseOp, inner: number, sizes: Sizes): number {
  if ('response_range' in op) return writeRange(out, writeFieldHead(out, pos, TAG_OP_RANGE, inner), header, op.response_range, sizes);
  if ('response_put' in op) return writePut(out, writeFieldHead(out, pos, TAG_OP_PUT, inner), header, op.response_put.prev_kv, sizes);
  if ('response_delete_range' in op) return writeDelete(out, writeFieldHead(out, pos, TAG_OP_DELETE, inner), header, op.response_delete_range, sizes);
  return writeTxn(out, writeFieldHead(out, pos, TAG_OP_TXN, inner), header, op.response_txn, sizes);
}
