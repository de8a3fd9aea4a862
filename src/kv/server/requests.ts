/**
 * requests: what a member proposes to the Raft log. An entry's data is a kind byte, the 8-byte
 * ID of the request (so the member that submitted it recognises it when it applies, wherever
 * it was appended), then the etcd request exactly as it travels on the wire (protobuf), or JSON
 * for our own internal requests. Applying decodes it with the same decoders the handlers use,
 * except a put, which every member reads by hand (put-request-wire.ts, held by its test to the
 * value requestDecoders.PutRequest gives).
 *
 * The log's door (etcd's rule): every proposal is encoded from a request a handler has already
 * decoded and checked, and `checkProposal` refuses it, before it reaches Raft, if it is larger
 * than --max-request-bytes or does not decode back exactly as apply will decode it. What apply
 * sees is therefore always decodable, except after corruption or from a member running a newer
 * format; `decodeRequest` is total so that such an entry is skipped (see state-machine.ts).
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadProtoDefinitions, requestDecoders } from '../proto/index.js';
import type * as pb from '../proto/index.js';
import { decodeWith, fail, record, repeated, type FieldDecoder } from '../proto/decode.js';
import { decodePutRequest } from '../proto/put-request-wire.js';
import { decodeTxnRequest } from '../proto/txn-request-wire.js';

/** InternalRequest is a decoded log entry of the kv layer. */
export type InternalRequest =
  | { readonly kind: 'put'; readonly req: pb.PutRequest }
  | { readonly kind: 'delete-range'; readonly req: pb.DeleteRangeRequest }
  | { readonly kind: 'txn'; readonly req: pb.TxnRequest }
  | { readonly kind: 'compaction'; readonly req: pb.CompactionRequest }
  | { readonly kind: 'lease-grant'; readonly req: pb.LeaseGrantRequest }
  | { readonly kind: 'lease-revoke'; readonly req: pb.LeaseRevokeRequest }
  | { readonly kind: 'alarm'; readonly req: pb.AlarmRequest }
  | { readonly kind: 'member-attrs'; readonly id: number; readonly name: string; readonly clientURLs: readonly string[] }
  | { readonly kind: 'member-update'; readonly id: number; readonly peerURLs: readonly string[] };

/** RequestKind names every kind of request. */
export type RequestKind = InternalRequest['kind'];
/** WireKind names the kinds carried as etcd wire messages. */
export type WireKind = Exclude<RequestKind, 'member-attrs' | 'member-update'>;

const KIND_CODES: Readonly<Record<RequestKind, number>> = { put: 1, 'delete-range': 2, txn: 3, compaction: 4, 'lease-grant': 5, 'lease-revoke': 6, 'member-attrs': 7, 'member-update': 8, alarm: 9 };
const HEADER = 9;

