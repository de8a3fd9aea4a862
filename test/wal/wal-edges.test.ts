// Wal edges the round-trip tests did not reach (mutation testing showed each): option checks and
// how options combine, which thread each I/O mode writes and syncs on, preallocated space in every
// mode, recovery (a fresh log, the torn-tail report, zeros cut on open, segments that do not
// belong together), segment boundaries and release, the counters, a barrier save in a batch of
// its own, failing to start a segment, and close waiting for every save.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalCorruptError, WalIoError } from '../../src/raft/wal/index.js';
import { fdatasync } from '../../src/raft/wal/fsio.js';
import { segmentName } from '../../src/raft/wal/segment.js';
import type { LogIndex } from '../../src/raft/types.js';
import { TempDirs, ents, hs, plain, snap, walFiles } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A sync that counts its calls and holds each one until the test releases it. */
class HeldSync {
  readonly held: (() => void)[] = [];
  calls = 0;
  readonly sync = async (fd: number): Promise<void> => {
    this.calls++;
    await new Promise<void>((release) => this.held.push(release));
    await fdatasync(fd);
  };
}

/** until polls (bounded) for probe while the WAL's I/O callbacks run. */
async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !probe(); i++) await new Promise((r) => setImmediate(r));
  expect(probe()).toBe(true);
}

/** Fills a WAL with one-entry saves until it spans at least `segments` files; returns the save count. */
async function fillSegments(wal: Wal, segments: number): Promise<number> {
  let i = 0;
  while (wal.segmentCount < segments) {
    i++;
    await wal.save({ hardState: hs(1, 1, i - 1), entries: ents(i, i, 1, 32) });
  }
  return i;
}

describe('Wal options', () => {
  it('refuses a segment size that is not a positive integer, naming it, and accepts 1', async () => {
    const dir = dirs.make();
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(Wal.open(dir, { segmentSize: bad })).rejects.toThrow(new RangeError(`segmentSize must be a positive integer, got ${bad}`));
    }
    expect(fs.readdirSync(dir)).toEqual([]); // refused before touching the disk
    const { wal } = await Wal.open(dir, { segmentSize: 1 });
    await wal.save({ entries: ents(1, 1, 1) });
    await wal.save({ entries: ents(2, 2, 1) });
    expect(wal.segmentCount).toBe(3); // every batch past the first byte starts a segment
    await wal.close();
  });

  it('uses an injected sync even when blockingIO is asked for', async () => {
    const dir = dirs.make();
    let calls = 0;
    const sync = async (fd: number): Promise<void> => {
      calls++;
      await fdatasync(fd);
    };
    const { wal } = await Wal.open(dir, { blockingIO: true, sync });
    await wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1) });
    await wal.save({ entries: ents(3, 3, 1) });
    expect(calls).toBe(2);
    expect(wal.stats.syncs).toBe(2);
    await wal.close();
  });

  it('reports each batch sync duration, in seconds, once per sync', async () => {
    const dir = dirs.make();
    const seen: number[] = [];
    const { wal } = await Wal.open(dir, { onSyncDuration: (s) => seen.push(s) });
    await wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1) });
    await Promise.all([wal.save({ entries: ents(3, 3, 1) }), wal.save({ entries: ents(4, 4, 1) })]);
    await wal.save({ entries: [] }); // nothing to write: no sync, nothing reported
    expect(seen).toHaveLength(wal.stats.syncs);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    // A sync of a few bytes takes well under a minute even on a loaded machine; a duration in
    // nanoseconds, or a sum of two clock readings, would not.
    for (const s of seen) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(60);
    }
    await wal.close();
  });
});

describe('Wal I/O modes', () => {
  /** Whether a setImmediate queued with a save runs before the save resolves (the loop turned). */
  async function loopTurnedDuringSave(wal: Wal, i: number): Promise<boolean> {
    let turned = false;
    setImmediate(() => (turned = true));
    await wal.save({ hardState: hs(1, 1, i - 1), entries: ents(i, i, 1) });
    const during = turned;
    await until(() => turned);
    return during;
  }

  // blockingIO writes and syncs inside the save's own turn (no thread-pool round trip, so no
  // loop turn before it resolves); the thread-pool mode and syncOffLoop wait for the pool, so the
  // loop turns first. syncOffLoop takes precedence over blockingIO.
  for (const [opts, turns] of [
    [{}, true],
    [{ blockingIO: true }, false],
    [{ syncOffLoop: true }, true],
    [{ syncOffLoop: true, blockingIO: true }, true],
  ] as const) {
    it(`${JSON.stringify(opts)}: the loop ${turns ? 'turns' : 'does not turn'} while a save is written and synced`, async () => {
      const dir = dirs.make();
      // preallocate: the first save also extends the zeroed space, in the same mode.
      const { wal } = await Wal.open(dir, { ...opts, preallocate: 4096 });
      for (let i = 1; i <= 3; i++) expect(await loopTurnedDuringSave(wal, i)).toBe(turns);
      await wal.close();
      const { wal: again, state } = await Wal.open(dir);
      expect(plain(state.entries)).toEqual(plain(ents(1, 3, 1)));
      await again.close();
    });
  }
});

