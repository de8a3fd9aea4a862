/**
 * kv-wire: etcdserverpb.PutResponse and RangeResponse written by hand, for the KV hot path.
 *
 * Through protobufjs a response object was built (its header's 64-bit IDs as decimal strings,
 * every KeyValue's lease through a string) and then turned into bytes by `fromObject` and a
 * writer, on every put and get. Here the header field is cached per revision and term
 * (header-wire.ts) and each KeyValue is written by the store's own codec, straight into the one
 * buffer the response leaves in, optionally behind its gRPC message prefix.
 *
 * Field numbers are those of etcd's rpc.proto. Zero fields are left out, as etcd's Go encoder
 * does. test/kv/kv-wire.test.ts checks every shape against protobufjs's decoder.
 */
import type { Id64 } from '../../proto/index.js';
import { varintSize, writeKeyValue, writeVarint, type KeyValue, type RangeResult } from '../../mvcc/index.js';
import { GRPC_FRAME_BYTES, HeaderWire, checkQuantity, keyValueSizeIn, scalarSize, writeFrame, writeScalar } from './header-wire.js';

const TAG_PUT_PREV_KV = 0x12; // PutResponse.prev_kv = 2
const TAG_RANGE_KVS = 0x12; // RangeResponse.kvs = 2
const TAG_RANGE_MORE = 0x18; // RangeResponse.more = 3
const TAG_RANGE_COUNT = 0x20; // RangeResponse.count = 4

/** KvWire encodes one member's PutResponses and RangeResponses. */
export class KvWire {
  readonly #header: HeaderWire;

  /** constructor takes the IDs every header names and where the current Raft term is read. */
  constructor(clusterId: Id64, memberId: Id64, term: () => number) {
    this.#header = new HeaderWire(clusterId, memberId, term);
  }

  /** put encodes a PutResponse at `revision`, with the previous KeyValue when the client asked for it. */
  put(revision: number, prevKv: KeyValue | undefined, framed: boolean): Buffer {
    const header = this.#header.field(revision);
    const prevLen = prevKv === undefined ? -1 : keyValueSizeIn('PutResponse', prevKv);
    const size = header.length + (prevLen < 0 ? 0 : 1 + varintSize(prevLen) + prevLen);
    const start = framed ? GRPC_FRAME_BYTES : 0;
    const out = Buffer.allocUnsafe(start + size);
    if (framed) writeFrame(out, size);
    out.set(header, start);
    let pos = start + header.length;
    if (prevKv !== undefined) {
      out[pos++] = TAG_PUT_PREV_KV;
      pos = writeVarint(out, pos, prevLen);
      pos = writeKeyValue(out, pos, prevKv);
    }
    return checked('PutResponse', out, pos);
  }

  /** range encodes a RangeResponse: the result's key-values, `more` and `count`, at `revision`. */
  range(revision: number, r: Pick<RangeResult, 'kvs' | 'more' | 'count'>, framed: boolean): Buffer {
    const header = this.#header.field(revision);
    const count = checkQuantity('RangeResponse', 'count', r.count);
    const lens = new Array<number>(r.kvs.length);
    let size = header.length + (r.more ? 2 : 0) + scalarSize(count);
    for (let i = 0; i < r.kvs.length; i++) {
      const len = keyValueSizeIn('RangeResponse', r.kvs[i] as KeyValue);
      lens[i] = len;
      size += 1 + varintSize(len) + len;
    }
    const start = framed ? GRPC_FRAME_BYTES : 0;
    const out = Buffer.allocUnsafe(start + size);
    if (framed) writeFrame(out, size);
    out.set(header, start);
    let pos = start + header.length;
    for (let i = 0; i < r.kvs.length; i++) {
      out[pos++] = TAG_RANGE_KVS;
      pos = writeVarint(out, pos, lens[i] as number);
      pos = writeKeyValue(out, pos, r.kvs[i] as KeyValue);
    }
    if (r.more) pos = writeScalar(out, pos, TAG_RANGE_MORE, 1);
    pos = writeScalar(out, pos, TAG_RANGE_COUNT, count);
    return checked('RangeResponse', out, pos);
  }
}

function checked(message: string, out: Buffer, end: number): Buffer {
  if (end !== out.length) throw new Error(`${message} encoded to ${end} bytes into ${out.length}; this is a bug`);
  return out;
}
