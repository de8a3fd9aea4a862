/**
 * put-request-wire: apply's hand-written PutRequest decoder against the path it replaces
 * (protobufjs's decode and toObject under LOADER_OPTIONS, then requestDecoders.PutRequest). For
 * any request protobufjs encodes — leases over the whole signed 64-bit range, empty and long keys
 * and values, every combination of the flags — both give exactly the same value, directly and
 * through a log entry (encodeWire, decodeRequest); for every truncation, whatever the new decoder
 * accepts the old path reads as the same value. Also: unknown fields skipped, refusals naming the
 * field, keys and values as views.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePutRequest } from '../../src/kv/proto/put-request-wire.js';
import { loadProtoDefinitions, requestDecoders } from '../../src/kv/proto/index.js';
import { decodeRequest, encodeWire } from '../../src/kv/server/requests.js';
import { expectTruncationsAgree, refusalOf, UNKNOWN_FIELDS, viaProtobufjs as oldPath } from './wire-parity.js';

const method = loadProtoDefinitions().etcd.KV.Put;
const encode = (o: object): Buffer => method.requestSerialize(o);

/** viaProtobufjs is the old apply path. */
const viaProtobufjs = oldPath(method.requestDeserialize, requestDecoders.PutRequest);

const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 300 })).map((a) => Buffer.from(a));
const lease = fc.oneof({ weight: 3, arbitrary: fc.maxSafeNat() }, { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) });
const request = fc.record(
  { key: bytes, value: bytes, lease, prev_kv: fc.boolean(), ignore_value: fc.boolean(), ignore_lease: fc.boolean() },
  { requiredKeys: [] },
);

describe('decodePutRequest', () => {
  it('gives what protobufjs and requestDecoders give, for any request, and so does a log entry', () => {
    fc.assert(
      fc.property(request, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (r, id) => {
        const b = encode(r);
        const want = viaProtobufjs(b);
        expect(want.ok).toBe(true);
        expect(decodePutRequest(Buffer.from(b))).toStrictEqual(want);
        const entry = decodeRequest(encodeWire('put', id, r));
        expect(entry).toStrictEqual({ ok: true, value: { id, request: { kind: 'put', req: want.ok ? want.value : null } } });
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts a truncated request only where the old path reads the same value', () => {
    expectTruncationsAgree(request, encode, decodePutRequest, viaProtobufjs);
  });

  it('skips unknown fields and refuses what it cannot read, naming the field', () => {
    const unknown = UNKNOWN_FIELDS; // around key "k" and lease -1
    const msg = Buffer.concat([unknown, Buffer.from([0x0a, 1, 0x6b]), unknown, encode({ lease: '-1' })]);
    const d = decodePutRequest(msg);
    expect(d).toStrictEqual(viaProtobufjs(msg));
    expect(d.ok && d.value.lease === '-1' && Buffer.from(d.value.key).toString() === 'k').toBe(true);
    const refusal = (b: Buffer): string => refusalOf(decodePutRequest, b);
    expect(refusal(Buffer.from([0x12, 5, 0x61]))).toMatch(/^Invalid PutRequest\.value: truncated: 5 bytes announced, 1 left/);
    expect(refusal(Buffer.from([0x1a, 0]))).toMatch(/^Invalid PutRequest\.lease: wire type 2, want 0/);
    expect(refusal(Buffer.from([0x9b, 0x06]))).toMatch(/unsupported wire type 3/);
    // Through a log entry, the refusal says what the entry was.
    const entry = Buffer.from(encodeWire('put', 7n, {}));
    const bad = Buffer.concat([entry, Buffer.from([0x0a, 9])]);
    expect(decodeRequest(bad)).toMatchObject({ ok: false, id: 7n, error: expect.stringMatching(/^put request is not a valid PutRequest: Invalid PutRequest\.key: truncated/) as unknown });
  });

  it('keeps key and value as views into the bytes it was given', () => {
    const b = encode({ key: Buffer.from('key'), value: Buffer.from('value') });
    const d = decodePutRequest(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.value.buffer).toBe(b.buffer);
    expect(Buffer.from(d.value.value).toString()).toBe('value');
  });
});
