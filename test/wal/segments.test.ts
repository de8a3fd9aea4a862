// Segment rotation, self-describing segments and releasing segments covered by a snapshot.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogIndex } from '../../src/raft/types.js';
import { Wal } from '../../src/raft/wal/index.js';
import { TempDirs, ents, hs, plain, snap, walFiles } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const SEG = 1024;

function names(dir: string): { seq: number; first: number }[] {
  return walFiles(dir).map((f) => {
    const [seq, first] = path.basename(f, '.wal').split('-');
    return { seq: Number.parseInt(seq!, 16), first: Number.parseInt(first!, 16) };
  });
}

/** Saves entries 1..n one batch of `per` at a time, with a hard state committing all but the last batch. */
async function fill(wal: Wal, n: number, per: number): Promise<void> {
  for (let i = 1; i <= n; i += per) {
    const to = Math.min(n, i + per - 1);
    await wal.save({ hardState: hs(1, 1, i - 1), entries: ents(i, to, 1, 32) });
  }
}

describe('segments', () => {
  it('rotates past the size threshold, naming each segment <seq>-<firstIndex>', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: SEG });
    await fill(wal, 200, 5);
    await wal.close();
    const segs = names(dir);
    expect(segs.length).toBeGreaterThan(5);
    expect(segs.map((s) => s.seq)).toEqual(segs.map((_, i) => i));
    expect(segs[0]!.first).toBe(1);
    for (let i = 1; i < segs.length; i++) {
      expect(segs[i]!.first).toBeGreaterThan(segs[i - 1]!.first);
      expect((segs[i]!.first - 1) % 5).toBe(0); // cuts happen between saves
    }
    for (const f of walFiles(dir).slice(0, -1)) expect(fs.statSync(f).size).toBeLessThan(SEG + 300);
    const { wal: again, state } = await Wal.open(dir, { segmentSize: SEG });
    expect(plain(state.entries)).toEqual(plain(ents(1, 200, 1, 32)));
    expect(state.hardState).toEqual(hs(1, 1, 195));
    await again.close();
  });

  it('releases only segments wholly covered by a recorded snapshot and recovers from the rest', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: SEG });
    await fill(wal, 200, 5);
    const before = names(dir);

    // Without a recorded snapshot nothing may go.
    expect(await wal.releaseTo(150 as LogIndex)).toBe(0);

    await wal.save({ snapshot: snap(120, 1), entries: [] });
    const removed = await wal.releaseTo(120 as LogIndex);
    const after = names(dir);
    expect(removed).toBeGreaterThan(0);
    expect(after).toEqual(before.slice(removed));
    // The oldest kept segment holds index 120: it starts at or below it, the next one above it.
    expect(after[0]!.first).toBeLessThanOrEqual(120);
    expect(after[1]!.first).toBeGreaterThan(120);
    expect(wal.stats.released).toBe(removed);

    // Asking past the snapshot is clamped to it.
    expect(await wal.releaseTo(190 as LogIndex)).toBe(0);

    await wal.save({ entries: ents(201, 230, 1, 32) });
    await wal.close();
    const { wal: again, state } = await Wal.open(dir, { segmentSize: SEG });
    expect(state.snapshot?.index).toBe(120);
    expect(plain(state.entries)).toEqual(plain(ents(121, 230, 1, 32)));
    expect(state.hardState).toEqual(hs(1, 1, 195));
    await again.close();
  });

  it('starts every segment with the current hard state and snapshot marker, so kept segments stand alone', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: SEG });
    await fill(wal, 60, 5);
    await wal.save({ snapshot: snap(60, 1), entries: [], hardState: hs(4, 2, 55) });
    const segments = wal.segmentCount;
    let last = hs(4, 2, 55);
    for (let commit = 56; wal.segmentCount === segments; commit++) {
      last = hs(4, 2, Math.min(commit, 60));
      await wal.save({ hardState: last, entries: [] });
    }
    await wal.save({ entries: ents(61, 62, 4, 32) });
    await wal.close();
    // The last segment alone (what a release could leave) says where the log stands.
    const files = walFiles(dir);
    for (const f of files.slice(0, -1)) fs.rmSync(f);
    const { wal: again, state } = await Wal.open(dir);
    expect(state.snapshot?.index).toBe(60);
    expect(state.hardState).toEqual(last);
    expect(plain(state.entries)).toEqual(plain(ents(61, 62, 4, 32)));
    await again.close();
  });

  it('releases safely when a suffix overwrite made segment names go backwards', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 400 });
    await wal.save({ entries: ents(1, 30, 1, 32) }); // segment 0 grows past the threshold
    await wal.save({ entries: ents(11, 12, 2, 200) }); // cut (named 31), then overwrite back to 12
    await wal.save({ entries: ents(13, 14, 2, 200) }); // cut again (named 13: lower than 31)
    await wal.save({ entries: ents(15, 40, 2, 32) });
    const segs = names(dir);
    expect(segs.map((s) => s.first)).toEqual([1, 31, 13, 15]);

    await wal.save({ snapshot: snap(14, 2), entries: [] });
    expect(await wal.releaseTo(14 as LogIndex)).toBe(2); // keeps the segment named 13
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(plain(state.entries)).toEqual(plain(ents(15, 40, 2, 32)));
    await again.close();
  });

  it('recovers a follower that installed a snapshot past its log after release', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: SEG });
    await fill(wal, 40, 5);
    await wal.save({ snapshot: snap(500, 7), hardState: hs(7, 0, 500), entries: [] });
    await wal.save({ entries: ents(501, 560, 7, 32) });
    await wal.releaseTo(500 as LogIndex);
    await wal.close();
    expect(names(dir)[0]!.first).toBeLessThanOrEqual(500);
    const { wal: again, state } = await Wal.open(dir);
    expect(state.snapshot?.index).toBe(500);
    expect(plain(state.entries)).toEqual(plain(ents(501, 560, 7, 32)));
    await again.close();
  });
});
