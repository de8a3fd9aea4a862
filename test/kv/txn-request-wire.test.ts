/**
 * txn-request-wire: the hand-written TxnRequest decoder against the path it replaces (protobufjs's
 * decode and toObject under LOADER_OPTIONS, then requestDecoders.TxnRequest). For any transaction
 * protobufjs encodes — compares of every target with any operand, every kind of operation, nested
 * transactions — both give exactly the same value, directly and through a log entry; so they do
 * for wire that repeats a field, sets a oneof twice or joins two transactions; for every
 * truncation, whatever the new decoder accepts the old path reads as the same value. Also:
 * unknown fields skipped, refusals naming the message, keys and values as views.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTxnRequest } from '../../src/kv/proto/txn-request-wire.js';
import { COMPARE_RESULTS, COMPARE_TARGETS, SORT_ORDERS, SORT_TARGETS } from '../../src/kv/proto/etcd-types.js';
import { loadProtoDefinitions, requestDecoders } from '../../src/kv/proto/index.js';
import { decodeRequest, encodeWire } from '../../src/kv/server/requests.js';
import { expectTruncationsAgree, refusalOf, UNKNOWN_FIELDS, viaProtobufjs as oldPath } from './wire-parity.js';

const method = loadProtoDefinitions().etcd.KV.Txn;
const encode = (o: object): Buffer => method.requestSerialize(o);
const viaProtobufjs = oldPath(method.requestDeserialize, requestDecoders.TxnRequest);

const bytes = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ minLength: 200, maxLength: 260 })).map((a) => Buffer.from(a));
const quantity = fc.oneof(fc.integer({ min: -5, max: 1000 }), fc.maxSafeInteger());
const lease = fc.oneof(fc.maxSafeNat(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String));
const operand = fc.oneof(
  fc.constant({}),
  fc.record({ version: quantity }),
  fc.record({ create_revision: quantity }),
  fc.record({ mod_revision: quantity }),
  fc.record({ value: bytes }),
  fc.record({ lease }),
);
const compare = fc
  .tuple(fc.record({ result: fc.constantFrom(...COMPARE_RESULTS), target: fc.constantFrom(...COMPARE_TARGETS), key: bytes, range_end: bytes }, { requiredKeys: [] }), operand)
  .map(([c, o]) => ({ ...c, ...o }));
const range = fc.record(
  { key: bytes, range_end: bytes, limit: fc.nat(100), revision: fc.nat(1000), sort_order: fc.constantFrom(...SORT_ORDERS), sort_target: fc.constantFrom(...SORT_TARGETS), serializable: fc.boolean(), keys_only: fc.boolean(), count_only: fc.boolean(), min_mod_revision: fc.nat(9), max_create_revision: fc.nat(9) },
  { requiredKeys: [] },
);
const put = fc.record({ key: bytes, value: bytes, lease, prev_kv: fc.boolean(), ignore_value: fc.boolean(), ignore_lease: fc.boolean() }, { requiredKeys: [] });
const del = fc.record({ key: bytes, range_end: bytes, prev_kv: fc.boolean() }, { requiredKeys: [] });

const { txn } = fc.letrec<{ txn: object; op: object }>((tie) => ({
  txn: fc.record({ compare: fc.array(compare, { maxLength: 3 }), success: fc.array(tie('op'), { maxLength: 3 }), failure: fc.array(tie('op'), { maxLength: 2 }) }, { requiredKeys: [] }),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ request_put: put }),
    fc.record({ request_range: range }),
    fc.record({ request_delete_range: del }),
    fc.record({ request_txn: tie('txn') }),
  ),
}));

/** field builds a length-delimited field. */
function field(n: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(n << 3) | 2, body.length]), body]);
}

