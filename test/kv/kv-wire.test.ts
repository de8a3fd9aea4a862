/**
 * kv-wire: the hand-written PutResponse, RangeResponse and TxnResponse encoders against
 * protobufjs. For any response — with and without prev_kv, any number of key-values (empty keys
 * and values, leases over the whole int64 range, quantities up to 2^53 - 1), more and count, a
 * transaction's responses of every kind nested three deep, any cluster and member ID and term —
 * the bytes decode to exactly what protobufjs's encoding of the response object the KV service
 * used to build (response-objects.ts) decodes to. Also: the gRPC frame prefix, and out-of-range
 * quantities refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtoDefinitions } from '../../src/kv/proto/index.js';
import { GRPC_FRAME_BYTES } from '../../src/kv/server/services/header-wire.js';
import { KvWire } from '../../src/kv/server/services/kv-wire.js';
import type { ResponseOp, TxnResult } from '../../src/kv/mvcc/index.js';
import { id64, keyValue, quantity } from './kv-arbitraries.js';
import { putOut, rangeOut, txnOut } from './response-objects.js';

const { Put, Range, Txn } = loadProtoDefinitions().etcd.KV;

const rangeResult = fc.record({ kvs: fc.array(keyValue, { maxLength: 6 }), more: fc.boolean(), count: quantity });

/** txnResult is a TxnResult whose operations' responses are of every kind, transactions nested up to three deep. */
const txnResult: fc.Arbitrary<TxnResult> = fc.letrec<{ txn: TxnResult; op: ResponseOp }>((tie) => ({
  txn: fc.record({ revision: quantity, succeeded: fc.boolean(), responses: fc.array(tie('op'), { maxLength: 4 }) }),
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    rangeResult.map((r) => ({ response_range: { ...r, revision: 0 } })),
    fc.option(keyValue, { nil: undefined }).map((prev) => ({ response_put: prev === undefined ? { revision: 0 } : { revision: 0, prev_kv: prev } })),
    fc.record({ deleted: quantity, prev_kvs: fc.array(keyValue, { maxLength: 3 }) }).map((d) => ({ response_delete_range: { ...d, revision: 0 } })),
    tie('txn').map((t) => ({ response_txn: t })),
  ),
})).txn;
const header = (clusterId: string, memberId: string, revision: number, term: number) => ({ cluster_id: clusterId, member_id: memberId, revision, raft_term: term });