const METHODS: Record<WireKind, readonly ['KV' | 'Lease' | 'Maintenance', string]> = {
  put: ['KV', 'Put'],
  'delete-range': ['KV', 'DeleteRange'],
  txn: ['KV', 'Txn'],
  compaction: ['KV', 'Compact'],
  'lease-grant': ['Lease', 'LeaseGrant'],
  'lease-revoke': ['Lease', 'LeaseRevoke'],
  alarm: ['Maintenance', 'Alarm'],
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

/** wireMessage is a wire request object (as grpc-js delivered it, or built by hand) in protobuf. */
export function wireMessage(kind: WireKind, raw: object): Buffer {
  return method(kind).requestSerialize(raw);
}

/** encodeWire encodes a wire request object as a log entry. */
export function encodeWire(kind: WireKind, id: bigint, raw: object): Uint8Array {
  return frame(kind, id, wireMessage(kind, raw));
}

/**
 * encodeWireBytes encodes a wire request already in protobuf, as the client sent it. Unknown
 * fields travel along; every reader skips them, as protobuf readers do.
 */
export function encodeWireBytes(kind: WireKind, id: bigint, message: Buffer): Uint8Array {
  return frame(kind, id, message);
}

/** encodeMemberAttrs encodes a member publishing its name and client URLs. */
export function encodeMemberAttrs(id: bigint, member: number, name: string, clientURLs: readonly string[]): Uint8Array {
  return frame('member-attrs', id, Buffer.from(JSON.stringify({ id: member, name, clientURLs })));
}

/** encodeMemberUpdate encodes a change of a member's peer URLs (MemberUpdate). */
export function encodeMemberUpdate(id: bigint, member: number, peerURLs: readonly string[]): Uint8Array {
  return frame('member-update', id, Buffer.from(JSON.stringify({ id: member, peerURLs })));
}

/** DecodedRequest is a decoded entry: the submitter's request ID and the request. */
export interface DecodedRequest {
  readonly id: bigint;
  readonly request: InternalRequest;
}

/**
 * DecodeResult is a decoded entry or why it could not be decoded; `id` is the submitter's
 * request ID when the header could still be read (so the submitter can be answered at once).
 */
export type DecodeResult =
  | { readonly ok: true; readonly value: DecodedRequest }
  | { readonly ok: false; readonly error: string; readonly id?: bigint };

type RequestResult = { readonly ok: true; readonly value: InternalRequest } | { readonly ok: false; readonly error: string };

const KIND_BY_CODE = new Map<number, RequestKind>(Object.entries(KIND_CODES).map(([k, c]) => [c, k as RequestKind]));

/** memberNumber narrows a member ID carried in JSON: a positive safe integer (a NodeId). */
const memberNumber: FieldDecoder<number> = (value, path) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) fail(path, 'a member ID (a positive integer)', value);
  return value;
};

const strings: FieldDecoder<readonly string[]> = (value, path) => {
  if (!Array.isArray(value)) fail(path, 'a list of URLs', value);
  return repeated<string>((v, at) => (typeof v === 'string' ? v : fail(at, 'a URL', v)))(value, path);
};

const memberAttrs: FieldDecoder<InternalRequest> = (value, path) => {
  const r = record(value, path);
  if (typeof r['name'] !== 'string') fail(`${path}.name`, 'a member name', r['name']);
  return { kind: 'member-attrs', id: memberNumber(r['id'], `${path}.id`), name: r['name'], clientURLs: strings(r['clientURLs'], `${path}.clientURLs`) };
};

const memberUpdate: FieldDecoder<InternalRequest> = (value, path) => {
  const r = record(value, path);
  return { kind: 'member-update', id: memberNumber(r['id'], `${path}.id`), peerURLs: strings(r['peerURLs'], `${path}.peerURLs`) };
};

