/**
 * kv-service: etcdserverpb.KV — Range, Put, DeleteRange, Txn, Compact. Writes go through Raft
 * on the leader (followers forward them); reads are linearizable through ReadIndex unless the
 * client asks for a serializable read, which answers from local state.
 */
import type { KVHandlers, RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse, CompactionResponse } from '../../proto/index.js';
import { requestDecoders } from '../../proto/index.js';
import type * as pb from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError } from '../errors.js';
import { deleteOut, putOut, rangeIn, rangeOut, txnIn, txnOut } from '../convert.js';
import { decoded, expectKind, traceToken } from './common.js';
import { unary } from './common.js';

function checkKey(key: Uint8Array): void {
  if (key.byteLength === 0) throw etcdError('empty-key');
}

function keyStr(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
}

/** checkTxn applies etcd's txn validation: op count, empty keys, duplicate or overlapping writes. */
function checkTxn(t: pb.TxnRequest, maxOps: number): void {
  if (t.compare.length > maxOps || t.success.length > maxOps || t.failure.length > maxOps) throw etcdError('too-many-ops');
  for (const c of t.compare) checkKey(c.key);
  for (const branch of [t.success, t.failure]) {
    const puts = new Set<string>();
    const dels: { key: string; end: string | null }[] = [];
    for (const op of branch) {
      switch (op.request) {
        case 'request_range':
          checkKey(op.request_range.key);
          break;
        case 'request_put': {
          checkKey(op.request_put.key);
          const k = keyStr(op.request_put.key);
          if (puts.has(k)) throw etcdError('duplicate-key');
          puts.add(k);
          break;
        }
        case 'request_delete_range': {
          const d = op.request_delete_range;
          checkKey(d.key);
          dels.push({ key: keyStr(d.key), end: d.range_end.byteLength === 0 ? null : keyStr(d.range_end) });
          break;
        }
        case 'request_txn':
          checkTxn(op.request_txn, maxOps);
          break;
      }
    }
    for (const d of dels) {
      for (const p of puts) {
        const inRange = d.end === null ? p === d.key : d.end === '\0' ? p >= d.key : p >= d.key && p < d.end;
        if (inRange) throw etcdError('duplicate-key');
      }
    }
  }
}

function isReadOnly(t: pb.TxnRequest): boolean {
  const ro = (ops: readonly pb.RequestOp[]): boolean =>
    ops.every((op) => op.request === 'request_range' || (op.request === 'request_txn' && isReadOnly(op.request_txn)));
  return ro(t.success) && ro(t.failure);
}

/** kvService builds the KV handlers of a member. */
export function kvService(s: KvServer): KVHandlers {
  return {
    Range: unary<RangeResponse>(async (raw, call) => {
      // NB: a sampled request (bench kv --trace) is marked under its token; see tracer.ts.
      const trace = s.tracer.on ? traceToken(call) : null;
      if (trace !== null) s.tracer.mark(trace, 'recv');
      const req = decoded(requestDecoders.RangeRequest(raw));
      checkKey(req.key);
      if (!req.serializable) await s.linearizableRead(trace);
      if (trace !== null) s.tracer.mark(trace, 'read-done');
      const r = s.sm.store.range(rangeIn(req));
      if (!r.ok) throw etcdError(r.error.code === 'compacted' ? 'compacted' : 'future-rev');
      const res = rangeOut(s.header(r.value.revision), r.value);
      if (trace !== null) s.tracer.mark(trace, 'reply');
      return res;
    }),
    Put: unary<PutResponse>(async (raw, call) => {
      const trace = s.tracer.on ? traceToken(call) : null;
      if (trace !== null) s.tracer.mark(trace, 'recv');
      const req = decoded(requestDecoders.PutRequest(raw));
      checkKey(req.key);
      const r = expectKind(await s.submitWire('put', raw as object, trace), 'put');
      const res = putOut(s.header(r.result.revision), r.result);
      if (trace !== null) s.tracer.mark(trace, 'reply');
      return res;
    }),
    DeleteRange: unary<DeleteRangeResponse>(async (raw) => {
      const req = decoded(requestDecoders.DeleteRangeRequest(raw));
      checkKey(req.key);
      const r = expectKind(await s.submitWire('delete-range', raw as object), 'delete-range');
      return deleteOut(s.header(r.result.revision), r.result);
    }),
    Txn: unary<TxnResponse>(async (raw) => {
      const req = decoded(requestDecoders.TxnRequest(raw));
      checkTxn(req, s.maxTxnOps);
      if (isReadOnly(req)) {
        await s.linearizableRead();
        const r = s.sm.store.txn(txnIn(req));
        if (!r.ok) throw etcdError(r.error.code === 'compacted' ? 'compacted' : 'future-rev');
        return txnOut(s.header(r.value.revision), r.value);
      }
      const r = expectKind(await s.submitWire('txn', raw as object), 'txn');
      return txnOut(s.header(r.result.revision), r.result);
    }),
    Compact: unary<CompactionResponse>(async (raw) => {
      const req = decoded(requestDecoders.CompactionRequest(raw));
      if (req.revision <= 0) throw etcdError('invalid-argument', 'compaction revision must be positive');
      const r = expectKind(await s.submitWire('compaction', raw as object), 'compaction');
      return { header: s.header(r.revision) };
    }),
  };
}
