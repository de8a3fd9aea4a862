/**
 * txn: transactions as etcd's v3 applier runs them. Every compare on the taken path — nested
 * transactions included — is evaluated first against the state before the transaction
 * (compareToPath), then the operations on that path are checked (a put's ignore_* needs an
 * existing key, its lease must exist; a range's revision must be readable), and only then does
 * anything run. So a transaction either fails with an error having changed nothing, or runs to
 * the end, at one revision.
 */

import { rangeKeys, readLatest } from './range.js';
import { forEachInSpan, keySpan, latin1, type MvccState } from './state.js';
import type { KeyIndex } from './key-index.js';
import {
  errCompacted,
  errFutureRev,
  errKeyNotFound,
  errLeaseNotFound,
  type Compare,
  type CompareResult,
  type MvccError,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResult,
} from './types.js';
import type { WriteTxn } from './write.js';

function holds(result: CompareResult, cmp: number): boolean {
  switch (result) {
    case 'EQUAL':
      return cmp === 0;
    case 'NOT_EQUAL':
      return cmp !== 0;
    case 'GREATER':
      return cmp > 0;
    case 'LESS':
      return cmp < 0;
    default: {
      const never: never = result;
      throw new Error(`Unknown compare result ${String(never)}`);
    }
  }
}

function cmpNumber(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** compareIndexed compares a non-VALUE target of a live key (or the zero KeyValue if undefined). */
function compareIndexed(c: Exclude<Compare, { target: 'VALUE' }>, ki: KeyIndex | undefined): boolean {
  switch (c.target) {
    case 'VERSION':
      return holds(c.result, cmpNumber(ki?.ver ?? 0, c.version));
    case 'CREATE':
      return holds(c.result, cmpNumber(ki?.created ?? 0, c.create_revision));
    case 'MOD':
      return holds(c.result, cmpNumber(ki?.main ?? 0, c.mod_revision));
    case 'LEASE':
      return holds(c.result, cmpBigint(ki?.lease ?? 0n, c.lease));
    default: {
      const never: never = c;
      throw new Error(`Unknown compare target ${String(never)}`);
    }
  }
}

/**
 * applyCompare evaluates one compare on the current state (etcd's applyCompare): it must hold
 * for every live key in range; with no key in range the zero KeyValue is compared, except for
 * VALUE, which then fails.
 */
function applyCompare(state: MvccState, c: Compare): boolean {
  const live: KeyIndex[] = [];
  forEachInSpan(state, keySpan(c.key, c.range_end), (ki) => {
    if (ki.live) live.push(ki);
  });
  if (c.target === 'VALUE') {
    if (live.length === 0) return false;
    const want = Buffer.from(c.value.buffer, c.value.byteOffset, c.value.byteLength);
    return readLatest(state, live).every((kv) => holds(c.result, Buffer.compare(kv.value, want)));
  }
  if (live.length === 0) return compareIndexed(c, undefined);
  return live.every((ki) => compareIndexed(c, ki));
}

function opsOf(req: TxnRequest, succeeded: boolean): readonly RequestOp[] {
  return (succeeded ? req.success : req.failure) ?? [];
}

/** compareToPath evaluates the compares of `req` and of every nested transaction on its path, depth first. */
export function compareToPath(state: MvccState, req: TxnRequest): boolean[] {
  const succeeded = (req.compare ?? []).every((c) => applyCompare(state, c));
  const path = [succeeded];
  for (const op of opsOf(req, succeeded)) {
    if ('request_txn' in op) path.push(...compareToPath(state, op.request_txn));
  }
  return path;
}

/** isTxnReadOnly says whether a transaction has nothing but ranges in both branches (etcd's isTxnReadonly). */
export function isTxnReadOnly(req: TxnRequest): boolean {
  return [...(req.success ?? []), ...(req.failure ?? [])].every((op) => 'request_range' in op);
}

/** TxnChecks supplies what checking a path needs beyond the state. */
export interface TxnChecks {
  readonly checkPuts: boolean;
  readonly leaseExists: (lease: bigint) => boolean;
}

/** checkPath checks the operations on `path` (etcd's checkRequests with checkPut and checkRange). */
export function checkPath(state: MvccState, req: TxnRequest, path: readonly boolean[], checks: TxnChecks): MvccError | null {
  let i = 0;
  const walk = (r: TxnRequest): MvccError | null => {
    const succeeded = path[i++] ?? false;
    for (const op of opsOf(r, succeeded)) {
      if ('request_txn' in op) {
        const err = walk(op.request_txn);
        if (err !== null) return err;
      } else if ('request_put' in op) {
        if (!checks.checkPuts) continue;
        const put = op.request_put;
        if (put.ignore_value === true || put.ignore_lease === true) {
          const ki = state.tree.get(latin1(put.key));
          if (ki === undefined || !ki.live) return errKeyNotFound();
        }
        const lease = put.lease ?? 0n;
        if (lease !== 0n && !checks.leaseExists(lease)) return errLeaseNotFound(lease);
      } else if ('request_range' in op) {
        const rev = op.request_range.revision ?? 0;
        if (rev === 0) continue;
        if (rev > state.currentRev) return errFutureRev();
        if (rev < state.compactedRev) return errCompacted(state.compactedRev);
      }
    }
    return null;
  };
  return walk(req);
}

/**
 * applyPath runs the operations on `path` in `txn` (etcd's applyTxn) and returns the response.
 * Reads inside see the transaction's own earlier writes.
 */
export function applyPath(state: MvccState, txn: WriteTxn, req: TxnRequest, path: readonly boolean[]): TxnResult {
  let i = 0;
  const walk = (r: TxnRequest): TxnResult => {
    const succeeded = path[i++] ?? false;
    const responses: ResponseOp[] = [];
    for (const op of opsOf(r, succeeded)) {
      if ('request_txn' in op) {
        responses.push({ response_txn: walk(op.request_txn) });
      } else if ('request_put' in op) {
        responses.push({ response_put: txn.put(op.request_put) });
      } else if ('request_delete_range' in op) {
        responses.push({ response_delete_range: txn.deleteRange(op.request_delete_range) });
      } else {
        const res = rangeKeys(state, op.request_range, txn.viewRev);
        if (!res.ok) throw new Error(`A checked range failed inside a transaction (${res.error.message}): this is a bug`);
        responses.push({ response_range: res.value });
      }
    }
    return { revision: txn.viewRev, succeeded, responses };
  };
  return walk(req);
}