describe('Wal recovery', () => {
  it('opens fresh at index 0 and takes only entries starting at 1', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    expect(wal.lastIndex).toBe(0);
    await expect(wal.save({ entries: ents(2, 2, 1) })).rejects.toThrow(/the first entry must lie in \[1, 1\]/);
    await wal.save({ entries: ents(1, 1, 1) });
    expect(wal.lastIndex).toBe(1);
    await wal.close();
  });

  it('says where it cut a torn tail: file, offset of the torn batch, and why', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const file = walFiles(dir)[0]!;
    await wal.save({ entries: ents(1, 1, 1) });
    const lastStart = fs.statSync(file).size;
    await wal.save({ entries: ents(2, 2, 1) });
    await wal.close();
    fs.truncateSync(file, fs.statSync(file).size - 3);
    const { wal: again, state } = await Wal.open(dir);
    expect(state.repairedTail).toEqual({ file, offset: lastStart, reason: expect.any(String) as string });
    expect(state.repairedTail!.reason.length).toBeGreaterThan(0);
    expect(plain(state.entries)).toEqual(plain(ents(1, 1, 1)));
    expect(fs.statSync(file).size).toBe(lastStart); // cut away
    await again.close();
  });
});

describe('Wal recovery of preallocated space', () => {
  it('cuts the zeros on open, so a segment finished later holds none (recovery reads it strictly)', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { preallocate: 64 * 1024 });
    await wal.save({ entries: ents(1, 1, 1, 32) });
    await wal.close();
    const file = walFiles(dir)[0]!;
    const { wal: again, state } = await Wal.open(dir, { segmentSize: 2048 });
    expect(state.repairedTail).toBeNull();
    expect(fs.statSync(file).size).toBeLessThan(2048);
    let i = 1;
    while (again.segmentCount === 1) {
      i++;
      await again.save({ entries: ents(i, i, 1, 32) });
    }
    await again.close();
    const { wal: third, state: s3 } = await Wal.open(dir);
    expect(plain(s3.entries)).toEqual(plain(ents(1, i, 1, 32)));
    await third.close();
  });
});

describe('Wal recovery refuses segments that do not belong together', () => {
  it('refuses a segment that is not the last cut short, as damage in a segment that is not the last', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 300 });
    await fillSegments(wal, 3);
    await wal.close();
    const victim = walFiles(dir)[1]!;
    fs.truncateSync(victim, fs.statSync(victim).size - 3);
    const err = await Wal.open(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as WalCorruptError).file).toBe(victim);
    expect((err as WalCorruptError).detail).toMatch(/in a segment that is not the last$/);
  });

  it('refuses entries that leave a gap, naming the segment and the batch', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 300 });
    await fillSegments(wal, 4);
    await wal.close();
    const files = walFiles(dir);
    // Segment 1 replaced by the contents of segment 2: its entries skip those segment 1 held.
    fs.copyFileSync(files[2]!, files[1]!);
    const err = await Wal.open(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    const c = err as WalCorruptError;
    expect(c.file).toBe(files[1]);
    expect(c.offset).toBeGreaterThan(0); // the first batch after the segment's header
    expect(c.detail).toMatch(/leaving a gap$/);
  });

  it('refuses a WAL with a segment missing in the middle, naming the missing number', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 300 });
    await fillSegments(wal, 4);
    await wal.close();
    const files = walFiles(dir);
    fs.rmSync(files[2]!);
    const err = await Wal.open(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as WalCorruptError).detail).toBe(`segment number 2 is missing before ${path.basename(files[3]!)}`);
  });

  it('refuses a segment whose metadata differs from the first segment', async () => {
    // Two WALs written identically but for same-length metadata have segments of the same names.
    const a = dirs.make();
    const b = dirs.make();
    for (const [dir, metadata] of [[a, 'member=a'], [b, 'member=b']] as const) {
      const { wal } = await Wal.open(dir, { segmentSize: 300, metadata: Buffer.from(metadata) });
      await fillSegments(wal, 3);
      await wal.close();
    }
    const fa = walFiles(a);
    expect(walFiles(b).map((f) => path.basename(f))).toEqual(fa.map((f) => path.basename(f)));
    fs.copyFileSync(walFiles(b)[1]!, fa[1]!);
    const err = await Wal.open(a).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalCorruptError);
    expect((err as WalCorruptError).file).toBe(fa[1]);
    expect((err as WalCorruptError).detail).toBe('the segment metadata differs from that of the first segment');
  });
});

