/**
 * watch-wire: the hand-written WatchResponse encoder against protobufjs. For any response —
 * events with and without prev_kv, PUT and DELETE, lease IDs over the whole int64 range
 * (negative ones included), revisions up to 2^53 - 1, empty keys and values, created, canceled,
 * fragment, compact revision and a cancel reason in any Unicode — the bytes decode to exactly what
 * protobufjs's own encoding of the wire object (the Watch service's old path) decodes to. Also:
 * the gRPC frame prefix, the per-event cache, and out-of-range quantities refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadProtoDefinitions } from '../../src/kv/proto/index.js';
import type { WatchEvent } from '../../src/kv/watch/index.js';
import { kvOut } from '../../src/kv/server/convert.js';
import { GRPC_FRAME_BYTES } from '../../src/kv/server/services/header-wire.js';
import { encodeEvent, WatchWire, type WireResponse } from '../../src/kv/server/services/watch-wire.js';
import { id64, keyValue, quantity } from './kv-arbitraries.js';

const method = loadProtoDefinitions().etcd.Watch.Watch;
const decode = (b: Buffer): unknown => method.responseDeserialize(b);

const event: fc.Arbitrary<WatchEvent> = fc.record({ type: fc.constantFrom('PUT' as const, 'DELETE' as const), kv: keyValue, prev_kv: keyValue }, { requiredKeys: ['type', 'kv'] });
const response: fc.Arbitrary<WireResponse> = fc.record(
  {
    revision: quantity,
    watchId: quantity,
    created: fc.boolean(),
    canceled: fc.boolean(),
    compactRevision: quantity,
    cancelReason: fc.string({ unit: 'binary', maxLength: 30 }),
    fragment: fc.boolean(),
    events: fc.array(event, { maxLength: 5 }),
  },
  { requiredKeys: ['revision', 'watchId'] },
);

/** oldWire is the object the Watch service used to hand protobufjs for the same response. */
function oldWire(r: WireResponse, clusterId: string, memberId: string, term: number): object {
  return {
    header: { cluster_id: clusterId, member_id: memberId, revision: r.revision, raft_term: term },
    watch_id: r.watchId,
    created: r.created ?? false,
    canceled: r.canceled ?? false,
    compact_revision: r.compactRevision ?? 0,
    cancel_reason: r.cancelReason ?? '',
    fragment: r.fragment ?? false,
    events: (r.events ?? []).map((e) => (e.prev_kv === undefined ? { type: e.type, kv: kvOut(e.kv) } : { type: e.type, kv: kvOut(e.kv), prev_kv: kvOut(e.prev_kv) })),
  };
}

describe('WatchWire', () => {
  it('writes responses sized one by one into one buffer, each framed as encode frames it, across a change of term', () => {
    fc.assert(
      fc.property(fc.array(response, { minLength: 1, maxLength: 6 }), fc.nat({ max: 5 }), id64, id64, fc.nat({ max: 2 ** 40 }), (rs, turnAt, clusterId, memberId, term) => {
        let t = term;
        const wire = new WatchWire(clusterId, memberId, () => t);
        // Each response keeps the header it was sized with, even if the term moves before the write.
        const headers = rs.map((r, i) => {
          if (i === turnAt) t = term + 200;
          return wire.header(r.revision);
        });
        const sizes = rs.map((r, i) => wire.size(r, headers[i]!, true));
        const expected = Buffer.concat(
          rs.map((r, i) => {
            const one = new WatchWire(clusterId, memberId, () => (i >= turnAt ? term + 200 : term));
            return one.encode(r, true);
          }),
        );
        t = term + 500;
        const out = Buffer.alloc(sizes.reduce((a, b) => a + b, 0));
        let pos = 0;
        for (let i = 0; i < rs.length; i++) {
          const end = wire.write(out, pos, rs[i]!, headers[i]!, true);
          expect(end - pos).toBe(sizes[i]);
          pos = end;
        }
        expect(out).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes every response as protobufjs would decode it', () => {
    fc.assert(
      fc.property(response, id64, id64, quantity, (r, clusterId, memberId, term) => {
        const wire = new WatchWire(clusterId, memberId, () => term);
        const ours = wire.encode(r, false);
        const theirs = method.responseSerialize(oldWire(r, clusterId, memberId, term));
        expect(decode(ours)).toEqual(decode(theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('frames a response as one uncompressed gRPC message', () => {
    const wire = new WatchWire('7', '9', () => 3);
    const r: WireResponse = { revision: 12, watchId: 4, events: [{ type: 'PUT', kv: { key: Buffer.from('a'), create_revision: 2, mod_revision: 12, version: 3, value: Buffer.from('v'), lease: 0n } }] };
    const framed = wire.encode(r, true);
    const bare = wire.encode(r, false);
    expect(framed[0]).toBe(0);
    expect(framed.readUInt32BE(1)).toBe(bare.length);
    expect(framed.subarray(GRPC_FRAME_BYTES)).toEqual(bare);
  });

  it('encodes an event once however many responses carry it, and a header once per revision and term', () => {
    const e: WatchEvent = { type: 'DELETE', kv: { key: Buffer.from('k'), create_revision: 0, mod_revision: 5, version: 0, value: Buffer.alloc(0), lease: 0n } };
    expect(encodeEvent(e)).toBe(encodeEvent(e));
    let term = 2;
    const wire = new WatchWire('1', '2', () => term);
    const header = (b: Buffer): unknown => (decode(b) as { header: unknown }).header;
    expect(header(wire.encode({ revision: 5, watchId: 0 }, false))).toEqual({ cluster_id: '1', member_id: '2', revision: '5', raft_term: '2' });
    term = 3;
    expect(header(wire.encode({ revision: 5, watchId: 1 }, false))).toEqual({ cluster_id: '1', member_id: '2', revision: '5', raft_term: '3' });
  });

  it('refuses a quantity it cannot encode exactly, naming the field', () => {
    const wire = new WatchWire('1', '2', () => 1);
    expect(() => wire.encode({ revision: 1, watchId: -1 }, false)).toThrow(/watch_id must be a non-negative safe integer, got -1/);
    expect(() => wire.encode({ revision: 2 ** 53, watchId: 0 }, false)).toThrow(/header revision/);
  });
});
