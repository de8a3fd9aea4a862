// snapshot-file: snapshot files (image + padding + SHA-256) inspected and refused when damaged,
// and a member's data directory bootstrapped from one (snapshot restore).
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MvccStore, SnapshotError } from '../../src/kv/mvcc/index.js';
import { inspectSnapshotFile, sealSnapshot } from '../../src/kv/mvcc/snapshot-file.js';
import { SnapshotParser } from '../../src/kv/mvcc/maintenance.js';
import { MemberRegistry } from '../../src/kv/server/members.js';
import { restoreMemberDataDir } from '../../src/kv/member/restore.js';
import { clusterId, ConfigError, memberId, parseInitialCluster } from '../../src/kv/member/config.js';
import { Wal } from '../../src/raft/wal/index.js';
import { b, plain, TempDirs, unwrap } from './mvcc-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** storeWithHistory makes a store with puts, overwrites, a deletion and a lease-bucket entry. */
async function storeWithHistory(): Promise<MvccStore> {
  const s = await dirs.open();
  for (let i = 0; i < 30; i++) s.put({ key: b(`k${i % 10}`), value: b(`v${i}`) });
  unwrap(s.deleteRange({ key: b('k3') }));
  s.put({ key: b('leased'), value: b('x'), lease: 7n });
  s.auxPut('lease', Buffer.from('0000000000000007', 'hex'), Buffer.from('0000003c', 'hex'));
  const reg = new MemberRegistry(s);
  reg.applyConfChange({ type: 'add-voter', nodeId: 11 as never }, { name: 'old1', peerURLs: ['http://10.0.0.1:2380'], clientURLs: ['http://10.0.0.1:2379'] });
  s.setConsistentIndex(5000);
  await s.commit({ sync: true });
  return s;
}

async function snapshotFile(s: MvccStore): Promise<{ path: string; image: Buffer; file: Buffer }> {
  const image = await s.snapshot().toBuffer();
  const file = Buffer.concat(sealSnapshot([image]));
  const path = join(await dirs.dir(), 'snap.db');
  await writeFile(path, file);
  return { path, image, file };
}

async function damaged(file: Buffer, at: number): Promise<string> {
  const copy = Buffer.from(file);
  copy[at] = (copy[at] ?? 0) ^ 0x40;
  const path = join(await dirs.dir(), 'damaged.db');
  await writeFile(path, copy);
  return path;
}

describe('snapshot files', () => {
  test('a sealed image is a multiple of 512 bytes plus its SHA-256, as etcd expects', async () => {
    const { file, image } = await snapshotFile(await storeWithHistory());
    expect(file.length % 512).toBe(32);
    expect(file.subarray(0, image.length).equals(image)).toBe(true);
    expect(file.subarray(image.length, file.length - 32).every((x) => x === 0)).toBe(true);
  });

  test('status reports the revision, the live keys, the size and the HashKV of the image', async () => {
    const s = await storeWithHistory();
    const { path, file, image } = await snapshotFile(s);
    const st = await inspectSnapshotFile(path);
    const hash = unwrap(await s.hash(0));
    expect(st).toEqual({
      hash: hash.hash,
      revision: s.currentRevision,
      totalKey: 10, // k0..k9 without k3, plus "leased"
      totalSize: file.length,
      compactedRevision: 0,
      consistentIndex: 5000,
      imageBytes: image.length,
      hasIntegrityHash: true,
    });
  });

  test('a flipped byte inside the image is refused as corrupt', async () => {
    const { file } = await snapshotFile(await storeWithHistory());
    const path = await damaged(file, 200);
    await expect(inspectSnapshotFile(path)).rejects.toThrow(/fails its integrity hash/);
    // The image's own checksum holds even when the file's hash check is skipped.
    await expect(inspectSnapshotFile(path, { skipHashCheck: true })).rejects.toThrow(SnapshotError);
  });

  test('a damaged integrity hash is refused unless the check is skipped', async () => {
    const { file } = await snapshotFile(await storeWithHistory());
    const path = await damaged(file, file.length - 5);
    await expect(inspectSnapshotFile(path)).rejects.toThrow(/integrity hash \(SHA-256 mismatch\)/);
    expect((await inspectSnapshotFile(path, { skipHashCheck: true })).hasIntegrityHash).toBe(true);
  });

  test('non-zero padding and truncation are refused', async () => {
    const { file, image } = await snapshotFile(await storeWithHistory());
    await expect(inspectSnapshotFile(await damaged(file, image.length + 1), { skipHashCheck: true })).rejects.toThrow(/unexpected bytes after its image/);
    const cut = join(await dirs.dir(), 'cut.db');
    await writeFile(cut, file.subarray(0, Math.floor(image.length / 2)));
    await expect(inspectSnapshotFile(cut)).rejects.toThrow(/truncated/);
  });

  test('a bare image (no integrity hash) needs skipHashCheck', async () => {
    const { image } = await snapshotFile(await storeWithHistory());
    const path = join(await dirs.dir(), 'bare.db');
    await writeFile(path, image);
    await expect(inspectSnapshotFile(path)).rejects.toThrow(/no integrity hash/);
    expect((await inspectSnapshotFile(path, { skipHashCheck: true })).hasIntegrityHash).toBe(false);
  });

  test('a file that is not a snapshot is refused by its first bytes', async () => {
    const path = join(await dirs.dir(), 'other.db');
    await writeFile(path, Buffer.alloc(4096, 7));
    await expect(inspectSnapshotFile(path)).rejects.toThrow(/bad magic/);
  });

  test('the parser takes the image in any pieces', async () => {
    const { image } = await snapshotFile(await storeWithHistory());
    const whole = new SnapshotParser();
    const all = whole.push(image);
    whole.finish();
    const bytewise = new SnapshotParser();
    const pieces = [];
    for (let i = 0; i < image.length; i += 3) pieces.push(...bytewise.push(image.subarray(i, i + 3)));
    bytewise.finish();
    expect(pieces).toEqual(all);
    expect(bytewise.imageBytes).toBe(image.length);
  });
});

