// mvcc-index: the in-memory index (TreeIndex, KeyIndex), the KeyValue codec and revision keys.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeKeyValue, encodeKeyValue } from '../../src/kv/mvcc/index.js';
import { decodeKeyValueHeader } from '../../src/kv/mvcc/codec.js';
import { KeyIndex, newRevRecord } from '../../src/kv/mvcc/key-index.js';
import { parseRevKey, revKey } from '../../src/kv/mvcc/revision.js';
import { TreeIndex } from '../../src/kv/mvcc/tree-index.js';

describe('TreeIndex', () => {
  const entry = (k: string): KeyIndex => new KeyIndex(k, 2, 0, 2, 1, 0n);

  test('agrees with a sorted map under random inserts, removes, deletes/recreates and range scans and counts', () => {
    // Keys from a small alphabet so inserts collide with removes; enough of them to split and merge blocks.
    const keyArb = fc.integer({ min: 0, max: 600 }).map((n) => n.toString(36));
    const opArb = fc.oneof(
      fc.record({ t: fc.constant('ins' as const), ks: fc.array(keyArb, { maxLength: 300, size: 'max' }) }),
      fc.record({ t: fc.constant('rm' as const), ks: fc.array(keyArb, { maxLength: 300, size: 'max' }) }),
      // Removing runs of neighbours shrinks blocks to a few entries, which exercises merges.
      fc.record({ t: fc.constant('rmRun' as const), lo: keyArb, n: fc.nat(40), stride: fc.integer({ min: 1, max: 9 }) }),
      // Deleting (tombstoning) or recreating keys flips their liveness, which the live counts track.
      fc.record({ t: fc.constant('flip' as const), ks: fc.array(keyArb, { maxLength: 100 }) }),
      fc.record({ t: fc.constant('scan' as const), lo: keyArb, hi: fc.option(keyArb, { nil: null }), stopAfter: fc.nat(50) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.constantFrom(2, 3, 8, 512), (ops, load) => {
        const tree = new TreeIndex(load);
        const model = new Map<string, boolean>(); // key → live
        let rev = 3;
        for (const op of ops) {
          if (op.t === 'ins') {
            for (const k of op.ks) {
              if (model.has(k)) continue;
              model.set(k, true);
              tree.insert(entry(k));
            }
          } else if (op.t === 'rm') {
            for (const k of op.ks) expect(tree.remove(k)).toBe(model.delete(k));
          } else if (op.t === 'rmRun') {
            const run = [...model.keys()].sort().filter((k) => k >= op.lo);
            for (let i = 0; i < run.length && i < op.n * op.stride; i++) {
              if (i % op.stride === 0) continue; // keep every stride-th key so blocks thin out rather than vanish
              const k = run[i] as string;
              expect(tree.remove(k)).toBe(model.delete(k));
            }
          } else if (op.t === 'flip') {
            for (const k of op.ks) {
              const ki = tree.get(k);
              if (ki === undefined) continue;
              if (ki.live) {
                ki.tombstone(rev++, 0);
                tree.liveChanged(k, -1);
              } else {
                ki.put(rev++, 0, 0n);
                tree.liveChanged(k, 1);
              }
              model.set(k, ki.live);
            }
          } else {
            const inRange = [...model.keys()].sort().filter((k) => k >= op.lo && (op.hi === null || k < op.hi));
            const got: string[] = [];
            tree.range(op.lo, op.hi, (e) => {
              if (got.length >= op.stopAfter) return false;
              got.push(e.key);
              return true;
            });
            expect(got).toEqual(inRange.slice(0, op.stopAfter));
            expect(tree.countLive(op.lo, op.hi)).toBe(inRange.filter((k) => model.get(k) === true).length);
          }
          expect(tree.size).toBe(model.size);
        }
        const all: string[] = [];
        tree.forEach((e) => all.push(e.key));
        expect(all).toEqual([...model.keys()].sort());
        for (const k of model.keys()) expect(tree.get(k)?.key).toBe(k);
        expect(tree.get('not-a-key')).toBeUndefined();
        const live = tree.countLive('', null);
        tree.recountLive();
        expect(tree.countLive('', null)).toBe(live);
      }),
      { numRuns: 100 },
    );
  });

  test('holds 100,000 keys inserted in random order, in order', () => {
    const tree = new TreeIndex();
    const n = 100_000;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const i of order) tree.insert(entry(`k${String(i).padStart(6, '0')}`));
    let prev = '';
    let count = 0;
    let ordered = true;
    tree.forEach((e) => {
      ordered &&= e.key > prev;
      prev = e.key;
      count++;
    });
    expect(ordered).toBe(true);
    expect(count).toBe(n);
  });
});

