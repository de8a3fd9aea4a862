/**
 * state-machine: the kv member's application of the Raft log — MVCC writes, compaction, leases
 * and the member list. apply is deterministic; entries at or below the store's consistent index
 * were applied before a restart (or arrived inside a snapshot) and are skipped.
 *
 * The apply path is total, as etcd's is. Proposals are checked at the door (requests.ts:
 * `checkProposal`), so a committed entry always decodes — unless the log was corrupted or a
 * member of a newer format wrote it. Such an entry must not stop the member, or it would stop
 * every member on every replay: it is skipped with an error line and counted
 * (`undecodableEntries`), and the applied index still moves past it. Skipping depends only on
 * the entry's bytes, so every member skips the same entries and their states stay equal. A conf
 * change that does not decode is skipped alike here and in the Raft core (parseConfChange); one
 * whose member context does not decode still changes the membership, recording the member
 * without name or URLs. A decoded request whose apply throws is a bug or an I/O fault, and
 * stops the member (the driver's onFatal).
 *
 * A snapshot is different: one with no data, or data that is not a valid MVCC snapshot, cannot
 * be skipped (the entries it replaces are gone from the leader's log), and installing nothing
 * would silently diverge. applySnapshot throws SnapshotInstallError, and the member exits with
 * that error's line.
 */
import type { Entry, Snapshot } from '../../raft/index.js';
import { nodeId, parseConfChange } from '../../raft/index.js';
import type { StateMachine } from '../../raft/driver.js';
import type { MvccStore } from '../mvcc/store.js';
import type { DeleteRangeResult, MvccError, PutResult, TxnResult } from '../mvcc/types.js';
import { Lessor, type Lease } from '../lease/lessor.js';
import { SnapshotError } from '../mvcc/index.js';
import { MemberRegistry, parseMemberContext } from './members.js';
import { decodeRequest, type InternalRequest } from './requests.js';
import { decodeLeaseRecord, encodeLeaseKey, encodeLeaseValue } from './records.js';
import { deleteIn, leaseOf, putIn, txnIn } from './convert.js';
import { AlarmList, txnPuts } from './alarms.js';
import type { AlarmMember } from '../proto/index.js';

/** ApplyResult is what applying one entry produced, handed back to the proposer. */
export type ApplyResult =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'noop' }
  | { readonly kind: 'put'; readonly result: PutResult }
  | { readonly kind: 'delete-range'; readonly result: DeleteRangeResult }
  | { readonly kind: 'txn'; readonly result: TxnResult }
  | { readonly kind: 'compaction'; readonly revision: number }
  | { readonly kind: 'lease-grant'; readonly lease: Lease }
  | { readonly kind: 'lease-revoke'; readonly revision: number }
  | { readonly kind: 'conf-change' }
  | { readonly kind: 'member-attrs' }
  | { readonly kind: 'member-update' }
  | { readonly kind: 'alarm'; readonly changed: readonly AlarmMember[] }
  | { readonly kind: 'error'; readonly error: MvccError | { readonly code: 'lease-exists' | 'malformed' | 'no-space'; readonly message: string } };

/** NO_SPACE is what applying a write that needs space gives while a NOSPACE alarm is raised. */
const NO_SPACE: ApplyResult = { kind: 'error', error: { code: 'no-space', message: 'mvcc: database space exceeded' } };

const LEASE_BUCKET = 'lease';
/** COMMIT_EVERY_MS and COMMIT_EVERY_ENTRIES bound how long applied changes wait for RocksDB. */
const COMMIT_EVERY_MS = 20;
const COMMIT_EVERY_ENTRIES = 2000;

/**
 * SnapshotInstallError is a snapshot from the leader that cannot be installed: no data, or data
 * that is not a valid MVCC snapshot (`cause` says why). The member cannot go on after one.
 */
export class SnapshotInstallError extends Error {
  override readonly name = 'SnapshotInstallError';
  constructor(
    readonly index: number,
    detail: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`Cannot install the snapshot at index ${index}: ${detail}; the member stops rather than diverge from the cluster — check the leader's data and the network, then restart it`, options);
  }
}

