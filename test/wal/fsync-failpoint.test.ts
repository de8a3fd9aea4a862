// The fsync failpoint on the WAL: armed `fail`, a save is refused (never reported durable) and
// the WAL takes no more; armed `stall`, a save settles only once the stall is lifted; and the
// member's failpoints file is parsed strictly, and every change of it is in force once the
// member's receipt says so.
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FsyncFailpointError, fsyncFailpointMode, fsyncGate, setFsyncFailpoint, stalledSyncs, Wal, WalIoError } from '../../src/raft/wal/index.js';
import { FAILPOINTS_FILE_ENV, failpointsArmed, installTestFailpoints, parseFailpoints, writeFailpoints } from '../../src/kv/member/failpoints.js';
import { TempDirs, ents, hs, plain } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => {
  setFsyncFailpoint(null);
  dirs.cleanup();
});

/** settledYet tells whether p has settled, letting pending I/O callbacks run first. */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

/** until waits (bounded) for probe to hold while the WAL's I/O callbacks run. */
async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !probe(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(probe()).toBe(true);
}

describe('fsync failpoint', () => {
  const modes = [{ blockingIO: true }, { blockingIO: false }, { syncOffLoop: true }] as const;
  for (const mode of modes) {
    const label = JSON.stringify(mode);
    it(`fail: the save is refused with the injected EIO, and so is every later save (${label})`, async () => {
      const dir = dirs.make();
      const { wal } = await Wal.open(dir, mode);
      await wal.save({ hardState: hs(1, 1, 5), entries: ents(1, 5, 1) });
      setFsyncFailpoint('fail');
      const err = await wal.save({ hardState: hs(1, 1, 8), entries: ents(6, 8, 1) }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(WalIoError);
      expect((err as WalIoError).cause).toBeInstanceOf(FsyncFailpointError);
      expect((err as Error).message).toMatch(/fdatasync failed .*EIO.*injected.*restart the member/s);
      // Disarming does not make the WAL trust its disk again: only a restart does.
      setFsyncFailpoint(null);
      await expect(wal.save({ hardState: hs(1, 1, 9), entries: ents(9, 9, 1) })).rejects.toBe(err);
      await wal.close();
      const { wal: again, state } = await Wal.open(dir);
      // What was acknowledged is there; what was refused may or may not be (it was written, not synced).
      expect(plain(state.entries.slice(0, 5))).toEqual(plain(ents(1, 5, 1)));
      expect(state.entries.length === 5 || state.entries.length === 8).toBe(true);
      await again.close();
    });

    it(`stall: a save waits for the stall to lift, then is durable (${label})`, async () => {
      const dir = dirs.make();
      const { wal } = await Wal.open(dir, mode);
      await wal.save({ hardState: hs(1, 1, 3), entries: ents(1, 3, 1) });
      const held: string[] = [];
      setFsyncFailpoint('stall', { onHold: (what) => held.push(what) });
      const save = wal.save({ hardState: hs(1, 1, 6), entries: ents(4, 6, 1) });
      const later = wal.save({ hardState: hs(1, 1, 7), entries: ents(7, 7, 1) });
      await until(() => stalledSyncs() === 1);
      expect(await settledYet(save)).toBe(false);
      expect(await settledYet(later)).toBe(false);
      expect(stalledSyncs()).toBe(1);
      expect(held).toHaveLength(1);
      expect(held[0]).toContain(dir);
      setFsyncFailpoint(null);
      await save;
      await later;
      expect(stalledSyncs()).toBe(0);
      await wal.close();
      const { wal: again, state } = await Wal.open(dir);
      expect(plain(state.entries)).toEqual(plain(ents(1, 7, 1)));
      expect(state.hardState).toEqual(hs(1, 1, 7));
      await again.close();
    });
  }

  it('stall switched to fail: the held save fails', async () => {
    const dir = dirs.make();
    const { wal } = await Wal.open(dir, { blockingIO: true });
    setFsyncFailpoint('stall');
    const save = wal.save({ hardState: hs(1, 1, 1), entries: ents(1, 1, 1) });
    await until(() => stalledSyncs() === 1);
    expect(await settledYet(save)).toBe(false);
    setFsyncFailpoint('fail');
    await expect(save).rejects.toBeInstanceOf(WalIoError);
    await wal.close();
  });

  it('says its mode, tells of the first held sync only, and keeps holding when stall is armed again', async () => {
    expect(fsyncFailpointMode()).toBeNull();
    expect(fsyncGate('wal')).toBeNull();
    const heard: string[] = [];
    setFsyncFailpoint('stall', { onHold: (what) => heard.push(what) });
    expect(fsyncFailpointMode()).toBe('stall');
    const first = fsyncGate('segment 1');
    const second = fsyncGate('segment 2');
    expect(heard).toEqual(['segment 1']); // a log line when progress stops, not one per sync
    setFsyncFailpoint('stall');
    expect(stalledSyncs()).toBe(2);
    expect(await settledYet(first!)).toBe(false);
    setFsyncFailpoint(null);
    expect(fsyncFailpointMode()).toBeNull();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(stalledSyncs()).toBe(0);
  });

  it('fails a sync with an error shaped like a failing disk: EIO, named, saying what and that it was injected', async () => {
    setFsyncFailpoint('fail');
    expect(fsyncFailpointMode()).toBe('fail');
    const err = await fsyncGate('wal segment 3')!.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(FsyncFailpointError);
    expect(err).toMatchObject({
      name: 'FsyncFailpointError',
      code: 'EIO',
      message: 'EIO: i/o error, fsync of wal segment 3 (injected by the test-only fsync failpoint)',
    });
  });

  it('reads the failpoints file strictly', () => {
    expect(parseFailpoints('')).toEqual({ ok: true, value: { fsync: null } });
    expect(parseFailpoints('fsync=fail\n')).toEqual({ ok: true, value: { fsync: 'fail' } });
    expect(parseFailpoints('# comment\nfsync = stall')).toEqual({ ok: true, value: { fsync: 'stall' } });
    expect(parseFailpoints('fsync=off')).toEqual({ ok: true, value: { fsync: null } });
    expect(parseFailpoints('fsync=sometimes')).toEqual({ ok: false, error: 'fsync=sometimes is not a failpoint value (use fail, stall or off)' });
    expect(parseFailpoints('disk=fail')).toEqual({ ok: false, error: 'unknown failpoint "disk" (known: fsync)' });
  });

  it('puts every change of the file in force before its receipt, so a quick stall and heal are both seen', async () => {
    const path = join(dirs.make(), 'm1.failpoints');
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const alive = (): boolean => true;
    const stall = writeFailpoints(path, 'fsync=stall');
    const uninstall = installTestFailpoints({ [FAILPOINTS_FILE_ENV]: path }, log)!;
    try {
      // Read at start: the receipt is written before anything else can signal the member.
      await expect(failpointsArmed(path, stall, { timeoutMs: 5000, alive, member: 'm1' })).resolves.toBe('armed');
      expect(fsyncFailpointMode()).toBe('stall');
      // Healed at once, the way a fault at the end of a chaos run is: the receipt waits for it.
      const off = writeFailpoints(path, null);
      expect(off).not.toBe(stall);
      process.kill(process.pid, 'SIGUSR2');
      await expect(failpointsArmed(path, off, { timeoutMs: 5000, alive, member: 'm1' })).resolves.toBe('armed');
      expect(fsyncFailpointMode()).toBeNull();
      expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.startsWith('test failpoint'))).toEqual(['test failpoint fsync=stall', 'test failpoint fsync=off']);
      // Written twice, the same failpoint makes two changes, each with a receipt of its own.
      const again = writeFailpoints(path, null);
      expect(again).not.toBe(off);
      await expect(failpointsArmed(path, again, { timeoutMs: 50, alive, member: 'm1' })).rejects.toThrow(/Member m1 did not arm its failpoints within 0.05 s of SIGUSR2 \(its receipt .*m1\.failpoints\.applied says "# change/);
      await expect(failpointsArmed(path, again, { timeoutMs: 5000, alive: () => false, member: 'm1' })).resolves.toBe('exited');
    } finally {
      uninstall();
    }
  });
});
