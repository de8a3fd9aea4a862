/**
 * alarms: the NOSPACE alarm on a real KvStateMachine and KvServer (one member, a real MVCC
 * store, the real RaftDriver with a clock whose timers never fire). Raising and clearing go
 * through the log; while NOSPACE is raised the door refuses puts, txns that put and lease grants
 * with etcd's RESOURCE_EXHAUSTED, and apply refuses those that got past the door (so every member
 * refuses alike), while deletes and read-only work go on; the list is stored and read back; a
 * backend over the quota raises the member's own alarm.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { status as GrpcCode } from '@grpc/grpc-js';
import { RaftDriver, type Clock, type Disposable } from '../../src/raft/driver.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { seededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { encodeConfChange } from '../../src/raft/membership.js';
import { logIndex, nodeId, NO_NODE, term, type Entry } from '../../src/raft/types.js';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { KvStateMachine, type ApplyResult } from '../../src/kv/server/state-machine.js';
import { KvServer } from '../../src/kv/server/kv-server.js';
import { EtcdError } from '../../src/kv/server/errors.js';
import { encodeMemberContext } from '../../src/kv/server/members.js';
import { checkProposal, decodeRequest, encodeWire, wireMessage } from '../../src/kv/server/requests.js';
import { decodeTxnRequest } from '../../src/kv/proto/index.js';
import { AlarmList, SpaceQuota, txnPuts } from '../../src/kv/server/alarms.js';
import { CorruptRecordError, decodeAlarmRecord } from '../../src/kv/server/records.js';
import type { TxnRequest } from '../../src/kv/proto/index.js';
import { b, TempDirs } from './mvcc-helpers.js';

const IDLE: Disposable = { dispose: () => undefined };
const stillClock: Clock = { now: () => 0, setInterval: () => IDLE, setTimeout: () => IDLE };
const ME = nodeId(1);

interface Rig {
  readonly store: MvccStore;
  readonly sm: KvStateMachine;
  readonly driver: RaftDriver<ApplyResult>;
  readonly server: KvServer;
  readonly quota: SpaceQuota;
}

const dirs = new TempDirs();
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.driver.stop();
    r.server.close();
    r.sm.close();
  }
  await dirs.cleanup();
});

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`Gave up waiting for ${what}`);
}

/** leader starts a one-member cluster with a 1,000-byte quota and makes it lead. */
async function leader(store?: MvccStore): Promise<Rig> {
  const s = store ?? (await dirs.open());
  let server: KvServer | null = null;
  const sm = new KvStateMachine({ store: s, now: () => 0, restoreSnapshot: (d) => s.restoreSnapshot(d), onStorageError: (err) => { throw err; }, onApplied: (id, r) => server?.onApplied(id, r) });
  const storage = new MemoryStorage();
  const boot: Entry = { term: term(1), index: logIndex(1), type: 'conf-change', data: encodeConfChange({ type: 'add-voter', nodeId: ME, context: encodeMemberContext({ name: 'm1', peerURLs: ['http://127.0.0.1:1'], clientURLs: [] }) }) };
  storage.append([boot]);
  storage.setHardState({ term: term(1), vote: NO_NODE, commit: logIndex(1) });
  const node = new RawNode({ id: ME, storage, electionTick: 10, heartbeatTick: 1, rng: seededRng(3), preVote: false, checkQuorum: false });
  const driver = new RaftDriver<ApplyResult>({ node, storage, logStore: { save: () => Promise.resolve() }, transport: { send: () => undefined }, stateMachine: sm, clock: stillClock, tickMs: 100 });
  const quota = new SpaceQuota(1_000);
  server = new KvServer({ id: ME, clusterId: '1', driver, sm, maxRequestBytes: 4096, maxTxnOps: 128, now: () => 0, log: () => undefined, quota });
  const rig: Rig = { store: s, sm, driver, server, quota };
  rigs.push(rig);
  driver.start();
  await until('the bootstrap entry to apply', () => driver.applied >= 1);
  driver.node.campaign();
  driver.kick();
  await until('leadership', () => driver.status().role === 'leader');
  return rig;
}

const me = String(ME);
const activate = { action: 'ACTIVATE', memberID: me, alarm: 'NOSPACE' };
const deactivate = { action: 'DEACTIVATE', memberID: me, alarm: 'NOSPACE' };

