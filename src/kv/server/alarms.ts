/**
 * alarms: etcd's cluster alarms (NOSPACE, CORRUPT) and the space quota that raises NOSPACE.
 *
 * An alarm is raised or cleared only through the Raft log (an `alarm` request, etcd's
 * AlarmRequest), so every member applies the same changes in the same order and keeps the same
 * list, persisted in the store's `alarm` bucket beside the data (it survives a restart and
 * travels in snapshots). While any NOSPACE alarm is raised, applying a put, a txn that puts or
 * a lease grant fails with etcd's "database space exceeded" on every member alike — etcd's
 * capped applier — and the request path refuses them before they enter the log.
 */
import type { MvccStore } from '../mvcc/store.js';
import type { AlarmMember, AlarmRequest, AlarmType, RequestOp, TxnRequest } from '../proto/index.js';
import { decodeAlarmRecord, encodeAlarmKey, type AlarmRecord } from './records.js';

const ALARM_BUCKET = 'alarm';

/** DEFAULT_QUOTA_BACKEND_BYTES is etcd's default --quota-backend-bytes (2 GiB). */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;

/** RaisedAlarm is an alarm type that can be raised (NONE only selects in requests). */
export type RaisedAlarm = Exclude<AlarmType, 'NONE'>;

/** AlarmList is the cluster's raised alarms, as applied from the log and stored. */
export class AlarmList {
  readonly #store: MvccStore;
  #alarms: AlarmRecord[] = [];

  constructor(store: MvccStore) {
    this.#store = store;
    this.reload();
  }

  /** reload reads the list back from the store (start-up, after a snapshot is installed). */
  reload(): void {
    // NB: a damaged record throws CorruptRecordError (the member stops, naming the record).
    this.#alarms = this.#store.auxEntries(ALARM_BUCKET).map(([k]) => decodeAlarmRecord(k, ALARM_BUCKET));
  }

  /** list is every raised alarm, in the order of their stored keys ("<member ID>/<type>"). */
  list(): readonly AlarmMember[] {
    return this.#alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm }));
  }

  /** has says whether an alarm of this type is raised for any member (or for `memberID`). */
  has(alarm: RaisedAlarm, memberID?: string): boolean {
    return this.#alarms.some((a) => a.alarm === alarm && (memberID === undefined || a.memberID === memberID));
  }

  /**
   * apply carries out an ACTIVATE or DEACTIVATE from the log and returns the alarms it changed
   * (etcd answers with those). ACTIVATE of NONE or of a member ID 0 changes nothing; DEACTIVATE
   * with member 0 or type NONE clears every alarm that matches the rest.
   */
  apply(req: AlarmRequest): AlarmMember[] {
    if (req.action === 'GET') return [];
    if (req.action === 'ACTIVATE') {
      if (req.alarm === 'NONE' || req.memberID === '0' || this.has(req.alarm, req.memberID)) return [];
      const a: AlarmRecord = { memberID: req.memberID, alarm: req.alarm };
      this.#store.auxPut(ALARM_BUCKET, encodeAlarmKey(a), new Uint8Array(0));
      this.reload();
      return [{ memberID: a.memberID, alarm: a.alarm }];
    }
    const gone = this.#alarms.filter((a) => (req.memberID === '0' || a.memberID === req.memberID) && (req.alarm === 'NONE' || a.alarm === req.alarm));
    for (const a of gone) this.#store.auxPut(ALARM_BUCKET, encodeAlarmKey(a), null);
    if (gone.length > 0) this.reload();
    return gone.map((a) => ({ memberID: a.memberID, alarm: a.alarm }));
  }
}

function opPuts(op: RequestOp): boolean {
  switch (op.request) {
    case 'request_put':
      return true;
    case 'request_txn':
      return txnPuts(op.request_txn);
    case 'request_range':
    case 'request_delete_range':
      return false;
  }
}

/** txnPuts says whether a txn may write a key (a put in either branch, nested txns included). */
export function txnPuts(t: TxnRequest): boolean {
  return t.success.some(opPuts) || t.failure.some(opPuts);
}

/**
 * SpaceQuota follows the backend's size (the figure Status reports as dbSize) against
 * --quota-backend-bytes. The member refreshes the size periodically; `exceeded` reads the
 * latest figure, so the request path never waits on the file system.
 */
export class SpaceQuota {
  readonly quotaBytes: number;
  #size = 0;

  constructor(quotaBytes: number) {
    this.quotaBytes = quotaBytes;
  }

  /** observe records the backend's latest size in bytes. */
  observe(sizeBytes: number): void {
    this.#size = sizeBytes;
  }

  /** size is the latest size observed. */
  get size(): number {
    return this.#size;
  }

  /** exceeded says whether the latest size observed is above the quota. */
  get exceeded(): boolean {
    return this.#size > this.quotaBytes;
  }
}
