/**
 * watch-wire: etcdserverpb.WatchResponse written by hand, for the watch fan-out.
 *
 * One applied change reaches every watcher of its key, each in a response of its own (a
 * WatchResponse carries one watch_id). protobufjs would turn the same event into bytes once per
 * watcher, through `fromObject` and its writer; here an event is encoded once (the hub hands every
 * watcher the same event object) and a response is its header, its few scalars and the events'
 * cached bytes copied into one buffer. The response header is the same for every response of a
 * revision and is cached too.
 *
 * Field numbers are those of etcd's rpc.proto; a KeyValue is written by the store's own codec
 * (src/kv/mvcc/codec.ts, the bytes etcd stores). As etcd's Go encoder does, fields holding their
 * zero value are left out; any protobuf decoder reads the absent field as that zero.
 * test/kv/watch-wire.test.ts checks every shape against protobufjs's decoder.
 */
import type { Id64 } from '../../proto/index.js';
import { varintSize, writeKeyValue, writeVarint, type KeyValue } from '../../mvcc/index.js';
import { GRPC_FRAME_BYTES, HeaderWire, checkQuantity as checkQuantityOf, keyValueSizeIn, scalarSize, writeFrame, writeScalar } from './header-wire.js';
import type { WatchEvent } from '../../watch/index.js';

/** WireResponse is one WatchResponse to encode; `events` are the hub's event objects. */
export interface WireResponse {
  readonly revision: number;
  readonly watchId: number;
  readonly created?: boolean;
  readonly canceled?: boolean;
  readonly compactRevision?: number;
  readonly cancelReason?: string;
  readonly fragment?: boolean;
  readonly events?: readonly WatchEvent[];
}

// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const TAG_WATCH_ID = 0x10; // watch_id = 2
const TAG_CREATED = 0x18; // created = 3
const TAG_CANCELED = 0x20; // canceled = 4
const TAG_COMPACT_REVISION = 0x28; // compact_revision = 5
const TAG_CANCEL_REASON = 0x32; // cancel_reason = 6
const TAG_FRAGMENT = 0x38; // fragment = 7
const TAG_EVENTS = 0x5a; // events = 11
const TAG_EVENT_TYPE = 0x08; // Event.type = 1
const TAG_EVENT_KV = 0x12; // Event.kv = 2
const TAG_EVENT_PREV_KV = 0x1a; // Event.prev_kv = 3
const EVENT_TYPE_DELETE = 1;

function checkQuantity(what: string, n: number): number {
  return checkQuantityOf('WatchResponse', what, n);
}

function kvSize(kv: KeyValue): number {
  return keyValueSizeIn('WatchResponse', kv);
}

// NB: keyed by the hub's event object, which every watcher of a change shares; the bytes go
// when the event does.
const encodedEvents = new WeakMap<WatchEvent, Uint8Array>();

/** encodeEvent is an mvccpb.Event's bytes, encoded once per event object. */
export function encodeEvent(e: WatchEvent): Uint8Array {
  let out = encodedEvents.get(e);
  if (out !== undefined) return out;
  const kvLen = kvSize(e.kv);
  const prevLen = e.prev_kv === undefined ? -1 : kvSize(e.prev_kv);
  const size = (e.type === 'DELETE' ? 2 : 0) + 1 + varintSize(kvLen) + kvLen + (prevLen < 0 ? 0 : 1 + varintSize(prevLen) + prevLen);
  out = new Uint8Array(size);
  let pos = 0;
  if (e.type === 'DELETE') {
    out[pos++] = TAG_EVENT_TYPE;
    out[pos++] = EVENT_TYPE_DELETE;
  }
  // NB: kv is always written, even when empty: etcd's events always carry one.
  out[pos++] = TAG_EVENT_KV;
  pos = writeVarint(out, pos, kvLen);
  pos = writeKeyValue(out, pos, e.kv);
  if (e.prev_kv !== undefined) {
    out[pos++] = TAG_EVENT_PREV_KV;
    pos = writeVarint(out, pos, prevLen);
    writeKeyValue(out, pos, e.prev_kv);
  }
  encodedEvents.set(e, out);
  return out;
}

/** WatchWire encodes the WatchResponses of one member (its cluster and member IDs fixed). */
export class WatchWire {
  readonly #header: HeaderWire;

  /** constructor takes the IDs every header names and where the current Raft term is read. */
  constructor(clusterId: Id64, memberId: Id64, term: () => number) {
    this.#header = new HeaderWire(clusterId, memberId, term);
  }

  /**
   * encode writes one response; with `framed`, behind a gRPC message prefix (uncompressed), as
   * it travels in an HTTP/2 DATA frame.
   */
  encode(r: WireResponse, framed: boolean): Buffer {
    const header = this.#header.field(r.revision);
    const events = r.events ?? [];
    const watchId = checkQuantity('watch_id', r.watchId);
    const compact = checkQuantity('compact_revision', r.compactRevision ?? 0);
    const reason = r.cancelReason === undefined || r.cancelReason === '' ? null : Buffer.from(r.cancelReason, 'utf8');
    let size = header.length + scalarSize(watchId) + (r.created === true ? 2 : 0) + (r.canceled === true ? 2 : 0) + scalarSize(compact);
    size += reason === null ? 0 : 1 + varintSize(reason.length) + reason.length;
    size += r.fragment === true ? 2 : 0;
    const encoded: Uint8Array[] = new Array<Uint8Array>(events.length);
    for (let i = 0; i < events.length; i++) {
      const b = encodeEvent(events[i] as WatchEvent);
      encoded[i] = b;
      size += 1 + varintSize(b.length) + b.length;
    }
    const start = framed ? GRPC_FRAME_BYTES : 0;
    const out = Buffer.allocUnsafe(start + size);
    if (framed) writeFrame(out, size);
    out.set(header, start);
    let pos = start + header.length;
    pos = writeScalar(out, pos, TAG_WATCH_ID, watchId);
    if (r.created === true) pos = writeScalar(out, pos, TAG_CREATED, 1);
    if (r.canceled === true) pos = writeScalar(out, pos, TAG_CANCELED, 1);
    pos = writeScalar(out, pos, TAG_COMPACT_REVISION, compact);
    if (reason !== null) {
      out[pos++] = TAG_CANCEL_REASON;
      pos = writeVarint(out, pos, reason.length);
      out.set(reason, pos);
      pos += reason.length;
    }
    if (r.fragment === true) pos = writeScalar(out, pos, TAG_FRAGMENT, 1);
    for (const b of encoded) {
      out[pos++] = TAG_EVENTS;
      pos = writeVarint(out, pos, b.length);
      out.set(b, pos);
      pos += b.length;
    }
    if (pos !== out.length) throw new Error(`WatchResponse encoded to ${pos - start} bytes, sized ${size}; this is a bug`);
    return out;
  }
}
