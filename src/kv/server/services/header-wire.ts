/**
 * header-wire: the pieces every hand-written response shares — etcdserverpb.ResponseHeader as a
 * cached field, and varint scalars that are left out when zero (as etcd's Go encoder does; any
 * protobuf decoder reads an absent field as its zero).
 *
 * A member's header differs between responses only in revision and term, and consecutive
 * responses mostly share both, so the whole field (tag, length, message) is kept and rebuilt
 * only when one of them moves. Field numbers are those of etcd's rpc.proto: the header is field 1
 * of every response.
 */
import type { Id64 } from '../../proto/index.js';
import { int64Size, keyValueSize, varintSize, writeInt64, writeVarint, type KeyValue } from '../../mvcc/index.js';

/** GRPC_FRAME_BYTES is the gRPC message prefix: a compression flag and a 4-byte length. */
export const GRPC_FRAME_BYTES = 5;

const TAG_HEADER = 0x0a; // <Response>.header = 1
const TAG_HDR_CLUSTER = 0x08; // ResponseHeader.cluster_id = 1
const TAG_HDR_MEMBER = 0x10; // member_id = 2
const TAG_HDR_REVISION = 0x18; // revision = 3
const TAG_HDR_TERM = 0x20; // raft_term = 4

/** checkQuantity refuses what the varint writer cannot hold exactly (a bug upstream, not input). */
export function checkQuantity(message: string, what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${message} ${what} must be a non-negative safe integer, got ${n}`);
  return n;
}

/** keyValueSizeIn checks a KeyValue's quantities (for an error naming `message`) and sizes its encoding. */
export function keyValueSizeIn(message: string, kv: KeyValue): number {
  checkQuantity(message, 'create_revision', kv.create_revision);
  checkQuantity(message, 'mod_revision', kv.mod_revision);
  checkQuantity(message, 'version', kv.version);
  return keyValueSize(kv);
}

/** scalarSize is a varint field's size, or 0 for a zero (left out). */
export function scalarSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

/** writeScalar writes a varint field at `pos` unless it is zero; returns the position after it. */
export function writeScalar(buf: Uint8Array, pos: number, tag: number, n: number): number {
  if (n === 0) return pos;
  buf[pos++] = tag;
  return writeVarint(buf, pos, n);
}

/** writeFrame writes the gRPC message prefix (uncompressed, `size` bytes) at `at` (the start of `buf` by default). */
export function writeFrame(buf: Buffer, size: number, at = 0): void {
  buf[at] = 0;
  buf.writeUInt32BE(size, at + 1);
}

/** HeaderWire encodes the ResponseHeader field of one member's responses (its IDs fixed). */
export class HeaderWire {
  readonly #ids: Uint8Array;
  readonly #term: () => number;
  #revision = -1;
  #termOf = -1;
  #field: Uint8Array = new Uint8Array(0);

  /** constructor takes the IDs every header names and where the current Raft term is read. */
  constructor(clusterId: Id64, memberId: Id64, term: () => number) {
    const cluster = BigInt(clusterId);
    const member = BigInt(memberId);
    const ids = new Uint8Array((cluster === 0n ? 0 : 1 + int64Size(cluster)) + (member === 0n ? 0 : 1 + int64Size(member)));
    let pos = 0;
    if (cluster !== 0n) {
      ids[pos++] = TAG_HDR_CLUSTER;
      pos = writeInt64(ids, pos, cluster);
    }
    if (member !== 0n) {
      ids[pos++] = TAG_HDR_MEMBER;
      writeInt64(ids, pos, member);
    }
    this.#ids = ids;
    this.#term = term;
  }

  /** field is the header field of a response produced at `revision`, in the current term. */
  field(revision: number): Uint8Array {
    const term = this.#term();
    if (revision === this.#revision && term === this.#termOf) return this.#field;
    checkQuantity('response', 'header revision', revision);
    checkQuantity('response', 'header raft_term', term);
    const len = this.#ids.length + scalarSize(revision) + scalarSize(term);
    const out = new Uint8Array(1 + varintSize(len) + len);
    out[0] = TAG_HEADER;
    let pos = writeVarint(out, 1, len);
    out.set(this.#ids, pos);
    pos += this.#ids.length;
    pos = writeScalar(out, pos, TAG_HDR_REVISION, revision);
    writeScalar(out, pos, TAG_HDR_TERM, term);
    this.#revision = revision;
    this.#termOf = term;
    this.#field = out;
    return out;
  }
}