function jsonRequest(kind: 'member-attrs' | 'member-update', body: Buffer): RequestResult {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err: unknown) {
    return { ok: false, error: `${kind} request is not JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  return decodeWith(kind === 'member-attrs' ? memberAttrs : memberUpdate, v, kind);
}

function wireRequest(kind: WireKind, body: Buffer): RequestResult {
  // NB: every member decodes every put and txn it applies: read by hand, without protobufjs's objects.
  if (kind === 'put') {
    const d = decodePutRequest(body);
    return d.ok ? { ok: true, value: { kind, req: d.value } } : { ok: false, error: `put request is not a valid PutRequest: ${d.error}` };
  }
  if (kind === 'txn') {
    const d = decodeTxnRequest(body);
    return d.ok ? { ok: true, value: { kind, req: d.value } } : { ok: false, error: `txn request is not a valid TxnRequest: ${d.error}` };
  }
  let wire: unknown;
  try {
    wire = method(kind).requestDeserialize(body);
  } catch (err: unknown) {
    // protobufjs throws on bytes that are not a message of this type (truncated, bad wire type).
    return { ok: false, error: `${kind} request is not a valid protobuf message: ${err instanceof Error ? err.message : String(err)}` };
  }
  switch (kind) {
    case 'delete-range': {
      const d = requestDecoders.DeleteRangeRequest(wire);
      return d.ok ? { ok: true, value: { kind, req: d.value } } : d;
    }
    case 'compaction': {
      const d = requestDecoders.CompactionRequest(wire);
      return d.ok ? { ok: true, value: { kind, req: d.value } } : d;
    }
    case 'lease-grant': {
      const d = requestDecoders.LeaseGrantRequest(wire);
      return d.ok ? { ok: true, value: { kind, req: d.value } } : d;
    }
    case 'lease-revoke': {
      const d = requestDecoders.LeaseRevokeRequest(wire);
      return d.ok ? { ok: true, value: { kind, req: d.value } } : d;
    }
    case 'alarm': {
      const d = requestDecoders.AlarmRequest(wire);
      if (!d.ok) return d;
      // Only changes travel through the log; a GET is answered from the local list.
      if (d.value.action === 'GET') return { ok: false, error: 'an alarm GET is not a change and never enters the log' };
      return { ok: true, value: { kind, req: d.value } };
    }
  }
}

/**
 * decodeRequest decodes an entry's data. It is total: whatever the bytes, it returns a value
 * and never throws, so a committed entry that cannot be decoded is skipped by the state machine
 * instead of stopping every member that applies it.
 */
export function decodeRequest(data: Uint8Array): DecodeResult {
  if (data.byteLength < HEADER) return { ok: false, error: `entry of ${data.byteLength} bytes is shorter than its ${HEADER}-byte header` };
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const code = buf[0] ?? 0;
  const id = buf.readBigUInt64BE(1);
  const body = buf.subarray(HEADER);
  const kind = KIND_BY_CODE.get(code);
  if (kind === undefined) return { ok: false, error: `unknown request kind ${code}`, id };
  const r = kind === 'member-attrs' || kind === 'member-update' ? jsonRequest(kind, body) : wireRequest(kind, body);
  return r.ok ? { ok: true, value: { id, request: r.value } } : { ok: false, error: r.error, id };
}

/** ProposalCheck is the verdict on a proposal at the door: its bytes, or why it is refused. */
export type ProposalCheck =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly reason: 'too-large' | 'undecodable'; readonly detail: string };

/**
 * checkProposal is the door of the log: a proposal enters it only if it is at most `maxBytes`
 * long and decodes back to a request exactly as every member's apply will decode it. Refusing
 * here (with a status to the client) is what keeps undecodable entries out of the log.
 * `readByApplyReader` says the request's bytes were already read, as they stand, by the reader
 * apply uses (a put's or txn's, at the handler): they are not read a second time.
 */
export function checkProposal(data: Uint8Array, maxBytes: number, readByApplyReader = false): ProposalCheck {
  if (data.byteLength > maxBytes) return { ok: false, reason: 'too-large', detail: `${data.byteLength} bytes, the limit is ${maxBytes}` };
  if (readByApplyReader) return { ok: true, data };
  const d = decodeRequest(data);
  return d.ok ? { ok: true, data } : { ok: false, reason: 'undecodable', detail: d.error };
}

/**
 * TRACED_ID_BIT marks the request ID of a sampled request (bench kv --trace): bit 31, the top
 * bit of the submitter's sequence. Every member can so tell a sampled entry by one byte of its
 * header (tracedEntryKey), and no entry grows by a byte.
 */
export const TRACED_ID_BIT = 0x8000_0000n;

/** requestIdKey is the trace key of a request ID: its 16 hex digits. */
export function requestIdKey(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

/** tracedEntryKey returns the trace key of an entry whose request ID has TRACED_ID_BIT set, else null. */
export function tracedEntryKey(data: Uint8Array): string | null {
  // NB: the ID is bytes 1–8, big-endian; bit 31 of it is the top bit of byte 5.
  if (data.byteLength < HEADER || (data[5]! & 0x80) === 0) return null;
  return Buffer.from(data.buffer, data.byteOffset + 1, 8).toString('hex');
}
