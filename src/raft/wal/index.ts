/**
 * index: the public surface of the write-ahead log and snapshot store — the durable storage a
 * Raft member's driver writes each Ready to before it sends what depends on it.
 */
export { Wal, DEFAULT_SEGMENT_SIZE } from './wal.js';
export type { WalOptions, WalSaveRequest, WalState, WalStats } from './wal.js';
export { WalLogStore } from './log-store.js';
export type { PersistRequest } from './log-store.js';
export { SnapshotStore } from './snapshot-store.js';
export type { SnapshotFile, SnapshotStoreOptions } from './snapshot-store.js';
export {
  SnapshotCorruptError,
  WalClosedError,
  WalCorruptError,
  WalIoError,
  WalMetadataMismatchError,
} from './errors.js';
export { crc32c } from './crc32c.js';
export { FsyncFailpointError, fsyncFailpointMode, fsyncGate, setFsyncFailpoint, stalledSyncs } from './fsync-failpoint.js';
export type { FsyncFailpointMode } from './fsync-failpoint.js';
