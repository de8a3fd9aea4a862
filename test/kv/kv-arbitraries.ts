/**
 * kv-arbitraries: fast-check generators shared by the tests of the hand-written encoders —
 * quantities up to 2^53 - 1, short and long byte strings, KeyValues with leases over the whole
 * int64 range (negative ones included), and 64-bit IDs as decimal strings.
 */
import fc from 'fast-check';
import type { KeyValue } from '../../src/kv/mvcc/index.js';

export const quantity = fc.maxSafeNat();
export const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
export const keyValue: fc.Arbitrary<KeyValue> = fc.record({
  key: bytes,
  create_revision: quantity,
  mod_revision: quantity,
  version: quantity,
  value: fc.oneof(bytes, fc.uint8Array({ minLength: 120, maxLength: 300 }).map((a) => Buffer.from(a))),
  lease: fc.oneof(fc.constant(0n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
});
export const id64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