describe('KeyIndex', () => {
  test('find answers each revision; compaction keeps the latest below rev unless it is a tombstone, and all at rev', () => {
    const ki = new KeyIndex('k', 2, 0, 2, 1, 0n); // put@2 v1
    ki.put(4, 0, 0n); // v2
    ki.tombstone(6, 1);
    ki.put(8, 0, 7n); // new generation: create 8, v1
    const rec = newRevRecord();
    expect(ki.find(1, rec)).toBe(false);
    expect(ki.find(3, rec) && { ...rec }).toEqual({ main: 2, sub: 0, tombstone: false, created: 2, version: 1 });
    expect(ki.find(5, rec) && rec.version).toBe(2);
    expect(ki.find(7, rec)).toBe(false);
    expect(rec.tombstone).toBe(true);
    expect(ki.find(9, rec) && { ...rec }).toEqual({ main: 8, sub: 0, tombstone: false, created: 8, version: 1 });

    const dropped: string[] = [];
    const drop = (m: number, s: number, t: boolean): number => dropped.push(`${m}_${s}${t ? 't' : ''}`);
    expect(ki.compact(5, drop)).toBe(false);
    expect(dropped).toEqual(['2_0']);
    expect(ki.compact(7, drop)).toBe(false); // latest ≤ 7 is the tombstone: it goes with what precedes it
    expect(dropped).toEqual(['2_0', '4_0', '6_1t']);
    expect(ki.older).toBeNull();
    expect(ki.find(8, rec)).toBe(true);
    ki.tombstone(10, 0);
    expect(ki.compact(10, drop)).toBe(false); // the tombstone at 10 itself stays, superseding 8
    expect(dropped.slice(3)).toEqual(['8_0']);
    expect(ki.compact(11, drop)).toBe(true); // now nothing is left
    expect(dropped.slice(4)).toEqual(['10_0t']);
  });

  test('compaction keeps every record of the compacted revision itself', () => {
    const ki = new KeyIndex('k', 2, 0, 2, 1, 0n);
    ki.put(3, 0, 0n);
    ki.tombstone(3, 1); // put and delete in one transaction at 3
    ki.put(3, 2, 0n); // and put again
    const dropped: string[] = [];
    expect(ki.compact(3, (m, s, t) => dropped.push(`${m}_${s}${t ? 't' : ''}`))).toBe(false);
    expect(dropped).toEqual(['2_0']);
    expect(ki.recordCount).toBe(3);
  });
});

describe('codec', () => {
  const kvArb = fc.record({
    key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    create_revision: fc.maxSafeNat(),
    mod_revision: fc.maxSafeNat(),
    version: fc.maxSafeNat(),
    value: fc.uint8Array({ maxLength: 300 }),
    lease: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  });

  test('KeyValue round-trips, and the encoding keeps no reference to the input', () => {
    fc.assert(
      fc.property(kvArb, (kv) => {
        const enc = encodeKeyValue(kv.key, kv);
        const dec = decodeKeyValue(enc.bytes);
        const norm = (x: typeof dec) => ({ ...x, key: Buffer.from(x.key).toString('hex'), value: Buffer.from(x.value).toString('hex') });
        const want = { ...kv, key: Buffer.from(kv.key).toString('hex'), value: Buffer.from(kv.value).toString('hex') };
        expect(norm(dec)).toEqual(want);
        expect(norm(enc.kv)).toEqual(want);
        expect(enc.kv.key.buffer).toBe(enc.bytes.buffer);
        const h = decodeKeyValueHeader(enc.bytes);
        expect([h.key, h.create_revision, h.version, h.lease]).toEqual([Buffer.from(kv.key).toString('latin1'), kv.create_revision, kv.version, kv.lease]);
      }),
    );
  });

  test('matches protobuf bytes for a known KeyValue (as gogoproto marshals it)', () => {
    const enc = encodeKeyValue(Buffer.from('foo'), { create_revision: 2, mod_revision: 300, version: 1, value: Buffer.from('bar'), lease: 0n });
    expect(enc.bytes.toString('hex')).toBe('0a03666f6f' + '1002' + '18ac02' + '2001' + '2a03626172');
  });
});

describe('revision keys', () => {
  test('sort in (main, sub) order and parse back', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat(), fc.boolean(), (m1, s1, m2, s2, t) => {
        const a = revKey(m1, s1, t);
        const b = revKey(m2, s2, false);
        expect(parseRevKey(a)).toEqual({ main: m1, sub: s1, tombstone: t });
        const want = m1 !== m2 ? Math.sign(m1 - m2) : s1 !== s2 ? Math.sign(s1 - s2) : t ? 1 : 0;
        expect(Math.sign(Buffer.compare(a, b))).toBe(want);
      }),
    );
  });
});
