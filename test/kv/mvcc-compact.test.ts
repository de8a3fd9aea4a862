// mvcc-compact: compaction keeps the latest revision ≤ rev per key (not tombstones), and the two errors.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { MvccStore } from '../../src/kv/mvcc/index.js';
import { ERR_COMPACTED_MESSAGE, ERR_FUTURE_REV_MESSAGE, MvccStore as Store } from '../../src/kv/mvcc/index.js';
import { b, keys, plain, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
let s: MvccStore;
let dir: string;

beforeEach(async () => {
  dir = `${await dirs.dir()}/db`;
  s = await Store.open(dir);
});
afterEach(async () => {
  await s.close();
  await dirs.cleanup();
});

const all = (revision = 0): string[] =>
  plain(unwrap(s.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision })).kvs).map((kv) => `${kv.key}=${kv.value}@v${kv.version}c${kv.create}m${kv.mod}`);

/** history: 2 a=1, 3 b=1, 4 a=2, 5 del b, 6 c=1, 7 a=3, 8 del c, 9 b=2 */
function history(): void {
  s.put({ key: b('a'), value: b('1') });
  s.put({ key: b('b'), value: b('1') });
  s.put({ key: b('a'), value: b('2') });
  s.deleteRange({ key: b('b') });
  s.put({ key: b('c'), value: b('1') });
  s.put({ key: b('a'), value: b('3') });
  s.deleteRange({ key: b('c') });
  s.put({ key: b('b'), value: b('2') });
}

describe('compact', () => {
  test('reads at or above the compacted revision are unchanged', () => {
    history();
    const before = [5, 6, 7, 8, 9].map((r) => all(r));
    unwrap(s.compact(5));
    expect(s.compactedRevision).toBe(5);
    expect([5, 6, 7, 8, 9].map((r) => all(r))).toEqual(before);
    expect(all()).toEqual(['a=3@v3c2m7', 'b=2@v1c9m9']);
  });

  test('reads below it fail with ErrCompacted and so does compacting again at or below it', () => {
    history();
    unwrap(s.compact(5));
    for (const rev of [1, 4]) {
      const r = s.range({ key: b('a'), revision: rev });
      expect(!r.ok && r.error).toEqual({ code: 'compacted', message: ERR_COMPACTED_MESSAGE, compactRevision: 5 });
    }
    const again = s.compact(5);
    expect(!again.ok && again.error.code).toBe('compacted');
    expect(s.compact(4).ok).toBe(false);
  });

  test('compacting beyond the current revision fails with ErrFutureRev', () => {
    history();
    const r = s.compact(10);
    expect(!r.ok && r.error).toEqual({ code: 'future-revision', message: ERR_FUTURE_REV_MESSAGE });
  });

  test('the revision does not move', () => {
    history();
    unwrap(s.compact(9));
    expect(s.currentRevision).toBe(9);
  });

  test('a key whose last change below rev is a delete is forgotten; others keep one revision', () => {
    history();
    expect(s.keyCount).toBe(3);
    unwrap(s.compact(8)); // c's tombstone is at 8 itself: kept until a later compaction
    expect(s.keyCount).toBe(3);
    unwrap(s.compact(9)); // now it goes, and c with it
    expect(s.keyCount).toBe(2);
    expect(all(9)).toEqual(['a=3@v3c2m7', 'b=2@v1c9m9']);
    // b was deleted at 5 and recreated at 9: version restarts at 1.
    expect(all(9)).toEqual(['a=3@v3c2m7', 'b=2@v1c9m9']);
  });

  test('versions stay right after compaction and later puts', () => {
    history();
    unwrap(s.compact(9));
    s.put({ key: b('a'), value: b('4') });
    expect(all()).toEqual(['a=4@v4c2m10', 'b=2@v1c9m9']);
  });

  test('compaction survives a commit and reopen, and reclaims the dropped revisions', async () => {
    history();
    unwrap(s.compact(8));
    await s.commit();
    const hashBefore = unwrap(await s.hash()).hash;
    await s.close();
    s = await Store.open(dir);
    expect(s.compactedRevision).toBe(8);
    expect(s.currentRevision).toBe(9);
    expect(all(8)).toEqual(['a=3@v3c2m7']);
    expect(s.range({ key: b('a'), revision: 7 }).ok).toBe(false);
    expect(unwrap(await s.hash()).hash).toBe(hashBefore);
    // History from the compacted revision on is whole, including the delete at 8 itself.
    expect(unwrap(s.readEvents(8, 100)).events.map((e) => `${e.type} ${e.kv.key.toString()}@${e.kv.mod_revision}`)).toEqual(['DELETE c@8', 'PUT b@9']);
  });

  test('a compaction that empties the key bucket keeps the current revision on reopen', async () => {
    s.put({ key: b('a'), value: b('1') });
    s.deleteRange({ key: b('a') }); // rev 3 is a tombstone
    s.put({ key: b('b'), value: b('1') });
    s.deleteRange({ key: b('b') }); // rev 5
    unwrap(s.compact(4)); // a's put and tombstone go
    unwrap(s.compact(5)); // … b's put goes, its tombstone at 5 stays
    await s.commit();
    expect(s.keyCount).toBe(1);
    await s.close();
    s = await Store.open(dir);
    expect(s.currentRevision).toBe(5);
    expect(s.keyCount).toBe(1);
    expect(keys(unwrap(s.range({ key: b('a') })).kvs)).toEqual([]);
    expect(unwrap(s.put({ key: b('a'), value: b('2') })).revision).toBe(6);
  });

  test('a revision written and compacted away before one commit never reaches the disk', async () => {
    s.put({ key: b('a'), value: b('1') });
    s.put({ key: b('a'), value: b('2') });
    unwrap(s.compact(3));
    await s.commit();
    await s.close();
    s = await Store.open(dir);
    expect(all()).toEqual(['a=2@v2c2m3']);
    expect(unwrap(s.readEvents(3, 10)).events).toHaveLength(1);
  });

  test('readEvents below the compacted revision fails', () => {
    history();
    unwrap(s.compact(6));
    expect(s.readEvents(5, 10).ok).toBe(false);
    expect(unwrap(s.readEvents(6, 100)).events.map((e) => `${e.type} ${e.kv.key.toString()}@${e.kv.mod_revision}`)).toEqual([
      'PUT c@6',
      'PUT a@7',
      'DELETE c@8',
      'PUT b@9',
    ]);
  });
});
