// blockingIO: the same records and recovery, written and synced on the event loop's thread.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalClosedError } from '../../src/raft/wal/index.js';
import { setFsyncFailpoint } from '../../src/raft/wal/fsync-failpoint.js';
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

describe('Wal with preallocate', () => {
  it('writes into zeroed space, trims finished segments, and recovers without reporting a repair', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true, preallocate: 64 * 1024, segmentSize: 4096 });
    const all = ents(1, 300, 1);
    for (let i = 0; i < 30; i++) await wal.save({ hardState: hs(1, 1, i * 10), entries: all.slice(i * 10, i * 10 + 10) });
    expect(wal.segmentCount).toBeGreaterThan(1);
    await wal.close();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
    const sizes = files.map((f) => fs.statSync(path.join(dir, f)).size);
    // Finished segments end at their last batch; the current one carries zeroed space ahead.
    for (const s of sizes.slice(0, -1)) expect(s).toBeLessThan(8192);
    expect(sizes.at(-1)!).toBeGreaterThanOrEqual(64 * 1024);
    const { wal: again, state } = await Wal.open(dir, { blockingIO: true, preallocate: 64 * 1024 });
    expect(state.repairedTail).toBeNull();
    expect(state.hardState).toEqual(hs(1, 1, 290));
    expect(plain(state.entries)).toEqual(plain(all));
    // Writing goes on after the recovered end, and survives another reopen.
    await again.save({ hardState: hs(2, 2, 300), entries: ents(301, 310, 2) });
    await again.close();
    const { wal: third, state: s3 } = await Wal.open(dir);
    expect(s3.entries.at(-1)!.index).toBe(310);
    expect(s3.hardState).toEqual(hs(2, 2, 300));
    await third.close();
  });

  it('still reports a torn batch written into the zeroed space', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { preallocate: 64 * 1024 });
    await wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 5, 1) });
    await wal.close();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.wal'))!;
    const buf = fs.readFileSync(path.join(dir, file));
    let end = buf.length;
    while (end > 0 && buf[end - 1] === 0) end--;
    // Half a record's worth of garbage right after the last batch, zeros after it.
    const fd = fs.openSync(path.join(dir, file), 'r+');
    fs.writeSync(fd, Buffer.from('garbage-garbage-'), 0, 16, end + 8);
    fs.closeSync(fd);
    const { wal: again, state } = await Wal.open(dir);
    expect(state.repairedTail).not.toBeNull();
    expect(plain(state.entries)).toEqual(plain(ents(1, 5, 1)));
    await again.close();
  });
});

describe('Wal.saveNow', () => {
  it('makes most saves durable before returning, hands cuts and extensions back to save, and recovers them all', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true, preallocate: 8 * 1024, segmentSize: 4096 });
    const all = ents(1, 400, 1);
    let now = 0;
    let handedBack = 0;
    for (let i = 0; i < 40; i++) {
      const req = { hardState: hs(1, 1, i * 10), entries: all.slice(i * 10, i * 10 + 10) };
      const before = wal.stats.syncs;
      if (wal.saveNow(req)) {
        now++;
        // durable already: its one sync happened before saveNow returned
        expect(wal.stats.syncs).toBe(before + 1);
      } else {
        handedBack++;
        expect(wal.stats.syncs).toBe(before);
        await wal.save(req);
      }
    }
    expect(wal.segmentCount).toBeGreaterThan(2);
    expect(handedBack).toBeGreaterThan(0);
    expect(now).toBeGreaterThan(handedBack);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(state.hardState).toEqual(hs(1, 1, 390));
    expect(plain(state.entries)).toEqual(plain(all));
    await again.close();
  });

  it('does nothing and says so while a save is in flight, in the thread-pool mode, or with the fsync failpoint armed', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true });
    const inFlight = wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1) });
    expect(wal.saveNow({ hardState: hs(1, 1, 1), entries: ents(3, 3, 1) })).toBe(false);
    await inFlight;
    setFsyncFailpoint('stall');
    try {
      expect(wal.saveNow({ hardState: hs(1, 1, 1), entries: ents(3, 3, 1) })).toBe(false);
    } finally {
      setFsyncFailpoint(null);
    }
    expect(wal.saveNow({ hardState: hs(1, 1, 2), entries: ents(3, 3, 1) })).toBe(true);
    expect(wal.stats.syncs).toBe(2);
    await wal.close();
    expect(() => wal.saveNow({ hardState: hs(1, 1, 2), entries: [] })).toThrow(WalClosedError);

    const pooled = await Wal.open(dirs.make());
    expect(pooled.wal.saveNow({ hardState: hs(1, 1, 0), entries: ents(1, 1, 1) })).toBe(false);
    expect(pooled.wal.stats.syncs).toBe(0);
    await pooled.wal.close();
  });

  it('refuses a malformed request without writing, and goes on', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true });
    expect(wal.saveNow({ hardState: hs(1, 1, 0), entries: ents(1, 3, 1) })).toBe(true);
    expect(() => wal.saveNow({ hardState: null, entries: ents(7, 8, 1) })).toThrow(RangeError);
    expect(wal.saveNow({ hardState: hs(1, 1, 3), entries: ents(4, 5, 1) })).toBe(true);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(plain(state.entries)).toEqual(plain(ents(1, 5, 1)));
    await again.close();
  });
});
