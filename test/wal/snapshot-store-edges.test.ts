// SnapshotStore edges: each check a snapshot file must pass on load (on files rebuilt by hand
// with valid checksums, so each check is the one that refuses), which names `list` takes and in
// what order, the retain setting, and I/O errors that are not damage and must not be skipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogIndex, Snapshot, Term } from '../../src/raft/types.js';
import { SnapshotCorruptError, SnapshotStore } from '../../src/raft/wal/index.js';
import { crc32cRange } from '../../src/raft/wal/crc32c.js';
import { TempDirs, snap } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const HEADER = 32;

function snapshot(index: number, term: number, data = 'state'): Snapshot {
  return { metadata: snap(index, term), data: Buffer.from(`${data} at ${index}`) };
}

/** Splits a saved snapshot file into its metadata and data. */
function parts(file: string): { meta: Buffer; data: Buffer } {
  const buf = fs.readFileSync(file);
  const metaLen = buf.readUInt32LE(8);
  return { meta: buf.subarray(HEADER, HEADER + metaLen), data: buf.subarray(HEADER + metaLen) };
}

/** Writes a snapshot file from parts, with correct checksums; `patch` edits the header before its checksum. */
function build(file: string, meta: Uint8Array, data: Uint8Array, patch: (header: Buffer) => void = () => undefined): void {
  const header = Buffer.alloc(HEADER);
  header.write('RKSNAP01', 0, 'latin1');
  header.writeUInt32LE(meta.length, 8);
  header.writeBigUInt64LE(BigInt(data.length), 16);
  const body = Buffer.concat([meta, data]);
  header.writeUInt32LE(crc32cRange(body, 0, body.length), 24);
  patch(header);
  header.writeUInt32LE(crc32cRange(header, 0, 28), 28);
  fs.writeFileSync(file, Buffer.concat([header, body]));
}

/** A store that records what it skipped, with one saved snapshot (index 10, term 1). */
async function storeWithOne(): Promise<{ store: SnapshotStore; file: string; seen: SnapshotCorruptError[] }> {
  const seen: SnapshotCorruptError[] = [];
  const store = new SnapshotStore(dirs.make(), { onCorrupt: (e) => seen.push(e) });
  const file = await store.save(snapshot(10, 1));
  return { store, file, seen };
}

describe('SnapshotStore refuses a damaged file, saying why', () => {
  it('loads a file rebuilt from its own parts (the harness writes valid files)', async () => {
    const { store, file, seen } = await storeWithOne();
    const { meta, data } = parts(file);
    build(file, meta, data);
    expect(Buffer.from((await store.loadNewest())!.data).toString()).toBe('state at 10');
    expect(seen).toEqual([]);
  });

  const cases: [string, (file: string, meta: Buffer, data: Buffer) => void, RegExp][] = [
    ['shorter than its header', (file) => fs.writeFileSync(file, Buffer.alloc(HEADER - 1)), /file of 31 bytes is shorter than its header/],
    [
      'a wrong magic',
      (file, meta, data) => build(file, meta, data, (h) => h.write('RKSNAP02', 0, 'latin1')),
      /not a snapshot file \(bad magic\)/,
    ],
    [
      'a header whose checksum does not match',
      (file) => {
        const buf = fs.readFileSync(file);
        buf[12] = 1; // the reserved word, under the header checksum only
        fs.writeFileSync(file, buf);
      },
      /header checksum mismatch/,
    ],
    [
      'a data length past 2^53',
      (file, meta, data) => build(file, meta, data, (h) => h.writeBigUInt64LE(1n << 60n, 16)),
      /data length out of range/,
    ],
    [
      'a length that does not match the file',
      (file, meta, data) => build(file, meta, data, (h) => h.writeBigUInt64LE(BigInt(data.length + 1), 16)),
      /file is \d+ bytes, header says \d+/,
    ],
    [
      'metadata with a byte after it',
      (file, meta, data) => build(file, Buffer.concat([meta, Buffer.from([0])]), data),
      /metadata has trailing bytes/,
    ],
    [
      'metadata cut short',
      (file, meta, data) => build(file, meta.subarray(0, meta.length - 1), Buffer.concat([meta.subarray(meta.length - 1), data])),
      /snapshot metadata is truncated/,
    ],
  ];
  for (const [what, damage, message] of cases) {
    it(`a file with ${what}`, async () => {
      const { store, file, seen } = await storeWithOne();
      const { meta, data } = parts(file);
      damage(file, Buffer.from(meta), Buffer.from(data));
      expect(await store.loadNewest()).toBeNull();
      expect(seen).toHaveLength(1);
      expect(seen[0]).toBeInstanceOf(SnapshotCorruptError);
      expect(seen[0]!.file).toBe(file);
      expect(seen[0]!.message).toMatch(message);
    });
  }

  it('a file whose contents name another index or term than its name', async () => {
    const { store, file, seen } = await storeWithOne();
    const other = path.join(store.dir, '0000000000000001-000000000000000b.snap'); // term 1, index 11
    fs.renameSync(file, other);
    expect(await store.loadMatching({ index: 11 as LogIndex, term: 1 as Term })).toBeNull();
    expect(seen.map((e) => e.message)).toEqual([expect.stringMatching(/holds index 10 term 1, its name says index 11 term 1/)]);
    const wrongTerm = path.join(store.dir, '0000000000000002-000000000000000a.snap'); // term 2, index 10
    fs.renameSync(other, wrongTerm);
    expect(await store.loadNewest()).toBeNull();
    expect(seen[1]!.message).toMatch(/holds index 10 term 1, its name says index 10 term 2/);
  });
});

