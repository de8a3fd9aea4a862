/**
 * apply-path: the kv member's apply path is total. A committed entry that cannot be decoded
 * (corruption, a newer member's format) is skipped with an error line and counted, the applied
 * index moves past it, and every member — and every replay — skips the same entries, so their
 * states hash alike. An undecodable conf change is skipped by the Raft core as well as by the
 * state machine. Proposals are checked at the door: an oversized request, or one that does not
 * decode back, is refused with a gRPC status and never reaches the log. A snapshot that cannot
 * be installed (no data, corrupt data) is a loud, typed failure that stops the member.
 *
 * Each member here is the real KvStateMachine on a real MVCC store, driven by the real
 * RaftDriver over a RawNode, with a clock whose timers never fire (nothing depends on time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RaftDriver, type Clock, type Disposable } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { encodeConfChange } from '../../src/raft/membership.js';
import { logIndex, nodeId, NO_NODE, term, type Entry, type Snapshot } from '../../src/raft/types.js';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { KvStateMachine, SnapshotInstallError, type ApplyResult } from '../../src/kv/server/state-machine.js';
import { KvServer } from '../../src/kv/server/kv-server.js';
import { EtcdError } from '../../src/kv/server/errors.js';
import { encodeMemberContext } from '../../src/kv/server/members.js';
import { checkProposal, decodeRequest, encodeMemberAttrs, encodeWire } from '../../src/kv/server/requests.js';
import { b, TempDirs } from './mvcc-helpers.js';

const IDLE: Disposable = { dispose: () => undefined };
/** A clock whose timers never fire: these tests never wait on time. */
const stillClock: Clock = { now: () => 0, setInterval: () => IDLE, setTimeout: () => IDLE };

const ME = nodeId(1);
const LEARNER = nodeId(2);

function header(kind: number, id: bigint): Buffer {
  const h = Buffer.alloc(9);
  h[0] = kind;
  h.writeBigUInt64BE(id, 1);
  return h;
}

/** GARBAGE are normal entries no member would propose, each failing a different decoding step. */
const GARBAGE: readonly (readonly [string, Uint8Array])[] = [
  ['shorter than the header', Uint8Array.of(1, 2, 3)],
  ['an unknown request kind', header(99, 7n)],
  ['a put whose body is not protobuf', Buffer.concat([header(1, 8n), Buffer.from([0xff, 0xff, 0xff, 0xff])])],
  ['a txn whose body is truncated protobuf', Buffer.concat([header(3, 9n), Buffer.from([0x0a, 0x20, 0x01])])],
  ['member attributes that are not JSON', Buffer.concat([header(7, 10n), Buffer.from('{"id": 1, "name"')])],
  ['member attributes for member 0', Buffer.concat([header(7, 11n), Buffer.from(JSON.stringify({ id: 0, name: 'x', clientURLs: [] }))])],
  ['a member update with URLs that are not strings', Buffer.concat([header(8, 12n), Buffer.from(JSON.stringify({ id: 1, peerURLs: [1, 2] }))])],
];

/** The bootstrap log: this member as the only voter, an undecodable conf change, a learner whose context is not JSON. */
function bootstrap(): Entry[] {
  const cc = (data: Uint8Array, index: number): Entry => ({ term: term(1), index: logIndex(index), type: 'conf-change', data });
  return [
    cc(encodeConfChange({ type: 'add-voter', nodeId: ME, context: encodeMemberContext({ name: 'm1', peerURLs: ['http://127.0.0.1:1'], clientURLs: [] }) }), 1),
    cc(Uint8Array.of(9, 9, 9), 2),
    cc(encodeConfChange({ type: 'add-learner', nodeId: LEARNER, context: Buffer.from('{"name": "m2", "peerURLs"') }), 3),
  ];
}

interface Rig {
  readonly store: MvccStore;
  readonly sm: KvStateMachine;
  readonly storage: MemoryStorage;
  readonly driver: RaftDriver<ApplyResult>;
  readonly errors: string[];
  readonly fatal: unknown[];
}

