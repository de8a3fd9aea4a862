/**
 * kv-service: etcdserverpb.KV — Range, Put, DeleteRange, Txn, Compact. Writes go through Raft
 * on the leader (followers forward them); reads are linearizable through ReadIndex unless the
 * client asks for a serializable read, which answers from local state.
 *
 * Put, Range and Txn go from the request's bytes to the response's bytes (KvHotCalls): the
 * requests are read by hand (put-request-wire.ts, range-request-wire.ts, txn-request-wire.ts), a
 * put or a writing txn goes into the log as the client sent it, and the responses are written by
 * hand (kv-wire.ts). The same functions serve the calls grpc-js hands over (the served definition
 * passes bytes through, see `passBytes` in the loader) and those the direct path takes past it
 * (direct-unary.ts). Put and Range are the hot calls of a KV client; Txn is how the apiserver
 * writes, and how bulk loads send many keys at once.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { KVHandlers, DeleteRangeResponse, CompactionResponse } from '../../proto/index.js';
import { decodePutRequest, decodeRangeRequest, decodeTxnRequest, requestDecoders } from '../../proto/index.js';
import type * as pb from '../../proto/index.js';
import type { KvServer } from '../kv-server.js';
import { etcdError } from '../errors.js';
import { deleteOut, rangeIn, txnIn } from '../convert.js';
import { TRACE_METADATA_KEY } from '../tracer.js';
import { decoded, expectKind, traceTokenOf } from './common.js';
import { unary } from './common.js';
import type { DirectOptions, DirectRoutes } from './direct-unary.js';
import { KvWire } from './kv-wire.js';

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

/**
 * KvHotCalls are Put, Range and Txn of one member, from a request message's bytes to the response
 * message's bytes (`framed`: behind the gRPC message prefix, as the direct path sends it).
 */
export class KvHotCalls {
  readonly #s: KvServer;
  readonly #wire: KvWire;

  constructor(s: KvServer) {
    this.#s = s;
    this.#wire = new KvWire(s.clusterId, String(s.id), () => s.driver.status().term);
  }

  /** trace is the token of a sampled request from its raftkube-trace value; null while tracing is off. */
  trace(value: unknown): string | null {
    return this.#s.tracer.on ? traceTokenOf(value) : null;
  }

  /** sent marks a sampled request's trailers as handed to HTTP/2 (direct path; see DirectOptions.sent). */
  sent(value: unknown): void {
    const trace = this.trace(value);
    if (trace !== null) this.#s.tracer.mark(trace, 'sent');
  }

  /** put proposes the put through the log and answers with this member's result of applying it. */
  async put(message: Buffer, trace: string | null, framed: boolean): Promise<Buffer> {
    const s = this.#s;
    if (trace !== null) s.tracer.mark(trace, 'recv');
    const req = decoded(decodePutRequest(message));
    checkKey(req.key);
    const r = expectKind(await s.submitEncoded('put', message, trace), 'put');
    const res = this.#wire.put(r.result.revision, r.result.prev_kv, framed);
    if (trace !== null) s.tracer.mark(trace, 'reply');
    return res;
  }

  /** range reads, linearizably unless the request asks for a serializable read. */
  async range(message: Buffer, trace: string | null, framed: boolean): Promise<Buffer> {
    const s = this.#s;
    // NB: a sampled request (bench kv --trace) is marked under its token; see tracer.ts.
    if (trace !== null) s.tracer.mark(trace, 'recv');
    const req = decoded(decodeRangeRequest(message));
    checkKey(req.key);
    if (!req.serializable) await s.linearizableRead(trace);
    if (trace !== null) s.tracer.mark(trace, 'read-done');
    const r = s.sm.store.range(rangeIn(req));
    if (!r.ok) throw etcdError(r.error.code === 'compacted' ? 'compacted' : 'future-rev');
    const res = this.#wire.range(r.value.revision, r.value, framed);
    if (trace !== null) s.tracer.mark(trace, 'reply');
    return res;
  }

  /** txn runs a read-only transaction after a linearizable read, and proposes any other through the log. */
  async txn(message: Buffer, framed: boolean): Promise<Buffer> {
    const s = this.#s;
    const req = decoded(decodeTxnRequest(message));
    checkTxn(req, s.maxTxnOps);
    if (isReadOnly(req)) {
      await s.linearizableRead();
      const r = s.sm.store.txn(txnIn(req));
      if (!r.ok) throw etcdError(r.error.code === 'compacted' ? 'compacted' : 'future-rev');
      return this.#wire.txn(r.value.revision, r.value, framed);
    }
    const r = expectKind(await s.submitEncoded('txn', message, null, req), 'txn');
    return this.#wire.txn(r.result.revision, r.result, framed);
  }
}

/** bytesOf narrows what grpc-js hands a bytes-through method's handler. */
function bytesOf(raw: unknown): Buffer {
  if (!Buffer.isBuffer(raw)) throw etcdError('internal', 'the KV service definition must pass Put, Range and Txn requests through as bytes');
  return raw;
}

/** kvDirectRoutes are the calls the direct path serves past grpc-js (direct-unary.ts). */
export function kvDirectRoutes(hot: KvHotCalls): DirectRoutes {
  return new Map([
    ['/etcdserverpb.KV/Put', async (message: Buffer, h: IncomingHttpHeaders) => hot.put(message, hot.trace(h[TRACE_METADATA_KEY]), true)],
    ['/etcdserverpb.KV/Range', async (message: Buffer, h: IncomingHttpHeaders) => hot.range(message, hot.trace(h[TRACE_METADATA_KEY]), true)],
    ['/etcdserverpb.KV/Txn', async (message: Buffer) => hot.txn(message, true)],
  ]);
}

/** kvDirectOptions are the direct path's options: the request size limit, and `sent` marking sampled requests. */
export function kvDirectOptions(hot: KvHotCalls, maxReceiveBytes: number): DirectOptions {
  return { maxReceiveBytes, sent: (h: IncomingHttpHeaders) => hot.sent(h[TRACE_METADATA_KEY]) };
}

/** kvService builds the KV handlers of a member; Put, Range and Txn answer through `hot`. */
export function kvService(s: KvServer, hot: KvHotCalls): KVHandlers {
  return {
    Range: unary<Buffer>(async (raw, call) => hot.range(bytesOf(raw), hot.trace(call.metadata.get(TRACE_METADATA_KEY)[0]), false)),
    Put: unary<Buffer>(async (raw, call) => hot.put(bytesOf(raw), hot.trace(call.metadata.get(TRACE_METADATA_KEY)[0]), false)),
    DeleteRange: unary<DeleteRangeResponse>(async (raw) => {
      const req = decoded(requestDecoders.DeleteRangeRequest(raw));
      checkKey(req.key);
      const r = expectKind(await s.submitWire('delete-range', raw as object), 'delete-range');
      return deleteOut(s.header(r.result.revision), r.result);
    }),
    Txn: unary<Buffer>(async (raw) => hot.txn(bytesOf(raw), false)),
    Compact: unary<CompactionResponse>(async (raw) => {
      const req = decoded(requestDecoders.CompactionRequest(raw));
      if (req.revision <= 0) throw etcdError('invalid-argument', 'compaction revision must be positive');
      const r = expectKind(await s.submitWire('compaction', raw as object), 'compaction');
      return { header: s.header(r.revision) };
    }),
  };
}
