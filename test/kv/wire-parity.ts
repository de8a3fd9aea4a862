/**
 * wire-parity: what the tests of the hand-written protobuf decoders share — the protobufjs path a
 * decoder replaces (`viaProtobufjs`), and the check that a decoder accepts a cut message only
 * where that path reads the same value.
 *
 * protobufjs is lenient with cut data (its Buffer reader shortens a bytes or string field at the
 * end of the data, and a varint cut at the end can read as a number), so on truncations only one
 * direction holds: whatever the new decoder accepts, the old path accepts as the same value.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Decoded } from '../../src/kv/proto/index.js';

/**
 * expectTruncationsAgree cuts every message `messages` yields (encoded by `encode`) at every
 * byte, and checks each cut the new decoder accepts against the old path; both outcomes must
 * have been seen often (cuts between fields are read, cuts inside a field refused).
 */
export function expectTruncationsAgree<M, T>(
  messages: fc.Arbitrary<M>,
  encode: (m: M) => Buffer,
  decodeNew: (b: Buffer) => Decoded<T>,
  decodeOld: (b: Buffer) => Decoded<T>,
): void {
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(messages, (m) => {
      const b = encode(m);
      for (let cut = 0; cut < b.length; cut++) {
        const got = decodeNew(Buffer.from(b.subarray(0, cut)));
        if (!got.ok) {
          refused++;
          continue;
        }
        accepted++;
        expect(got).toStrictEqual(decodeOld(b.subarray(0, cut)));
      }
    }),
    { numRuns: 150 },
  );
  expect(accepted).toBeGreaterThan(150);
  expect(refused).toBeGreaterThan(1000);
}

/**
 * viaProtobufjs is the path a hand-written decoder replaces: proto-loader's deserializer (which
 * copies its input, as grpc-js's does not need to), then the narrowing decoder of etcd-decoders.ts.
 * A protobufjs exception counts as a refusal.
 */
export function viaProtobufjs<T>(deserialize: (b: Buffer) => unknown, narrow: (raw: unknown) => Decoded<T>): (b: Buffer) => Decoded<T> {
  return (b) => {
    let raw: unknown;
    try {
      raw = deserialize(Buffer.from(b));
    } catch (err: unknown) {
      return { ok: false, error: String(err) };
    }
    return narrow(raw);
  };
}

/**
 * UNKNOWN_FIELDS are fields no etcd message has (99 varint, 98 fixed64, 97 bytes, 96 fixed32),
 * which a decoder must skip.
 */
export const UNKNOWN_FIELDS = Buffer.from([0x98, 0x06, 0xff, 0xff, 0x03, 0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x06, 2, 0xaa, 0xbb, 0x85, 0x06, 9, 9, 9, 9]);

/** refusalOf asserts that `decode` refuses `b` and returns why. */
export function refusalOf<T>(decode: (b: Buffer) => Decoded<T>, b: Buffer): string {
  const r = decode(b);
  expect(r.ok).toBe(false);
  return r.ok ? '' : r.error;
}