async function refusedForSpace(p: Promise<unknown>): Promise<void> {
  const err: unknown = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(EtcdError);
  expect((err as EtcdError).code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
  expect((err as EtcdError).message).toBe('etcdserver: mvcc: database space exceeded');
}

function txn(raw: object): TxnRequest {
  const d = decodeRequest(encodeWire('txn', 1n, raw));
  if (!d.ok || d.value.request.kind !== 'txn') throw new Error(`not a txn: ${JSON.stringify(d)}`);
  return d.value.request.req;
}

describe('alarm requests at the door', () => {
  it('lets ACTIVATE and DEACTIVATE into the log but never a GET', () => {
    expect(checkProposal(encodeWire('alarm', 1n, activate), 4096).ok).toBe(true);
    expect(checkProposal(encodeWire('alarm', 2n, deactivate), 4096).ok).toBe(true);
    expect(checkProposal(encodeWire('alarm', 3n, { action: 'GET', memberID: '0', alarm: 'NONE' }), 4096)).toMatchObject({ ok: false, reason: 'undecodable' });
  });

  it('tells txns that put from those that do not, nested ones included', () => {
    expect(txnPuts(txn({ success: [{ request_put: { key: b('k'), value: b('v') } }] }))).toBe(true);
    expect(txnPuts(txn({ failure: [{ request_txn: { success: [{ request_put: { key: b('k') } }] } }] }))).toBe(true);
    expect(txnPuts(txn({ success: [{ request_delete_range: { key: b('k') } }, { request_range: { key: b('k') } }] }))).toBe(false);
  });
});

/** submitTxn proposes a transaction as the Txn handler does: its bytes, read at the door by apply's reader. */
function submitTxn(server: KvServer, raw: object): Promise<ApplyResult> {
  const bytes = wireMessage('txn', raw);
  const d = decodeTxnRequest(bytes);
  if (!d.ok) throw new Error(d.error);
  return server.submitEncoded('txn', bytes, null, d.value);
}

describe('the NOSPACE alarm', () => {
  it('caps writes while raised, on the door and in apply, and lifts once cleared', async () => {
    const r = await leader();
    await r.server.submitWire('put', { key: b('a'), value: b('1') });
    const raised = await r.server.submitWire('alarm', activate);
    expect(raised).toEqual({ kind: 'alarm', changed: [{ memberID: me, alarm: 'NOSPACE' }] });
    expect(r.sm.alarms.list()).toEqual([{ memberID: me, alarm: 'NOSPACE' }]);
    // Raising it again changes nothing.
    expect(await r.server.submitWire('alarm', activate)).toEqual({ kind: 'alarm', changed: [] });

    await refusedForSpace(r.server.submitWire('put', { key: b('b'), value: b('2') }));
    await refusedForSpace(r.server.submitWire('lease-grant', { TTL: 10, ID: '7' }));
    await refusedForSpace(submitTxn(r.server, { success: [{ request_put: { key: b('b'), value: b('2') } }] }));
    // NB: straight to the driver, past the door, as a write proposed just before the alarm applied.
    const before = r.driver.applied;
    await r.driver.submit(encodeWire('put', 99n, { key: b('b'), value: b('2') }));
    await until('the put past the door to apply', () => r.driver.applied > before);
    expect(r.store.range({ key: b('b') })).toMatchObject({ ok: true, value: { count: 0 } });
    // Deletes and txns without puts go on.
    expect(await r.server.submitWire('delete-range', { key: b('a') })).toMatchObject({ kind: 'delete-range', result: { deleted: 1 } });
    expect(await submitTxn(r.server, { success: [{ request_delete_range: { key: b('zz') } }] })).toMatchObject({ kind: 'txn' });

    expect(await r.server.submitWire('alarm', deactivate)).toEqual({ kind: 'alarm', changed: [{ memberID: me, alarm: 'NOSPACE' }] });
    expect(r.sm.alarms.list()).toEqual([]);
    expect(await r.server.submitWire('put', { key: b('b'), value: b('2') })).toMatchObject({ kind: 'put' });
  });

  it('is stored with the data and read back', async () => {
    const r = await leader();
    await r.server.submitWire('alarm', activate);
    await r.server.submitWire('alarm', { action: 'ACTIVATE', memberID: '42', alarm: 'CORRUPT' });
    await r.sm.flush();
    expect(new AlarmList(r.store).list()).toEqual([{ memberID: me, alarm: 'NOSPACE' }, { memberID: '42', alarm: 'CORRUPT' }]);
    // DEACTIVATE of member 0 and type NONE clears every alarm.
    expect((await r.server.submitWire('alarm', { action: 'DEACTIVATE', memberID: '0', alarm: 'NONE' }))).toMatchObject({ kind: 'alarm', changed: [{}, {}] });
    await r.sm.flush();
    expect(new AlarmList(r.store).list()).toEqual([]);
  });

  it('is raised by a backend over the quota, and a write is refused meanwhile', async () => {
    const r = await leader();
    r.quota.observe(999);
    await r.server.submitWire('put', { key: b('a'), value: b('1') });
    r.server.observeBackendSize(1_001);
    await refusedForSpace(r.server.submitWire('put', { key: b('b'), value: b('2') }));
    await until('the NOSPACE alarm to apply', () => r.sm.alarms.has('NOSPACE', me));
  });

  it('refuses a damaged alarm record with a CorruptRecordError naming it', () => {
    expect(decodeAlarmRecord(Buffer.from(`${me}/NOSPACE`), 'alarm')).toEqual({ memberID: me, alarm: 'NOSPACE' });
    expect(() => decodeAlarmRecord(Buffer.from('1/FULL'), 'alarm')).toThrow(CorruptRecordError);
    expect(() => decodeAlarmRecord(Buffer.from('1/FULL'), 'alarm')).toThrow(/alarm bucket, key "1\/FULL"/);
  });
});

describe('RaftDriver.exclusive', () => {
  it('applies nothing while its task runs, and everything queued once it ends', async () => {
    const r = await leader();
    await r.server.submitWire('put', { key: b('a'), value: b('1') });
    let release: () => void = () => undefined;
    const held = new Promise<void>((res) => (release = res));
    let inside = false;
    const task = r.driver.exclusive(async () => {
      inside = true;
      await held;
    });
    await until('the task to start', () => inside);
    const applied = r.driver.applied;
    const put = r.server.submitWire('put', { key: b('b'), value: b('2') });
    for (let i = 0; i < 50; i++) await new Promise((res) => setImmediate(res));
    expect(r.driver.applied).toBe(applied);
    expect(r.store.range({ key: b('b') })).toMatchObject({ ok: true, value: { count: 0 } });
    release();
    await task;
    expect(await put).toMatchObject({ kind: 'put' });
    expect(r.driver.applied).toBeGreaterThan(applied);
  });
});
