// The WAL's recovery rules: what goes in comes back after reopening, later records win.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogIndex, NodeId } from '../../src/raft/types.js';
import { Wal, WalClosedError, WalMetadataMismatchError } from '../../src/raft/wal/index.js';
import { TempDirs, ent, ents, hs, plain, snap } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

async function reopen(dir: string): ReturnType<typeof Wal.open> {
  return Wal.open(dir);
}

describe('Wal', () => {
  it('starts empty in a fresh directory and creates its first segment', async () => {
    const dir = path.join(dirs.make(), 'member', 'wal');
    const { wal, state } = await Wal.open(dir);
    expect(state.hardState).toEqual(hs(0, 0, 0));
    expect(state.snapshot).toBeNull();
    expect(state.entries).toEqual([]);
    expect(state.repairedTail).toBeNull();
    expect(fs.readdirSync(dir)).toEqual(['0000000000000000-0000000000000001.wal']);
    await wal.close();
  });

  it('recovers hard state and entries of every save (round trip)', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const all = [...ents(1, 3, 1), ent(4, 2, new Uint8Array(0)), ent(5, 2, Buffer.from('conf'), 'conf-change')];
    await wal.save({ hardState: hs(1, 1, 0), entries: all.slice(0, 3) });
    await wal.save({ hardState: hs(2, 3, 3), entries: all.slice(3) });
    expect(wal.lastIndex).toBe(5);
    await wal.close();

    const { wal: again, state } = await reopen(dir);
    expect(state.hardState).toEqual(hs(2, 3, 3));
    expect(plain(state.entries)).toEqual(plain(all));
    expect(state.entries[4]!.type).toBe('conf-change');
    await again.close();
  });

  it('recovers large entries as views into the segments read, and copies entries out when the segments are mostly other bytes', async () => {
    const big = (i: number): Uint8Array => new Uint8Array(64 * 1024).fill(i);
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const large = Array.from({ length: 8 }, (_, i) => ent(i + 1, 1, big(i + 1)));
    await wal.save({ entries: large });
    await wal.close();
    const first = await reopen(dir);
    expect(plain(first.state.entries)).toEqual(plain(large));
    // Nearly all of the segment is entry data: no copy, each entry a view after its record header.
    const e0 = first.state.entries[0]!;
    expect(first.state.entries.every((e) => e.data.byteOffset > 0 && e.data.buffer === e0.data.buffer)).toBe(true);
    // Overwrite the log from index 2 with small entries: the segment is now mostly dropped bytes,
    // so the entries are copied out into a buffer of their own.
    const small = ents(2, 4, 2);
    await first.wal.save({ entries: small });
    await first.wal.close();
    const second = await reopen(dir);
    expect(plain(second.state.entries)).toEqual(plain([large[0]!, ...small]));
    expect(second.state.entries[0]!.data.byteOffset).toBe(0);
    expect(second.state.entries[0]!.data.buffer.byteLength).toBe(64 * 1024 + small.reduce((a, e) => a + e.data.length, 0));
    await second.wal.close();
  });

  it('appends after recovery and recovers both generations', async () => {
    const dir = dirs.make();
    let { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 5, 1) });
    await wal.close();
    ({ wal } = await reopen(dir));
    await wal.save({ entries: ents(6, 9, 1), hardState: hs(1, 0, 9) });
    await wal.close();
    const { wal: w3, state } = await reopen(dir);
    expect(plain(state.entries)).toEqual(plain(ents(1, 9, 1)));
    expect(state.hardState.commit).toBe(9);
    await w3.close();
  });

  it('lets an entry at index i overwrite every logged entry at or after i (Raft §5.3)', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 10, 1) });
    await wal.save({ entries: ents(6, 7, 2) }); // conflicting suffix 6..10 replaced by 6..7
    await wal.save({ entries: ents(8, 8, 2) });
    await wal.save({ entries: ents(3, 3, 3) }); // and again, further back
    expect(wal.lastIndex).toBe(3);
    await wal.close();
    const { wal: again, state } = await reopen(dir);
    expect(plain(state.entries)).toEqual(plain([...ents(1, 2, 1), ...ents(3, 3, 3)]));
    await again.close();
  });

  it('recovers hard-state-only saves, the last one winning', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 2, 1) });
    for (let t = 1; t <= 5; t++) await wal.save({ hardState: hs(t, t % 3, 2), entries: [] });
    await wal.close();
    const { wal: again, state } = await reopen(dir);
    expect(state.hardState).toEqual(hs(5, 2, 2));
    expect(plain(state.entries)).toEqual(plain(ents(1, 2, 1)));
    await again.close();
  });

  it('keeps the entries after a snapshot that matches the log', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 10, 1) });
    const meta = snap(6, 1, { voters: [1 as NodeId], learners: [4 as NodeId, 5 as NodeId] });
    await wal.save({ snapshot: meta, entries: [] });
    await wal.close();
    const { wal: again, state } = await reopen(dir);
    expect(state.snapshot).toEqual(meta);
    expect(plain(state.entries)).toEqual(plain(ents(7, 10, 1)));
    await again.close();
  });

  it('discards the whole log for a snapshot it does not match (Raft §7), then takes entries after it', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 10, 1) });
    await wal.save({ snapshot: snap(8, 3), entries: [], hardState: hs(3, 0, 8) }); // term at 8 is 1, not 3
    expect(wal.lastIndex).toBe(8);
    await wal.save({ entries: ents(9, 9, 3) });
    await wal.save({ snapshot: snap(20, 3), entries: ents(21, 22, 3) }); // beyond the log: discard too
    await wal.close();
    const { wal: again, state } = await reopen(dir);
    expect(state.snapshot?.index).toBe(20);
    expect(plain(state.entries)).toEqual(plain(ents(21, 22, 3)));
    await again.close();
  });

  it('rejects malformed saves without writing anything', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: ents(1, 5, 1), snapshot: null, hardState: null });
    await expect(wal.save({ entries: ents(7, 8, 1) })).rejects.toThrow(RangeError); // gap
    await expect(wal.save({ entries: [ent(6, 1), ent(8, 1)] })).rejects.toThrow(/not consecutive/);
    await wal.save({ snapshot: snap(3, 1), entries: [] });
    await expect(wal.save({ entries: ents(3, 4, 2) })).rejects.toThrow(/do not fit/); // at or below the snapshot
    await expect(wal.save({ snapshot: snap(2, 1), entries: [] })).rejects.toThrow(/older/);
    await expect(wal.save({ entries: [ent(6, -1)] })).rejects.toThrow(/non-negative/);
    await wal.close();
    const { wal: again, state } = await reopen(dir);
    expect(plain(state.entries)).toEqual(plain(ents(4, 5, 1)));
    await again.close();
  });

  it('resolves an empty save at once when idle, and after earlier saves otherwise', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.save({ entries: [] });
    const order: string[] = [];
    const a = wal.save({ entries: ents(1, 1, 1) }).then(() => order.push('a'));
    const b = wal.save({ entries: [] }).then(() => order.push('barrier'));
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'barrier']);
    await wal.close();
  });

  it('stores metadata in every segment and refuses a directory with other metadata', async () => {
    const dir = dirs.make();
    const metadata = Buffer.from('member=1 cluster=abc');
    const { wal } = await Wal.open(dir, { metadata, segmentSize: 200 });
    for (let i = 1; i <= 20; i++) await wal.save({ entries: ents(i, i, 1) });
    expect(wal.segmentCount).toBeGreaterThan(2);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir, { metadata });
    expect(Buffer.from(state.metadata).toString()).toBe('member=1 cluster=abc');
    await again.close();
    await expect(Wal.open(dir, { metadata: Buffer.from('member=2') })).rejects.toThrow(WalMetadataMismatchError);
  });

  it('flushes issued saves on close and refuses saves after it', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    const saved = wal.save({ entries: ents(1, 3, 1) });
    await wal.close();
    await saved;
    await expect(wal.save({ entries: ents(4, 4, 1) })).rejects.toThrow(WalClosedError);
    await expect(wal.releaseTo(1 as LogIndex)).rejects.toThrow(WalClosedError);
    await wal.close(); // idempotent
    const { wal: again, state } = await reopen(dir);
    expect(state.entries).toHaveLength(3);
    await again.close();
  });

  it('removes leftover temporary segment files on open', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir);
    await wal.close();
    fs.writeFileSync(path.join(dir, '0000000000000001-0000000000000001.wal.tmp'), 'half a header');
    const { wal: again } = await reopen(dir);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await again.close();
  });
});
