// Tests of the wire layer: the protos load with every method etcdctl calls, known messages
// encode to the bytes etcd's own (Go) encoder produces, decoders narrow and refuse precisely,
// and the raft codec round-trips every message type through real gRPC serialization.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MethodDefinition } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeMessage,
  findProtoDir,
  loadProtoDefinitions,
  requestDecoders,
  responseDecoders,
  SERVICE_SHAPES,
  snapshotChunks,
  SnapshotAssembler,
} from '../../src/kv/proto/index.js';
import { logIndex, nodeId, term, type Entry, type Message, type Snapshot, type SnapshotMessage } from '../../src/raft/types.js';

const defs = loadProtoDefinitions();
const { KV, Watch, Lease, Cluster, Maintenance } = defs.etcd;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('loader', () => {
  it('finds every method etcdctl and the etcd3 client call, with the right paths and streaming', () => {
    const expected: [string, boolean, boolean][] = [
      ['/etcdserverpb.KV/Range', false, false],
      ['/etcdserverpb.KV/Put', false, false],
      ['/etcdserverpb.KV/DeleteRange', false, false],
      ['/etcdserverpb.KV/Txn', false, false],
      ['/etcdserverpb.KV/Compact', false, false],
      ['/etcdserverpb.Watch/Watch', true, true],
      ['/etcdserverpb.Lease/LeaseGrant', false, false],
      ['/etcdserverpb.Lease/LeaseRevoke', false, false],
      ['/etcdserverpb.Lease/LeaseKeepAlive', true, true],
      ['/etcdserverpb.Lease/LeaseTimeToLive', false, false],
      ['/etcdserverpb.Lease/LeaseLeases', false, false],
      ['/etcdserverpb.Cluster/MemberAdd', false, false],
      ['/etcdserverpb.Cluster/MemberRemove', false, false],
      ['/etcdserverpb.Cluster/MemberUpdate', false, false],
      ['/etcdserverpb.Cluster/MemberList', false, false],
      ['/etcdserverpb.Cluster/MemberPromote', false, false],
      ['/etcdserverpb.Maintenance/Alarm', false, false],
      ['/etcdserverpb.Maintenance/Status', false, false],
      ['/etcdserverpb.Maintenance/Defragment', false, false],
      ['/etcdserverpb.Maintenance/Hash', false, false],
      ['/etcdserverpb.Maintenance/HashKV', false, false],
      ['/etcdserverpb.Maintenance/Snapshot', false, true],
      ['/etcdserverpb.Maintenance/MoveLeader', false, false],
      ['/etcdserverpb.Auth/Authenticate', false, false],
      ['/etcdserverpb.Auth/AuthStatus', false, false],
      ['/raftkube.raftpb.Raft/SendSnapshot', true, false],
    ];
    const all = new Map<string, { requestStream: boolean; responseStream: boolean }>();
    const services: readonly Readonly<Record<string, MethodDefinition<unknown, unknown>>>[] = [KV, Watch, Lease, Cluster, Maintenance, defs.etcd.Auth, defs.raft];
    for (const service of services) {
      for (const method of Object.values(service)) all.set(method.path, method);
    }
    for (const [path, requestStream, responseStream] of expected) {
      expect(all.get(path), path).toMatchObject({ requestStream, responseStream });
    }
    const declared = Object.values(SERVICE_SHAPES).reduce((n, shape) => n + Object.keys(shape).length, 0);
    expect(all.size).toBe(declared);
  });

  it('finds proto/ from src/ (tsx) and from dist/src/ (built) alike', () => {
    const root = dirname(defs.protoDir);
    expect(findProtoDir(pathToFileURL(join(root, 'src/kv/proto/loader.ts')).href)).toBe(defs.protoDir);
    expect(findProtoDir(pathToFileURL(join(root, 'dist/src/kv/proto/loader.js')).href)).toBe(defs.protoDir);
  });

  it('says what to do when there is no proto/ above the module', () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftkube-proto-'));
    try {
      expect(() => findProtoDir(join(dir, 'a/b/loader.js'))).toThrow(/Cannot find proto\/etcdserverpb\/rpc\.proto/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

// Byte vectors computed by hand from the field numbers of etcd's rpc.proto / kv.proto
// (tag = field << 3 | wire type; varints little-endian base 128).
describe('etcd wire bytes', () => {
  it('PutRequest{key:"foo", value:"bar"}', () => {
    const bytes = KV.Put.requestSerialize({ key: utf8('foo'), value: utf8('bar') });
    expect(hex(bytes)).toBe('0a03666f6f1203626172');
  });

  it('RangeRequest with sort, serializable and the revision filters (fields 5-13)', () => {
    const bytes = KV.Range.requestSerialize({
      key: utf8('a'),
      range_end: utf8('b'),
      limit: 10,
      sort_order: 'DESCEND',
      sort_target: 'MOD',
      serializable: true,
      min_mod_revision: 5,
      max_create_revision: 300,
    });
    // key=1, range_end=2, limit=3, sort_order=5 (DESCEND=2), sort_target=6 (MOD=3),
    // serializable=7, min_mod_revision=10 (tag 0x50), max_create_revision=13 (tag 0x68, 300=ac02)
    expect(hex(bytes)).toBe('0a0161 120162 180a 2802 3003 3801 5005 68ac02'.replace(/ /g, ''));
  });

  it('WatchRequest.create_request with filters, prev_kv, watch_id and fragment (fields 5-8)', () => {
    const bytes = Watch.Watch.requestSerialize({
      create_request: { key: utf8('k'), start_revision: 7, filters: ['NODELETE'], prev_kv: true, watch_id: 3, fragment: true },
    });
    // create_request=1 { key=1, start_revision=3, filters=5 packed [1], prev_kv=6, watch_id=7, fragment=8 }
    expect(hex(bytes)).toBe('0a0e 0a016b 1807 2a0101 3001 3803 4001'.replace(/ /g, ''));
  });

  it('WatchProgressRequest is field 3 of WatchRequest', () => {
    expect(hex(Watch.Watch.requestSerialize({ progress_request: {} }))).toBe('1a00');
  });

  it('WatchResponse with compact_revision, cancel_reason, fragment and events (fields 5, 6, 7, 11)', () => {
    const bytes = Watch.Watch.responseSerialize({
      header: { revision: 9 },
      watch_id: 1,
      created: true,
      compact_revision: 2,
      cancel_reason: 'x',
      fragment: true,
      events: [{ type: 'DELETE', kv: { key: utf8('k'), mod_revision: 9 } }],
    });
    expect(hex(bytes)).toBe('0a021809 1001 1801 2802 320178 3801 5a09 0801 1205 0a016b 1809'.replace(/ /g, ''));
  });

  it('StatusResponse with raftAppliedIndex, dbSizeInUse and isLearner (fields 7, 9, 10) and a full-range member id', () => {
    const bytes = Maintenance.Status.responseSerialize({
      header: { member_id: '18446744073709551615' },
      version: '3.4',
      raftAppliedIndex: 10,
      dbSizeInUse: 1,
      isLearner: true,
    });
    // header=1 { member_id=2 (varint, tag 10): 2^64-1 is nine ff bytes then 01 }, version=2, field 7, field 9, field 10
    expect(hex(bytes)).toBe('0a0b 10ffffffffffffffffff01 1203332e34 380a 4801 5001'.replace(/ /g, ''));
    const decoded = responseDecoders.StatusResponse(Maintenance.Status.responseDeserialize(bytes));
    expect(decoded).toMatchObject({ ok: true, value: { header: { member_id: '18446744073709551615' }, isLearner: true, raftAppliedIndex: 10 } });
  });

  it('Member.isLearner is field 5 and MemberListResponse.members field 2', () => {
    const bytes = Cluster.MemberList.responseSerialize({ members: [{ ID: '1', name: 'a', peerURLs: ['p'], isLearner: true }] });
    expect(hex(bytes)).toBe('120a 0801 120161 1a0170 2801'.replace(/ /g, ''));
  });

  it('Compare encodes a zero oneof operand and range_end as field 64', () => {
    const bytes = KV.Txn.requestSerialize({
      compare: [{ result: 'LESS', target: 'MOD', key: utf8('k'), mod_revision: 0, range_end: utf8('z') }],
    });
    // compare=1 { result=1 LESS=2, target=2 MOD=2, key=3, mod_revision=6 (0, still sent), range_end=64 (tag 8204) }
    expect(hex(bytes)).toBe('0a0d 0802 1002 1a016b 3000 8204017a'.replace(/ /g, ''));
  });

  it('negative int64 (TTL -1) is a ten-byte varint', () => {
    const bytes = Lease.LeaseTimeToLive.responseSerialize({ TTL: -1 });
    expect(hex(bytes)).toBe('18ffffffffffffffffff01');
    expect(responseDecoders.LeaseTimeToLiveResponse(Lease.LeaseTimeToLive.responseDeserialize(bytes))).toMatchObject({ ok: true, value: { TTL: -1 } });
  });
});

describe('etcd request decoders', () => {
  it('narrow what grpc-js hands a handler: bytes as Buffers, int64 as numbers, enums by name', () => {
    const wire = KV.Range.requestDeserialize(unhex('0a0161 120162 180a 2802 3003 3801 5005 68ac02'));
    const decoded = requestDecoders.RangeRequest(wire);
    expect(decoded).toStrictEqual({
      ok: true,
      value: {
        key: utf8('a'),
        range_end: utf8('b'),
        limit: 10,
        revision: 0,
        sort_order: 'DESCEND',
        sort_target: 'MOD',
        serializable: true,
        keys_only: false,
        count_only: false,
        min_mod_revision: 5,
        max_mod_revision: 0,
        min_create_revision: 0,
        max_create_revision: 300,
      },
    });
  });

  it('keep 64-bit ids exact and refuse quantities of 2^53 or more', () => {
    const put = requestDecoders.PutRequest(KV.Put.requestDeserialize(KV.Put.requestSerialize({ key: utf8('k'), lease: '9223372036854775807' })));
    expect(put).toMatchObject({ ok: true, value: { lease: '9223372036854775807' } });
    const range = requestDecoders.RangeRequest(KV.Range.requestDeserialize(KV.Range.requestSerialize({ revision: '9007199254740992' })));
    expect(range.ok).toBe(false);
    expect(range.ok ? '' : range.error).toMatch(/^Invalid RangeRequest\.revision: expected an integer of magnitude below 2\^53, got "9007199254740992"/);
  });

  it('refuse an enum value this API version does not know', () => {
    // sort_order = 9
    const decoded = requestDecoders.RangeRequest(KV.Range.requestDeserialize(unhex('2809')));
    expect(decoded.ok ? '' : decoded.error).toMatch(/^Invalid RangeRequest\.sort_order: expected one of NONE, ASCEND, DESCEND, got 9/);
  });

  it('decode each oneof member of WatchRequest and refuse an empty one', () => {
    const roundTrip = (v: object): unknown => Watch.Watch.requestDeserialize(Watch.Watch.requestSerialize(v));
    expect(requestDecoders.WatchRequest(roundTrip({ cancel_request: { watch_id: 4 } }))).toStrictEqual({
      ok: true,
      value: { request_union: 'cancel_request', cancel_request: { watch_id: 4 } },
    });
    expect(requestDecoders.WatchRequest(roundTrip({ progress_request: {} }))).toStrictEqual({
      ok: true,
      value: { request_union: 'progress_request', progress_request: {} },
    });
    const create = requestDecoders.WatchRequest(roundTrip({ create_request: { key: utf8('a'), filters: ['NOPUT', 'NODELETE'] } }));
    expect(create).toMatchObject({ ok: true, value: { request_union: 'create_request', create_request: { filters: ['NOPUT', 'NODELETE'] } } });
    const none = requestDecoders.WatchRequest(roundTrip({}));
    expect(none.ok ? '' : none.error).toMatch(/^Invalid WatchRequest\.request_union/);
  });

  it('decode nested transactions and tie each compare operand to its target as etcd does', () => {
    const txn = {
      compare: [
        { result: 'EQUAL', target: 'VERSION', key: utf8('a'), version: 0 },
        // operand of another target: etcd compares against the target's zero value
        { result: 'GREATER', target: 'CREATE', key: utf8('b'), mod_revision: 7 },
        { result: 'NOT_EQUAL', target: 'VALUE', key: utf8('c'), value: utf8('v') },
      ],
      success: [
        { request_put: { key: utf8('a'), value: utf8('1') } },
        { request_txn: { success: [{ request_delete_range: { key: utf8('x'), prev_kv: true } }] } },
      ],
      failure: [{ request_range: { key: utf8('a'), count_only: true } }],
    };
    const decoded = requestDecoders.TxnRequest(KV.Txn.requestDeserialize(KV.Txn.requestSerialize(txn)));
    if (!decoded.ok) throw new Error(decoded.error);
    expect(decoded.value.compare).toStrictEqual([
      { result: 'EQUAL', key: utf8('a'), range_end: Buffer.alloc(0), target: 'VERSION', target_union: 'version', version: 0 },
      { result: 'GREATER', key: utf8('b'), range_end: Buffer.alloc(0), target: 'CREATE', target_union: 'create_revision', create_revision: 0 },
      { result: 'NOT_EQUAL', key: utf8('c'), range_end: Buffer.alloc(0), target: 'VALUE', target_union: 'value', value: utf8('v') },
    ]);
    expect(decoded.value.success.map((op) => op.request)).toStrictEqual(['request_put', 'request_txn']);
    const inner = decoded.value.success[1];
    expect(inner?.request === 'request_txn' && inner.request_txn.success[0]).toMatchObject({
      request: 'request_delete_range',
      request_delete_range: { key: utf8('x'), prev_kv: true },
    });
    expect(decoded.value.failure[0]).toMatchObject({ request: 'request_range', request_range: { count_only: true } });
  });

  it('accept hand-built objects (numbers, missing fields) as well as proto-loader output', () => {
    expect(requestDecoders.LeaseGrantRequest({ TTL: 10 })).toStrictEqual({ ok: true, value: { TTL: 10, ID: '0' } });
    expect(requestDecoders.StatusRequest({})).toStrictEqual({ ok: true, value: {} });
    expect(requestDecoders.PutRequest({ key: 'not bytes' }).ok).toBe(false);
    expect(requestDecoders.PutRequest(null)).toMatchObject({ ok: true, value: { lease: '0', prev_kv: false } });
  });

  it('decode responses: optional messages stay absent, events keep their kvs', () => {
    const put = responseDecoders.PutResponse(KV.Put.responseDeserialize(KV.Put.responseSerialize({ header: { revision: 3 } })));
    expect(put).toStrictEqual({ ok: true, value: { header: { cluster_id: '0', member_id: '0', revision: 3, raft_term: 0 } } });
    const watch = responseDecoders.WatchResponse(
      Watch.Watch.responseDeserialize(unhex('0a021809 1001 1801 2802 320178 3801 5a09 0801 1205 0a016b 1809')),
    );
    expect(watch).toMatchObject({
      ok: true,
      value: { watch_id: 1, created: true, compact_revision: 2, cancel_reason: 'x', fragment: true, events: [{ type: 'DELETE', kv: { key: utf8('k'), mod_revision: 9 } }] },
    });
    expect(watch.ok && watch.value.events[0]).not.toHaveProperty('prev_kv');
  });
});

// ---- raft codec ----

/** rec is fc.record with ordinary prototypes, so that toStrictEqual compares like with like. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}


const SendSnapshot = defs.raft.SendSnapshot;

/** throughBytes sends one raft message through protobuf bytes, as the first SnapshotChunk's message. */
function throughBytes(m: Message): unknown {
  const wire = SendSnapshot.requestDeserialize(SendSnapshot.requestSerialize({ message: encodeMessage(m), cluster_id: '1', offset: 0, total_size: 0, data: new Uint8Array(0) })) as { message: unknown };
  return wire.message;
}

const idArb = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map(nodeId);
const termArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(term);
const indexArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(logIndex);
const bytesArb = fc.uint8Array({ maxLength: 40 });
const contextArb = fc.option(bytesArb, { nil: null });
const entryArb: fc.Arbitrary<Entry> = rec({ term: termArb, index: indexArb, type: fc.constantFrom('normal' as const, 'conf-change' as const), data: bytesArb });
const snapshotArb: fc.Arbitrary<Snapshot> = rec({
  metadata: rec({ index: indexArb, term: termArb, confState: rec({ voters: fc.array(idArb, { maxLength: 5 }), learners: fc.array(idArb, { maxLength: 3 }) }) }),
  data: fc.uint8Array({ maxLength: 300 }),
});
const envelopeArb = rec({ from: idArb, to: idArb, term: termArb });

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  rec({ env: envelopeArb, index: indexArb, logTerm: termArb, entries: fc.array(entryArb, { maxLength: 4 }), commit: indexArb }).map(
    ({ env, ...m }): Message => ({ type: 'app', ...env, ...m }),
  ),
  rec({ env: envelopeArb, index: indexArb, reject: fc.boolean(), rejectHint: indexArb, logTerm: termArb }).map(
    ({ env, ...m }): Message => ({ type: 'app-resp', ...env, ...m }),
  ),
  rec({ env: envelopeArb, type: fc.constantFrom('vote' as const, 'pre-vote' as const), index: indexArb, logTerm: termArb, force: fc.boolean() }).map(
    ({ env, ...m }): Message => ({ ...env, ...m }),
  ),
  rec({ env: envelopeArb, type: fc.constantFrom('vote-resp' as const, 'pre-vote-resp' as const), reject: fc.boolean() }).map(
    ({ env, ...m }): Message => ({ ...env, ...m }),
  ),
  rec({ env: envelopeArb, commit: indexArb, context: contextArb }).map(({ env, ...m }): Message => ({ type: 'heartbeat', ...env, ...m })),
  rec({ env: envelopeArb, context: contextArb }).map(({ env, ...m }): Message => ({ type: 'heartbeat-resp', ...env, ...m })),
  rec({ env: envelopeArb, snapshot: snapshotArb }).map(({ env, ...m }): Message => ({ type: 'snap', ...env, ...m })),
  envelopeArb.map((env): Message => ({ type: 'timeout-now', ...env })),
  rec({ env: envelopeArb, context: bytesArb }).map(({ env, ...m }): Message => ({ type: 'read-index', ...env, ...m })),
  rec({ env: envelopeArb, index: indexArb, context: bytesArb }).map(({ env, ...m }): Message => ({ type: 'read-index-resp', ...env, ...m })),
);

const ALL_TYPES = ['app', 'app-resp', 'vote', 'pre-vote', 'vote-resp', 'pre-vote-resp', 'heartbeat', 'heartbeat-resp', 'snap', 'timeout-now', 'read-index', 'read-index-resp'];

describe('raft codec', () => {
  it('round-trips every message type exactly through protobuf bytes', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(messageArb, (m) => {
        seen.add(m.type);
        expect(decodeMessage(throughBytes(m))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 600 },
    );
    expect([...seen].sort()).toStrictEqual([...ALL_TYPES].sort());
  });

  it('round-trips a single message without going through bytes', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeMessage(encodeMessage(m))).toStrictEqual({ ok: true, value: m });
      }),
    );
  });

  it('keeps an absent heartbeat context apart from an empty one', () => {
    const base = { type: 'heartbeat', from: nodeId(1), to: nodeId(2), term: term(3), commit: logIndex(4) } as const;
    const through = (m: Message): unknown => {
      const decoded = decodeMessage(throughBytes(m));
      return decoded.ok ? decoded.value : decoded.error;
    };
    expect(through({ ...base, context: null })).toStrictEqual({ ...base, context: null });
    expect(through({ ...base, context: new Uint8Array(0) })).toStrictEqual({ ...base, context: new Uint8Array(0) });
  });

  it('gives plain Uint8Arrays back for Buffer input, empty or not', () => {
    const m: Message = {
      type: 'app',
      from: nodeId(1),
      to: nodeId(2),
      term: term(1),
      index: logIndex(0),
      logTerm: term(0),
      commit: logIndex(0),
      entries: [
        { term: term(1), index: logIndex(1), type: 'normal', data: Buffer.alloc(0) },
        { term: term(1), index: logIndex(2), type: 'conf-change', data: Buffer.from([1, 2, 3]) },
      ],
    };
    const decoded = decodeMessage(throughBytes(m));
    if (!decoded.ok) throw new Error(decoded.error);
    const got = decoded.value;
    if (got?.type !== 'app') throw new Error('expected an app message');
    expect(got.entries.map((e) => e.data.constructor)).toStrictEqual([Uint8Array, Uint8Array]);
    expect(got.entries.map((e) => [...e.data])).toStrictEqual([[], [1, 2, 3]]);
  });

  it('refuses messages no raft node could have sent', () => {
    const hb = { type: 'MSG_HEARTBEAT', from: '1', to: '2', term: '1' };
    expect(decodeMessage({ ...hb, type: 'MSG_UNSPECIFIED' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.type/) as unknown });
    expect(decodeMessage({ ...hb, from: '0' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.from/) as unknown });
    expect(decodeMessage({ ...hb, term: '9007199254740992' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.term/) as unknown });
    expect(decodeMessage({ ...hb, type: 'MSG_READ_INDEX' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.context/) as unknown });
    expect(decodeMessage({ ...hb, type: 'MSG_SNAP' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.snapshot/) as unknown });
    expect(decodeMessage({ ...hb, to: '0' })).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.Message\.to/) as unknown });
  });

  it('splits a large snapshot into chunks and reassembles it through SendSnapshot serialization', () => {
    fc.assert(
      fc.property(envelopeArb, snapshotArb, fc.integer({ min: 1, max: 64 }), (env, snapshot, chunkSize) => {
        const msg: SnapshotMessage = { type: 'snap', ...env, snapshot };
        const chunks = snapshotChunks(msg, '42', chunkSize);
        expect(chunks.length).toBe(Math.max(1, Math.ceil(snapshot.data.length / chunkSize)));
        const assembler = new SnapshotAssembler();
        const results = chunks.map((c) => assembler.push(SendSnapshot.requestDeserialize(SendSnapshot.requestSerialize(c))));
        expect(results.slice(0, -1)).toStrictEqual(results.slice(0, -1).map(() => ({ ok: true, value: null })));
        expect(results.at(-1)).toStrictEqual({ ok: true, value: msg });
        expect(assembler.received).toBe(snapshot.data.length);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses snapshot chunks out of order, from another cluster, or over the size limit', () => {
    const msg: SnapshotMessage = {
      type: 'snap',
      from: nodeId(1),
      to: nodeId(2),
      term: term(2),
      snapshot: { metadata: { index: logIndex(10), term: term(2), confState: { voters: [nodeId(1), nodeId(2)], learners: [] } }, data: new Uint8Array(10) },
    };
    const [first, second, third] = snapshotChunks(msg, '42', 4);
    if (first === undefined || second === undefined || third === undefined) throw new Error('expected three chunks');
    const skip = new SnapshotAssembler();
    expect(skip.push(first)).toStrictEqual({ ok: true, value: null });
    expect(skip.push(third)).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid raftpb\.SnapshotChunk\.offset: expected 4, got 8/) as unknown });
    const other = new SnapshotAssembler();
    other.push(first);
    expect(other.push({ ...second, cluster_id: '43' })).toMatchObject({ ok: false, error: expect.stringMatching(/cluster_id/) as unknown });
    expect(new SnapshotAssembler({ maxBytes: 9 }).push(first)).toMatchObject({ ok: false, error: expect.stringMatching(/total_size/) as unknown });
    expect(new SnapshotAssembler().push(second)).toMatchObject({ ok: false, error: expect.stringMatching(/message/) as unknown });
  });
});