describe('snapshot restore into a data directory', () => {
  const cluster = parseInitialCluster('r1=http://127.0.0.1:41001,r2=http://127.0.0.1:41003,r3=http://127.0.0.1:41005');
  const token = 'restored';

  test('keeps every key and revision, and rewrites the membership and the applied index', async () => {
    const s = await storeWithHistory();
    const before = plain(unwrap(s.range({ key: Buffer.of(0), range_end: Buffer.of(0) })).kvs);
    const rev = s.currentRevision;
    const { path } = await snapshotFile(s);
    const dataDir = join(await dirs.dir(), 'r2');
    const r = await restoreMemberDataDir({ snapshotPath: path, name: 'r2', initialCluster: cluster, initialClusterToken: token, dataDir });
    const ids = cluster.map((m) => memberId(m.peerURLs, token));
    expect(r).toMatchObject({ memberId: ids[1]!.toString(16), clusterId: clusterId(ids), index: 3 });

    const restored = dirs.track(await MvccStore.open(join(dataDir, 'member', 'db')));
    expect(restored.currentRevision).toBe(rev);
    expect(plain(unwrap(restored.range({ key: Buffer.of(0), range_end: Buffer.of(0) })).kvs)).toEqual(before);
    expect(restored.consistentIndex).toBe(3);
    expect(restored.auxEntries('lease')).toHaveLength(1);
    const members = new MemberRegistry(restored).list();
    expect(members.map((m) => [m.id, m.name, m.peerURLs, m.isLearner])).toEqual(
      cluster.map((m, i) => [ids[i], m.name, m.peerURLs, false]).sort((a, c) => (a[0] as number) - (c[0] as number)),
    );

    const { wal, state } = await Wal.open(join(dataDir, 'member', 'wal'));
    await wal.close();
    expect(JSON.parse(Buffer.from(state.metadata).toString('utf8'))).toEqual({ memberId: ids[1], clusterId: clusterId(ids) });
    expect(state.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(state.snapshot).toEqual({ index: 3, term: 1, confState: { voters: [...ids].sort((a, c) => a - c), learners: [] } });
    expect(state.entries).toEqual([]);
  });

  test('refuses a corrupt file and leaves no directory behind', async () => {
    const { file } = await snapshotFile(await storeWithHistory());
    const path = await damaged(file, 300);
    const dataDir = join(await dirs.dir(), 'r1');
    await expect(restoreMemberDataDir({ snapshotPath: path, name: 'r1', initialCluster: cluster, initialClusterToken: token, dataDir })).rejects.toThrow(SnapshotError);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('refuses a non-empty data directory, an unknown name and mismatched peer URLs', async () => {
    const { path } = await snapshotFile(await storeWithHistory());
    const busy = await dirs.dir();
    await writeFile(join(busy, 'something'), 'x');
    await expect(restoreMemberDataDir({ snapshotPath: path, name: 'r1', initialCluster: cluster, initialClusterToken: token, dataDir: busy })).rejects.toThrow(/already exists and is not empty/);
    expect(await readFile(join(busy, 'something'), 'utf8')).toBe('x');
    const dataDir = join(await dirs.dir(), 'x');
    await expect(restoreMemberDataDir({ snapshotPath: path, name: 'r9', initialCluster: cluster, initialClusterToken: token, dataDir })).rejects.toThrow(ConfigError);
    await expect(restoreMemberDataDir({ snapshotPath: path, name: 'r1', initialCluster: cluster, initialClusterToken: token, initialAdvertisePeerURLs: ['http://127.0.0.1:9'], dataDir })).rejects.toThrow(/differs from r1's entry/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
