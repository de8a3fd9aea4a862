// The WAL's and snapshot store's errors: what each says is what an operator acts on (what is
// damaged, where, and what to do), and the name and fields are what a driver branches on.
// Written for errors.ts's surviving mutants (test/README.md, "src/raft/wal"): other tests match
// only the start of a message or the class.
import { describe, expect, it } from 'vitest';
import { SnapshotCorruptError, WalClosedError, WalCorruptError, WalIoError, WalMetadataMismatchError } from '../../src/raft/wal/errors.js';

describe('WAL errors', () => {
  it('WalCorruptError names the file, the offset when there is one, the damage and the way out', () => {
    const at = new WalCorruptError('wal/0001.wal', 4096, 'checksum mismatch');
    expect(at).toMatchObject({ name: 'WalCorruptError', file: 'wal/0001.wal', offset: 4096, detail: 'checksum mismatch' });
    expect(at.message).toBe(
      'WAL is corrupt: wal/0001.wal at byte offset 4096: checksum mismatch. This is not a torn write from a crash, so ' +
        'the log cannot be repaired safely. Keep the directory for inspection, then remove this member and re-add it ' +
        'with an empty data directory so it catches up from the leader (or restore the directory from a backup).',
    );
    const whole = new WalCorruptError('wal', null, 'segment 3 is missing');
    expect(whole.offset).toBeNull();
    expect(whole.message).toMatch(/^WAL is corrupt: wal: segment 3 is missing\. /);
  });

  it('WalClosedError, WalIoError and WalMetadataMismatchError say what to do', () => {
    expect(new WalClosedError()).toMatchObject({ name: 'WalClosedError', message: 'WAL is closed; open it again with Wal.open before saving' });
    const cause = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const io = new WalIoError('fdatasync', 'wal/0002.wal', { cause });
    expect(io).toMatchObject({ name: 'WalIoError', cause });
    expect(io.message).toBe(
      'WAL fdatasync failed on wal/0002.wal: ENOSPC: no space left on device. The WAL no longer accepts saves; ' +
        'restart the member so it recovers from what is durable (check disk space and health first).',
    );
    expect(new WalIoError('write', 'f', { cause: 'not an Error' }).message).toMatch(/^WAL write failed on f: not an Error\. /);
    expect(new WalMetadataMismatchError('data/wal')).toMatchObject({
      name: 'WalMetadataMismatchError',
      message:
        'WAL in data/wal was created with different metadata (member or cluster id) than this member was started with; ' +
        'point the member at its own data directory, or move this one away',
    });
  });

  it('SnapshotCorruptError names the file and the damage, and says the snapshot is replaced', () => {
    const e = new SnapshotCorruptError('snap/x.snap', 'bad magic');
    expect(e).toMatchObject({ name: 'SnapshotCorruptError', file: 'snap/x.snap' });
    expect(e.message).toBe(
      'Snapshot snap/x.snap is corrupt: bad magic. It will not be used; an older snapshot or one from the leader ' +
        'replaces it. Move the file away to silence this message.',
    );
  });
});
