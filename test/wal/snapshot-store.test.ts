// SnapshotStore: durable files named by term and index, checked on load, pruned to N.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogIndex, NodeId, Snapshot, Term } from '../../src/raft/types.js';
import { SnapshotCorruptError, SnapshotStore } from '../../src/raft/wal/index.js';
import { TempDirs, snap } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

function snapshot(index: number, term: number, size: number): Snapshot {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + index) & 0xff;
  return { metadata: snap(index, term, { learners: [9 as NodeId] }), data };
}

describe('SnapshotStore', () => {
  it('saves to snap/<term>-<index>.snap and loads the newest back intact', async () => {
    const dir = dirs.make();
    const store = new SnapshotStore(dir);
    expect(await store.loadNewest()).toBeNull();
    const big = snapshot(1000, 3, 12 * 1024 * 1024);
    const file = await store.save(big);
    expect(path.relative(dir, file)).toBe(path.join('snap', '0000000000000003-00000000000003e8.snap'));
    await store.save(snapshot(900, 3, 10));
    const got = await store.loadNewest();
    expect(got?.metadata).toEqual(big.metadata);
    expect(Buffer.from(got!.data).equals(Buffer.from(big.data))).toBe(true);
    expect(fs.readdirSync(store.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps only the newest N snapshots', async () => {
    const dir = dirs.make();
    const store = new SnapshotStore(dir, { retain: 2 });
    for (const i of [10, 20, 30, 40]) await store.save(snapshot(i, 1, 100));
    expect((await store.list()).map((f) => f.index)).toEqual([40, 30]);
    expect(await store.purge(1)).toBe(1);
    expect((await store.list()).map((f) => f.index)).toEqual([40]);
  });

  it('skips a damaged snapshot for the next older valid one, and reports it', async () => {
    const dir = dirs.make();
    const seen: SnapshotCorruptError[] = [];
    const store = new SnapshotStore(dir, { onCorrupt: (e) => seen.push(e) });
    await store.save(snapshot(10, 1, 1000));
    const newest = await store.save(snapshot(20, 2, 1000));
    const bytes = fs.readFileSync(newest);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 1;
    fs.writeFileSync(newest, bytes);
    const got = await store.loadNewest();
    expect(got?.metadata.index).toBe(10);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.file).toBe(newest);
    expect(seen[0]!.message).toMatch(/checksum mismatch/);
    expect(await store.loadMatching({ index: 20 as LogIndex, term: 2 as Term })).toBeNull();

    fs.writeFileSync(newest, bytes.subarray(0, 50)); // truncated
    expect((await store.loadNewest())?.metadata.index).toBe(10);
    expect(seen).toHaveLength(3); // the load by name above reported it too
    expect(seen[2]!.message).toMatch(/file is 50 bytes, header says/);
  });

  it('loads exactly the snapshot a WAL marker names', async () => {
    const dir = dirs.make();
    const store = new SnapshotStore(dir);
    await store.save(snapshot(10, 1, 10));
    await store.save(snapshot(20, 2, 10));
    expect((await store.loadMatching({ index: 10 as LogIndex, term: 1 as Term }))?.metadata.index).toBe(10);
    expect(await store.loadMatching({ index: 10 as LogIndex, term: 2 as Term })).toBeNull();
  });

  it('cleans up temporary files left by a crash during save', async () => {
    const dir = dirs.make();
    const store = new SnapshotStore(dir);
    await store.save(snapshot(10, 1, 10));
    fs.writeFileSync(path.join(store.dir, '0000000000000001-0000000000000014.snap.tmp'), 'partial');
    expect((await store.loadNewest())?.metadata.index).toBe(10);
    await store.save(snapshot(11, 1, 10));
    expect(fs.readdirSync(store.dir).sort()).toEqual([
      '0000000000000001-000000000000000a.snap',
      '0000000000000001-000000000000000b.snap',
    ]);
  });
});
