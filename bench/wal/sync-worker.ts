/**
 * sync-worker: fdatasync on a dedicated thread — one of the ways to keep a member's event loop
 * free while a WAL batch syncs that bench/wal/sync-methods.ts compares. It was not faster than
 * libuv's fs.fdatasync here, which the WAL uses (WalOptions.syncOffLoop), so it lives with the
 * benchmark.
 *
 * The loop signals the worker through a SharedArrayBuffer (Atomics.notify wakes it from a
 * synchronous Atomics.wait at once, no libuv round trip) and hears the answer through
 * Atomics.waitAsync. One sync is in flight at a time — the WAL writes and syncs one batch at a
 * time. The worker keeps the process alive only while a sync is in flight.
 */
import { Worker } from 'node:worker_threads';

// ctl[0]: request sequence (the loop bumps it; -1 asks the worker to stop); ctl[1]: answered
// sequence; ctl[2]: the descriptor to sync; ctl[3]: errno of the last sync (0: success).
const REQ = 0;
const ANS = 1;
const FD = 2;
const ERRNO = 3;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
const ctl = new Int32Array(workerData);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${REQ}, seen);
  const seq = Atomics.load(ctl, ${REQ});
  if (seq < 0) break;
  if (seq === seen) continue;
  seen = seq;
  let errno = 0;
  try { fdatasyncSync(Atomics.load(ctl, ${FD})); }
  catch (e) { errno = e !== null && typeof e === 'object' && typeof e.errno === 'number' && e.errno !== 0 ? e.errno : -1; }
  Atomics.store(ctl, ${ERRNO}, errno);
  Atomics.store(ctl, ${ANS}, seq);
  Atomics.notify(ctl, ${ANS});
}`;

type WaitAsyncResult = { readonly async: false; readonly value: 'not-equal' | 'timed-out' } | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };
/** atomics is Atomics with waitAsync (V8 ≥ 8.7, Node ≥ 16), which the ES2023 lib typings lack. */
const atomics = Atomics as unknown as typeof Atomics & { waitAsync(a: Int32Array, index: number, value: number): WaitAsyncResult };

/** SyncFailedError is a failed fdatasync on the worker; `errno` is the system's (negative, as libuv's). */
export class SyncFailedError extends Error {
  override readonly name = 'SyncFailedError';
  constructor(readonly errno: number) {
    super(`fdatasync failed (errno ${errno})`);
  }
}

/** SyncWorker runs fdatasync calls on its own thread; see the file comment. */
export class SyncWorker {
  readonly #ctl: Int32Array;
  readonly #worker: Worker;
  #seq = 0;
  #busy = false;
  #dead: Error | null = null;
  #closed = false;

  constructor() {
    const sab = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
    this.#ctl = new Int32Array(sab);
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: sab, stdout: false, stderr: false });
    this.#worker.unref();
    this.#worker.on('error', (err) => (this.#dead = err));
    this.#worker.on('exit', (code) => {
      this.#dead ??= new Error(`the WAL's sync thread exited (code ${code})`);
      // Wake a sync waiting for an answer that will not come.
      Atomics.notify(this.#ctl, ANS);
    });
  }

  /**
   * fdatasync makes `fd`'s written data durable and resolves once the worker's fdatasync
   * returned; it rejects with SyncFailedError if that failed, or with the worker's error if the
   * thread died. One call at a time.
   */
  async fdatasync(fd: number): Promise<void> {
    if (this.#closed) throw new Error('The sync worker is closed');
    const dead = this.#dead;
    if (dead !== null) throw dead;
    if (this.#busy) throw new Error('SyncWorker.fdatasync called while a sync is in flight');
    this.#busy = true;
    this.#worker.ref();
    try {
      const seq = ++this.#seq;
      Atomics.store(this.#ctl, FD, fd);
      Atomics.store(this.#ctl, REQ, seq);
      Atomics.notify(this.#ctl, REQ);
      while (Atomics.load(this.#ctl, ANS) !== seq) {
        const dead = this.#dead;
        if (dead !== null) throw dead;
        const w = atomics.waitAsync(this.#ctl, ANS, seq - 1);
        if (w.async) await w.value;
      }
      const errno = Atomics.load(this.#ctl, ERRNO);
      if (errno !== 0) throw new SyncFailedError(errno);
    } finally {
      this.#busy = false;
      this.#worker.unref();
    }
  }

  /** close stops the thread (after the sync in flight, which the WAL awaits before closing). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#ctl, REQ, -1);
    Atomics.notify(this.#ctl, REQ);
    await this.#worker.terminate();
  }
}
