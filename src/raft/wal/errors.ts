/**
 * errors: what can go wrong with the write-ahead log and the snapshot store, as named classes
 * so a driver can tell damaged data (stop, get an operator) from an I/O fault (stop, restart).
 */

/**
 * WalCorruptError says the log holds damage that a crash cannot explain: a bad record followed
 * by records that were written later, a missing segment, or entries that do not follow the
 * snapshot. Recovering would risk losing acknowledged writes, so the WAL refuses to open.
 */
export class WalCorruptError extends Error {
  override readonly name = 'WalCorruptError';
  /** file is the path of the damaged segment (or the WAL directory when no one file is to blame). */
  readonly file: string;
  /** offset is the byte offset of the first damaged record in `file`, or null when not about one record. */
  readonly offset: number | null;
  /** detail says what was found, without the advice. */
  readonly detail: string;

  constructor(file: string, offset: number | null, detail: string) {
    const where = offset === null ? file : `${file} at byte offset ${offset}`;
    super(
      `WAL is corrupt: ${where}: ${detail}. This is not a torn write from a crash, so the log ` +
        'cannot be repaired safely. Keep the directory for inspection, then remove this member ' +
        'and re-add it with an empty data directory so it catches up from the leader ' +
        '(or restore the directory from a backup).',
    );
    this.file = file;
    this.offset = offset;
    this.detail = detail;
  }
}

/** WalClosedError is thrown by a save or release issued after `close()`. */
export class WalClosedError extends Error {
  override readonly name = 'WalClosedError';
  constructor() {
    super('WAL is closed; open it again with Wal.open before saving');
  }
}

/**
 * WalIoError says a write, sync or file operation failed. After a failed fdatasync nothing that
 * was written since the last good sync can be trusted (the kernel may have dropped the dirty
 * pages), so the WAL stops accepting saves: the member must restart and recover from disk.
 */
export class WalIoError extends Error {
  override readonly name = 'WalIoError';
  constructor(operation: string, file: string, options: { cause: unknown }) {
    super(
      `WAL ${operation} failed on ${file}: ${describe(options.cause)}. The WAL no longer accepts ` +
        'saves; restart the member so it recovers from what is durable (check disk space and health first).',
      options,
    );
  }
}

/** WalMetadataMismatchError says the directory belongs to another member or cluster. */
export class WalMetadataMismatchError extends Error {
  override readonly name = 'WalMetadataMismatchError';
  constructor(dir: string) {
    super(
      `WAL in ${dir} was created with different metadata (member or cluster id) than this member ` +
        'was started with; point the member at its own data directory, or move this one away',
    );
  }
}

/** SnapshotCorruptError says a snapshot file failed its checks; the store skips such files when loading. */
export class SnapshotCorruptError extends Error {
  override readonly name = 'SnapshotCorruptError';
  /** file is the path of the damaged snapshot. */
  readonly file: string;
  constructor(file: string, detail: string) {
    super(
      `Snapshot ${file} is corrupt: ${detail}. It will not be used; an older snapshot or one from ` +
        'the leader replaces it. Move the file away to silence this message.',
    );
    this.file = file;
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
