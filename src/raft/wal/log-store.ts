/**
 * log-store: WalLogStore, the durable LogStore a Raft driver persists each Ready through — the
 * snapshot's data into the SnapshotStore, then hard state, entries and the snapshot marker into
 * the WAL. It matches the driver's LogStore shape structurally (this folder imports no core code).
 */
import type { Entry, HardState, Snapshot } from '../types.js';
import type { SnapshotStore } from './snapshot-store.js';
import type { Wal } from './wal.js';

/** PersistRequest is what one Ready asks to make durable (the driver's PersistBatch). */
export interface PersistRequest {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

/**
 * WalLogStore persists Readies into a Wal and a SnapshotStore, keeping their order: a save
 * carrying a snapshot writes the snapshot file first (so the WAL never names a snapshot that is
 * not on disk), and later saves wait for it; other saves go straight to the WAL's group commit.
 */
export class WalLogStore {
  readonly #wal: Wal;
  readonly #snapshots: SnapshotStore;
  /** Settles when the last save that had to go in order has been handed to the WAL. */
  #gate: Promise<void> | null = null;

  /** WalLogStore writes to `wal` and `snapshots`; it owns neither (close them yourself). */
  constructor(wal: Wal, snapshots: SnapshotStore) {
    this.#wal = wal;
    this.#snapshots = snapshots;
  }

  /**
   * saveNow makes the request durable before returning (true), when the WAL can on this thread
   * and nothing waits ahead of it; false (nothing done) sends the caller to save().
   */
  saveNow(req: PersistRequest): boolean {
    if (req.snapshot !== null || this.#gate !== null) return false;
    return this.#wal.saveNow({ hardState: req.hardState, entries: req.entries, snapshot: null });
  }

  /** save resolves once the request is durable. */
  save(req: PersistRequest): Promise<void> {
    const walReq = { hardState: req.hardState, entries: req.entries, snapshot: req.snapshot?.metadata ?? null };
    if (req.snapshot === null && this.#gate === null) return this.#wal.save(walReq);
    const snapshot = req.snapshot;
    let handed!: () => void;
    const gate = new Promise<void>((resolve) => (handed = resolve));
    const prev = this.#gate;
    this.#gate = gate;
    const run = (async (): Promise<void> => {
      try {
        if (prev) await prev;
        if (snapshot) await this.#snapshots.save(snapshot);
      } catch (err) {
        handed();
        throw err;
      }
      const saved = this.#wal.save(walReq); // joins the WAL's queue in order
      handed();
      await saved;
    })();
    void gate.then(() => {
      if (this.#gate === gate) this.#gate = null;
    });
    return run;
  }
}
