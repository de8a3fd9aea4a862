// blockingIO: the same records and recovery, written and synced on the event loop's thread.
import { afterEach, describe, expect, it } from 'vitest';
import { Wal } from '../../src/raft/wal/index.js';
import { TempDirs, ents, hs, plain } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('Wal with blockingIO', () => {
  it('is durable by the time save resolves and recovers like the thread-pool mode', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true, segmentSize: 4096 });
    const all = ents(1, 200, 1);
    for (let i = 0; i < 20; i++) await wal.save({ hardState: hs(1, 1, i * 10), entries: all.slice(i * 10, i * 10 + 10) });
    expect(wal.stats.syncs).toBe(20);
    expect(wal.segmentCount).toBeGreaterThan(1);
    // Saves issued together still share one write and one sync.
    const before = wal.stats.syncs;
    await Promise.all([wal.save({ hardState: hs(1, 1, 195), entries: [] }), wal.save({ hardState: hs(1, 1, 199), entries: [] })]);
    expect(wal.stats.syncs).toBe(before + 1);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(state.hardState).toEqual(hs(1, 1, 199));
    expect(plain(state.entries)).toEqual(plain(all));
    await again.close();
  });
});
