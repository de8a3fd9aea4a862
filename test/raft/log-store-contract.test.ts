/**
 * The LogStore contract, run against both implementations the driver is given: WalLogStore (a
 * real WAL and snapshot directory on disk, production) and MemoryLogStore (the simulator's).
 * fast-check generates the saves a driver makes — entries (overwriting an uncommitted suffix),
 * hard states, snapshots received from a leader — then each store is "restarted" and the
 * storage a member rebuilds from it (as src/kv/member/member.ts does from the WAL) must be the
 * same for both: hard state, snapshot metadata and data, and every entry after the snapshot.
 * So what the driver simulator proves over MemoryLogStore holds for the store production uses.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistBatch } from '../../src/raft/driver.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { NO_NODE, logIndex, nodeId, term } from '../../src/raft/types.js';
import { SnapshotStore, Wal, WalLogStore } from '../../src/raft/wal/index.js';
import { MemoryLogStore } from '../sim/index.js';
import { TempDirs, plain } from '../wal/helpers.js';

const RUNS = Number.parseInt(process.env['RAFT_PROP_RUNS'] ?? '25', 10);
const CONF: ConfState = { voters: [nodeId(1), nodeId(2), nodeId(3)], learners: [] };
const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** Op is one generated save, as positions and sizes the builder turns into a valid batch. */
type Op =
  | { readonly kind: 'append'; readonly back: number; readonly count: number; readonly bump: boolean; readonly commit: boolean }
  | { readonly kind: 'vote'; readonly vote: number }
  | { readonly kind: 'snapshot'; readonly ahead: number; readonly after: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.integer({ min: 0, max: 3 }), count: fc.integer({ min: 0, max: 4 }), bump: fc.boolean(), commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('vote' as const), vote: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), ahead: fc.integer({ min: 1, max: 5 }), after: fc.integer({ min: 0, max: 3 }) }) },
);

/**
 * batches turns ops into the saves one member's driver could make: terms never go back, a new
 * term clears the vote, entries overwrite only past the commit index, commit never passes the
 * log, a received snapshot replaces the log and commits up to its index (entries after it may
 * come in the same save).
 */
function batches(ops: readonly Op[]): PersistBatch[] {
  let hs: HardState = { term: term(1), vote: NO_NODE, commit: logIndex(0) };
  let snapIndex = 0;
  let terms: number[] = []; // terms of entries snapIndex+1 .. last
  const last = (): number => snapIndex + terms.length;
  const out: PersistBatch[] = [];
  for (const o of ops) {
    switch (o.kind) {
      case 'append': {
        if (o.bump) hs = { term: term(hs.term + 1), vote: NO_NODE, commit: hs.commit };
        const from = Math.max(hs.commit + 1, snapIndex + 1, last() + 1 - o.back);
        terms = terms.slice(0, from - snapIndex - 1);
        const entries: Entry[] = [];
        for (let i = 0; i < o.count; i++) {
          const index = from + i;
          entries.push({ index: logIndex(index), term: hs.term, type: 'normal', data: Buffer.from(`e${index}t${hs.term}`) });
          terms.push(hs.term);
        }
        if (o.commit) hs = { ...hs, commit: logIndex(last()) };
        out.push({ hardState: hs, entries, snapshot: null });
        break;
      }
      case 'vote':
        if (hs.vote !== NO_NODE) break;
        hs = { ...hs, vote: nodeId(o.vote) };
        out.push({ hardState: hs, entries: [], snapshot: null });
        break;
      case 'snapshot': {
        const index = last() + o.ahead;
        const snap: Snapshot = { metadata: { index: logIndex(index), term: hs.term, confState: CONF }, data: Buffer.from(`state@${index}`) };
        snapIndex = index;
        terms = [];
        hs = { ...hs, commit: logIndex(index) };
        // The leader's next append may join the snapshot in one Ready.
        const entries: Entry[] = [];
        for (let i = 1; i <= o.after; i++) {
          entries.push({ index: logIndex(index + i), term: hs.term, type: 'normal', data: Buffer.from(`e${index + i}t${hs.term}`) });
          terms.push(hs.term);
        }
        out.push({ hardState: hs, entries, snapshot: snap });
        break;
      }
    }
  }
  return out;
}