const dirs = new TempDirs();
const drivers: RaftDriver<ApplyResult>[] = [];
const servers = new Map<Rig, KvServer>();
afterEach(async () => {
  for (const d of drivers.splice(0)) d.stop();
  for (const s of servers.values()) s.close();
  servers.clear();
  await dirs.cleanup();
});

/** member starts one member whose log is `entries`, all committed; it campaigns when it is a voter. */
async function member(entries: readonly Entry[], o: { readonly id?: number; readonly voters?: readonly number[] } = {}): Promise<Rig> {
  const store = await dirs.open();
  const errors: string[] = [];
  const fatal: unknown[] = [];
  const sm = new KvStateMachine({
    store,
    now: () => 0,
    restoreSnapshot: (data) => store.restoreSnapshot(data),
    log: (msg) => errors.push(`warn: ${msg}`),
    logError: (msg) => errors.push(msg),
    onStorageError: (err) => fatal.push(err),
    onApplied: (id, result) => server?.onApplied(id, result),
  });
  const id = nodeId(o.id ?? ME);
  const storage = o.voters === undefined ? new MemoryStorage() : MemoryStorage.withConf({ voters: o.voters.map((v) => nodeId(v)), learners: [] });
  if (entries.length > 0) {
    storage.append(entries);
    storage.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(entries.length) });
  }
  const node = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(7), preVote: false, checkQuorum: false });
  const driver = new RaftDriver<ApplyResult>({
    node,
    storage,
    logStore: { save: () => Promise.resolve() },
    transport: { send: () => undefined },
    stateMachine: sm,
    clock: stillClock,
    tickMs: 100,
    onFatal: (err) => fatal.push(err),
  });
  drivers.push(driver);
  let server: KvServer | null = null;
  const rig: Rig = { store, sm, storage, driver, errors, fatal };
  server = new KvServer({ id, clusterId: '1', driver, sm, maxRequestBytes: 1024, maxTxnOps: 128, now: () => 0, log: (msg) => errors.push(msg) });
  servers.set(rig, server);
  driver.start();
  return rig;
}

/** until lets the driver's loop run until `cond` holds (bounded: a loop that stalls fails the test). */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`Gave up waiting for ${what}`);
}

async function lead(r: Rig): Promise<void> {
  await until('the bootstrap log to apply', () => r.driver.applied >= 3);
  r.driver.node.campaign();
  r.driver.kick();
  await until('leadership', () => r.driver.status().role === 'leader');
}

function put(key: string, value: string, id: bigint): Uint8Array {
  return encodeWire('put', id, { key: b(key), value: b(value) });
}

function get(store: MvccStore, key: string): string | undefined {
  const r = store.range({ key: b(key) });
  if (!r.ok) throw new Error(r.error.message);
  return r.value.kvs[0]?.value.toString('utf8');
}

async function hash(store: MvccStore): Promise<number> {
  const h = await store.hash();
  if (!h.ok) throw new Error(h.error.message);
  return h.value.hash;
}

describe('decodeRequest', () => {
  it('is total: every garbage entry gives a reason, never an exception', () => {
    for (const [what, data] of GARBAGE) {
      const d = decodeRequest(data);
      expect(d.ok, what).toBe(false);
    }
    expect(decodeRequest(put('k', 'v', 5n))).toMatchObject({ ok: true, value: { id: 5n, request: { kind: 'put' } } });
  });
});

