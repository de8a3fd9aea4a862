// syncOffLoop: batches written on the event loop's thread, fdatasync on libuv's thread pool.
import { afterEach, describe, expect, it } from 'vitest';
import { Wal } from '../../src/raft/wal/index.js';
import { TempDirs, ents, hs, plain } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('Wal with syncOffLoop', () => {
  it('resolves each save after its sync, shares a sync among saves issued together, and recovers', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { syncOffLoop: true, preallocate: 16 * 1024, segmentSize: 4096 });
    const all = ents(1, 200, 1);
    for (let i = 0; i < 20; i++) await wal.save({ hardState: hs(1, 1, i * 10), entries: all.slice(i * 10, i * 10 + 10) });
    expect(wal.stats.syncs).toBe(20);
    expect(wal.segmentCount).toBeGreaterThan(1);
    const before = wal.stats.syncs;
    await Promise.all([wal.save({ hardState: hs(1, 1, 195), entries: [] }), wal.save({ hardState: hs(1, 1, 199), entries: [] })]);
    expect(wal.stats.syncs).toBe(before + 1);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(state.repairedTail).toBeNull();
    expect(state.hardState).toEqual(hs(1, 1, 199));
    expect(plain(state.entries)).toEqual(plain(all));
    await again.close();
  });

  it('resolves a save only once its sync has returned, and keeps the loop free meanwhile', async () => {
    const dir = dirs.make();
    const syncs: { fd: number; release: () => void }[] = [];
    // An injected sync that returns only when the test says so: save must wait for it.
    const sync = (fd: number): Promise<void> => new Promise((resolve) => syncs.push({ fd, release: resolve }));
    const { wal } = await Wal.open(dir, { syncOffLoop: true, sync });
    let saved = false;
    const save = wal.save({ hardState: hs(1, 1, 1), entries: ents(1, 1, 1) }).then(() => (saved = true));
    // The loop turns while the sync is in flight (a blocking sync would hold it).
    for (let i = 0; i < 500 && syncs.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(syncs).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    expect(saved).toBe(false);
    syncs[0]!.release();
    await save;
    expect(saved).toBe(true);
    // The batch was written before its sync was asked for: it is in the file after a reopen.
    const closing = wal.close();
    await closing;
    const { wal: again, state } = await Wal.open(dir);
    expect(plain(state.entries)).toEqual(plain(ents(1, 1, 1)));
    await again.close();
  });

  it('fails the save, and every later one, when its sync fails', async () => {
    const dir = dirs.make();
    let fail = false;
    const sync = (): Promise<void> => (fail ? Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) : Promise.resolve());
    const { wal } = await Wal.open(dir, { syncOffLoop: true, sync });
    await wal.save({ hardState: hs(1, 1, 1), entries: ents(1, 1, 1) });
    fail = true;
    const err = await wal.save({ hardState: hs(1, 1, 2), entries: ents(2, 2, 1) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/fdatasync/);
    fail = false;
    await expect(wal.save({ hardState: hs(1, 1, 3), entries: ents(3, 3, 1) })).rejects.toBe(err);
    await wal.close();
  });
});
