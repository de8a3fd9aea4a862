// mvcc-persist: commit and reopen, lost uncommitted writes, snapshots, HashKV, auxiliary buckets.
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { MvccStore, SnapshotError } from '../../src/kv/mvcc/index.js';
import { crc32c } from '../../src/raft/wal/crc32c.js';
import { b, plain, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

async function freshDir(): Promise<string> {
  return `${await dirs.dir()}/db`;
}

/** dump reads everything at every readable revision, as strings. */
function dump(s: MvccStore): string[][] {
  const out: string[][] = [];
  for (let rev = Math.max(1, s.compactedRevision); rev <= s.currentRevision; rev++) {
    out.push(
      plain(unwrap(s.range({ key: Buffer.of(0), range_end: Buffer.of(0), revision: rev })).kvs).map(
        (kv) => `${kv.key}=${kv.value} c${kv.create} m${kv.mod} v${kv.version} l${kv.lease}`,
      ),
    );
  }
  return out;
}

function someHistory(s: MvccStore, n = 20): void {
  for (let i = 0; i < n; i++) {
    s.put({ key: b(`k${i % 7}`), value: b(`v${i}`), lease: i % 3 === 0 ? 5n : 0n });
    if (i % 5 === 4) s.deleteRange({ key: b(`k${(i * 3) % 7}`) });
  }
}

describe('commit and recovery', () => {
  test('a committed store reopens with the same state, revisions and consistent index', async () => {
    const dir = await freshDir();
    const s = await MvccStore.open(dir);
    someHistory(s);
    s.setConsistentIndex(42);
    await s.commit({ sync: true });
    expect(s.syncedConsistentIndex).toBe(42);
    const before = dump(s);
    const rev = s.currentRevision;
    await s.close();

    const t = dirs.track(await MvccStore.open(dir));
    expect(t.currentRevision).toBe(rev);
    expect(t.consistentIndex).toBe(42);
    expect(t.syncedConsistentIndex).toBe(42);
    expect(dump(t)).toEqual(before);
    // Lease attachments are rebuilt from the stored pairs.
    const leased = unwrap(t.range({ key: Buffer.of(0), range_end: Buffer.of(0) })).kvs.filter((kv) => kv.lease === 5n);
    expect(leased.length).toBeGreaterThan(0);
    expect(t.leaseKeys(5n)).toEqual(leased.map((kv) => kv.key));
  });

  test('writes not committed are gone after a reopen; the consistent index is the committed one', async () => {
    const dir = await freshDir();
    const s = await MvccStore.open(dir);
    s.put({ key: b('a'), value: b('1') });
    s.setConsistentIndex(1);
    await s.commit();
    s.put({ key: b('b'), value: b('2') });
    s.put({ key: b('a'), value: b('3') });
    s.setConsistentIndex(3);
    expect(s.consistentIndex).toBe(3);
    await s.close();

    const t = dirs.track(await MvccStore.open(dir));
    expect(t.consistentIndex).toBe(1);
    expect(t.currentRevision).toBe(2);
    expect(plain(unwrap(t.range({ key: b('a'), range_end: b('z') })).kvs).map((kv) => `${kv.key}=${kv.value}`)).toEqual(['a=1']);
    // Replaying the lost entries gives the same revisions again.
    expect(unwrap(t.put({ key: b('b'), value: b('2') })).revision).toBe(3);
  });

  test('reads see applied but uncommitted writes, and after commit read them from RocksDB', async () => {
    const s = await dirs.open();
    s.put({ key: b('a'), value: b('1') });
    s.put({ key: b('a'), value: b('2') });
    const before = dump(s);
    await s.commit();
    expect(dump(s)).toEqual(before);
    s.put({ key: b('a'), value: b('3') });
    expect(plain(unwrap(s.range({ key: b('a'), revision: 3 })).kvs)[0]?.value).toBe('2');
    expect(plain(unwrap(s.range({ key: b('a') })).kvs)[0]?.value).toBe('3');
  });

  test('an empty store reopens at revision 1 with consistent index 0', async () => {
    const dir = await freshDir();
    await (await MvccStore.open(dir)).close();
    const s = dirs.track(await MvccStore.open(dir));
    expect([s.currentRevision, s.consistentIndex, s.compactedRevision]).toEqual([1, 0, 0]);
  });
});

describe('snapshot and restore', () => {
  test('a snapshot restores into an identical store', async () => {
    const s = await dirs.open();
    someHistory(s, 40);
    unwrap(s.compact(10));
    someHistory(s, 5);
    s.setConsistentIndex(77);
    s.auxPut('lease', b('5'), b('ttl=10'));
    const snap = s.snapshot();
    expect([snap.consistentIndex, snap.revision, snap.compactedRevision]).toEqual([77, s.currentRevision, 10]);
    const bytes = await snap.toBuffer();

    const r = dirs.track(await MvccStore.restore(await freshDir(), bytes));
    expect(r.consistentIndex).toBe(77);
    expect(r.currentRevision).toBe(s.currentRevision);
    expect(r.compactedRevision).toBe(10);
    expect(dump(r)).toEqual(dump(s));
    expect(unwrap(await r.hash()).hash).toBe(unwrap(await s.hash()).hash);
    expect(r.auxGet('lease', b('5'))?.toString()).toBe('ttl=10');
  });

  test('a snapshot is a point-in-time image: writes after it are not in it', async () => {
    const s = await dirs.open();
    someHistory(s);
    const want = dump(s);
    const snap = s.snapshot();
    s.put({ key: b('later'), value: b('x') });
    await s.commit();
    const chunks: Buffer[] = [];
    for await (const c of snap) chunks.push(c);
    const r = dirs.track(await MvccStore.restore(await freshDir(), chunks));
    expect(dump(r)).toEqual(want);
  });

  test('restore accepts the stream in arbitrary pieces', async () => {
    const s = await dirs.open();
    someHistory(s);
    const bytes = await s.snapshot().toBuffer();
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    const r = dirs.track(await MvccStore.restore(await freshDir(), pieces));
    expect(dump(r)).toEqual(dump(s));
  });

  test('a corrupt or truncated snapshot is refused and leaves the target alone', async () => {
    const s = await dirs.open();
    someHistory(s);
    const bytes = await s.snapshot().toBuffer();
    const target = await freshDir();
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40] = (flipped[flipped.length - 40] ?? 0) ^ 1;
    await expect(MvccStore.restore(target, flipped)).rejects.toBeInstanceOf(SnapshotError);
    await expect(MvccStore.restore(target, bytes.subarray(0, bytes.length - 5))).rejects.toThrow(/truncated/);
    await expect(MvccStore.restore(target, Buffer.from('garbage!garbage!'))).rejects.toThrow(/magic/);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.restoring`)).toBe(false);
  });

  test('restoreSnapshot replaces a live store in place and tells listeners', async () => {
    const src = await dirs.open();
    someHistory(src, 30);
    src.setConsistentIndex(9);
    const bytes = await src.snapshot().toBuffer();

    const s = await dirs.open();
    s.put({ key: b('old'), value: b('x') });
    const heard: number[] = [];
    s.subscribe({ onChanges: () => undefined, onRestore: (prev) => heard.push(prev) });
    await s.restoreSnapshot(bytes);
    expect(heard).toEqual([2]);
    expect(dump(s)).toEqual(dump(src));
    expect(s.consistentIndex).toBe(9);
    // The restored store keeps working and persisting.
    s.put({ key: b('new'), value: b('y') });
    await s.commit();
    expect(plain(unwrap(s.range({ key: b('new') })).kvs)).toHaveLength(1);
  });

  test('a restore interrupted between its renames is finished on open', async () => {
    const s = await dirs.open();
    someHistory(s);
    const bytes = await s.snapshot().toBuffer();
    const dir = await freshDir();
    const restored = await MvccStore.restore(dir, bytes);
    const want = dump(restored);
    await restored.close();
    // Simulate the crash window: the new state is staged, the old directory already moved away.
    await rename(dir, `${dir}.restoring`);
    await writeFile(`${dir}.restoring/RESTORE_COMPLETE`, '');
    const t = dirs.track(await MvccStore.open(dir));
    expect(dump(t)).toEqual(want);
  });
});

describe('hash', () => {
  test('crc32c matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.from('56789'), crc32c(Buffer.from('1234')))).toBe(0xe3069283);
  });

  test('two stores fed the same operations hash the same, at every revision', async () => {
    const s1 = await dirs.open();
    const s2 = await dirs.open();
    someHistory(s1, 30);
    someHistory(s2, 30);
    await s1.commit(); // commit timing must not matter
    for (const rev of [0, 5, 17, s1.currentRevision]) {
      expect(unwrap(await s1.hash(rev))).toEqual(unwrap(await s2.hash(rev)));
    }
    s2.put({ key: b('k1'), value: b('different') });
    s1.put({ key: b('k1'), value: b('differen7') });
    expect(unwrap(await s1.hash()).hash).not.toBe(unwrap(await s2.hash()).hash);
  });

  test('hash after compaction: the same on both stores, errors below or above', async () => {
    const s1 = await dirs.open();
    const s2 = await dirs.open();
    someHistory(s1, 30);
    someHistory(s2, 30);
    unwrap(s1.compact(12));
    unwrap(s2.compact(12));
    await s2.commit();
    expect(unwrap(await s1.hash(0))).toEqual(unwrap(await s2.hash(0)));
    expect(unwrap(await s1.hash(0)).compactRevision).toBe(12);
    expect((await s1.hash(11)).ok).toBe(false);
    expect((await s1.hash(s1.currentRevision + 1)).ok).toBe(false);
  });
});

describe('auxiliary buckets', () => {
  test('entries commit with the batch, read their own writes and survive reopen', async () => {
    const dir = await freshDir();
    const s = await MvccStore.open(dir);
    s.auxPut('lease', b('2'), b('two'));
    s.auxPut('lease', b('1'), b('one'));
    s.auxPut('other', b('1'), b('x'));
    expect(s.auxEntries('lease').map(([k, v]) => `${k.toString()}=${v.toString()}`)).toEqual(['1=one', '2=two']);
    await s.commit();
    s.auxPut('lease', b('2'), null);
    s.auxPut('lease', b('3'), b('three'));
    expect(s.auxEntries('lease').map(([k, v]) => `${k.toString()}=${v.toString()}`)).toEqual(['1=one', '3=three']);
    expect(s.auxGet('lease', b('2'))).toBeUndefined();
    await s.close(); // the second batch is lost
    const t = dirs.track(await MvccStore.open(dir));
    expect(t.auxEntries('lease').map(([k, v]) => `${k.toString()}=${v.toString()}`)).toEqual(['1=one', '2=two']);
  });
});