describe('the apply path', () => {
  it('skips committed garbage, counts it, advances applied, and keeps serving', async () => {
    const r = await member(bootstrap());
    await lead(r);
    // The undecodable conf change changed nothing; the learner with a broken context still joined.
    expect(r.driver.node.confState()).toEqual({ voters: [ME], learners: [LEARNER] });
    expect(r.sm.members.list().map((m) => [m.id, m.name, m.isLearner])).toEqual([[ME, 'm1', false], [LEARNER, '', true]]);
    expect(r.sm.undecodableEntries).toBe(2);

    await r.driver.submit(put('a', '1', 1n));
    // NB: submitted straight to the driver, past the door, as corruption or a newer member would.
    for (const [, data] of GARBAGE) await r.driver.submit(data);
    await r.driver.submit(put('b', '2', 2n));
    // The bootstrap log (3), the new leader's empty entry, a put, the garbage, a put.
    const last = 3 + 1 + 1 + GARBAGE.length + 1;
    await until('every entry to apply', () => r.driver.applied >= last);

    expect(r.fatal).toEqual([]);
    expect(r.store.consistentIndex).toBe(last);
    expect(get(r.store, 'a')).toBe('1');
    expect(get(r.store, 'b')).toBe('2');
    expect(r.sm.undecodableEntries).toBe(2 + GARBAGE.length);
    expect(r.errors.filter((l) => l.startsWith('Skipping undecodable'))).toHaveLength(2 + GARBAGE.length);
    expect(r.errors.join('\n')).toContain('Skipping undecodable conf-change entry 2');

    // It still takes writes after the garbage.
    await r.driver.submit(put('c', '3', 3n));
    await until('the write after the garbage', () => get(r.store, 'c') === '3');
  });

  it('skips the same entries on another member and on replay: equal state hashes', async () => {
    const first = await member(bootstrap());
    await lead(first);
    await first.driver.submit(put('a', '1', 1n));
    for (const [, data] of GARBAGE) await first.driver.submit(data);
    await first.driver.submit(put('b', '2', 2n));
    const last = 3 + 1 + 1 + GARBAGE.length + 1;
    await until('the first member to apply', () => first.driver.applied >= last);

    // A second member restarts from the whole committed log (a follower catching up, or a replay).
    const log = first.storage.entries(logIndex(1), logIndex(last + 1), Infinity);
    const second = await member(log);
    await until('the second member to apply', () => second.driver.applied >= last);
    expect(second.fatal).toEqual([]);
    expect(second.store.consistentIndex).toBe(last);
    expect(second.sm.undecodableEntries).toBe(first.sm.undecodableEntries);
    expect(second.driver.node.confState()).toEqual(first.driver.node.confState());
    expect(second.sm.members.list()).toEqual(first.sm.members.list());
    expect(await hash(second.store)).toBe(await hash(first.store));
    expect(second.store.currentRevision).toBe(first.store.currentRevision);
  });

  it('answers the submitter of an undecodable entry at once, when its header names it', async () => {
    const r = await member(bootstrap());
    await lead(r);
    const answered: [bigint, ApplyResult][] = [];
    const sm = new KvStateMachine({ store: r.store, now: () => 0, restoreSnapshot: () => Promise.resolve(), onStorageError: () => undefined, onApplied: (id, res) => answered.push([id, res]) });
    sm.applyEntry({ term: term(1), index: logIndex(r.store.consistentIndex + 1), type: 'normal', data: GARBAGE[2]![1] });
    expect(answered).toHaveLength(1);
    expect(answered[0]![0]).toBe(8n);
    expect(answered[0]![1]).toMatchObject({ kind: 'error', error: { code: 'malformed' } });
  });
});

