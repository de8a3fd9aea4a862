/**
 * decode: the small toolkit the message decoders are built from. A wire message arrives from
 * grpc-js as `unknown` (whatever proto-loader's toObject produced under LOADER_OPTIONS); these
 * field decoders narrow it to our hand-written interfaces, field by field, and say exactly which
 * field was wrong when one is.
 *
 * Field decoders throw DecodeError; the public decoders catch it at the top and return a value
 * (`Decoded<T>`), so callers never see an exception for bad input from a peer or a client.
 */

/** Decoded is the outcome of narrowing an unknown wire value: the value, or why it was refused. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** DecodeError is thrown inside field decoders and turned into `{ ok: false }` by `decodeWith`. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** FieldDecoder narrows one field's value; `path` names the field for error messages. */
export type FieldDecoder<T> = (value: unknown, path: string) => T;

/**
 * Schema lists a decoder for every property of T; an optional property's decoder may return
 * undefined, and the property is then left out (exactOptionalPropertyTypes).
 */
export type Schema<T> = {
  readonly [K in keyof T]-?: FieldDecoder<object extends Pick<T, K> ? T[K] | undefined : T[K]>;
};

/** decodeWith runs a decoder at the top level, turning a DecodeError into a value. */
export function decodeWith<T>(decoder: FieldDecoder<T>, value: unknown, name: string): Decoded<T> {
  try {
    return { ok: true, value: decoder(value, name) };
  } catch (err: unknown) {
    if (err instanceof DecodeError) return { ok: false, error: err.message };
    throw err;
  }
}

/** fail throws a DecodeError whose message names the field and tells the sender what to fix. */
export function fail(path: string, expected: string, got: unknown): never {
  throw new DecodeError(`Invalid ${path}: expected ${expected}, got ${describe(got)}; fix the sender or upgrade it to a matching API version`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** isRecord tells a plain object (as proto-loader produces for a message) from anything else. */
export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** record narrows a message value to a record; absent (null/undefined) reads as an empty message. */
export function record(value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) fail(path, 'a message', value);
  return value;
}

const DECIMAL = /^-?[0-9]+$/;

/**
 * int decodes an int64/uint64 quantity (revision, count, TTL, term, index) to an exact JS
 * number. proto-loader hands 64-bit values over as decimal strings (LOADER_OPTIONS.longs), so a
 * value of 2^53 or more is refused here instead of being rounded silently.
 */
export const int: FieldDecoder<number> = (value, path) => {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
  } else if (typeof value === 'string' && DECIMAL.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  return fail(path, 'an integer of magnitude below 2^53', value);
};

/** uint is int restricted to values >= 0 (for our own uint64 fields). */
export const uint: FieldDecoder<number> = (value, path) => {
  const n = int(value, path);
  if (n < 0) fail(path, 'a non-negative integer', value);
  return n;
};

/**
 * id decodes a 64-bit identifier (lease, member or cluster ID) to its canonical decimal
 * string. etcd draws these at random from the whole 64-bit range, so they are kept exact
 * rather than squeezed into a JS number.
 */
export const id: FieldDecoder<string> = (value, path) => {
  if (value === undefined || value === null) return '0';
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && DECIMAL.test(value)) {
    const n = BigInt(value);
    if (n >= -(2n ** 63n) && n < 2n ** 64n) return n.toString();
  }
  return fail(path, 'a 64-bit integer id', value);
};

/** bool decodes a bool field; absent reads as false. */
export const bool: FieldDecoder<boolean> = (value, path) => {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(path, 'a boolean', value);
  return value;
};

/** str decodes a string field; absent reads as the empty string. */
export const str: FieldDecoder<string> = (value, path) => {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(path, 'a string', value);
  return value;
};

/**
 * bytes decodes a bytes field. proto-loader gives a Buffer, which is a Uint8Array and is
 * returned as is (no copy); absent reads as empty.
 */
export const bytes: FieldDecoder<Uint8Array> = (value, path) => {
  if (value === undefined || value === null) return new Uint8Array(0);
  if (!(value instanceof Uint8Array)) fail(path, 'bytes', value);
  return value;
};

/**
 * enumOf decodes an enum field given its value names in numeric order (0, 1, 2, ...). Names
 * arrive as strings (LOADER_OPTIONS.enums); a number means the sender used a value this API
 * version does not know, and is mapped by position when it is in range.
 */
export function enumOf<const N extends string>(names: readonly N[]): FieldDecoder<N> {
  return (value, path) => {
    if (value === undefined || value === null) {
      const first = names[0];
      if (first === undefined) throw new Error('enumOf needs at least one name');
      return first;
    }
    if (typeof value === 'string') {
      const found = names.find((n) => n === value);
      if (found !== undefined) return found;
    } else if (typeof value === 'number') {
      const found = names[value];
      if (found !== undefined) return found;
    }
    return fail(path, `one of ${names.join(', ')}`, value);
  };
}

/** repeated decodes a repeated field with the element decoder; absent reads as empty. */
export function repeated<T>(element: FieldDecoder<T>): FieldDecoder<readonly T[]> {
  return (value, path) => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) fail(path, 'a list', value);
    const out: T[] = [];
    for (let i = 0; i < value.length; i++) out.push(element(value[i] as unknown, `${path}[${i}]`));
    return out;
  };
}

/** optional decodes a message-typed field that may be absent (null/undefined → undefined). */
export function optional<T>(decoder: FieldDecoder<T>): FieldDecoder<T | undefined> {
  return (value, path) => (value === undefined || value === null ? undefined : decoder(value, path));
}

/**
 * message builds a decoder for a message from a schema with one field decoder per property.
 * Properties whose decoder returns undefined are left out.
 */
export function message<T>(schema: Schema<T>): FieldDecoder<T> {
  const entries = Object.entries<FieldDecoder<unknown>>(schema);
  return (value, path) => {
    const input = record(value, path);
    const out: Record<string, unknown> = {};
    for (const [name, decode] of entries) {
      const decoded = decode(input[name], `${path}.${name}`);
      if (decoded !== undefined) out[name] = decoded;
    }
    // NB: the cast is sound because Schema<T> has a decoder of the right type for every key.
    return out as T;
  };
}