describe('SnapshotStore files', () => {
  it('lists only well-formed names within 2^53, newest index first and, for one index, newest term first', async () => {
    const store = new SnapshotStore(dirs.make(), { retain: 10 });
    expect(await store.list()).toEqual([]); // no snap directory yet
    for (const [i, t] of [[10, 1], [30, 2], [30, 3], [20, 5]] as const) await store.save(snapshot(i, t));
    for (const name of [
      'ffffffffffffffff-0000000000000001.snap', // term past 2^53
      '0000000000000001-ffffffffffffffff.snap', // index past 2^53
      '000000000000000A-0000000000000001.snap', // upper-case hex
      '0000000000000001-000000000000001.snap', // one digit short
      '0000000000000001-0000000000000001.snap.tmp',
      '0000000000000001-0000000000000001.snapx',
      'x0000000000000001-0000000000000001.snap',
      'notes.txt',
    ]) {
      fs.writeFileSync(path.join(store.dir, name), 'x');
    }
    const list = await store.list();
    expect(list.map((f) => [f.index, f.term])).toEqual([
      [30, 3],
      [30, 2],
      [20, 5],
      [10, 1],
    ]);
    expect(list[0]!.file).toBe(path.join(store.dir, '0000000000000003-000000000000001e.snap'));
  });

  it('refuses a retain that is not a positive integer, keeps 3 by default, and never purges the newest', async () => {
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => new SnapshotStore(dirs.make(), { retain: bad })).toThrow(new RangeError(`retain must be a positive integer, got ${bad}`));
    }
    const store = new SnapshotStore(dirs.make());
    expect(await store.purge()).toBe(0); // no snap directory yet
    for (const i of [1, 2, 3, 4, 5]) await store.save(snapshot(i, 1));
    expect((await store.list()).map((f) => f.index)).toEqual([5, 4, 3]);
    expect(await store.purge(0)).toBe(2);
    expect((await store.list()).map((f) => f.index)).toEqual([5]);
    expect(await store.purge(1)).toBe(0);
    expect(new SnapshotStore(dirs.make(), { retain: 1 })).toBeInstanceOf(SnapshotStore);
  });

  it('passes on I/O errors that are not damage instead of skipping the file', async () => {
    const store = new SnapshotStore(dirs.make());
    await store.save(snapshot(10, 1));
    fs.mkdirSync(path.join(store.dir, '0000000000000001-0000000000000014.snap')); // a directory named as index 20
    await expect(store.loadNewest()).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(store.loadMatching({ index: 20 as LogIndex, term: 1 as Term })).rejects.toMatchObject({ code: 'EISDIR' });

    const blocked = new SnapshotStore(dirs.make());
    fs.writeFileSync(blocked.dir, 'a file where the snap directory should be');
    await expect(blocked.list()).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(blocked.purge()).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