describe('decodeTxnRequest', () => {
  it('gives what protobufjs and requestDecoders give, for any transaction, and so does a log entry', () => {
    fc.assert(
      fc.property(txn, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (t, id) => {
        const b = encode(t);
        const want = viaProtobufjs(b);
        expect(want.ok).toBe(true);
        expect(decodeTxnRequest(Buffer.from(b))).toStrictEqual(want);
        expect(decodeRequest(encodeWire('txn', id, t))).toStrictEqual({ ok: true, value: { id, request: { kind: 'txn', req: want.ok ? want.value : null } } });
      }),
      { numRuns: 600 },
    );
  });

  it('reads two transactions sent as one (protobuf concatenation) as protobufjs does', () => {
    fc.assert(
      fc.property(txn, txn, (a, b) => {
        const both = Buffer.concat([encode(a), encode(b)]);
        expect(decodeTxnRequest(both)).toStrictEqual(viaProtobufjs(both));
      }),
      { numRuns: 200 },
    );
  });

  it('reads a repeated field, a twice-set oneof and a twice-sent operation as protobufjs does', () => {
    const cmp = (...parts: Buffer[]): Buffer => field(1, Buffer.concat(parts));
    const version5 = Buffer.from([0x20, 5]);
    const mod7 = Buffer.from([0x30, 7]);
    const targetVersion = Buffer.from([0x10, 0]);
    const targetMod = Buffer.from([0x10, 2]);
    // A RequestOp's own fields: its request_put or request_range member, as protobufjs wrote it.
    const put = (k: string): Buffer => encodeOp({ request_put: { key: Buffer.from(k) } }).subarray(2);
    const range = (k: string): Buffer => encodeOp({ request_range: { key: Buffer.from(k) } }).subarray(2);
    const cases = [
      cmp(targetVersion, version5, mod7),
      cmp(targetVersion, mod7, version5),
      cmp(targetMod, version5, mod7),
      cmp(targetMod, mod7, version5, Buffer.from([0x30, 9])),
      cmp(Buffer.from([0x08, 1, 0x08, 3]), targetMod, mod7),
      field(2, Buffer.concat([put('a'), range('b')])),
      field(2, Buffer.concat([range('b'), put('a')])),
      field(2, Buffer.concat([put('a'), put('c')])),
      // An operand beyond 2^53 counts only when the target reads it.
      cmp(targetVersion, version5, Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])),
    ];
    for (const b of cases) {
      const want = viaProtobufjs(b);
      expect(want.ok, b.toString('hex')).toBe(true);
      expect(decodeTxnRequest(b), b.toString('hex')).toStrictEqual(want);
    }
  });

  it('refuses an operand beyond 2^53 when the target reads it, as the old path does', () => {
    const huge = field(1, Buffer.from([0x10, 2, 0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]));
    expect(viaProtobufjs(huge).ok).toBe(false);
    expect(refusalOf(decodeTxnRequest, huge)).toMatch(/^Invalid Compare\.mod_revision: expected an integer of magnitude below 2\^53, got 1152921504606846976/);
  });

  it('accepts a truncated transaction only where the old path reads the same value', () => {
    expectTruncationsAgree(txn, encode, decodeTxnRequest, viaProtobufjs);
  });

  it('skips unknown fields and refuses what it cannot read, naming the message', () => {
    const msg = Buffer.concat([UNKNOWN_FIELDS, encode({ success: [{ request_put: { key: Buffer.from('k'), lease: '-1' } }] }), UNKNOWN_FIELDS]);
    const d = decodeTxnRequest(msg);
    expect(d).toStrictEqual(viaProtobufjs(msg));
    expect(d.ok && d.value.success[0]?.request === 'request_put' && d.value.success[0].request_put.lease === '-1').toBe(true);
    expect(refusalOf(decodeTxnRequest, field(2, Buffer.alloc(0)))).toMatch(/^Invalid RequestOp\.request: one of request_range, request_put, request_delete_range, request_txn must be set/);
    expect(refusalOf(decodeTxnRequest, field(1, Buffer.from([0x08, 9])))).toMatch(/^Invalid Compare\.result: expected one of EQUAL, GREATER, LESS, NOT_EQUAL, got 9/);
    expect(refusalOf(decodeTxnRequest, Buffer.from([0x12, 5, 0x0a]))).toMatch(/^Invalid TxnRequest\.success: truncated/);
    expect(refusalOf(decodeTxnRequest, field(2, field(2, Buffer.from([0x0a, 4]))))).toMatch(/^Invalid PutRequest\.key: truncated/);
    // Through a log entry, the refusal says what the entry was.
    const bad = Buffer.concat([Buffer.from(encodeWire('txn', 7n, {})), Buffer.from([0x0a, 9])]);
    expect(decodeRequest(bad)).toMatchObject({ ok: false, id: 7n, error: expect.stringMatching(/^txn request is not a valid TxnRequest: Invalid TxnRequest\.compare: truncated/) as unknown });
  });

  it('keeps keys and values as views into the bytes it was given', () => {
    const b = encode({ compare: [{ target: 'VALUE', key: Buffer.from('c'), value: Buffer.from('v') }], success: [{ request_txn: { success: [{ request_put: { key: Buffer.from('key'), value: Buffer.from('value') } }] } }] });
    const d = decodeTxnRequest(b);
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const inner = d.value.success[0]?.request === 'request_txn' ? d.value.success[0].request_txn.success[0] : undefined;
    const v = inner?.request === 'request_put' ? inner.request_put.value : undefined;
    expect(v?.buffer).toBe(b.buffer);
    expect(Buffer.from(v ?? []).toString()).toBe('value');
    const c = d.value.compare[0];
    expect(c?.target === 'VALUE' ? Buffer.from(c.value).toString() : null).toBe('v');
  });
});

/** encodeOp encodes a TxnRequest whose success is the one operation `op` (its first field is that operation). */
function encodeOp(op: object): Buffer {
  return encode({ success: [op] });
}