describe('the door of the log', () => {
  it('refuses a request that does not decode back, with INVALID_ARGUMENT, before it is proposed', async () => {
    const r = await member(bootstrap());
    await lead(r);
    const server = servers.get(r)!;
    const before = r.driver.status().lastIndex;
    // Encodes fine (int64 as a decimal string) but no member could apply it: above 2^53.
    const compact = server.submitWire('compaction', { revision: '9007199254740993' });
    await expect(compact).rejects.toBeInstanceOf(EtcdError);
    await expect(compact).rejects.toMatchObject({ code: GrpcCode.INVALID_ARGUMENT, message: /does not decode back/ });
    // Member 0 is not a member: its attributes would be undecodable when applied.
    await expect(server.submitMemberAttrs(NO_NODE, 'x', [])).rejects.toMatchObject({ code: GrpcCode.INVALID_ARGUMENT });
    // A good request still goes through, and is the only entry appended.
    await server.submitWire('put', { key: b('k'), value: b('v') });
    expect(r.driver.status().lastIndex).toBe(before + 1);
    expect(get(r.store, 'k')).toBe('v');
    expect(r.sm.undecodableEntries).toBe(2);
  });

  it('refuses a request larger than --max-request-bytes', async () => {
    const r = await member(bootstrap());
    await lead(r);
    const before = r.driver.status().lastIndex;
    await expect(servers.get(r)!.submitWire('put', { key: b('k'), value: Buffer.alloc(2048) })).rejects.toMatchObject({ code: GrpcCode.INVALID_ARGUMENT, message: /too large/ });
    expect(r.driver.status().lastIndex).toBe(before);
    expect(checkProposal(encodeMemberAttrs(1n, 1, 'n', ['http://a:1']), 1024)).toMatchObject({ ok: true });
    expect(checkProposal(put('k', 'x'.repeat(2000), 1n), 1024)).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('reads a proposal at the door unless its handler already read it with apply\'s reader, and checks its size either way', () => {
    const cut = put('k', 'v', 3n).subarray(0, 11); // a put whose body stops inside its key (after the 9-byte header)
    expect(checkProposal(cut, 1024)).toMatchObject({ ok: false, reason: 'undecodable' });
    expect(checkProposal(cut, 1024, true)).toMatchObject({ ok: true });
    expect(checkProposal(put('k', 'x'.repeat(2000), 1n), 1024, true)).toMatchObject({ ok: false, reason: 'too-large' });
  });
});

describe('installing a snapshot', () => {
  const snapshot = (data: Uint8Array): Snapshot => ({ metadata: { index: logIndex(50), term: term(2), confState: { voters: [ME, nodeId(2)], learners: [] } }, data });

  it('fails loudly on a snapshot without data, keeping the state', async () => {
    const r = await member(bootstrap());
    await lead(r);
    await r.driver.submit(put('a', '1', 1n));
    await until('the put', () => get(r.store, 'a') === '1');
    const install = r.sm.applySnapshot(snapshot(new Uint8Array(0)));
    await expect(install).rejects.toBeInstanceOf(SnapshotInstallError);
    await expect(install).rejects.toThrow(/snapshot at index 50: it carries no data/);
    expect(get(r.store, 'a')).toBe('1');
  });

  it('fails loudly on snapshot data that is not an MVCC snapshot, keeping the state', async () => {
    const r = await member(bootstrap());
    await lead(r);
    await r.driver.submit(put('a', '1', 1n));
    await until('the put', () => get(r.store, 'a') === '1');
    const install = r.sm.applySnapshot(snapshot(Buffer.from('not a snapshot at all')));
    await expect(install).rejects.toBeInstanceOf(SnapshotInstallError);
    await expect(install).rejects.toThrow(/bad magic/);
    expect(get(r.store, 'a')).toBe('1');
  });

  it('stops the member (onFatal) when the leader sends a snapshot without data', async () => {
    // A follower of a two-voter cluster that the leader (1) brings up to date with a snapshot.
    const r = await member([], { id: 2, voters: [1, 2] });
    r.driver.receive({ type: 'snap', from: nodeId(1), to: nodeId(2), term: term(2), snapshot: snapshot(new Uint8Array(0)) });
    await until('the fatal error', () => r.fatal.length > 0);
    expect(r.fatal[0]).toBeInstanceOf(SnapshotInstallError);
    expect(String(r.fatal[0])).toMatch(/Cannot install the snapshot at index 50/);
    // It applied nothing from the snapshot and stops taking input.
    expect(r.driver.applied).toBe(0);
    expect(r.store.consistentIndex).toBe(0);
  });
});
