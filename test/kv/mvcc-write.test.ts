// mvcc-write: put, delete and txn semantics — revisions, versions, leases, atomicity, nesting.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { ChangeSet, Compare, MvccStore, RequestOp, TxnRequest } from '../../src/kv/mvcc/index.js';
import { ERR_FUTURE_REV_MESSAGE } from '../../src/kv/mvcc/index.js';
import { b, keys, plain, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
let s: MvccStore;
let changes: ChangeSet[];
const leases = new Set<bigint>([7n, 9n]);

beforeEach(async () => {
  s = await dirs.open(undefined, { leaseExists: (id) => leases.has(id) });
  changes = [];
  s.subscribe({ onChanges: (cs) => changes.push(cs) });
});
afterEach(() => dirs.cleanup());

const get = (k: string) => plain(unwrap(s.range({ key: b(k) })).kvs)[0];
const put = (key: string, value: string): RequestOp => ({ request_put: { key: b(key), value: b(value) } });
const del = (key: string, end?: string): RequestOp => ({ request_delete_range: end === undefined ? { key: b(key) } : { key: b(key), range_end: b(end) } });
const rng = (key: string): RequestOp => ({ request_range: { key: b(key) } });
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
const cmp = (key: string, c: DistributiveOmit<Compare, 'key'>): Compare => ({ key: b(key), ...c });

describe('put', () => {
  test('each put moves the revision by one and reports it', () => {
    expect(unwrap(s.put({ key: b('a'), value: b('1') })).revision).toBe(2);
    expect(unwrap(s.put({ key: b('b'), value: b('2') })).revision).toBe(3);
    expect(unwrap(s.put({ key: b('a'), value: b('3') })).revision).toBe(4);
    expect(s.currentRevision).toBe(4);
  });

  test('prev_kv returns the pair before the put, none for a new key', () => {
    expect(unwrap(s.put({ key: b('a'), value: b('1'), prev_kv: true })).prev_kv).toBeUndefined();
    const r = unwrap(s.put({ key: b('a'), value: b('2'), prev_kv: true }));
    expect(r.prev_kv && plain([r.prev_kv])).toEqual([{ key: 'a', value: '1', create: 2, mod: 2, version: 1, lease: 0n }]);
  });

  test('version counts puts and restarts after a delete, with a new create_revision', () => {
    s.put({ key: b('k'), value: b('1') });
    s.put({ key: b('k'), value: b('2') });
    expect(get('k')).toMatchObject({ version: 2, create: 2, mod: 3 });
    s.deleteRange({ key: b('k') });
    expect(get('k')).toBeUndefined();
    s.put({ key: b('k'), value: b('3') });
    expect(get('k')).toMatchObject({ value: '3', version: 1, create: 5, mod: 5 });
    // History still shows the previous generation.
    expect(plain(unwrap(s.range({ key: b('k'), revision: 3 })).kvs)[0]).toMatchObject({ value: '2', version: 2, create: 2 });
  });

  test('an empty value is a value', () => {
    s.put({ key: b('k') });
    expect(get('k')).toMatchObject({ value: '', version: 1 });
  });

  test('ignore_value keeps the value, ignore_lease keeps the lease', () => {
    s.put({ key: b('k'), value: b('v'), lease: 7n });
    unwrap(s.put({ key: b('k'), value: b('ignored'), ignore_value: true, lease: 7n }));
    expect(get('k')).toMatchObject({ value: 'v', version: 2, lease: 7n });
    unwrap(s.put({ key: b('k'), value: b('w'), ignore_lease: true }));
    expect(get('k')).toMatchObject({ value: 'w', version: 3, lease: 7n });
  });

  test('ignore_value or ignore_lease on a missing key fails with key not found and changes nothing', () => {
    for (const req of [{ ignore_value: true }, { ignore_lease: true }]) {
      const r = s.put({ key: b('nope'), value: b('v'), ...req });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toEqual({ code: 'key-not-found', message: 'etcdserver: key not found' });
    }
    expect(s.currentRevision).toBe(1);
    expect(changes).toEqual([]);
  });

  test('a put naming an unknown lease fails with lease not found', () => {
    const r = s.put({ key: b('k'), value: b('v'), lease: 8n });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'lease-not-found', lease: 8n });
    expect(s.currentRevision).toBe(1);
  });
});

