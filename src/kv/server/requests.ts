/**
 * requests: what a member proposes to the Raft log. An entry's data is a kind byte, the 8-byte
 * ID of the request (so the member that submitted it recognises it when it applies, wherever
 * it was appended), then the etcd request exactly as it travels on the wire (protobuf), or JSON
 * for our own internal requests. Applying decodes it with the same decoders the handlers use.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadProtoDefinitions, requestDecoders } from '../proto/index.js';
import type * as pb from '../proto/index.js';

/** InternalRequest is a decoded log entry of the kv layer. */
export type InternalRequest =
  | { readonly kind: 'put'; readonly req: pb.PutRequest }
  | { readonly kind: 'delete-range'; readonly req: pb.DeleteRangeRequest }
  | { readonly kind: 'txn'; readonly req: pb.TxnRequest }
  | { readonly kind: 'compaction'; readonly req: pb.CompactionRequest }
  | { readonly kind: 'lease-grant'; readonly req: pb.LeaseGrantRequest }
  | { readonly kind: 'lease-revoke'; readonly req: pb.LeaseRevokeRequest }
  | { readonly kind: 'member-attrs'; readonly id: number; readonly name: string; readonly clientURLs: readonly string[] }
  | { readonly kind: 'member-update'; readonly id: number; readonly peerURLs: readonly string[] };

/** RequestKind names every kind of request. */
export type RequestKind = InternalRequest['kind'];
/** WireKind names the kinds carried as etcd wire messages. */
export type WireKind = Exclude<RequestKind, 'member-attrs' | 'member-update'>;

const KIND_CODES: Readonly<Record<RequestKind, number>> = { put: 1, 'delete-range': 2, txn: 3, compaction: 4, 'lease-grant': 5, 'lease-revoke': 6, 'member-attrs': 7, 'member-update': 8 };
const HEADER = 9;

const METHODS: Record<WireKind, readonly ['KV' | 'Lease', string]> = {
  put: ['KV', 'Put'],
  'delete-range': ['KV', 'DeleteRange'],
  txn: ['KV', 'Txn'],
  compaction: ['KV', 'Compact'],
  'lease-grant': ['Lease', 'LeaseGrant'],
  'lease-revoke': ['Lease', 'LeaseRevoke'],
};

function method(kind: WireKind): MethodDefinition<unknown, unknown> {
  const [svc, name] = METHODS[kind];
  const def = loadProtoDefinitions().etcd[svc] as unknown as Record<string, MethodDefinition<unknown, unknown>>;
  return def[name]!;
}

function frame(kind: RequestKind, id: bigint, body: Buffer): Uint8Array {
  const out = Buffer.allocUnsafe(body.length + HEADER);
  out[0] = KIND_CODES[kind];
  out.writeBigUInt64BE(id, 1);
  body.copy(out, HEADER);
  return out;
}

/** encodeWire encodes a wire request object (as grpc-js delivered it, or built by hand). */
export function encodeWire(kind: WireKind, id: bigint, raw: object): Uint8Array {
  return frame(kind, id, method(kind).requestSerialize(raw));
}

/** encodeMemberAttrs encodes a member publishing its name and client URLs. */
export function encodeMemberAttrs(id: bigint, member: number, name: string, clientURLs: readonly string[]): Uint8Array {
  return frame('member-attrs', id, Buffer.from(JSON.stringify({ id: member, name, clientURLs })));
}

/** encodeMemberUpdate encodes a change of a member's peer URLs (MemberUpdate). */
export function encodeMemberUpdate(id: bigint, member: number, peerURLs: readonly string[]): Uint8Array {
  return frame('member-update', id, Buffer.from(JSON.stringify({ id: member, peerURLs })));
}

/** Decoded is a decoded entry: the submitter's request ID and the request. */
export interface DecodedRequest {
  readonly id: bigint;
  readonly request: InternalRequest;
}

/** DecodeResult is a decoded entry or why it could not be decoded. */
export type DecodeResult = { readonly ok: true; readonly value: DecodedRequest } | { readonly ok: false; readonly error: string };

function wireRequest(code: number, wire: (kind: WireKind) => unknown): { ok: true; value: InternalRequest } | { ok: false; error: string } {
  switch (code) {
    case 1: {
      const d = requestDecoders.PutRequest(wire('put'));
      return d.ok ? { ok: true, value: { kind: 'put', req: d.value } } : d;
    }
    case 2: {
      const d = requestDecoders.DeleteRangeRequest(wire('delete-range'));
      return d.ok ? { ok: true, value: { kind: 'delete-range', req: d.value } } : d;
    }
    case 3: {
      const d = requestDecoders.TxnRequest(wire('txn'));
      return d.ok ? { ok: true, value: { kind: 'txn', req: d.value } } : d;
    }
    case 4: {
      const d = requestDecoders.CompactionRequest(wire('compaction'));
      return d.ok ? { ok: true, value: { kind: 'compaction', req: d.value } } : d;
    }
    case 5: {
      const d = requestDecoders.LeaseGrantRequest(wire('lease-grant'));
      return d.ok ? { ok: true, value: { kind: 'lease-grant', req: d.value } } : d;
    }
    case 6: {
      const d = requestDecoders.LeaseRevokeRequest(wire('lease-revoke'));
      return d.ok ? { ok: true, value: { kind: 'lease-revoke', req: d.value } } : d;
    }
    default:
      return { ok: false, error: `unknown request kind ${code}` };
  }
}

/** decodeRequest decodes an entry's data. */
export function decodeRequest(data: Uint8Array): DecodeResult {
  if (data.byteLength < HEADER) return { ok: false, error: `entry of ${data.byteLength} bytes is too short` };
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const code = buf[0] ?? 0;
  const id = buf.readBigUInt64BE(1);
  const body = buf.subarray(HEADER);
  if (code === 7 || code === 8) {
    const v = JSON.parse(body.toString('utf8')) as { id?: unknown; name?: unknown; clientURLs?: unknown; peerURLs?: unknown };
    if (typeof v.id !== 'number') return { ok: false, error: 'malformed member request' };
    if (code === 7 && typeof v.name === 'string' && Array.isArray(v.clientURLs)) {
      return { ok: true, value: { id, request: { kind: 'member-attrs', id: v.id, name: v.name, clientURLs: v.clientURLs.map(String) } } };
    }
    if (code === 8 && Array.isArray(v.peerURLs)) {
      return { ok: true, value: { id, request: { kind: 'member-update', id: v.id, peerURLs: v.peerURLs.map(String) } } };
    }
    return { ok: false, error: 'malformed member request' };
  }
  const r = wireRequest(code, (kind) => method(kind).requestDeserialize(body));
  return r.ok ? { ok: true, value: { id, request: r.value } } : r;
}
