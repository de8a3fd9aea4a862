/**
 * range-request-wire: the Range handler's hand-written RangeRequest decoder against the path it
 * replaces (protobufjs's decode and toObject under LOADER_OPTIONS, then
 * requestDecoders.RangeRequest). For any request protobufjs encodes — int64 fields over the whole
 * signed range (refused by both from 2^53 in magnitude), enums known and unknown, empty and long
 * keys, every flag — both accept alike and give exactly the same value; for every truncation,
 * whatever the new decoder accepts the old path reads as the same value. Also: unknown fields
 * skipped, refusals naming the field, keys as views.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRangeRequest } from '../../src/kv/proto/range-request-wire.js';
import { loadProtoDefinitions, requestDecoders } from '../../src/kv/proto/index.js';
import { expectTruncationsAgree, refusalOf, UNKNOWN_FIELDS, viaProtobufjs as oldPath } from './wire-parity.js';

const method = loadProtoDefinitions().etcd.KV.Range;
const encode = (o: object): Buffer => method.requestSerialize(o);

/** viaProtobufjs is the old Range handler's path. */
const viaProtobufjs = oldPath(method.requestDeserialize, requestDecoders.RangeRequest);

const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 300 })).map((a) => Buffer.from(a));
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
/** wide quantities: mostly exact ones, sometimes any int64 (which both must refuse alike). */
const quantity = (wide: boolean): fc.Arbitrary<number | string> =>
  wide ? fc.oneof({ weight: 3, arbitrary: fc.maxSafeInteger() }, { weight: 1, arbitrary: int64 }) : fc.oneof(fc.maxSafeNat(), fc.integer({ min: -1000, max: -1 }));
const request = (wide: boolean): fc.Arbitrary<object> =>
  fc.record(
    {
      key: bytes,
      range_end: bytes,
      limit: quantity(wide),
      revision: quantity(wide),
      sort_order: wide ? fc.integer({ min: 0, max: 6 }) : fc.constantFrom('NONE', 'ASCEND', 'DESCEND'),
      sort_target: wide ? fc.integer({ min: 0, max: 8 }) : fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'),
      serializable: fc.boolean(),
      keys_only: fc.boolean(),
      count_only: fc.boolean(),
      min_mod_revision: quantity(wide),
      max_mod_revision: quantity(wide),
      min_create_revision: quantity(wide),
      max_create_revision: quantity(wide),
    },
    { requiredKeys: [] },
  );

describe('decodeRangeRequest', () => {
  it('gives what protobufjs and requestDecoders give, for any valid request', () => {
    fc.assert(
      fc.property(request(false), (r) => {
        const b = encode(r);
        const want = viaProtobufjs(b);
        expect(want.ok).toBe(true);
        expect(decodeRangeRequest(Buffer.from(b))).toStrictEqual(want);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts and refuses what the old path does, with int64s over the whole range and unknown enum values', () => {
    let refused = 0;
    fc.assert(
      fc.property(request(true), (r) => {
        const b = encode(r);
        const want = viaProtobufjs(b);
        const got = decodeRangeRequest(Buffer.from(b));
        expect(got.ok).toBe(want.ok);
        if (got.ok) expect(got).toStrictEqual(want);
        else refused++;
      }),
      { numRuns: 1000 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it('accepts a truncated request only where the old path reads the same value', () => {
    expectTruncationsAgree(request(false), encode, decodeRangeRequest, viaProtobufjs);
  });

  it('skips unknown fields and refuses what it cannot read, naming the field', () => {
    const unknown = UNKNOWN_FIELDS; // around key "k" and revision -1
    const msg = Buffer.concat([unknown, Buffer.from([0x0a, 1, 0x6b]), unknown, encode({ revision: -1, sort_order: 'DESCEND' })]);
    const d = decodeRangeRequest(msg);
    expect(d).toStrictEqual(viaProtobufjs(msg));
    expect(d.ok && d.value.revision === -1 && d.value.sort_order === 'DESCEND' && Buffer.from(d.value.key).toString() === 'k').toBe(true);
    const refusal = (b: Buffer): string => refusalOf(decodeRangeRequest, b);
    expect(refusal(Buffer.from([0x12, 5, 0x61]))).toMatch(/^Invalid RangeRequest\.range_end: truncated: 5 bytes announced, 1 left/);
    expect(refusal(Buffer.from([0x28, 7]))).toMatch(/^Invalid RangeRequest\.sort_order: expected one of NONE, ASCEND, DESCEND, got 7/);
    expect(refusal(encode({ sort_target: -2 }))).toMatch(/^Invalid RangeRequest\.sort_target: expected one of KEY, VERSION, CREATE, MOD, VALUE, got -2/);
    expect(refusal(encode({ limit: '9007199254740992' }))).toMatch(/^Invalid RangeRequest\.limit: expected an integer of magnitude below 2\^53/);
    expect(refusal(Buffer.from([0x3a, 0]))).toMatch(/^Invalid RangeRequest\.serializable: wire type 2, want 0/);
  });

  it('keeps key and range_end as views into the bytes it was given', () => {
    const b = encode({ key: Buffer.from('key'), range_end: Buffer.from('kez') });
    const d = decodeRangeRequest(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.range_end.buffer).toBe(b.buffer);
    expect(Buffer.from(d.value.range_end).toString()).toBe('kez');
  });
});