describe('leases', () => {
  test('keys follow their lease through puts and deletes', () => {
    s.put({ key: b('a'), value: b('1'), lease: 7n });
    s.put({ key: b('b'), value: b('1'), lease: 7n });
    s.put({ key: b('c'), value: b('1'), lease: 9n });
    expect(s.leaseKeys(7n).map((k) => k.toString())).toEqual(['a', 'b']);
    s.put({ key: b('b'), value: b('2') }); // detaches from 7
    s.put({ key: b('c'), value: b('2'), lease: 7n }); // moves 9 → 7
    s.deleteRange({ key: b('a') });
    expect(s.leaseKeys(7n).map((k) => k.toString())).toEqual(['c']);
    expect(s.leaseKeys(9n)).toEqual([]);
    expect(s.attachedLeases()).toEqual([7n]);
  });

  test('a large lease ID round-trips through storage', () => {
    const big = 0x7fff_ffff_ffff_fff0n;
    leases.add(big);
    s.put({ key: b('k'), value: b('v'), lease: big });
    expect(get('k')?.lease).toBe(big);
    expect(plain(unwrap(s.range({ key: b('k'), revision: 2 })).kvs)[0]?.lease).toBe(big);
  });

  test('revokeLease deletes every attached key at one revision', () => {
    s.put({ key: b('x'), value: b('1'), lease: 7n });
    s.put({ key: b('y'), value: b('1'), lease: 7n });
    s.put({ key: b('z'), value: b('1') });
    changes = [];
    expect(s.revokeLease(7n)).toEqual({ revision: 5, deleted: 2 });
    expect(changes).toHaveLength(1);
    expect(changes[0]?.events.map((e) => `${e.type} ${e.kv.key.toString()} ${e.kv.mod_revision}`)).toEqual(['DELETE x 5', 'DELETE y 5']);
    expect(keys(unwrap(s.range({ key: b('a'), range_end: b('zz') })).kvs)).toEqual(['z']);
    expect(s.revokeLease(7n)).toEqual({ revision: 5, deleted: 0 });
  });
});

describe('deleteRange', () => {
  beforeEach(() => {
    for (const k of ['a', 'b', 'c', 'd']) s.put({ key: b(k), value: b(k.toUpperCase()) });
  });

  test('deletes a range at one revision and counts it', () => {
    const r = unwrap(s.deleteRange({ key: b('b'), range_end: b('d') }));
    expect(r).toEqual({ revision: 6, deleted: 2, prev_kvs: [] });
    expect(keys(unwrap(s.range({ key: b('a'), range_end: b('z') })).kvs)).toEqual(['a', 'd']);
    expect(changes.at(-1)?.events.map((e) => [e.type, e.kv.key.toString(), e.kv.mod_revision, e.kv.version])).toEqual([
      ['DELETE', 'b', 6, 0],
      ['DELETE', 'c', 6, 0],
    ]);
  });

  test('prev_kv returns what was deleted', () => {
    const r = unwrap(s.deleteRange({ key: b('a'), range_end: Buffer.of(0), prev_kv: true }));
    expect(plain(r.prev_kvs).map((kv) => `${kv.key}=${kv.value}`)).toEqual(['a=A', 'b=B', 'c=C', 'd=D']);
  });

  test('deleting nothing does not move the revision', () => {
    const before = s.currentRevision;
    expect(unwrap(s.deleteRange({ key: b('zz') }))).toEqual({ revision: before, deleted: 0, prev_kvs: [] });
    s.deleteRange({ key: b('a') });
    expect(unwrap(s.deleteRange({ key: b('a') })).deleted).toBe(0);
    expect(s.currentRevision).toBe(before + 1);
  });
});