describe('Wal counters', () => {
  it('counts saves, entries, bytes, syncs and cuts', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const header = fs.statSync(walFiles(dir)[0]!).size;
    await wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 3, 1) });
    await Promise.all([wal.save({ entries: ents(4, 5, 1) }), wal.save({ hardState: hs(1, 1, 5), entries: [] })]);
    await wal.save({ entries: [] });
    expect(wal.stats).toEqual({
      syncs: 2,
      saves: 3, // the empty save while idle resolves at once and is not counted
      entries: 5,
      bytes: fs.statSync(walFiles(dir)[0]!).size - header,
      cuts: 0,
      released: 0,
    });
    expect(wal.lastIndex).toBe(5);
    await wal.close();
  });

  it('counts each segment started', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 300 });
    await fillSegments(wal, 4);
    expect(wal.stats.cuts).toBe(3);
    expect(wal.segmentCount).toBe(4);
    await wal.close();
  });
});

/** headerSize is the size of a fresh segment (metadata and the empty hard state), measured. */
async function headerSize(): Promise<number> {
  const dir = dirs.make();
  const { wal } = await Wal.open(dir);
  await wal.close();
  return fs.statSync(walFiles(dir)[0]!).size;
}

describe('Wal segment boundaries', () => {
  it('starts a new segment once the current one holds exactly segmentSize bytes', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: await headerSize() });
    await wal.save({ entries: ents(1, 1, 1) });
    expect(wal.segmentCount).toBe(2);
    await wal.close();
  });

  it('releases through a segment whose first index is the snapshot index', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 300 });
    const n = await fillSegments(wal, 4);
    const firsts = walFiles(dir).map((f) => Number.parseInt(path.basename(f, '.wal').split('-')[1]!, 16));
    expect(firsts[2]!).toBeLessThanOrEqual(n);
    await wal.save({ snapshot: snap(firsts[2]!, 1), entries: [] });
    const before = wal.segmentCount;
    expect(await wal.releaseTo(firsts[2]! as LogIndex)).toBe(2); // segments 0 and 1; the one starting at the index stays
    expect(wal.segmentCount).toBe(before - 2);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(state.snapshot?.index).toBe(firsts[2]);
    expect(plain(state.entries)).toEqual(plain(ents(firsts[2]! + 1, n, 1, 32)));
    await again.close();
  });
});

describe('Wal segment headers', () => {
  // A new segment's header repeats the hard state, so it must be the newest one: replay reads
  // the header after the records before it, and after a release the header is all there is.
  it('gives a new segment the hard state of the save before it, so recovery ends on it', async () => {
    const dir = dirs.make();
    const first = await Wal.open(dir, { segmentSize: 300 });
    await first.wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 1, 1, 32) });
    await first.wal.close();
    const { wal, state } = await Wal.open(dir, { segmentSize: 300 });
    expect(state.hardState).toEqual(hs(1, 1, 0));
    await wal.save({ hardState: hs(2, 2, 1), entries: ents(2, 12, 2, 32) });
    expect(wal.segmentCount).toBe(1);
    await wal.save({ entries: ents(13, 13, 2, 32) }); // past segmentSize: this save starts segment 2
    expect(wal.segmentCount).toBe(2);
    await wal.close();
    const again = await Wal.open(dir);
    expect(again.state.hardState).toEqual(hs(2, 2, 1));
    expect(again.state.entries).toHaveLength(13);
    await again.wal.close();
  });
});

