// WalLogStore: a Ready with a snapshot lands in the snapshot store before its WAL marker, in order.
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/raft/types.js';
import { SnapshotStore, Wal, WalLogStore } from '../../src/raft/wal/index.js';
import { TempDirs, ents, hs, plain, snap } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('WalLogStore', () => {
  it('persists a received snapshot and the entries after it, in order, for recovery', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const snapshots = new SnapshotStore(dir);
    const store = new WalLogStore(wal, snapshots);
    const s: Snapshot = { metadata: snap(100, 5), data: Buffer.from('state at 100') };
    const saves = [
      store.save({ hardState: hs(4, 1, 0), entries: ents(1, 3, 4), snapshot: null }),
      store.save({ hardState: hs(5, 0, 100), entries: [], snapshot: s }),
      store.save({ hardState: null, entries: ents(101, 104, 5), snapshot: null }),
    ];
    await Promise.all(saves);
    await wal.close();

    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.snapshot).toEqual(s.metadata);
    expect(plain(state.entries)).toEqual(plain(ents(101, 104, 5)));
    expect(state.hardState).toEqual(hs(5, 0, 100));
    const loaded = await snapshots.loadMatching(state.snapshot!);
    expect(Buffer.from(loaded!.data).toString()).toBe('state at 100');
  });

  it('fails the save whose snapshot cannot be stored, writes none of it, and lets the saves after it through', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const snapshots = new SnapshotStore(dir);
    const store = new WalLogStore(wal, snapshots);
    fs.writeFileSync(snapshots.dir, 'a file where the snapshot directory should be');
    const s: Snapshot = { metadata: snap(100, 5), data: Buffer.from('state at 100') };
    const failed = store.save({ hardState: hs(5, 0, 100), entries: [], snapshot: s });
    const after = store.save({ hardState: hs(5, 0, 0), entries: ents(1, 2, 5), snapshot: null });
    const err = await failed.then(() => null, (e: unknown) => e);
    expect(['EEXIST', 'ENOTDIR']).toContain((err as NodeJS.ErrnoException | null)?.code);
    await after;
    await wal.close();

    const { wal: again, state } = await Wal.open(dir);
    await again.close();
    expect(state.snapshot).toBeNull(); // the marker of a snapshot that was not stored is never written
    expect(plain(state.entries)).toEqual(plain(ents(1, 2, 5)));
    expect(state.hardState).toEqual(hs(5, 0, 0));
  });
});
