/**
 * memory-log-store: MemoryLogStore, the simulated write-ahead log behind a real RaftDriver. It
 * implements the driver's LogStore as WalLogStore does in production (hard state, entries and
 * snapshots, a received snapshot's data kept with it), on a "disk" that survives a simulated
 * crash. A save is durable only once its fsync completes: at once, or — with slow fsyncs — when
 * the simulator completes it at a later step, in order; a crash loses every save still pending,
 * and its promise never settles (the process that awaited it is gone). A restart rebuilds the
 * core's storage from the disk, as the member rebuilds it from the WAL.
 */
import type { LogStore, PersistBatch } from '../../src/raft/driver.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import type { ConfState, HardState, LogIndex, Snapshot } from '../../src/raft/types.js';
import { logIndex } from '../../src/raft/types.js';

/** DurableHook observes a save the moment it becomes durable (`before` is the hard state it replaced). */
export type DurableHook = (before: HardState, batch: PersistBatch, disk: MemoryStorage) => void;

interface PendingSave {
  readonly batch: PersistBatch;
  readonly resolve: () => void;
}

/** MemoryLogStore is one member's simulated WAL and snapshot directory. */
export class MemoryLogStore implements LogStore {
  /** disk is what survives a crash: the persisted log, hard state and newest snapshot. */
  readonly disk: MemoryStorage;
  readonly #conf: ConfState;
  /** snapshots keeps every snapshot's data by index (the snapshot directory). */
  readonly #snapshots = new Map<number, Uint8Array>();
  #pending: PendingSave[] = [];
  #slow = false;
  #onDurable: DurableHook = () => undefined;
  /** saves counts saves made durable. */
  saves = 0;

  constructor(conf: ConfState) {
    this.#conf = conf;
    this.disk = MemoryStorage.withConf(conf);
  }

  /** attach sets, for the incarnation starting now, whether fsyncs are slow and who observes them. */
  attach(slow: boolean, onDurable: DurableHook): void {
    this.#slow = slow;
    this.#onDurable = onDurable;
  }

  /** pendingCount is the number of saves waiting for their fsync. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  save(batch: PersistBatch): Promise<void> {
    if (!this.#slow) {
      this.#write(batch);
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#pending.push({ batch, resolve }));
  }

  /** completeNext makes the oldest pending save durable and resolves it; false if none was pending. */
  completeNext(): boolean {
    const p = this.#pending.shift();
    if (p === undefined) return false;
    this.#write(p.batch);
    p.resolve();
    return true;
  }

  /** flushAll makes every pending save durable (a clean shutdown waits for its fsyncs). */
  flushAll(): void {
    while (this.completeNext());
  }

  /**
   * crash ends the incarnation: saves not yet durable are lost — or, with `fsynced`, written as
   * if the process died right after their fsync — and their promises never settle.
   */
  crash(fsynced = false): void {
    const pending = this.#pending;
    this.#pending = [];
    if (fsynced) for (const p of pending) this.#write(p.batch);
  }

  #write(batch: PersistBatch): void {
    const before = this.disk.hardState();
    if (batch.snapshot !== null) {
      this.#snapshots.set(batch.snapshot.metadata.index, batch.snapshot.data);
      this.disk.applySnapshot(batch.snapshot);
    }
    this.disk.append(batch.entries);
    if (batch.hardState !== null) this.disk.setHardState(batch.hardState);
    this.saves++;
    this.#onDurable(before, batch, this.disk);
  }

  /**
   * snapshotAt records the application's snapshot at `index` (with its data) durably and drops
   * the log before `compactTo`, as the member does after committing its backend.
   */
  snapshotAt(index: LogIndex, conf: ConfState, data: Uint8Array, compactTo: LogIndex): void {
    this.#snapshots.set(index, data);
    this.disk.createSnapshot(index, conf, data);
    if (compactTo >= this.disk.firstIndex() && compactTo <= this.disk.lastIndex()) this.disk.compact(compactTo);
  }

  /**
   * snapshotData returns the data of the snapshot at `index` — what the transport ships in place
   * of the core's copy, which carries none (the production transport streams its backend).
   */
  snapshotData(index: number): Uint8Array {
    const data = this.#snapshots.get(index);
    if (data === undefined) throw new Error(`No snapshot data for index ${index} on disk; a snapshot was sent that was never persisted`);
    return data;
  }

  /** recover builds the core's storage from the disk, as a restarting member does from its WAL. */
  recover(): MemoryStorage {
    const s = MemoryStorage.withConf(this.#conf);
    const snap: Snapshot = this.disk.snapshot();
    if (snap.metadata.index > 0) s.applySnapshot(snap);
    s.setHardState(this.disk.hardState());
    const first = this.disk.firstIndex();
    const last = this.disk.lastIndex();
    if (last >= first) s.append(this.disk.entries(first, logIndex(last + 1), Infinity));
    return s;
  }
}
