// mvcc-range: every RangeRequest option against etcd's semantics.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { ERR_COMPACTED_MESSAGE, ERR_FUTURE_REV_MESSAGE } from '../../src/kv/mvcc/index.js';
import { b, keys, plain, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
let s: MvccStore;

beforeEach(async () => {
  s = await dirs.open();
});
afterEach(() => dirs.cleanup());

/** load writes a fixed history: rev 2 a=1, 3 b=2, 4 c=3, 5 a=4, 6 d=5, 7 b=6 (b version 2), 8 delete c. */
function load(): void {
  unwrap(s.put({ key: b('a'), value: b('1') }));
  unwrap(s.put({ key: b('b'), value: b('2') }));
  unwrap(s.put({ key: b('c'), value: b('3') }));
  unwrap(s.put({ key: b('a'), value: b('4') }));
  unwrap(s.put({ key: b('d'), value: b('5') }));
  unwrap(s.put({ key: b('b'), value: b('6') }));
  unwrap(s.deleteRange({ key: b('c') }));
}

describe('key ranges', () => {
  test('an empty store is at revision 1 and finds nothing', () => {
    expect(s.currentRevision).toBe(1);
    expect(unwrap(s.range({ key: b('a') }))).toEqual({ revision: 1, kvs: [], more: false, count: 0 });
  });

  test('empty range_end reads one key', () => {
    load();
    const r = unwrap(s.range({ key: b('a') }));
    expect(plain(r.kvs)).toEqual([{ key: 'a', value: '4', create: 2, mod: 5, version: 2, lease: 0n }]);
    expect(r.count).toBe(1);
    expect(r.revision).toBe(8);
  });

  test('[key, range_end) is half open', () => {
    load();
    expect(keys(unwrap(s.range({ key: b('a'), range_end: b('d') })).kvs)).toEqual(['a', 'b']);
    expect(keys(unwrap(s.range({ key: b('b'), range_end: b('e') })).kvs)).toEqual(['b', 'd']);
  });

  test('range_end "\\0" reads every key ≥ key, and key "\\0" with it reads everything', () => {
    load();
    expect(keys(unwrap(s.range({ key: b('b'), range_end: Buffer.of(0) })).kvs)).toEqual(['b', 'd']);
    expect(keys(unwrap(s.range({ key: Buffer.of(0), range_end: Buffer.of(0) })).kvs)).toEqual(['a', 'b', 'd']);
  });

  test('a prefix range (range_end = prefix + 1) reads exactly the prefix', () => {
    for (const k of ['/a', '/a/x', '/a/y', '/ab', '/b']) unwrap(s.put({ key: b(k), value: b('v') }));
    expect(keys(unwrap(s.range({ key: b('/a/'), range_end: b('/a0') })).kvs)).toEqual(['/a/x', '/a/y']);
  });

  test('range_end ≤ key reads nothing', () => {
    load();
    expect(unwrap(s.range({ key: b('c'), range_end: b('a') })).kvs).toEqual([]);
    expect(unwrap(s.range({ key: b('a'), range_end: b('a') })).count).toBe(0);
  });

  test('binary keys order byte-wise', () => {
    const ks = [Buffer.of(0xff), Buffer.of(0x00, 0x01), Buffer.of(0x7f), Buffer.of(0x80), Buffer.of(0x00)];
    for (const k of ks) unwrap(s.put({ key: k, value: b('v') }));
    const got = unwrap(s.range({ key: Buffer.of(0), range_end: Buffer.of(0) })).kvs.map((kv) => kv.key.toString('hex'));
    expect(got).toEqual(['00', '0001', '7f', '80', 'ff']);
  });
});

describe('revisions', () => {
  test('reads at past revisions see the state then; the header is the current revision', () => {
    load();
    const at = (rev: number): string[] =>
      plain(unwrap(s.range({ key: b('a'), range_end: b('z'), revision: rev })).kvs).map((kv) => `${kv.key}=${kv.value}@${kv.version}`);
    expect(at(1)).toEqual([]);
    expect(at(2)).toEqual(['a=1@1']);
    expect(at(4)).toEqual(['a=1@1', 'b=2@1', 'c=3@1']);
    expect(at(7)).toEqual(['a=4@2', 'b=6@2', 'c=3@1', 'd=5@1']);
    expect(at(8)).toEqual(['a=4@2', 'b=6@2', 'd=5@1']);
    expect(unwrap(s.range({ key: b('a'), revision: 3 })).revision).toBe(8);
  });

  test('a future revision fails with ErrFutureRev', () => {
    load();
    const r = s.range({ key: b('a'), revision: 9 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toEqual({ code: 'future-revision', message: ERR_FUTURE_REV_MESSAGE });
  });

  test('below the compacted revision fails with ErrCompacted; at it succeeds', () => {
    load();
    unwrap(s.compact(5));
    const r = s.range({ key: b('a'), revision: 4 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toEqual({ code: 'compacted', message: ERR_COMPACTED_MESSAGE, compactRevision: 5 });
    expect(plain(unwrap(s.range({ key: b('a'), range_end: b('z'), revision: 5 })).kvs).map((kv) => kv.key)).toEqual(['a', 'b', 'c']);
  });
});

describe('limit, count and more', () => {
  test('limit cuts the result, count counts the whole range, more says so', () => {
    load();
    const r = unwrap(s.range({ key: b('a'), range_end: b('z'), limit: 2 }));
    expect(keys(r.kvs)).toEqual(['a', 'b']);
    expect(r.count).toBe(3);
    expect(r.more).toBe(true);
    const all = unwrap(s.range({ key: b('a'), range_end: b('z'), limit: 3 }));
    expect(all.more).toBe(false);
    expect(all.kvs).toHaveLength(3);
  });

  test('count_only returns the count and no kvs', () => {
    load();
    expect(unwrap(s.range({ key: b('a'), range_end: b('z'), count_only: true }))).toEqual({ revision: 8, kvs: [], more: false, count: 3 });
    expect(unwrap(s.range({ key: b('a'), range_end: b('z'), count_only: true, revision: 7 })).count).toBe(4);
  });

  test('keys_only drops values and keeps the metadata, now and in the past', () => {
    unwrap(s.put({ key: b('k'), value: b('v1'), lease: 7n }));
    unwrap(s.put({ key: b('k'), value: b('v2'), lease: 9n }));
    expect(plain(unwrap(s.range({ key: b('k'), keys_only: true })).kvs)).toEqual([{ key: 'k', value: '', create: 2, mod: 3, version: 2, lease: 9n }]);
    expect(plain(unwrap(s.range({ key: b('k'), keys_only: true, revision: 2 })).kvs)).toEqual([{ key: 'k', value: '', create: 2, mod: 2, version: 1, lease: 7n }]);
  });
});

describe('sorting', () => {
  beforeEach(() => {
    // versions: a=3, b=1, c=2; create: a 2, b 3, c 4; mod: b 3, c 6, a 7; values: a "m", b "z", c "a"
    unwrap(s.put({ key: b('a'), value: b('x') }));
    unwrap(s.put({ key: b('b'), value: b('z') }));
    unwrap(s.put({ key: b('c'), value: b('q') }));
    unwrap(s.put({ key: b('a'), value: b('y') }));
    unwrap(s.put({ key: b('c'), value: b('a') }));
    unwrap(s.put({ key: b('a'), value: b('m') }));
  });
  const sorted = (sort_target: 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE', sort_order: 'NONE' | 'ASCEND' | 'DESCEND'): string[] =>
    keys(unwrap(s.range({ key: b('a'), range_end: b('z'), sort_target, sort_order })).kvs);

  test.each([
    ['KEY', 'ASCEND', ['a', 'b', 'c']],
    ['KEY', 'DESCEND', ['c', 'b', 'a']],
    ['KEY', 'NONE', ['a', 'b', 'c']],
    ['VERSION', 'ASCEND', ['b', 'c', 'a']],
    ['VERSION', 'DESCEND', ['a', 'c', 'b']],
    ['VERSION', 'NONE', ['b', 'c', 'a']],
    ['CREATE', 'ASCEND', ['a', 'b', 'c']],
    ['CREATE', 'DESCEND', ['c', 'b', 'a']],
    ['MOD', 'ASCEND', ['b', 'c', 'a']],
    ['MOD', 'DESCEND', ['a', 'c', 'b']],
    ['VALUE', 'ASCEND', ['c', 'a', 'b']],
    ['VALUE', 'DESCEND', ['b', 'a', 'c']],
    ['VALUE', 'NONE', ['c', 'a', 'b']],
  ] as const)('sort by %s %s', (target, order, want) => {
    expect(sorted(target, order)).toEqual(want);
  });

  test('limit applies after sorting', () => {
    const r = unwrap(s.range({ key: b('a'), range_end: b('z'), sort_target: 'MOD', sort_order: 'DESCEND', limit: 1 }));
    expect(keys(r.kvs)).toEqual(['a']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(3);
  });

  test('keys_only with a VALUE sort sorts by value and still returns no values', () => {
    const r = unwrap(s.range({ key: b('a'), range_end: b('z'), sort_target: 'VALUE', sort_order: 'ASCEND', keys_only: true }));
    expect(keys(r.kvs)).toEqual(['c', 'a', 'b']);
    expect(r.kvs.every((kv) => kv.value.length === 0)).toBe(true);
  });
});

describe('revision filters', () => {
  beforeEach(() => load()); // live: a(create 2, mod 5), b(create 3, mod 7), d(create 6, mod 6)
  const filtered = (f: { min_mod_revision?: number; max_mod_revision?: number; min_create_revision?: number; max_create_revision?: number }): string[] =>
    keys(unwrap(s.range({ key: b('a'), range_end: b('z'), ...f })).kvs);

  test('min/max mod_revision', () => {
    expect(filtered({ min_mod_revision: 6 })).toEqual(['b', 'd']);
    expect(filtered({ max_mod_revision: 6 })).toEqual(['a', 'd']);
    expect(filtered({ min_mod_revision: 6, max_mod_revision: 6 })).toEqual(['d']);
  });

  test('min/max create_revision', () => {
    expect(filtered({ min_create_revision: 3 })).toEqual(['b', 'd']);
    expect(filtered({ max_create_revision: 3 })).toEqual(['a', 'b']);
  });

  test('filters do not change count but do change what limit cuts', () => {
    const r = unwrap(s.range({ key: b('a'), range_end: b('z'), min_mod_revision: 6, limit: 1 }));
    expect(keys(r.kvs)).toEqual(['b']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(3);
  });
});