/** KvStateMachineOptions wires the state machine. */
export interface KvStateMachineOptions {
  readonly store: MvccStore;
  readonly now: () => number;
  /** restoreSnapshot replaces the store's content from snapshot data (install from the leader). */
  readonly restoreSnapshot: (data: Uint8Array) => Promise<void>;
  readonly log?: (msg: string) => void;
  /** logError receives error lines (an entry skipped); `log` when absent. */
  readonly logError?: (msg: string) => void;
  /** onStorageError receives a RocksDB write failure; the member cannot go on after one. */
  readonly onStorageError: (err: unknown) => void;
  /** onApplied hears every applied request with the ID its submitter gave it. */
  readonly onApplied?: (id: bigint, result: ApplyResult) => void;
  /** onMembersChanged hears every change of the member list (to keep peer links in step). */
  readonly onMembersChanged?: () => void;
}

/** KvStateMachine applies the log to the MVCC store, the lessor and the member registry. */
export class KvStateMachine implements StateMachine<ApplyResult> {
  readonly store: MvccStore;
  readonly lessor = new Lessor();
  readonly members: MemberRegistry;
  /** alarms are the cluster's raised alarms (NOSPACE, CORRUPT), changed only by applied entries. */
  readonly alarms: AlarmList;
  readonly #o: KvStateMachineOptions;
  #commitTimer: NodeJS.Timeout | null = null;
  #committedIndex = 0;
  #undecodable = 0;

  constructor(o: KvStateMachineOptions) {
    this.#o = o;
    this.store = o.store;
    this.members = new MemberRegistry(o.store);
    this.alarms = new AlarmList(o.store);
    this.store.setLeaseExists((id) => this.lessor.has(id));
    this.#reloadLeases();
  }

  #reloadLeases(): void {
    // NB: a damaged record throws CorruptRecordError (the member stops, naming the record).
    const leases: Lease[] = this.store.auxEntries(LEASE_BUCKET).map(([k, v]) => decodeLeaseRecord(k, v, LEASE_BUCKET));
    this.lessor.restore(leases, this.#o.now());
  }

  /**
   * undecodableEntries counts the committed entries (and conf change contexts) that could not be
   * decoded and were skipped since this member started, for Status and metrics.
   */
  get undecodableEntries(): number {
    return this.#undecodable;
  }

  #skip(e: Entry, error: string): void {
    this.#undecodable++;
    (this.#o.logError ?? this.#o.log)?.(`Skipping undecodable ${e.type} entry ${e.index} (term ${e.term}), as every member does: ${error}`);
  }

  applyEntry(e: Entry): ApplyResult {
    if (e.index <= this.store.consistentIndex) {
      return { kind: 'skipped' };
    }
    const result = this.#apply(e);
    this.store.setConsistentIndex(e.index);
    return result;
  }