interface Recovered {
  readonly hardState: HardState;
  readonly snapshot: { readonly index: number; readonly term: number; readonly data: string };
  readonly entries: ReturnType<typeof plain>;
}

function view(s: MemoryStorage, data: Uint8Array): Recovered {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const meta = s.snapshot().metadata;
  return {
    hardState: s.hardState(),
    snapshot: { index: meta.index, term: meta.term, data: Buffer.from(data).toString() },
    entries: plain(last >= first ? s.entries(first, logIndex(last + 1), Infinity) : []),
  };
}

async function viaWal(saves: readonly PersistBatch[]): Promise<Recovered> {
  const dir = dirs.make();
  const noSync = { sync: async (): Promise<void> => undefined };
  const { wal } = await Wal.open(dir, noSync);
  const store = new WalLogStore(wal, new SnapshotStore(dir));
  // NB: a driver awaits each save before the next; so does this.
  for (const b of saves) await store.save(b);
  await wal.close();
  const { wal: again, state } = await Wal.open(dir, noSync);
  await again.close();
  // As the member rebuilds its storage from the WAL.
  const s = MemoryStorage.withConf(CONF);
  let data: Uint8Array = new Uint8Array(0);
  if (state.snapshot !== null) {
    const snap = await new SnapshotStore(dir).loadMatching(state.snapshot);
    if (snap === null) throw new Error(`The WAL names snapshot ${state.snapshot.index} but the snapshot directory lacks it`);
    s.applySnapshot(snap);
    data = snap.data;
  }
  s.setHardState(state.hardState);
  s.append(state.entries);
  return view(s, data);
}

function viaMemory(saves: readonly PersistBatch[]): Recovered {
  const store = new MemoryLogStore(CONF);
  for (const b of saves) void store.save(b);
  const s = store.recover();
  return view(s, s.snapshot().data);
}

describe('LogStore contract: WalLogStore and MemoryLogStore recover the same state', () => {
  it('after any sequence of saves a driver can make', async () => {
    let snapshots = 0;
    let overwrites = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const saves = batches(ops);
        snapshots += saves.filter((b) => b.snapshot !== null).length;
        overwrites += ops.filter((o) => o.kind === 'append' && o.back > 0 && !o.commit).length;
        const wal = await viaWal(saves);
        expect(viaMemory(saves)).toEqual(wal);
      }),
      { numRuns: RUNS, seed: 20250101 },
    );
    expect(snapshots).toBeGreaterThan(0);
    expect(overwrites).toBeGreaterThan(0);
  });

  it('a crash loses a MemoryLogStore save whose fsync had not completed, and nothing before it', () => {
    const store = new MemoryLogStore(CONF);
    store.attach(true, () => undefined);
    const e = (i: number): Entry => ({ index: logIndex(i), term: term(1), type: 'normal', data: Buffer.from(`e${i}`) });
    let firstDone = false;
    void store.save({ hardState: { term: term(1), vote: nodeId(1), commit: logIndex(0) }, entries: [e(1), e(2)], snapshot: null }).then(() => (firstDone = true));
    void store.save({ hardState: null, entries: [e(3)], snapshot: null });
    expect(store.pendingCount).toBe(2);
    expect(store.disk.lastIndex()).toBe(0);
    expect(store.completeNext()).toBe(true);
    store.crash();
    const s = store.recover();
    expect(s.lastIndex()).toBe(2);
    expect(s.hardState().vote).toBe(1);
    expect(store.pendingCount).toBe(0);
    return Promise.resolve().then(() => expect(firstDone).toBe(true));
  });
});
