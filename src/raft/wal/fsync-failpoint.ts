/**
 * fsync-failpoint: a test-only failpoint on the syncs that make a member's state durable — the
 * WAL's batch fdatasync, which every acknowledgement waits for, and the MVCC backend's synced
 * commits. Armed, it makes them fail (as a disk returning EIO would) or stall until it is
 * disarmed (as a disk that stops answering would). Nothing arms it unless a member was started
 * with the failpoints file (see src/kv/member/failpoints.ts); unarmed it costs one comparison.
 *
 * It is process-wide on purpose, like etcd's gofail failpoints: a member is one process, and the
 * syncs it guards live in two modules that share nothing else.
 */

/** FsyncFailpointMode says what an armed failpoint does to each sync: fail it, or hold it until disarmed. */
export type FsyncFailpointMode = 'fail' | 'stall';

/** FsyncFailpointError is the error an armed `fail` failpoint gives a sync (code EIO, like the disk's). */
export class FsyncFailpointError extends Error {
  override readonly name = 'FsyncFailpointError';
  readonly code = 'EIO';
  constructor(what: string) {
    super(`EIO: i/o error, fsync of ${what} (injected by the test-only fsync failpoint)`);
  }
}

let mode: FsyncFailpointMode | null = null;
let held: { resolve: () => void; reject: (err: Error) => void; what: string }[] = [];
let onHold: ((what: string) => void) | null = null;

/**
 * setFsyncFailpoint arms (or, with null, disarms) the failpoint. Syncs held by a stall go on
 * when it is disarmed, and fail when it is switched to `fail`. `o.onHold` hears of the first
 * sync a stall holds (so a log can say the member has stopped making progress).
 */
export function setFsyncFailpoint(next: FsyncFailpointMode | null, o: { onHold?: (what: string) => void } = {}): void {
  mode = next;
  onHold = o.onHold ?? null;
  if (next === 'stall') return;
  const waiting = held;
  held = [];
  for (const h of waiting) {
    if (next === 'fail') h.reject(new FsyncFailpointError(h.what));
    else h.resolve();
  }
}

/** fsyncFailpointMode is what the failpoint does now (null: disarmed). */
export function fsyncFailpointMode(): FsyncFailpointMode | null {
  return mode;
}

/** stalledSyncs is how many syncs the failpoint holds right now. */
export function stalledSyncs(): number {
  return held.length;
}

/**
 * fsyncGate is called before a guarded sync of `what`: null when disarmed (sync at once),
 * otherwise a promise that rejects (fail) or resolves once the stall is lifted. A sync must not
 * start before the promise settles, and must not happen at all if it rejects.
 */
export function fsyncGate(what: string): Promise<void> | null {
  if (mode === null) return null;
  if (mode === 'fail') return Promise.reject(new FsyncFailpointError(what));
  if (held.length === 0) onHold?.(what);
  return new Promise((resolve, reject) => held.push({ resolve, reject, what }));
}
