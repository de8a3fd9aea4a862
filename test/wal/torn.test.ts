// Crash damage at the tail is cut away; damage anywhere else stops the WAL from opening.
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalCorruptError } from '../../src/raft/wal/index.js';
import { TempDirs, ent, ents, hs, plain, walFiles } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const N = 6;

/** Writes N one-entry saves and returns the segment's bytes and where the last record starts. */
async function writeN(dir: string): Promise<{ file: string; bytes: Buffer; lastStart: number }> {
  const { wal } = await Wal.open(dir);
  const file = walFiles(dir)[0]!;
  let lastStart = 0;
  for (let i = 1; i <= N; i++) {
    lastStart = fs.statSync(file).size;
    await wal.save({ entries: [ent(i, 1)] });
  }
  await wal.close();
  return { file, bytes: fs.readFileSync(file), lastStart };
}

async function openEntries(dir: string): Promise<{ indexes: number[]; repaired: boolean }> {
  const { wal, state } = await Wal.open(dir);
  await wal.close();
  return { indexes: state.entries.map((e) => e.index), repaired: state.repairedTail !== null };
}

const first = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('torn tail', () => {
  it('recovers the first N-1 records when the file ends at any offset inside the last record', async () => {
    const dir = dirs.make();
    const { file, bytes, lastStart } = await writeN(dir);
    for (let cut = lastStart; cut <= bytes.length; cut++) {
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const { indexes, repaired } = await openEntries(dir);
      if (cut === bytes.length) {
        expect(indexes, `cut at ${cut}`).toEqual(first(N));
        expect(repaired).toBe(false);
      } else {
        expect(indexes, `cut at ${cut}`).toEqual(first(N - 1));
        expect(repaired, `cut at ${cut}`).toBe(cut !== lastStart);
        // The repair is durable: the file now ends where the last good batch ended.
        expect(fs.statSync(file).size).toBe(lastStart);
      }
    }
  });

  it('recovers N-1 records when the tail after any offset of the last record is zeros or garbage', async () => {
    const dir = dirs.make();
    const { file, bytes, lastStart } = await writeN(dir);
    for (let at = lastStart; at < bytes.length; at++) {
      for (const fill of [0x00, 0xa5]) {
        const damaged = Buffer.from(bytes);
        damaged.fill(fill, at);
        fs.writeFileSync(file, damaged);
        expect((await openEntries(dir)).indexes, `fill ${fill} from ${at}`).toEqual(first(N - 1));
      }
    }
  });

  it('drops a torn batch as a whole: hard state and entries saved together come back together or not at all', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const file = walFiles(dir)[0]!;
    await wal.save({ hardState: hs(1, 1, 0), entries: ents(1, 2, 1) });
    const before = fs.statSync(file).size;
    await wal.save({ hardState: hs(2, 2, 5), entries: ents(3, 5, 2) });
    await wal.close();
    const bytes = fs.readFileSync(file);
    for (let cut = before; cut < bytes.length; cut++) {
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const { wal: w, state } = await Wal.open(dir);
      await w.close();
      expect(state.hardState, `cut at ${cut}`).toEqual(hs(1, 1, 0));
      expect(plain(state.entries)).toEqual(plain(ents(1, 2, 1)));
    }
  });

  it('treats damage followed only by the rest of its own batch as torn (pages written out of order)', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const file = walFiles(dir)[0]!;
    await wal.save({ entries: ents(1, 2, 1) });
    const before = fs.statSync(file).size;
    await wal.save({ entries: ents(3, 20, 1) });
    await wal.close();
    const bytes = Buffer.from(fs.readFileSync(file));
    bytes.fill(0, before + 40, before + 200); // a hole inside the last batch, its end intact
    fs.writeFileSync(file, bytes);
    expect((await openEntries(dir)).indexes).toEqual([1, 2]);
  });

  it('appends normally after a repaired tail', async () => {
    const dir = dirs.make();
    const { file, bytes, lastStart } = await writeN(dir);
    fs.writeFileSync(file, bytes.subarray(0, lastStart + 5));
    const { wal, state } = await Wal.open(dir);
    expect(state.entries).toHaveLength(N - 1);
    await wal.save({ entries: [ent(N, 7)] });
    await wal.close();
    const { wal: again, state: s2 } = await Wal.open(dir);
    expect(s2.entries.map((e) => e.term)).toEqual([...Array<number>(N - 1).fill(1), 7]);
    expect(s2.repairedTail).toBeNull();
    await again.close();
  });
});

describe('corruption', () => {
  it('refuses to open when any byte before the last batch is flipped, naming file and offset', async () => {
    const dir = dirs.make();
    const { file, bytes, lastStart } = await writeN(dir);
    for (let at = 0; at < lastStart; at++) {
      const damaged = Buffer.from(bytes);
      damaged[at] = damaged[at]! ^ 0x10;
      fs.writeFileSync(file, damaged);
      const err = await Wal.open(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `flip at ${at}`).toBeInstanceOf(WalCorruptError);
      const c = err as WalCorruptError;
      expect(c.file).toBe(file);
      expect(c.offset).not.toBeNull();
      expect(c.offset!).toBeLessThanOrEqual(at);
      expect(c.message).toMatch(/re-add it with an empty data directory/);
      // Nothing was cut away: the damaged file is left for inspection.
      expect(fs.statSync(file).size).toBe(bytes.length);
    }
  });

  it('refuses damage anywhere in a segment that is not the last, even at its end', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { segmentSize: 150 });
    for (let i = 1; i <= 12; i++) await wal.save({ entries: ents(i, i, 1) });
    await wal.close();
    const files = walFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const victim = files[1]!;
    const bytes = fs.readFileSync(victim);
    fs.writeFileSync(victim, bytes.subarray(0, bytes.length - 3));
    await expect(Wal.open(dir)).rejects.toThrow(WalCorruptError);
    fs.writeFileSync(victim, bytes);
    fs.rmSync(victim);
    await expect(Wal.open(dir)).rejects.toThrow(/segment number 1 is missing/);
  });

  it('refuses a last segment whose header batch is damaged', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.close();
    const file = walFiles(dir)[0]!;
    fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 10));
    await expect(Wal.open(dir)).rejects.toThrow(/does not start with a metadata record/);
  });
});
