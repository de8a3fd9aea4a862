/**
 * codec: mvccpb.KeyValue in protobuf wire format, written by hand.
 *
 * The key bucket stores exactly what etcd stores (gogoproto's Marshal: fields in number order,
 * zero values omitted), so HashKV covers the same bytes etcd would hash for the same history.
 * Revisions are JS numbers (exact below 2^53); the lease is a signed int64 as a bigint.
 */

import type { KeyValue } from './types.js';

const EMPTY: Buffer = Buffer.alloc(0);
const TWO_32 = 2 ** 32;

/** varintSize is the length of a non-negative safe integer as a protobuf varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** writeVarint writes a non-negative safe integer as a varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** int64Size is the varint length of a 64-bit integer (a negative one takes 10 bytes, two's complement). */
export function int64Size(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let size = 1;
  while (u >= 128n) {
    u >>= 7n;
    size++;
  }
  return size;
}

/** writeInt64 writes a 64-bit integer as protobuf's int64/uint64 varint at `pos`; returns the position after it. */
export function writeInt64(buf: Uint8Array, pos: number, v: bigint): number {
  let u = BigInt.asUintN(64, v);
  while (u >= 128n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

/** KeyValueFields is what an encoded KeyValue holds (a KeyValue's fields, any byte arrays). */
export interface KeyValueFields {
  readonly key: Uint8Array;
  readonly create_revision: number;
  readonly mod_revision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: bigint;
}

/** keyValueSize is the length of `kv` encoded as mvccpb.KeyValue (zero fields left out). */
export function keyValueSize(kv: KeyValueFields): number {
  let size = 0;
  if (kv.key.length > 0) size += 1 + varintSize(kv.key.length) + kv.key.length;
  if (kv.create_revision !== 0) size += 1 + varintSize(kv.create_revision);
  if (kv.mod_revision !== 0) size += 1 + varintSize(kv.mod_revision);
  if (kv.version !== 0) size += 1 + varintSize(kv.version);
  if (kv.value.length > 0) size += 1 + varintSize(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 1 + int64Size(kv.lease);
  return size;
}

/**
 * writeKeyValue writes `kv` as mvccpb.KeyValue at `pos` (keyValueSize bytes: fields in number
 * order, zero values left out, as gogoproto's Marshal does); returns the position after it.
 */
export function writeKeyValue(buf: Uint8Array, pos: number, kv: KeyValueFields): number {
  if (kv.key.length > 0) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, kv.key.length);
    buf.set(kv.key, pos);
    pos += kv.key.length;
  }
  if (kv.create_revision !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, kv.create_revision);
  }
  if (kv.mod_revision !== 0) {
    buf[pos++] = 0x18;
    pos = writeVarint(buf, pos, kv.mod_revision);
  }
  if (kv.version !== 0) {
    buf[pos++] = 0x20;
    pos = writeVarint(buf, pos, kv.version);
  }
  if (kv.value.length > 0) {
    buf[pos++] = 0x2a;
    pos = writeVarint(buf, pos, kv.value.length);
    buf.set(kv.value, pos);
    pos += kv.value.length;
  }
  if (kv.lease !== 0n) {
    buf[pos++] = 0x30;
    pos = writeInt64(buf, pos, kv.lease);
  }
  return pos;
}

/** EncodedKeyValue is an encoded KeyValue plus where its key and value sit inside it. */
export interface EncodedKeyValue {
  readonly bytes: Buffer;
  /** kv views its key and value as slices of `bytes`, so it holds no caller memory. */
  readonly kv: KeyValue;
}

/**
 * encodeKeyValue encodes a KeyValue as mvccpb.KeyValue. The result's `kv` shares memory with
 * the encoding (events built from it keep no reference to the caller's buffers).
 */
export function encodeKeyValue(
  key: Uint8Array,
  fields: { create_revision: number; mod_revision: number; version: number; value: Uint8Array; lease: bigint },
): EncodedKeyValue {
  const { create_revision: create, mod_revision: mod, version, value, lease } = fields;
  const all: KeyValueFields = { key, create_revision: create, mod_revision: mod, version, value, lease };
  const size = keyValueSize(all);
  const buf = Buffer.allocUnsafe(size);
  writeKeyValue(buf, 0, all);
  // The key is the first field and the value is followed only by the lease.
  const keyAt = key.length > 0 ? 1 + varintSize(key.length) : 0;
  const valueAt = size - (lease !== 0n ? 1 + int64Size(lease) : 0) - value.length;
  return {
    bytes: buf,
    kv: {
      key: key.length > 0 ? buf.subarray(keyAt, keyAt + key.length) : EMPTY,
      create_revision: create,
      mod_revision: mod,
      version,
      value: value.length > 0 ? buf.subarray(valueAt, valueAt + value.length) : EMPTY,
      lease,
    },
  };
}

