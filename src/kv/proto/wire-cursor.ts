/**
 * wire-cursor: reading protobuf messages straight from their bytes, for the hand-written decoders
 * of the hot messages (watch-response-wire.ts for watch clients, put-request-wire.ts for the Put
 * handler and apply, range-request-wire.ts for the Range handler).
 *
 * A Cursor walks one message's buffer; each read names its field as `path` and `field`, joined
 * into "Invalid PutRequest.lease: …" only when the message is refused (no string is built per
 * field on the way). Quantities come out as exact numbers below 2^53, 64-bit IDs as decimal
 * strings, enums by name, bytes as views into the buffer.
 */

import type { Decoded } from './decode.js';

/** EMPTY is the value of an absent bytes field (shared; never written to). */
export const EMPTY: Buffer = Buffer.alloc(0);
const TWO_53 = 2 ** 53;
export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/** WireError stops a decode; the decoder's entry point turns it into `{ ok: false }`. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** malformed refuses the message; `path.field` names the field (field may be empty). */
export function malformed(path: string, field: string, what: string): never {
  const name = field === '' ? path : field.startsWith('[') ? `${path}${field}` : `${path}.${field}`;
  throw new WireError(`Invalid ${name}: ${what}; fix the sender or upgrade it to a matching API version`);
}

/**
 * Cursor walks one message's bytes. Every read names its field as `path` and `field`, joined
 * only when the message is refused (no string is built per field on the way).
 */
export class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  /**
   * varint reads a varint of at most 7 bytes (below 2^49) as a number; for a longer one it
   * answers -1 and leaves the position, for `bigVarint` to read it exactly.
   */
  varint(path: string, field: string): number {
    const buf = this.buf;
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = buf[this.pos++];
      if (b === undefined) malformed(path, field, 'truncated varint');
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    this.pos = start;
    return -1;
  }

  /** bigVarint reads a varint of up to 10 bytes as an unsigned 64-bit bigint. */
  bigVarint(path: string, field: string): bigint {
    const buf = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++];
      if (b === undefined) malformed(path, field, 'truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    return malformed(path, field, 'varint longer than 10 bytes');
  }

  /** quantity reads an int64 (or, `unsigned`, a uint64) field as an exact number below 2^53 in magnitude. */
  quantity(tag: number, path: string, field: string, unsigned = false): number {
    expect(tag, WIRE_VARINT, path, field);
    const n = this.varint(path, field);
    if (n >= 0) return n;
    const u = this.bigVarint(path, field);
    const v = unsigned ? u : BigInt.asIntN(64, u);
    if (v >= TWO_53 || v <= -TWO_53) malformed(path, field, `expected an integer of magnitude below 2^53, got ${v}`);
    return Number(v);
  }

  /** id reads an int64 (or, `unsigned`, a uint64) identifier as its decimal string. */
  id(tag: number, path: string, field: string, unsigned: boolean): string {
    expect(tag, WIRE_VARINT, path, field);
    const n = this.varint(path, field);
    if (n >= 0) return String(n);
    const u = this.bigVarint(path, field);
    return (unsigned ? u : BigInt.asIntN(64, u)).toString();
  }

  /** bool reads a varint field as a boolean (any value but zero is true). */
  bool(tag: number, path: string, field: string): boolean {
    expect(tag, WIRE_VARINT, path, field);
    const n = this.varint(path, field);
    return n < 0 ? this.bigVarint(path, field) !== 0n : n !== 0;
  }

  /** enumName reads an enum field as its name in `names` (listed in numeric order); a value not in it is refused. */
  enumName<const N extends string>(tag: number, path: string, field: string, names: readonly N[]): N {
    expect(tag, WIRE_VARINT, path, field);
    const n = this.varint(path, field);
    const name = n >= 0 ? names[n] : undefined;
    if (name !== undefined) return name;
    const got = n >= 0 ? String(n) : BigInt.asIntN(64, this.bigVarint(path, field)).toString();
    return malformed(path, field, `expected one of ${names.join(', ')}, got ${got}`);
  }

  /** span reads a length-delimited field's length, moves past it and returns where it starts. */
  span(path: string, field: string): number {
    const len = this.varint(path, field);
    if (len < 0) malformed(path, field, 'length too large');
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.buf.length) malformed(path, field, `truncated: ${len} bytes announced, ${this.buf.length - start} left`);
    return start;
  }

  /** bytes reads a bytes field as a view into the message's buffer. */
  bytes(tag: number, path: string, field: string): Buffer {
    expect(tag, WIRE_BYTES, path, field);
    const start = this.span(path, field);
    return start === this.pos ? EMPTY : this.buf.subarray(start, this.pos);
  }

  /** string reads a string field (UTF-8). */
  string(tag: number, path: string, field: string): string {
    expect(tag, WIRE_BYTES, path, field);
    const start = this.span(path, field);
    return this.buf.toString('utf8', start, this.pos);
  }

  /** skip moves past a field this API version does not know. */
  skip(wireType: number, path: string): void {
    switch (wireType) {
      case WIRE_VARINT:
        if (this.varint(path, '') < 0) this.bigVarint(path, '');
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_BYTES:
        this.span(path, '');
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        malformed(path, '', `unsupported wire type ${wireType}`);
    }
    if (this.pos > this.buf.length) malformed(path, '', 'truncated fixed-size field');
  }

  /** tag reads a field's tag (field number << 3 | wire type). */
  tag(path: string): number {
    return this.varint(path, '');
  }
}

/** expect checks the wire type a known field arrived with. */
export function expect(tag: number, want: number, path: string, field: string): void {
  if ((tag & 7) !== want) malformed(path, field, `wire type ${tag & 7}, want ${want}`);
}

/**
 * within reads an embedded message (a length-delimited field) with `read`, which stops at its
 * end; a field inside that runs past that end is refused.
 */
export function within<T>(c: Cursor, tag: number, path: string, field: string, read: (c: Cursor, end: number, path: string, field: string) => T): T {
  expect(tag, WIRE_BYTES, path, field);
  const start = c.span(path, field);
  const end = c.pos;
  c.pos = start;
  const v = read(c, end, path, field);
  if (c.pos !== end) malformed(path, field, 'a field runs past the end of its message');
  return v;
}

/** readMessage runs `read` over the whole of `bytes`; a WireError comes back as `{ ok: false }` (never a throw). */
export function readMessage<T>(bytes: Buffer, read: (c: Cursor) => T): Decoded<T> {
  try {
    return { ok: true, value: read(new Cursor(bytes)) };
  } catch (err: unknown) {
    if (err instanceof WireError) return { ok: false, error: err.message };
    throw err;
  }
}
