// Group commit: one fdatasync covers every save issued while the previous one was in flight.
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalIoError } from '../../src/raft/wal/index.js';
import { fdatasync } from '../../src/raft/wal/fsio.js';
import { TempDirs, ents, hs, plain } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** A sync hook that counts calls and can hold a sync "in flight" until released. */
class SyncProbe {
  calls = 0;
  #held: { release: () => void; started: () => void } | null = null;

  readonly sync = async (fd: number): Promise<void> => {
    this.calls++;
    const held = this.#held;
    if (held) {
      this.#held = null;
      await new Promise<void>((release) => {
        held.release = release;
        held.started();
      });
    }
    await fdatasync(fd);
  };

  /** holdNext makes the next sync wait; resolves once that sync has started, with its release. */
  holdNext(): Promise<() => void> {
    return new Promise((resolve) => {
      const held = {
        release: (): void => undefined,
        started: (): void => resolve(() => held.release()),
      };
      this.#held = held;
    });
  }
}

describe('group commit', () => {
  it('covers 50 saves issued without awaiting with far fewer than 50 syncs, all durable', async () => {
    const dir = dirs.make();
    const probe = new SyncProbe();
    const { wal } = await Wal.open(dir, { sync: probe.sync });
    const order: number[] = [];
    const saves = Array.from({ length: 50 }, (_, i) =>
      wal.save({ hardState: hs(1, 1, i), entries: ents(i + 1, i + 1, 1) }).then(() => order.push(i)),
    );
    await Promise.all(saves);
    expect(probe.calls).toBeLessThanOrEqual(2);
    expect(wal.stats.syncs).toBe(probe.calls);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i)); // resolved in issue order
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(plain(state.entries)).toEqual(plain(ents(1, 50, 1)));
    expect(state.hardState).toEqual(hs(1, 1, 49));
    await again.close();
  });

  it('coalesces the saves issued while a sync is in flight into the next single sync', async () => {
    const dir = dirs.make();
    const probe = new SyncProbe();
    const { wal } = await Wal.open(dir, { sync: probe.sync });
    const held = probe.holdNext();
    let firstDone = false;
    const first = wal.save({ entries: ents(1, 1, 1) }).then(() => (firstDone = true));
    const release = await held; // the first batch's sync is now in flight
    const rest = Array.from({ length: 49 }, (_, i) => wal.save({ entries: ents(i + 2, i + 2, 1) }));
    expect(firstDone).toBe(false);
    release();
    await Promise.all([first, ...rest]);
    expect(probe.calls).toBe(2);
    await wal.close();
    const { wal: again, state } = await Wal.open(dir);
    expect(state.entries).toHaveLength(50);
    await again.close();
  });

  it('fails every waiting save when a sync fails, and refuses saves afterwards', async () => {
    const dir = dirs.make();
    let fail = false;
    const { wal } = await Wal.open(dir, {
      sync: async (fd) => {
        if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await fdatasync(fd);
      },
    });
    await wal.save({ entries: ents(1, 2, 1) });
    fail = true;
    const a = wal.save({ entries: ents(3, 3, 1) });
    const b = wal.save({ entries: ents(4, 4, 1) });
    await expect(a).rejects.toThrow(WalIoError);
    await expect(b).rejects.toThrow(/restart the member/);
    fail = false;
    await expect(wal.save({ entries: ents(5, 5, 1) })).rejects.toThrow(WalIoError);
    await wal.close();
  });
});