/** CodecError is thrown when stored bytes are not a KeyValue or a meta value: the database is corrupt. */
export class CodecError extends Error {
  /** CodecError names the corrupt field. */
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/**
 * FieldReader reads protobuf fields at a moving position. It allocates nothing itself, so one
 * can be reused across buffers (`buf` and `pos` are set directly; rebuild.ts does so per row).
 */
export class FieldReader {
  pos = 0;
  constructor(public buf: Uint8Array) {}

  /** number reads a varint as a number; exact below 2^53. */
  number(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++];
      if (b === undefined) throw new CodecError('KeyValue: truncated varint');
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new CodecError('KeyValue: varint longer than 10 bytes');
  }

  /** int64 reads a varint as a signed 64-bit bigint. */
  int64(): bigint {
    const buf = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++];
      if (b === undefined) throw new CodecError('KeyValue: truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    throw new CodecError('KeyValue: varint longer than 10 bytes');
  }

  /** span reads a length-delimited field's length and moves past it; returns where it starts. */
  span(): number {
    const len = this.number();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.buf.length) throw new CodecError('KeyValue: truncated bytes field');
    return start;
  }

  /** skip moves past a field of an unknown tag. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.number();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new CodecError(`KeyValue: unsupported wire type ${wireType}`);
    }
  }
}

/** bytesField reads a length-delimited field as a view into `buf`. */
function bytesField(r: FieldReader, buf: Buffer): Buffer {
  const start = r.span();
  return buf.subarray(start, r.pos);
}

/** decodeKeyValue decodes mvccpb.KeyValue bytes; key and value are views into `buf`. */
export function decodeKeyValue(buf: Buffer): KeyValue {
  const r = new FieldReader(buf);
  let key = EMPTY;
  let value = EMPTY;
  let create = 0;
  let mod = 0;
  let version = 0;
  let lease = 0n;
  while (r.pos < buf.length) {
    const tag = r.number();
    switch (tag) {
      case 0x0a:
        key = bytesField(r, buf);
        break;
      case 0x10:
        create = r.number();
        break;
      case 0x18:
        mod = r.number();
        break;
      case 0x20:
        version = r.number();
        break;
      case 0x2a:
        value = bytesField(r, buf);
        break;
      case 0x30:
        lease = r.int64();
        break;
      default:
        r.skip(tag % 8);
    }
  }
  return { key, create_revision: create, mod_revision: mod, version, value, lease };
}

/** KeyValueHeader is what rebuilding the index needs from a stored KeyValue: no value. */
export interface KeyValueHeader {
  /** key is latin1: one char per byte, so string order is byte order. */
  readonly key: string;
  readonly create_revision: number;
  readonly version: number;
  readonly lease: bigint;
}

/** decodeKeyValueHeader decodes everything but the value, with the key as a latin1 string. */
export function decodeKeyValueHeader(buf: Buffer): KeyValueHeader {
  const r = new FieldReader(buf);
  let key = '';
  let create = 0;
  let version = 0;
  let lease = 0n;
  while (r.pos < buf.length) {
    const tag = r.number();
    switch (tag) {
      case 0x0a: {
        const start = r.span();
        key = buf.toString('latin1', start, r.pos);
        break;
      }
      case 0x10:
        create = r.number();
        break;
      case 0x20:
        version = r.number();
        break;
      case 0x30:
        lease = r.int64();
        break;
      default:
        r.skip(tag % 8);
    }
  }
  return { key, create_revision: create, version, lease };
}

/**
 * uint64ToNumber reads a meta value written by encodeUint64 (0 when absent). A value of another
 * size, or of 2^53 or more, is damage, not zero: reading it as 0 would replay the whole log onto
 * the state (consistent index) or serve compacted revisions (compacted revision). It throws a
 * CodecError naming `field`.
 */
export function uint64ToNumber(buf: Buffer | undefined, field: string): number {
  if (buf === undefined) return 0;
  if (buf.length !== 8) throw new CodecError(`meta ${field}: ${buf.length} bytes, want 8; the MVCC database is damaged`);
  const n = buf.readUInt32BE(0) * TWO_32 + buf.readUInt32BE(4);
  if (!Number.isSafeInteger(n)) throw new CodecError(`meta ${field}: ${n} is 2^53 or more; the MVCC database is damaged`);
  return n;
}