describe('txn', () => {
  beforeEach(() => {
    s.put({ key: b('a'), value: b('1'), lease: 7n }); // rev 2
    s.put({ key: b('b'), value: b('2') }); // rev 3
    s.put({ key: b('b'), value: b('3') }); // rev 4, b version 2
    changes = [];
  });

  const succeeds = (c: Compare): boolean => unwrap(s.txn({ compare: [c] })).succeeded;

  // b: version 2, create_revision 3, mod_revision 4, value "3"; each row gives a lower, equal and higher operand.
  test.each([
    ['VERSION', (x: number) => ({ target: 'VERSION', version: x }) as const, [1, 2, 3]],
    ['CREATE', (x: number) => ({ target: 'CREATE', create_revision: x }) as const, [2, 3, 4]],
    ['MOD', (x: number) => ({ target: 'MOD', mod_revision: x }) as const, [3, 4, 5]],
    ['VALUE', (x: number) => ({ target: 'VALUE', value: b(String(x)) }) as const, [2, 3, 4]],
  ] as const)('%s compares EQUAL, GREATER, LESS, NOT_EQUAL', (_name, target, [lower, equal, higher]) => {
    const check = (result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL', x: number): boolean => succeeds(cmp('b', { ...target(x), result }));
    expect([check('EQUAL', equal), check('EQUAL', lower)]).toEqual([true, false]);
    expect([check('GREATER', lower), check('GREATER', equal), check('GREATER', higher)]).toEqual([true, false, false]);
    expect([check('LESS', higher), check('LESS', equal), check('LESS', lower)]).toEqual([true, false, false]);
    expect([check('NOT_EQUAL', lower), check('NOT_EQUAL', equal)]).toEqual([true, false]);
  });

  test('LEASE compares the attached lease', () => {
    expect(succeeds(cmp('a', { target: 'LEASE', lease: 7n, result: 'EQUAL' }))).toBe(true);
    expect(succeeds(cmp('b', { target: 'LEASE', lease: 0n, result: 'EQUAL' }))).toBe(true);
    expect(succeeds(cmp('a', { target: 'LEASE', lease: 5n, result: 'GREATER' }))).toBe(true);
  });

  test('a missing key compares as zero, except VALUE which always fails', () => {
    expect(succeeds(cmp('nope', { target: 'VERSION', version: 0, result: 'EQUAL' }))).toBe(true);
    expect(succeeds(cmp('nope', { target: 'MOD', mod_revision: 0, result: 'EQUAL' }))).toBe(true);
    expect(succeeds(cmp('nope', { target: 'CREATE', create_revision: 1, result: 'LESS' }))).toBe(true);
    expect(succeeds(cmp('nope', { target: 'VALUE', value: Buffer.alloc(0), result: 'EQUAL' }))).toBe(false);
    expect(succeeds(cmp('nope', { target: 'VALUE', value: Buffer.alloc(0), result: 'NOT_EQUAL' }))).toBe(false);
  });

  test('a compare over a range must hold for every key in it', () => {
    expect(succeeds({ key: b('a'), range_end: b('c'), target: 'VERSION', version: 0, result: 'GREATER' })).toBe(true);
    expect(succeeds({ key: b('a'), range_end: b('c'), target: 'VERSION', version: 1, result: 'GREATER' })).toBe(false);
    expect(succeeds({ key: b('a'), range_end: b('c'), target: 'MOD', mod_revision: 5, result: 'LESS' })).toBe(true);
    expect(succeeds({ key: b('x'), range_end: b('z'), target: 'VERSION', version: 0, result: 'EQUAL' })).toBe(true);
  });

  test('the failure branch runs when a compare fails', () => {
    const r = unwrap(s.txn({ compare: [cmp('a', { target: 'VALUE', value: b('nope'), result: 'EQUAL' })], success: [put('s', '1')], failure: [put('f', '1')] }));
    expect(r.succeeded).toBe(false);
    expect(get('f')).toBeDefined();
    expect(get('s')).toBeUndefined();
  });

  test('all writes share one revision with sub-revisions in order; reads see earlier writes', () => {
    const r = unwrap(
      s.txn({
        compare: [cmp('a', { target: 'VERSION', version: 1, result: 'EQUAL' })],
        success: [put('x', '1'), rng('x'), put('x', '2'), del('b'), put('b', 'new'), rng('b')],
      }),
    );
    expect(r.revision).toBe(5);
    expect(s.currentRevision).toBe(5);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.events.map((e) => `${e.type} ${e.kv.key.toString()}=${e.kv.value.toString()} v${e.kv.version}`)).toEqual([
      'PUT x=1 v1',
      'PUT x=2 v2',
      'DELETE b= v0',
      'PUT b=new v1',
    ]);
    const [, readX, , , , readB] = r.responses;
    expect(readX && 'response_range' in readX && plain(readX.response_range.kvs)).toEqual([{ key: 'x', value: '1', create: 5, mod: 5, version: 1, lease: 0n }]);
    expect(readB && 'response_range' in readB && plain(readB.response_range.kvs)).toEqual([{ key: 'b', value: 'new', create: 5, mod: 5, version: 1, lease: 0n }]);
    expect(get('x')).toMatchObject({ value: '2', version: 2, create: 5, mod: 5 });
  });

  test('a read-only txn does not move the revision', () => {
    const r = unwrap(s.txn({ compare: [], success: [rng('a'), rng('b')] }));
    expect(r.revision).toBe(4);
    expect(s.currentRevision).toBe(4);
    expect(changes).toEqual([]);
    expect(r.responses).toHaveLength(2);
  });

  test('nested txns: compares see the state before the outer txn; responses nest', () => {
    const inner: TxnRequest = {
      // 'n' does not exist before the txn, though the outer success branch creates it first.
      compare: [cmp('n', { target: 'VERSION', version: 0, result: 'EQUAL' })],
      success: [put('inner-success', '1'), rng('n')],
      failure: [put('inner-failure', '1')],
    };
    const r = unwrap(s.txn({ success: [put('n', '1'), { request_txn: inner }, put('after', '1')] }));
    expect(r.succeeded).toBe(true);
    const nested = r.responses[1];
    expect(nested && 'response_txn' in nested && nested.response_txn.succeeded).toBe(true);
    if (nested && 'response_txn' in nested) {
      const read = nested.response_txn.responses[1];
      expect(read && 'response_range' in read && keys(read.response_range.kvs)).toEqual(['n']);
    }
    expect(get('inner-success')).toBeDefined();
    expect(get('inner-failure')).toBeUndefined();
    expect(changes).toHaveLength(1);
    expect(changes[0]?.events.map((e) => e.kv.key.toString())).toEqual(['n', 'inner-success', 'after']);
  });

  test('a failing check anywhere on the path aborts the whole txn before it writes', () => {
    const bad: TxnRequest = {
      success: [put('x', '1'), { request_txn: { success: [{ request_put: { key: b('missing'), value: b('v'), ignore_value: true } }] } }],
    };
    const r = s.txn(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('key-not-found');
    expect(get('x')).toBeUndefined();
    expect(s.currentRevision).toBe(4);
    expect(changes).toEqual([]);

    const badLease = s.txn({ success: [put('x', '1'), { request_put: { key: b('y'), value: b('v'), lease: 123n } }] });
    expect(!badLease.ok && badLease.error.code).toBe('lease-not-found');
    const future = s.txn({ success: [put('x', '1'), { request_range: { key: b('a'), revision: 5 } }] });
    expect(!future.ok && future.error.message).toBe(ERR_FUTURE_REV_MESSAGE);
    expect(get('x')).toBeUndefined();
  });

  test('checks only look at the path taken', () => {
    const r = unwrap(
      s.txn({
        compare: [cmp('a', { target: 'VERSION', version: 1, result: 'EQUAL' })],
        success: [put('ok', '1')],
        failure: [{ request_put: { key: b('missing'), ignore_value: true } }],
      }),
    );
    expect(r.succeeded).toBe(true);
    expect(get('ok')).toBeDefined();
  });

  test('a range inside a txn at a compacted revision fails the txn', () => {
    unwrap(s.compact(3));
    const r = s.txn({ success: [put('x', '1'), { request_range: { key: b('a'), revision: 2 } }] });
    expect(!r.ok && r.error.code).toBe('compacted');
  });

  test('an empty txn succeeds and changes nothing', () => {
    expect(unwrap(s.txn({}))).toEqual({ revision: 4, succeeded: true, responses: [] });
  });
});