  #apply(e: Entry): ApplyResult {
    if (e.type === 'conf-change') {
      const cc = parseConfChange(e.data);
      if (!cc.ok) {
        // NB: the Raft core skips it too, so the configuration and the member list agree.
        this.#skip(e, cc.error);
        return { kind: 'error', error: { code: 'malformed', message: cc.error } };
      }
      const ctx = parseMemberContext(cc.value.context);
      if (!ctx.ok) this.#skip(e, `its member context: ${ctx.error}; the membership changes, the member's name and URLs stay unknown`);
      this.members.applyConfChange(cc.value, ctx.ok ? ctx.value : undefined);
      this.#o.onMembersChanged?.();
      return { kind: 'conf-change' };
    }
    if (e.data.byteLength === 0) return { kind: 'noop' };
    const d = decodeRequest(e.data);
    if (!d.ok) {
      // NB: a member never proposes what it cannot decode; this means a newer peer or corruption.
      this.#skip(e, d.error);
      const result: ApplyResult = { kind: 'error', error: { code: 'malformed', message: d.error } };
      // The submitter, if the header named it, hears at once instead of waiting for its timeout.
      if (d.id !== undefined) this.#o.onApplied?.(d.id, result);
      return result;
    }
    const result = this.#applyRequest(d.value.request);
    // The member that submitted the request answers its client from its own apply.
    this.#o.onApplied?.(d.value.id, result);
    return result;
  }

  #applyRequest(r: InternalRequest): ApplyResult {
    // NB: etcd's capped applier. The alarm list is the same on every member at every index, so
    // every member refuses the same writes and the states stay equal.
    if (this.alarms.has('NOSPACE') && (r.kind === 'put' || r.kind === 'lease-grant' || (r.kind === 'txn' && txnPuts(r.req)))) return NO_SPACE;
    switch (r.kind) {
      case 'alarm':
        return { kind: 'alarm', changed: this.alarms.apply(r.req) };
      case 'put': {
        const res = this.store.put(putIn(r.req));
        return res.ok ? { kind: 'put', result: res.value } : { kind: 'error', error: res.error };
      }
      case 'delete-range': {
        const res = this.store.deleteRange(deleteIn(r.req));
        return res.ok ? { kind: 'delete-range', result: res.value } : { kind: 'error', error: res.error };
      }
      case 'txn': {
        const res = this.store.txn(txnIn(r.req));
        return res.ok ? { kind: 'txn', result: res.value } : { kind: 'error', error: res.error };
      }
      case 'compaction': {
        const res = this.store.compact(r.req.revision);
        return res.ok ? { kind: 'compaction', revision: res.value.revision } : { kind: 'error', error: res.error };
      }
      case 'lease-grant': {
        const id = leaseOf(r.req.ID);
        if (this.lessor.has(id)) return { kind: 'error', error: { code: 'lease-exists', message: 'lease already exists' } };
        const lease = this.lessor.grant(id, r.req.TTL, this.#o.now());
        this.store.auxPut(LEASE_BUCKET, encodeLeaseKey(id), encodeLeaseValue(lease.ttl));
        return { kind: 'lease-grant', lease };
      }
      case 'lease-revoke': {
        const id = leaseOf(r.req.ID);
        if (!this.lessor.has(id)) return { kind: 'error', error: { code: 'lease-not-found', message: 'lease not found', lease: id } };
        const { revision } = this.store.revokeLease(id);
        this.lessor.revoke(id);
        this.store.auxPut(LEASE_BUCKET, encodeLeaseKey(id), null);
        return { kind: 'lease-revoke', revision };
      }
      case 'member-attrs':
        this.members.setAttributes(nodeId(r.id), r.name, r.clientURLs);
        this.#o.onMembersChanged?.();
        return { kind: 'member-attrs' };
      case 'member-update':
        this.members.setPeerURLs(nodeId(r.id), r.peerURLs);
        this.#o.onMembersChanged?.();
        return { kind: 'member-update' };
    }
  }

  async applySnapshot(s: Snapshot): Promise<void> {
    // NB: a snapshot replaces entries the leader no longer has: there is nothing to skip to.
    if (s.data.byteLength === 0) throw new SnapshotInstallError(s.metadata.index, 'it carries no data');
    try {
      await this.#o.restoreSnapshot(s.data);
    } catch (err: unknown) {
      if (!(err instanceof SnapshotError)) throw err;
      throw new SnapshotInstallError(s.metadata.index, err.message, { cause: err });
    }
    this.members.reload();
    this.alarms.reload();
    this.#reloadLeases();
    this.#o.onMembersChanged?.();
  }

  /**
   * afterApply writes applied changes to RocksDB — not after every Ready but at most every
   * COMMIT_EVERY_MS or COMMIT_EVERY_ENTRIES. Nothing is lost by waiting: the Raft WAL holds every
   * applied entry, the consistent index travels with the data, and recovery replays the WAL past
   * it. Fewer RocksDB writes mean less data for the WAL's fdatasync to drag along.
   */
  afterApply(applied: number): void {
    if (applied - this.#committedIndex >= COMMIT_EVERY_ENTRIES) {
      this.#commitNow();
      return;
    }
    if (this.#commitTimer === null) {
      this.#commitTimer = setTimeout(() => this.#commitNow(), COMMIT_EVERY_MS);
      this.#commitTimer.unref();
    }
  }

  #commitNow(): void {
    if (this.#commitTimer !== null) clearTimeout(this.#commitTimer);
    this.#commitTimer = null;
    this.#committedIndex = this.store.consistentIndex;
    // NB: commit writes before its promise settles (the binding writes on this thread).
    void this.store.commit({ sync: false }).catch((err: unknown) => this.#o.onStorageError(err));
  }

  /**
   * flush writes what applied so far to RocksDB now, synced, and disarms the commit timer (it is
   * armed again by the next apply). For maintenance run while nothing applies (defragment).
   */
  async flush(): Promise<void> {
    if (this.#commitTimer !== null) clearTimeout(this.#commitTimer);
    this.#commitTimer = null;
    this.#committedIndex = this.store.consistentIndex;
    await this.store.commit({ sync: true });
  }

  /** close stops the commit timer (the owner commits, synced, before closing the store). */
  close(): void {
    if (this.#commitTimer !== null) clearTimeout(this.#commitTimer);
    this.#commitTimer = null;
  }
}
