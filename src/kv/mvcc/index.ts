/**
 * mvcc: the MVCC key-value state machine (etcd's mvcc layer) the Raft apply loop drives.
 *
 * Open a store with `MvccStore.open(dir)`; apply writes with put/deleteRange/txn/compact
 * (synchronous, deterministic, errors as values); record the applied Raft index with
 * setConsistentIndex and persist with `await commit({ sync })`. Reads are synchronous.
 * snapshot()/restoreSnapshot()/MvccStore.restore move whole states; hash() is etcd's HashKV.
 */

export { MvccStore } from './store.js';
export { DEFAULT_CHECKPOINT_MIN_ROWS } from './store.js';
export type { CheckpointEvent, CommitOptions, Disposable, MvccStoreOptions, ReadEventsResult, RecoveryStats, StoreListener } from './store.js';
export { SnapshotError } from './maintenance.js';
export type { HashKVResult, MvccSnapshot, SnapshotSource } from './maintenance.js';
export { CodecError, decodeKeyValue, encodeKeyValue, int64Size, keyValueSize, varintSize, writeInt64, writeKeyValue, writeVarint } from './codec.js';
export type { KeyValueFields } from './codec.js';
export type { RocksOptions } from './rocks.js';
export {
  ERR_COMPACTED_MESSAGE,
  ERR_FUTURE_REV_MESSAGE,
} from './types.js';
export type {
  ChangeSet,
  Compare,
  CompareResult,
  DeleteRangeRequest,
  DeleteRangeResult,
  EventType,
  KeyValue,
  MvccError,
  MvccEvent,
  MvccResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResult,
} from './types.js';