describe('Wal with preallocate, in every mode', () => {
  for (const opts of [{}, { blockingIO: true }, { syncOffLoop: true }] as const) {
    it(`${JSON.stringify(opts)}: zeros exactly preallocate bytes ahead, and extends only when a batch would pass them`, async () => {
      // Two one-entry saves of the same size: measure the batches without preallocation first.
      const header = await headerSize();
      const plainDir = dirs.make();
      const { wal: measure } = await Wal.open(plainDir);
      await measure.save({ entries: ents(1, 1, 1) });
      const b1 = measure.stats.bytes;
      await measure.save({ entries: ents(2, 2, 1) });
      const b2 = measure.stats.bytes - b1;
      await measure.save({ entries: ents(3, 3, 1) });
      const b3 = measure.stats.bytes - b1 - b2;
      await measure.close();

      const dir = dirs.make();
      const prealloc = b2; // the second batch fills the zeroed space exactly
      const { wal } = await Wal.open(dir, { ...opts, preallocate: prealloc });
      const file = walFiles(dir)[0]!;
      await wal.save({ entries: ents(1, 1, 1) });
      expect(fs.statSync(file).size).toBe(header + b1 + prealloc);
      await wal.save({ entries: ents(2, 2, 1) });
      expect(fs.statSync(file).size).toBe(header + b1 + b2); // fit exactly: no extension
      await wal.save({ entries: ents(3, 3, 1) });
      expect(fs.statSync(file).size).toBe(header + b1 + b2 + b3 + prealloc);
      const tail = fs.readFileSync(file).subarray(header + b1 + b2 + b3);
      expect(tail.every((b) => b === 0)).toBe(true);
      await wal.close();
      const { wal: again, state } = await Wal.open(dir);
      expect(state.repairedTail).toBeNull();
      expect(plain(state.entries)).toEqual(plain(ents(1, 3, 1)));
      await again.close();
    });
  }

  for (const mode of [{ syncOffLoop: true }, {}] as const) {
    it(`syncs the zeroed space through the injected sync too (${mode.syncOffLoop ? 'syncOffLoop' : 'thread pool'})`, async () => {
      const dir = dirs.make();
      let calls = 0;
      const sync = async (fd: number): Promise<void> => {
        calls++;
        await fdatasync(fd);
      };
      const { wal } = await Wal.open(dir, { ...mode, preallocate: 4096, sync });
      await wal.save({ entries: ents(1, 1, 1) });
      expect(calls).toBe(2); // the zeros, then the batch
      await wal.save({ entries: ents(2, 2, 1) });
      expect(calls).toBe(3);
      expect(wal.stats.syncs).toBe(2);
      await wal.close();
    });
  }
});

describe('Wal failures to start a segment', () => {
  it('fails the save and every later one when the next segment cannot be created', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 1 });
    // The first batch starts segment 1 at index 1; a directory squats on its temporary name.
    fs.mkdirSync(path.join(dir, `${segmentName(1, 1)}.tmp`));
    const err = await wal.save({ entries: ents(1, 1, 1) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalIoError);
    expect((err as Error).message).toMatch(/^WAL create failed on .*\.wal\.tmp: /);
    expect((err as Error).cause).toMatchObject({ code: 'EISDIR' }); // the system's error, kept for the log
    await expect(wal.save({ entries: ents(1, 1, 1) })).rejects.toBe(err);
    await wal.close();
  });

  it('fails the save when the new segment cannot be renamed into place', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 1 });
    const squatter = path.join(dir, segmentName(1, 1));
    fs.mkdirSync(squatter);
    fs.writeFileSync(path.join(squatter, 'x'), 'x'); // a non-empty directory: rename cannot replace it
    const err = await wal.save({ entries: ents(1, 1, 1) }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WalIoError);
    expect((err as Error).message).toMatch(/^WAL segment creation failed on .*0000000000000001-0000000000000001\.wal: /);
    expect(['EISDIR', 'ENOTEMPTY', 'EEXIST']).toContain(((err as Error).cause as NodeJS.ErrnoException).code);
    await wal.close();
  });
});

describe('Wal close', () => {
  it('resolves only after every issued save has resolved, then closes', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    let saved = false;
    const save = wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 3, 1) }).then(() => (saved = true));
    await wal.close();
    expect(saved).toBe(true);
    await save;
  });
});

describe('Wal group commit edges', () => {
  it('resolves a barrier save that forms a batch of its own, and keeps working after it', async () => {
    const dir = dirs.make();
    const probe = new HeldSync();
    const { wal } = await Wal.open(dir, { sync: probe.sync });
    const order: string[] = [];
    const first = wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1) }).then(() => order.push('first'));
    await until(() => probe.held.length === 1); // the first batch's sync is in flight
    // Issued now, the barrier is the whole of the next batch: nothing to write, only to wait.
    const barrier = wal.save({ entries: [] }).then(() => order.push('barrier'));
    probe.held.shift()!();
    await Promise.all([first, barrier]);
    expect(order).toEqual(['first', 'barrier']);
    expect(probe.calls).toBe(1); // the barrier's batch needed no sync
    const third = wal.save({ entries: ents(3, 3, 1) });
    await until(() => probe.held.length === 1);
    probe.held.shift()!();
    await third;
    expect(wal.stats.saves).toBe(3);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(plain(state.entries)).toEqual(plain(ents(1, 3, 1)));
    await again.close();
  });
});