describe('KvWire', () => {
  it('encodes every PutResponse as protobufjs would decode it', () => {
    fc.assert(
      fc.property(id64, id64, quantity, quantity, fc.option(keyValue, { nil: undefined }), (clusterId, memberId, revision, term, prev) => {
        const ours = new KvWire(clusterId, memberId, () => term).put(revision, prev, false);
        const theirs = Put.responseSerialize(putOut(header(clusterId, memberId, revision, term), prev === undefined ? { revision } : { revision, prev_kv: prev }));
        expect(Put.responseDeserialize(ours)).toEqual(Put.responseDeserialize(theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes every RangeResponse as protobufjs would decode it', () => {
    fc.assert(
      fc.property(id64, id64, quantity, quantity, rangeResult, (clusterId, memberId, revision, term, r) => {
        const ours = new KvWire(clusterId, memberId, () => term).range(revision, r, false);
        const theirs = Range.responseSerialize(rangeOut(header(clusterId, memberId, revision, term), { ...r, revision }));
        expect(Range.responseDeserialize(ours)).toEqual(Range.responseDeserialize(theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes every TxnResponse, nested ones too, as protobufjs would decode it', () => {
    fc.assert(
      fc.property(id64, id64, quantity, quantity, txnResult, (clusterId, memberId, revision, term, r) => {
        const ours = new KvWire(clusterId, memberId, () => term).txn(revision, r, false);
        const theirs = Txn.responseSerialize(txnOut(header(clusterId, memberId, revision, term), r));
        expect(Txn.responseDeserialize(ours)).toEqual(Txn.responseDeserialize(theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('gives each nested response the transaction\'s header, and leaves a false succeeded out', () => {
    const wire = new KvWire('7', '9', () => 3);
    const kv = { key: Buffer.from('a'), create_revision: 2, mod_revision: 12, version: 3, value: Buffer.from('v'), lease: 0n };
    const inner: TxnResult = { revision: 12, succeeded: true, responses: [{ response_put: { revision: 12, prev_kv: kv } }] };
    const r: TxnResult = { revision: 12, succeeded: false, responses: [{ response_range: { revision: 12, kvs: [kv], more: false, count: 1 } }, { response_txn: inner }] };
    const out = Txn.responseDeserialize(wire.txn(12, r, false)) as { header: unknown; succeeded: boolean; responses: { response_range?: { header: unknown }; response_txn?: { header: unknown; succeeded: boolean; responses: { response_put?: { header: unknown } }[] } }[] };
    const hdr = { cluster_id: '7', member_id: '9', revision: '12', raft_term: '3' };
    expect(out.header).toEqual(hdr);
    expect(out.succeeded).toBe(false);
    expect(out.responses[0]?.response_range?.header).toEqual(hdr);
    expect(out.responses[1]?.response_txn?.header).toEqual(hdr);
    expect(out.responses[1]?.response_txn?.succeeded).toBe(true);
    expect(out.responses[1]?.response_txn?.responses[0]?.response_put?.header).toEqual(hdr);
    // The field succeeded (2, varint) appears once: in the nested transaction.
    const bytes = wire.txn(12, r, false);
    expect(Buffer.from(wire.txn(12, { ...r, succeeded: true }, false)).length).toBe(bytes.length + 2);
  });

  it('frames a response as one uncompressed gRPC message', () => {
    const wire = new KvWire('7', '9', () => 3);
    const kv = { key: Buffer.from('a'), create_revision: 2, mod_revision: 12, version: 3, value: Buffer.from('v'), lease: 5n };
    for (const [framed, bare] of [
      [wire.put(12, kv, true), wire.put(12, kv, false)],
      [wire.range(12, { kvs: [kv, kv], more: true, count: 9 }, true), wire.range(12, { kvs: [kv, kv], more: true, count: 9 }, false)],
      [wire.txn(12, { succeeded: true, responses: [{ response_put: { revision: 12, prev_kv: kv } }] }, true), wire.txn(12, { succeeded: true, responses: [{ response_put: { revision: 12, prev_kv: kv } }] }, false)],
    ] as const) {
      expect(framed[0]).toBe(0);
      expect(framed.readUInt32BE(1)).toBe(bare.length);
      expect(framed.subarray(GRPC_FRAME_BYTES)).toEqual(bare);
    }
  });

  it('follows the term: a header cached for a revision is rebuilt when the term moves', () => {
    let term = 2;
    const wire = new KvWire('1', '2', () => term);
    const headerOf = (b: Buffer): unknown => (Put.responseDeserialize(b) as { header: unknown }).header;
    expect(headerOf(wire.put(5, undefined, false))).toEqual({ cluster_id: '1', member_id: '2', revision: '5', raft_term: '2' });
    term = 3;
    expect(headerOf(wire.put(5, undefined, false))).toEqual({ cluster_id: '1', member_id: '2', revision: '5', raft_term: '3' });
  });

  it('refuses a quantity it cannot encode exactly, naming the field', () => {
    const wire = new KvWire('1', '2', () => 1);
    const kv = { key: Buffer.from('a'), create_revision: 2, mod_revision: -1, version: 3, value: Buffer.from('v'), lease: 0n };
    expect(() => wire.range(1, { kvs: [], more: false, count: 2 ** 53 }, false)).toThrow(/RangeResponse count must be a non-negative safe integer/);
    expect(() => wire.range(1, { kvs: [kv], more: false, count: 1 }, false)).toThrow(/RangeResponse mod_revision/);
    expect(() => wire.put(1, kv, false)).toThrow(/PutResponse mod_revision/);
    expect(() => wire.put(-3, undefined, false)).toThrow(/header revision/);
    expect(() => wire.txn(1, { succeeded: true, responses: [{ response_delete_range: { revision: 1, deleted: -1, prev_kvs: [] } }] }, false)).toThrow(/DeleteRangeResponse deleted/);
    expect(() => wire.txn(1, { succeeded: true, responses: [{ response_txn: { revision: 1, succeeded: false, responses: [{ response_range: { revision: 1, kvs: [kv], more: false, count: 1 } }] } }] }, false)).toThrow(/RangeResponse mod_revision/);
    // A refusal halfway through sizing leaves nothing behind for the wire's next response.
    const good = { ...kv, mod_revision: 4 };
    const r: TxnResult = { revision: 1, succeeded: true, responses: [{ response_range: { revision: 1, kvs: [good, good], more: false, count: 2 } }] };
    expect(Txn.responseDeserialize(wire.txn(1, r, false))).toEqual(Txn.responseDeserialize(Txn.responseSerialize(txnOut(header('1', '2', 1, 1), r))));
  });
});
