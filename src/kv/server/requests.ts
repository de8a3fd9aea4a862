/**
 * requests: what a member proposes to the Raft log. An entry's data is one kind byte followed by
 * the etcd request exactly as it travels on the wire (protobuf), or JSON for our own internal
 * requests. Applying decodes it with the same decoders the gRPC handlers use.
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

const KIND_CODES = { put: 1, 'delete-range': 2, txn: 3, compaction: 4, 'lease-grant': 5, 'lease-revoke': 6, 'member-attrs': 7, 'member-update': 8 } as const;
type WireKind = Exclude<InternalRequest['kind'], 'member-attrs' | 'member-update'>;

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

/** encodeWire encodes a wire request object (as grpc-js delivered it, or built by hand). */
export function encodeWire(kind: WireKind, raw: object): Uint8Array {
  const body = method(kind).requestSerialize(raw);
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = KIND_CODES[kind];
  body.copy(out, 1);
  return out;
}

/** encodeMemberAttrs encodes a member publishing its name and client URLs. */
export function encodeMemberAttrs(id: number, name: string, clientURLs: readonly string[]): Uint8Array {
  const body = Buffer.from(JSON.stringify({ id, name, clientURLs }));
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = KIND_CODES['member-attrs'];
  body.copy(out, 1);
  return out;
}

/** encodeMemberUpdate encodes a change of a member's peer URLs (MemberUpdate). */
export function encodeMemberUpdate(id: number, peerURLs: readonly string[]): Uint8Array {
  const body = Buffer.from(JSON.stringify({ id, peerURLs }));
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = KIND_CODES['member-update'];
  body.copy(out, 1);
  return out;
}

/** DecodeResult is a decoded entry or why it could not be decoded. */
export type DecodeResult = { readonly ok: true; readonly value: InternalRequest } | { readonly ok: false; readonly error: string };

/** decodeRequest decodes an entry's data. */
export function decodeRequest(data: Uint8Array): DecodeResult {
  const code = data[0] ?? 0;
  const body = Buffer.from(data.buffer, data.byteOffset + 1, data.byteLength - 1);
  const wire = (kind: WireKind): unknown => method(kind).requestDeserialize(body);
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
    case 7: {
      const v = JSON.parse(body.toString('utf8')) as { id?: unknown; name?: unknown; clientURLs?: unknown };
      if (typeof v.id !== 'number' || typeof v.name !== 'string' || !Array.isArray(v.clientURLs)) return { ok: false, error: 'malformed member attributes' };
      return { ok: true, value: { kind: 'member-attrs', id: v.id, name: v.name, clientURLs: v.clientURLs.map(String) } };
    }
    case 8: {
      const v = JSON.parse(body.toString('utf8')) as { id?: unknown; peerURLs?: unknown };
      if (typeof v.id !== 'number' || !Array.isArray(v.peerURLs)) return { ok: false, error: 'malformed member update' };
      return { ok: true, value: { kind: 'member-update', id: v.id, peerURLs: v.peerURLs.map(String) } };
    }
    default:
      return { ok: false, error: `unknown request kind ${code}` };
  }
}
