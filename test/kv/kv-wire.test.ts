/**
 * kv-wire: the hand-written PutResponse and RangeResponse encoders against protobufjs. For any
 * response — with and without prev_kv, any number of key-values (empty keys and values, leases
 * over the whole int64 range, quantities up to 2^53 - 1), more and count, any cluster and member
 * ID and term — the bytes decode to exactly what protobufjs's encoding of the response object the
 * KV service used to build (convert.ts's putOut and rangeOut) decodes to. Also: the gRPC frame
 * prefix, and out-of-range quantities refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtoDefinitions } from '../../src/kv/proto/index.js';
import { putOut, rangeOut } from '../../src/kv/server/convert.js';
import { GRPC_FRAME_BYTES } from '../../src/kv/server/services/header-wire.js';
import { KvWire } from '../../src/kv/server/services/kv-wire.js';
import { id64, keyValue, quantity } from './kv-arbitraries.js';

const { Put, Range } = loadProtoDefinitions().etcd.KV;
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
    const result = fc.record({ kvs: fc.array(keyValue, { maxLength: 6 }), more: fc.boolean(), count: quantity });
    fc.assert(
      fc.property(id64, id64, quantity, quantity, result, (clusterId, memberId, revision, term, r) => {
        const ours = new KvWire(clusterId, memberId, () => term).range(revision, r, false);
        const theirs = Range.responseSerialize(rangeOut(header(clusterId, memberId, revision, term), { ...r, revision }));
        expect(Range.responseDeserialize(ours)).toEqual(Range.responseDeserialize(theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('frames a response as one uncompressed gRPC message', () => {
    const wire = new KvWire('7', '9', () => 3);
    const kv = { key: Buffer.from('a'), create_revision: 2, mod_revision: 12, version: 3, value: Buffer.from('v'), lease: 5n };
    for (const [framed, bare] of [
      [wire.put(12, kv, true), wire.put(12, kv, false)],
      [wire.range(12, { kvs: [kv, kv], more: true, count: 9 }, true), wire.range(12, { kvs: [kv, kv], more: true, count: 9 }, false)],
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
  });
});
