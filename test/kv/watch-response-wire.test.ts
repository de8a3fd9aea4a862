/**
 * watch-response-wire: the watch client's hand-written WatchResponse decoder against the path it
 * replaces (protobufjs's decode and toObject under LOADER_OPTIONS, then
 * responseDecoders.WatchResponse). For any response protobufjs encodes — 64-bit quantities inside
 * and beyond 2^53, negative ones, IDs over the whole 64-bit range, events with and without kv and
 * prev_kv, empty keys and values, cancel reasons in any Unicode — both give exactly the same value
 * or both refuse; likewise for every truncation of those bytes. Also: unknown fields of every
 * wire type skipped, and the refusals that name the field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWatchResponse, loadProtoDefinitions, responseDecoders } from '../../src/kv/proto/index.js';
import { expectTruncationsAgree, refusalOf, UNKNOWN_FIELDS, viaProtobufjs as oldPath } from './wire-parity.js';

const method = loadProtoDefinitions().etcd.Watch.Watch;
const encode = (o: object): Buffer => method.responseSerialize(o);

/** viaProtobufjs is the old client path. */
const viaProtobufjs = oldPath(method.responseDeserialize, responseDecoders.WatchResponse);

/** sameOutcome asserts both decoders agree on `b`: equal values, or both refuse. */
function sameOutcome(b: Buffer): boolean {
  const want = viaProtobufjs(b);
  const got = decodeWatchResponse(Buffer.from(b));
  if (want.ok) expect(got).toStrictEqual(want);
  else expect(got.ok).toBe(false);
  return want.ok;
}

const TWO_63 = 2n ** 63n;
const int64 = fc.oneof(
  { weight: 4, arbitrary: fc.maxSafeNat() },
  { weight: 1, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.bigInt({ min: -TWO_63, max: TWO_63 - 1n }).map(String) },
);
const uint64 = fc.oneof({ weight: 4, arbitrary: fc.maxSafeNat() }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) });
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 300 })).map((a) => Buffer.from(a));
const kv = fc.record(
  { key: bytes, create_revision: int64, mod_revision: int64, version: int64, value: bytes, lease: int64 },
  { requiredKeys: [] },
);
const event = fc.record({ type: fc.constantFrom('PUT', 'DELETE'), kv, prev_kv: kv }, { requiredKeys: [] });
const response = fc.record(
  {
    header: fc.record({ cluster_id: uint64, member_id: uint64, revision: int64, raft_term: uint64 }, { requiredKeys: [] }),
    watch_id: int64,
    created: fc.boolean(),
    canceled: fc.boolean(),
    compact_revision: int64,
    cancel_reason: fc.string({ unit: 'binary', maxLength: 30 }),
    fragment: fc.boolean(),
    events: fc.array(event, { maxLength: 5 }),
  },
  { requiredKeys: [] },
);

describe('decodeWatchResponse', () => {
  it('gives what protobufjs and responseDecoders give, for any response', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(response, (r) => {
        if (sameOutcome(encode(r))) accepted++;
        else refused++;
      }),
      { numRuns: 1500 },
    );
    // Both kinds of outcome were compared (quantities of 2^53 and more are refused).
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('accepts a truncated response only where the old path reads the same value', () => {
    expectTruncationsAgree(response, encode, decodeWatchResponse, viaProtobufjs);
  });

  it('reads quantities and IDs at the edges exactly', () => {
    const b = encode({
      header: { cluster_id: '18446744073709551615', member_id: '9223372036854775808', revision: 2 ** 53 - 1, raft_term: 7 },
      watch_id: -1,
      compact_revision: -(2 ** 53 - 1),
      events: [{ type: 'DELETE', kv: { key: Buffer.from('k'), mod_revision: 2 ** 53 - 1, lease: '-9223372036854775808' } }],
    });
    const d = decodeWatchResponse(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.header).toStrictEqual({ cluster_id: '18446744073709551615', member_id: '9223372036854775808', revision: 2 ** 53 - 1, raft_term: 7 });
    expect(d.value.watch_id).toBe(-1);
    expect(d.value.compact_revision).toBe(-(2 ** 53 - 1));
    expect(d.value.events[0]?.kv?.lease).toBe('-9223372036854775808');
    expect(d.value.events[0]?.kv?.mod_revision).toBe(2 ** 53 - 1);
    expect(d.value.events[0]?.type).toBe('DELETE');
  });

  it('skips unknown fields of every wire type, at the top and inside events and key-values', () => {
    const unknown = UNKNOWN_FIELDS;
    const kvBytes = Buffer.concat([Buffer.from([0x0a, 1, 0x6b, 0x18, 5]), unknown, Buffer.from([0x2a, 1, 0x76])]);
    const eventBytes = Buffer.concat([unknown, Buffer.from([0x12, kvBytes.length]), kvBytes]);
    const msg = Buffer.concat([unknown, Buffer.from([0x10, 3, 0x5a, eventBytes.length]), eventBytes, unknown]);
    sameOutcome(msg);
    const d = decodeWatchResponse(msg);
    expect(d.ok && d.value.watch_id === 3 && d.value.events.length === 1).toBe(true);
    if (!d.ok) return;
    expect(Buffer.from(d.value.events[0]?.kv?.key ?? [])).toEqual(Buffer.from('k'));
    expect(Buffer.from(d.value.events[0]?.kv?.value ?? [])).toEqual(Buffer.from('v'));
    expect(d.value.events[0]?.kv?.mod_revision).toBe(5);
  });

  it('refuses what it cannot read, naming the field', () => {
    const refusal = (b: Buffer): string => refusalOf(decodeWatchResponse, b);
    // An event type this API version does not know.
    expect(refusal(encode({ events: [{ type: 2 }] }))).toMatch(/WatchResponse\.events\[0\]\.type: expected one of PUT, DELETE, got 2/);
    // A revision of 2^53.
    expect(refusal(encode({ header: { revision: String(2n ** 53n) } }))).toMatch(/WatchResponse\.header\.revision: expected an integer of magnitude below 2\^53/);
    // A key-value's field cut short inside its event.
    expect(refusal(Buffer.from([0x5a, 4, 0x12, 2, 0x0a, 5]))).toMatch(/WatchResponse\.events\[0\]\.kv\.key: truncated/);
    // An event whose last field runs past the event's declared length (into the next byte).
    expect(refusal(Buffer.from([0x5a, 2, 0x08, 0x81, 0x00]))).toMatch(/WatchResponse\.events\[0\]: a field runs past the end of its message/);
    // A known field with the wrong wire type.
    expect(refusal(Buffer.from([0x12, 0]))).toMatch(/WatchResponse\.watch_id: wire type 2, want 0/);
    // A group (proto2), and a varint of 11 bytes.
    expect(refusal(Buffer.from([0x9b, 0x06]))).toMatch(/unsupported wire type 3/);
    expect(refusal(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatch(/watch_id: varint longer than 10 bytes/);
  });

  it('keeps keys and values as views into the message it was given', () => {
    const b = encode({ events: [{ type: 'PUT', kv: { key: Buffer.from('key'), value: Buffer.from('value') } }] });
    const d = decodeWatchResponse(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const value = d.value.events[0]?.kv?.value;
    expect(value?.buffer).toBe(b.buffer);
    expect(Buffer.from(value ?? []).toString()).toBe('value');
  });
});
